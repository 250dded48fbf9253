import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MetricPoint, RunEvent } from '../../src/api/types';
import { RunStore } from '../../src/store/runStore';
import { SeriesStore } from '../../src/store/series';
import type { SeriesSlice } from '../../src/store/series/types';

const RUN = 'run-0001';
const T0 = 1_700_000_000;

// A series that fits in maxPoints is answered from one read of its rows, with no pyramid built:
// the answer must be the one the pyramid path gives (points, gaps as markers, spikes, bounds).
describe('SeriesStore: series that fit in maxPoints', () => {
  let tmp: string;
  let store: RunStore;
  let series: SeriesStore | undefined;

  beforeEach(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rw-series-small-'));
    store = await RunStore.open(tmp, { sync: false });
  });

  afterEach(async () => {
    await series?.dispose();
    await store.close();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  it('answers as the pyramid path does, without loading a pyramid', async () => {
    const start: RunEvent = { type: 'run.start', project: 'p', name: 'n', time: T0, params: {}, tags: {}, context: {} };
    const value = (s: number) =>
      s === 10 ? NaN : s === 20 ? Infinity : s === 30 ? -Infinity : s === 500 ? 1e9 : Math.sin(s);
    const points: MetricPoint[] = Array.from({ length: 1000 }, (_, s) => ({
      key: 'loss',
      step: s,
      time: T0 + s,
      value: value(s),
    }));
    await store.append(RUN, [{ event: start }, { event: { type: 'metrics', points } }]);
    series = SeriesStore.open(store);
    await series.whenIdle();
    // Reopened: series folded here get their pyramid as they grow; a cache opened later has none.
    await series.dispose();
    series = SeriesStore.open(store);
    await series.whenIdle();
    const queries = [
      { x: 'step' as const },
      { x: 'time' as const },
      { x: 'step' as const, from: 15, to: 600 },
      { x: 'step' as const, from: 5.5, to: 25.5 },
      { x: 'time' as const, from: T0 + 990, to: T0 + 5000 },
      { x: 'step' as const, from: 2000, to: 3000 },
    ];
    const small = [];
    for (const q of queries) small.push(await series.query({ runId: RUN, key: 'loss', maxPoints: 2000, ...q }));
    assert.equal(series.memoryBytes(), 0, 'no pyramid held');
    const whole = small[0];
    assert.equal(whole.total, 1000);
    assert.equal(whole.decimated, false);
    assert.equal(whole.x.length, 997, 'the three non-finite points are not points');
    assert.equal(Math.max(...whole.y), 1e9, 'the spike is kept');
    assert.deepEqual([...whole.nonFinite.x], [10, 20, 30]);
    assert.deepEqual(whole.xRange, [0, 999]);

    // A query that needs the pyramid loads it; the same queries then take the pyramid path.
    await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 100 });
    assert.ok(series.memoryBytes() > 0);
    for (let i = 0; i < queries.length; i++) {
      const viaPyramid: SeriesSlice = await series.query({ runId: RUN, key: 'loss', maxPoints: 2000, ...queries[i] });
      assert.deepEqual(
        {
          ...small[i],
          x: [...small[i].x],
          y: [...small[i].y],
          nfx: [...small[i].nonFinite.x],
          nfk: [...small[i].nonFinite.kind],
        },
        {
          ...viaPyramid,
          x: [...viaPyramid.x],
          y: [...viaPyramid.y],
          nfx: [...viaPyramid.nonFinite.x],
          nfk: [...viaPyramid.nonFinite.kind],
        },
        JSON.stringify(queries[i]),
      );
    }
  });
});
