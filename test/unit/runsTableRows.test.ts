// The runs table's rows from a real store and series cache: last values at once, min/max over finite
// points after the background fill, refreshed when a run logs again, NaN-only series without min/max.
import * as assert from 'assert';
import { RunStore } from '../../src/store/runStore';
import { SeriesStore } from '../../src/store/series/store';
import { MetricExtremes, wireRun } from '../../src/ui/runsTable/rows';
import { tempDir } from '../support/tempDir';

describe('runs table: host rows', () => {
  it('last, min and max per metric; min/max fill in and follow new points', async () => {
    const tmp = tempDir('rows');
    const store = await RunStore.open(tmp.dir, { sync: false });
    const series = SeriesStore.open(store);
    try {
      const start = {
        type: 'run.start' as const,
        project: 'p',
        name: 'r',
        time: 1,
        params: { lr: 0.1 },
        tags: { t: '' },
        context: {},
      };
      await store.append('r', [{ seq: 1, event: start }]);
      const pts = [3, NaN, 1, 2].map((value, step) => ({ key: 'loss', value, step, time: 1 + step }));
      pts.push({ key: 'bad', value: NaN, step: 0, time: 1 });
      await store.append('r', [{ seq: 2, event: { type: 'metrics', points: pts } }]);
      await series.whenIdle();
      const ex = new MetricExtremes(series);
      let row = wireRun(store.getRun('r')!, series, ex, '#123456');
      assert.deepStrictEqual(
        row.metrics,
        { bad: ['NaN', null, null], loss: [2, null, null] },
        'last values before the fill',
      );
      assert.deepStrictEqual(row.params, { lr: 0.1 });
      assert.strictEqual(row.color, '#123456');
      const told: string[] = [];
      await ex.fill(['r'], (id) => told.push(id));
      assert.deepStrictEqual(told, ['r']);
      row = wireRun(store.getRun('r')!, series, ex, '#123456');
      assert.deepStrictEqual(row.metrics, { bad: ['NaN', null, null], loss: [2, 1, 3] });
      await store.append('r', [
        { seq: 3, event: { type: 'metrics', points: [{ key: 'loss', value: -5, step: 4, time: 6 }] } },
      ]);
      await series.whenIdle();
      assert.ok(ex.stale('r'), 'a new point makes the extremes stale');
      await ex.fill(['r'], () => undefined);
      assert.deepStrictEqual(wireRun(store.getRun('r')!, series, ex, '#1').metrics.loss, [-5, -5, 3]);
    } finally {
      await series.dispose();
      await store.close();
      tmp.remove();
    }
  });
});
