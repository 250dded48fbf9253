// The dashboard's pure parts: overlaying runs, EMA, log masking, the webview
// protocol's guards and the update coalescer (no vscode, no DOM).
import * as assert from 'assert';
import { alignRuns, ema, emaFinite, lineColumns, maskNonPositive } from '../../src/webview/dashboard/chartData';
import { groupOf } from '../../src/webview/dashboard/state';
import { isCompareHostMessage, isCompareState } from '../../src/webview/protocol/compare';
import {
  defaultDashboardState,
  isDashboardHostMessage,
  isDashboardState,
  isDashboardWebviewMessage,
} from '../../src/webview/protocol/dashboard';
import { formatTick, formatValue } from '../../src/webview/protocol/format';
import { runColor } from '../../src/webview/protocol/runs';
import { Coalescer } from '../../src/ui/dashboard/coalescer';

describe('dashboard data', () => {
  it('alignRuns merges sorted x columns: runs share rows of equal x, a run keeps every point on its own row', () => {
    const a = { x: Float64Array.from([0, 2, 2, 4]), y: Float64Array.from([1, 5, -5, 3]) };
    const b = { x: Float64Array.from([1, 2, 3]), y: Float64Array.from([10, 20, 30]) };
    const { x, ys } = alignRuns([a, b]);
    // a's min/max pair at x=2 takes two rows; b's point at 2 shares the first of them.
    assert.deepStrictEqual([...x], [0, 1, 2, 2, 3, 4]);
    assert.deepStrictEqual(ys[0], [1, null, 5, -5, null, 3]);
    assert.deepStrictEqual(ys[1], [null, 10, 20, null, 30, null]);
  });

  it('alignRuns: many runs at the same steps make one row a step', () => {
    const steps = Float64Array.from({ length: 1000 }, (_v, i) => i);
    const runs = Array.from({ length: 100 }, (_v, r) => ({ x: steps, y: steps.map((s) => s * r) }));
    const { x, ys } = alignRuns(runs);
    assert.strictEqual(x.length, 1000);
    assert.deepStrictEqual(ys[7].slice(0, 3), [0, 7, 14]);
    assert.ok(ys.every((y) => y.every((v) => v !== null)));
  });

  it('lineColumns: runs at the same steps with finite values keep their typed arrays; smoothed lines as ema()', () => {
    const steps = Float64Array.from({ length: 50 }, (_v, i) => i);
    const runs = Array.from({ length: 3 }, (_v, r) => ({ x: steps, y: steps.map((s) => Math.sin(s) + r + 2) }));
    const { x, cols } = lineColumns(runs, 0.6, false);
    assert.strictEqual(x, steps);
    assert.strictEqual(cols.length, 6);
    assert.strictEqual(cols[2], runs[1].y, 'the raw line is the array sent, not a copy');
    assert.ok(cols[3] instanceof Float64Array);
    const expected = ema(Array.from(runs[1].y), 0.6) as number[];
    for (let i = 0; i < 50; i++) assert.ok(Math.abs((cols[3][i] as number) - expected[i]) < 1e-12);
    assert.deepStrictEqual([...emaFinite(Float64Array.from([1, 2, 3]), 0)], [1, 2, 3]);
    // No smoothing: one column a run.
    assert.strictEqual(lineColumns(runs, 0, true).cols.length, 3);
  });

  it('lineColumns: a NaN, a log axis ≤ 0 or different steps fall back to rows with gaps (null), never NaN in a line', () => {
    const x = Float64Array.from([0, 1, 2]);
    const withNaN = lineColumns([{ x, y: Float64Array.from([1, NaN, 3]) }], 0.5, false);
    assert.deepStrictEqual(withNaN.cols[0], [1, null, 3]);
    assert.deepStrictEqual(withNaN.cols[1], ema([1, null, 3], 0.5));
    const log = lineColumns([{ x, y: Float64Array.from([1, 0, -2]) }], 0, true);
    assert.deepStrictEqual(log.cols[0], [1, null, null]);
    const apart = lineColumns(
      [
        { x, y: Float64Array.from([1, 2, 3]) },
        { x: Float64Array.from([1, 3]), y: Float64Array.from([5, 6]) },
      ],
      0,
      false,
    );
    assert.deepStrictEqual([...apart.x], [0, 1, 2, 3]);
    assert.deepStrictEqual(apart.cols, [
      [1, 2, 3, null],
      [null, 5, null, 6],
    ]);
  });

  it('ema is debiased (starts at the first value), skips gaps, and weight 0 is the raw line', () => {
    const s = ema([4, null, 4, 4], 0.9);
    assert.strictEqual(s[0], 4);
    assert.strictEqual(s[1], null);
    assert.ok(Math.abs((s[3] as number) - 4) < 1e-9);
    const step = ema([0, 10, 10, 10], 0.5) as number[];
    assert.ok(step[1] > 0 && step[1] < 10, 'smoothed value lags behind a jump');
    assert.deepStrictEqual(ema([1, 2, 3], 0), [1, 2, 3]);
  });

  it('maskNonPositive turns values a log axis cannot show into gaps', () => {
    assert.deepStrictEqual(maskNonPositive([1, 0, -2, null, 3]), [1, null, null, null, 3]);
  });

  it('formatTick writes small and large ticks as short exponents', () => {
    assert.strictEqual(formatTick(0.0003), '3e-4');
    assert.strictEqual(formatTick(0.00025), '2.5e-4');
    assert.strictEqual(formatTick(2e7), '2e+7');
    assert.strictEqual(formatTick(0.5), '0.5');
    assert.strictEqual(formatTick(0), '0');
  });

  it('formatValue names non-finite values', () => {
    assert.strictEqual(formatValue(NaN), 'NaN');
    assert.strictEqual(formatValue(Infinity), '+Inf');
    assert.strictEqual(formatValue(-Infinity), '-Inf');
    assert.strictEqual(formatValue(0.123456789), '0.12346');
  });

  it('run colors are stable per id and differ between ids', () => {
    assert.strictEqual(runColor('run-a'), runColor('run-a'));
    assert.notStrictEqual(runColor('run-a'), runColor('run-b'));
  });

  it('groupOf takes the prefix before the first slash', () => {
    assert.strictEqual(groupOf('train/loss'), 'train');
    assert.strictEqual(groupOf('val/acc/top1'), 'val');
    assert.strictEqual(groupOf('loss'), '');
  });

  it('the contract guards accept good messages and reject malformed ones', () => {
    assert.ok(isDashboardState(defaultDashboardState));
    assert.ok(!isDashboardState({ ...defaultDashboardState, xMode: 'bogus' }));
    assert.ok(!isDashboardState({ ...defaultDashboardState, smoothing: 1 }));
    assert.ok(isDashboardWebviewMessage({ type: 'ready' }));
    assert.ok(isDashboardWebviewMessage({ type: 'query', requestId: 1, key: 'a', xMode: 'step', maxPoints: 10 }));
    assert.ok(!isDashboardWebviewMessage({ type: 'query', requestId: '1', key: 'a', xMode: 'step', maxPoints: 10 }));
    assert.ok(!isDashboardWebviewMessage({ type: 'query', requestId: 0, key: 'a', xMode: 'step', maxPoints: 10 }));
    assert.ok(!isDashboardWebviewMessage({ type: 'state', state: { runIds: 'x' } }));
    assert.ok(!isDashboardWebviewMessage(null));
    assert.ok(isDashboardHostMessage({ type: 'series', series: [], requestId: 2 }));
    assert.ok(!isDashboardHostMessage({ type: 'series', series: [], requestId: 'x' }));
    // The compare page's messages are not the dashboard's, and the other way round.
    const table = { runs: [], params: [], metrics: [] };
    assert.ok(isCompareHostMessage({ type: 'compare', table }));
    assert.ok(!isDashboardHostMessage({ type: 'compare', table }));
    assert.ok(!isCompareHostMessage({ type: 'compare', table: { runs: [] } }));
    assert.ok(isCompareState({ runIds: ['a'] }) && isCompareState({ ...defaultDashboardState, runIds: ['a'] }));
    assert.ok(!isCompareState({ runIds: [1] }));
  });
});

describe('Coalescer', () => {
  // A fake clock: the coalescer's decisions depend only on `now`, the timers are real but short.
  const tick = () => new Promise((r) => setTimeout(r, 5));
  it('flushes the first change at once and merges a burst into one later flush', async () => {
    const now = 1000;
    let flushes = 0;
    const c = new Coalescer(
      () => 100,
      () => flushes++,
      () => now,
    );
    c.schedule();
    c.schedule();
    await tick();
    assert.strictEqual(flushes, 1, 'first change flushes without waiting for the interval');
    c.schedule();
    c.schedule();
    c.schedule();
    await tick();
    assert.strictEqual(flushes, 1, 'changes inside the interval wait');
    await new Promise((r) => setTimeout(r, 150));
    assert.strictEqual(flushes, 2, 'the burst is flushed once, at the end of the interval');
    c.dispose();
  });

  it('holds changes while paused and flushes them once on resume', async () => {
    let flushes = 0;
    const c = new Coalescer(
      () => 1,
      () => flushes++,
    );
    c.setPaused(true);
    c.schedule();
    c.schedule();
    await tick();
    assert.strictEqual(flushes, 0);
    c.setPaused(false);
    await tick();
    assert.strictEqual(flushes, 1);
    c.dispose();
  });
});
