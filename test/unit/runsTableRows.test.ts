// The runs table's rows from a real store and series cache: last values and min/max over finite
// points at once (kept by the cache, across a reopen); a cache without them (an index from before)
// falls back to pyramid queries in the background, refreshed when the run logs again.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { RunStore } from '../../src/store/runStore';
import { SeriesStore } from '../../src/store/series/store';
import { MetricExtremes, type RowsSeries, wireRun } from '../../src/ui/runsTable/rows';
import { tempDir } from '../support/tempDir';

const start = {
  type: 'run.start' as const,
  project: 'p',
  name: 'r',
  time: 1,
  params: { lr: 0.1 },
  tags: { t: '' },
  context: {},
};

async function fill(store: RunStore): Promise<void> {
  await store.append('r', [{ seq: 1, event: start }]);
  const pts = [3, NaN, 1, 2].map((value, step) => ({ key: 'loss', value, step, time: 1 + step }));
  pts.push({ key: 'bad', value: NaN, step: 0, time: 1 });
  await store.append('r', [{ seq: 2, event: { type: 'metrics', points: pts } }]);
}

describe('runs table: host rows', () => {
  it('the cache keeps min/max of finite values: rows have them at once, and after a reopen', async () => {
    const tmp = tempDir('rows');
    const store = await RunStore.open(tmp.dir, { sync: false });
    let series = SeriesStore.open(store);
    try {
      await fill(store);
      await series.whenIdle();
      const ex = new MetricExtremes(series);
      const row = wireRun(store.getRun('r')!, series, ex, '#123456');
      assert.deepStrictEqual(row.metrics, { bad: ['NaN', null, null], loss: [2, 1, 3] });
      assert.deepStrictEqual(row.params, { lr: 0.1 });
      assert.strictEqual(row.color, '#123456');
      assert.ok(!ex.stale('r'));
      await series.dispose();
      series = SeriesStore.open(store);
      await series.whenIdle();
      assert.deepStrictEqual(series.extremes('r', 'loss'), [1, 3], 'kept in index.json');
      assert.deepStrictEqual(series.extremes('r', 'bad'), [NaN, NaN], 'no finite value');
      // An index written before min/max were kept: unknown, not wrong.
      await series.dispose();
      const index = path.join(store.runDir('r'), 'series', 'index.json');
      const saved = JSON.parse(fs.readFileSync(index, 'utf8')) as { series: Record<string, { values?: unknown }> };
      for (const s of Object.values(saved.series)) delete s.values;
      fs.writeFileSync(index, JSON.stringify(saved));
      series = SeriesStore.open(store);
      await series.whenIdle();
      assert.strictEqual(series.extremes('r', 'loss'), undefined);
    } finally {
      await series.dispose();
      await store.close();
      tmp.remove();
    }
  });

  it('without kept min/max: queried in the background, and again after new points', async () => {
    const tmp = tempDir('rows');
    const store = await RunStore.open(tmp.dir, { sync: false });
    const cache = SeriesStore.open(store);
    // The same cache seen without its `extremes` (as an older cache index would answer).
    const series: RowsSeries = {
      keys: (id) => cache.keys(id),
      latest: (id, k) => cache.latest(id, k),
      query: (q) => cache.query(q),
    };
    try {
      await fill(store);
      await cache.whenIdle();
      const ex = new MetricExtremes(series);
      let row = wireRun(store.getRun('r')!, series, ex, '#1');
      assert.deepStrictEqual(row.metrics, { bad: ['NaN', null, null], loss: [2, null, null] }, 'last values first');
      const told: string[] = [];
      await ex.fill(['r'], (id) => told.push(id));
      assert.deepStrictEqual(told, ['r']);
      row = wireRun(store.getRun('r')!, series, ex, '#1');
      assert.deepStrictEqual(row.metrics, { bad: ['NaN', null, null], loss: [2, 1, 3] });
      await store.append('r', [
        { seq: 3, event: { type: 'metrics', points: [{ key: 'loss', value: -5, step: 4, time: 6 }] } },
      ]);
      await cache.whenIdle();
      assert.ok(ex.stale('r'), 'a new point makes the extremes stale');
      await ex.fill(['r'], () => undefined);
      assert.deepStrictEqual(wireRun(store.getRun('r')!, series, ex, '#1').metrics.loss, [-5, -5, 3]);
    } finally {
      await cache.dispose();
      await store.close();
      tmp.remove();
    }
  });
});
