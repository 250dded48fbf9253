// Group aggregates for the dashboard's and the runs table's bands: mean, median, min, max and std
// with NaN present, resampling onto cells, and a band over real stored series (RunStore + SeriesStore).
import * as assert from 'assert';
import { RunStore } from '../../src/store/runStore';
import { cellStats, groupBand, mean, median, resample, std } from '../../src/store/series/bands';
import { SeriesStore } from '../../src/store/series/store';
import { tempDir } from '../support/tempDir';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≈ ${b}`);

describe('bands: group aggregates', () => {
  it('mean, median and std skip NaN and ±Infinity; all-NaN gives NaN', () => {
    const v = [1, NaN, 3, Infinity, 5, -Infinity, 7];
    close(mean(v), 4);
    close(median(v), 4);
    close(std(v), Math.sqrt(5)); // (9+1+1+9)/4
    close(median([4, NaN, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(mean([NaN, NaN])));
    assert.ok(Number.isNaN(median([])));
    assert.ok(Number.isNaN(std([NaN])));
    assert.strictEqual(std([2]), 0);
  });

  it('a cell: min–max band or mean ± std, n counting finite values only', () => {
    assert.deepStrictEqual(cellStats([2, NaN, 6, 4], 'mean', 'minmax'), { center: 4, lo: 2, hi: 6, n: 3 });
    assert.deepStrictEqual(cellStats([2, NaN, 10, 3], 'median', 'minmax'), { center: 3, lo: 2, hi: 10, n: 3 });
    const s = cellStats([1, 3, NaN], 'mean', 'std');
    assert.deepStrictEqual(s, { center: 2, lo: 1, hi: 3, n: 2 });
    const m = cellStats([1, 2, 9], 'median', 'std');
    close(m.center, 2);
    close(m.lo, 4 - std([1, 2, 9]));
    assert.deepStrictEqual(cellStats([NaN], 'mean', 'minmax').n, 0);
  });

  it('resample: means per cell, gaps between points interpolated, outside the run NaN', () => {
    // Cells of width 10 from 0: points at 0, 5 (cell 0), 30 (cell 3); nothing past 30.
    const out = resample([0, 5, 30], [1, 3, 8], 0, 10, 6);
    close(out[0], 2);
    close(out[1], 4);
    close(out[2], 6);
    close(out[3], 8);
    assert.ok(Number.isNaN(out[4]) && Number.isNaN(out[5]));
  });

  it('a band over stored runs: lo/hi are the runs’ min/max per cell; a NaN point, a short run', async () => {
    const tmp = tempDir('bands');
    const store = await RunStore.open(tmp.dir, { sync: false });
    try {
      const ids = ['r0', 'r1', 'r2'];
      for (const [i, id] of ids.entries()) {
        await store.append(id, [
          { seq: 1, event: { type: 'run.start', project: 'p', name: id, time: 1, params: {}, tags: {}, context: {} } },
        ]);
        const steps = id === 'r2' ? 50 : 100; // r2 stopped half way
        const points = Array.from({ length: steps }, (_, s) => ({
          key: 'loss',
          value: id === 'r1' && s === 10 ? NaN : (i + 1) * 10 + s,
          step: s,
          time: 1 + s,
        }));
        await store.append(id, [{ seq: 2, event: { type: 'metrics', points } }]);
      }
      const series = SeriesStore.open(store);
      await series.whenIdle();
      const band = await groupBand(series, { runIds: [...ids, 'missing'], key: 'loss', cells: 100 });
      assert.strictEqual(band.runs, 3);
      assert.strictEqual(band.x.length, 100);
      // Cell 20 holds step 20 only: values 30, 40, 50.
      const c = 20;
      assert.strictEqual(band.n[c], 3);
      close(band.lo[c], 10 + 20);
      close(band.hi[c], 30 + 20);
      close(band.center[c], 20 + 20);
      // Past step 49 only r0 and r1 are there.
      assert.strictEqual(band.n[80], 2);
      close(band.hi[80], 20 + band.x[80] - (band.x[80] % 1), 1);
      // r1's NaN at step 10: its cell is interpolated from its neighbours, never NaN in the band.
      assert.ok(band.center.every((v) => Number.isFinite(v)));
      // Cells are steps: a cell per step here, and integer steps strictly in order when cells are wider.
      assert.deepStrictEqual(
        [...band.x],
        Array.from({ length: 100 }, (_, s) => s),
      );
      const wide = await groupBand(series, { runIds: ids, key: 'loss', cells: 30 });
      assert.strictEqual(wide.x.length, 30);
      assert.ok(
        [...wide.x].every((x, i) => Number.isInteger(x) && (i === 0 || x > wide.x[i - 1])),
        `${[...wide.x]}`,
      );
      const med = await groupBand(series, { runIds: ids, key: 'loss', cells: 100, center: 'median', spread: 'std' });
      close(med.center[c], 40);
      close(med.hi[c] - med.lo[c], 2 * std([30, 40, 50]));
      await series.dispose();
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});
