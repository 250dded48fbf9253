// The dashboard page's pure parts behind what a person sees: the hover readout's lookup, the
// "ignore outliers" y range, the metric filter and when the wheel zooms.
import * as assert from 'assert';
import { NonFiniteKind } from '../../src/common/wireNumber';
import { robustRange } from '../../src/webview/dashboard/chartData';
import { wheelZooms } from '../../src/webview/dashboard/pointer';
import { addOtherAxis, formatX, nearestIndex, pointsAt } from '../../src/webview/dashboard/pointer';
import { filterKeys } from '../../src/webview/dashboard/state';
import type { SeriesData } from '../../src/webview/protocol/dashboard';

function series(runId: string, xs: number[], ys: number[], nf: [number, NonFiniteKind][] = []): SeriesData {
  return {
    runId,
    key: 'loss',
    xMode: 'step',
    x: Float64Array.from(xs),
    y: Float64Array.from(ys),
    nonFiniteX: Float64Array.from(nf.map((n) => n[0])),
    nonFiniteKind: Uint8Array.from(nf.map((n) => n[1])),
    total: xs.length + nf.length,
    decimated: false,
  };
}

describe('dashboard page: readout, outliers, filter, wheel', () => {
  it('finds the nearest point on either side', () => {
    const xs = [0, 10, 20, 30];
    assert.strictEqual(nearestIndex(xs, -5), 0);
    assert.strictEqual(nearestIndex(xs, 14), 1);
    assert.strictEqual(nearestIndex(xs, 16), 2);
    assert.strictEqual(nearestIndex(xs, 99), 3);
    assert.strictEqual(nearestIndex([], 1), -1);
  });

  it('reads every run at the cursor: its own nearest point, smoothed value, non-finite values named', () => {
    const a = series('a', [0, 1, 2, 4], [1, 2, 3, 5], [[3, NonFiniteKind.NaN]]);
    const b = series('b', [0, 2, 4], [10, 20, 40], [[5, NonFiniteKind.PosInf]]);
    const rows = pointsAt([a, b], 2.2, [[1, 1.5, 2, 3], []]);
    assert.deepStrictEqual(rows, [
      { runId: 'a', x: 2, value: 3, smoothed: 2 },
      { runId: 'b', x: 2, value: 20, smoothed: undefined },
    ]);
    const atNaN = pointsAt([a, b], 3);
    assert.ok(Number.isNaN(atNaN[0].value) && atNaN[0].x === 3);
    assert.strictEqual(pointsAt([b], 4.9)[0].value, Infinity);
    assert.strictEqual(formatX(120, 'step'), 'step 120');
    assert.strictEqual(formatX(75, 'relative'), '+1m15s');
  });

  it('names each point’s wall time in step mode and its step in time modes, from the host’s pairs', () => {
    const pairs = new Map([['a', { step: Float64Array.from([0, 5, 10]), time: Float64Array.from([100, 150, 200]) }]]);
    const rows = [{ runId: 'a', x: 5, value: 1 }];
    assert.strictEqual(
      addOtherAxis(rows, 'step', pairs, () => 0),
      true,
    );
    assert.strictEqual((rows[0] as { time?: number }).time, 150);
    const byTime = [{ runId: 'a', x: 200, value: 1 }];
    addOtherAxis(byTime, 'time', pairs, () => 0);
    assert.strictEqual((byTime[0] as { step?: number }).step, 10);
    const relative = [{ runId: 'a', x: 50, value: 1 }];
    addOtherAxis(relative, 'relative', pairs, () => 100);
    assert.strictEqual((relative[0] as { step?: number }).step, 5);
    // A point newer than the pairs: not found, so the page asks again.
    assert.strictEqual(
      addOtherAxis([{ runId: 'a', x: 11, value: 1 }], 'step', pairs, () => 0),
      false,
    );
    assert.strictEqual(
      addOtherAxis([{ runId: 'b', x: 1, value: NaN }], 'step', pairs, () => 0),
      true,
    );
  });

  it('leaves the extreme 1% out of the y range when outliers are ignored', () => {
    const y = Float64Array.from({ length: 1000 }, (_, i) => (i === 500 ? 1e6 : i % 10));
    const [lo, hi] = robustRange([y])!;
    assert.ok(lo < 0 && lo > -1, `low ${lo}`);
    assert.ok(hi > 9 && hi < 10, `high ${hi}`);
    assert.strictEqual(robustRange([Float64Array.from([1, 2])]), undefined);
  });

  it('filters metric keys by a case-insensitive regex, or as text when it is not one', () => {
    const keys = ['train/loss', 'train/acc', 'val/loss', 'sys/cpu'];
    assert.deepStrictEqual(filterKeys(keys, '^val/').keys, ['val/loss']);
    assert.deepStrictEqual(filterKeys(keys, 'LOSS').keys, ['train/loss', 'val/loss']);
    assert.deepStrictEqual(filterKeys(keys, '').keys, keys);
    const bad = filterKeys(keys, 'loss(');
    assert.deepStrictEqual(bad.keys, []);
    assert.match(bad.error ?? '', /not a regular expression/);
    assert.deepStrictEqual(filterKeys(['a(b'], 'a(').keys, ['a(b']);
  });

  it('lets the wheel scroll the page unless a modifier is held, the chart is focused or zoom is always on', () => {
    const plain = { ctrlKey: false, metaKey: false, altKey: false };
    assert.strictEqual(wheelZooms('modifier', plain, true), false);
    assert.strictEqual(wheelZooms('modifier', { ...plain, ctrlKey: true }, false), true);
    assert.strictEqual(wheelZooms('focused', plain, false), false);
    assert.strictEqual(wheelZooms('focused', plain, true), true);
    assert.strictEqual(wheelZooms('always', plain, false), true);
  });
});
