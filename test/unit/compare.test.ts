// The compare table and charts as the host builds them and the page writes them: a dash
// (never `null`) for a value a run lacks, one number format, each final metric's step, rows
// marked where runs differ, the runs named in the title, charts only for shared metrics.
import * as assert from 'assert';
import type { RunSummary } from '../../src/api/types';
import { buildCompareCharts } from '../../src/ui/compare/compareCharts';
import { type CompareDeps, buildCompareTable, sharedKeys } from '../../src/ui/compare/compareTable';
import type { SeriesSliceLike } from '../../src/ui/deps';
import { MISSING, metricText, paramText } from '../../src/webview/compare/cells';
import { compareTitle, isCompareHostMessage } from '../../src/webview/protocol/compare';
import type { RunInfo } from '../../src/webview/protocol/runs';

function run(runId: string, name: string, params: RunSummary['params']): RunSummary {
  return { runId, name, project: 'p', status: 'finished', startTime: 1, params, tags: {}, context: {} };
}

const runs = new Map([
  ['a', run('a', 'lr1e-3', { lr: 0.001, opt: 'adam', seed: 0 })],
  ['b', run('b', 'lr3e-4', { lr: 0.0003, opt: 'adam' })],
]);
const series: Record<string, Record<string, { x: number[]; y: number[] }>> = {
  a: { loss: { x: [0, 1, 2], y: [1, 0.5, 0.25] }, acc: { x: [0, 1], y: [0.5, NaN] }, 'sys/cpu': { x: [0], y: [3] } },
  b: { loss: { x: [0, 1, 2, 3], y: [2, 1, NaN, 0.0003] }, 'sys/cpu': { x: [0], y: [4] } },
};

const deps: CompareDeps & {
  series: CompareDeps['series'] & { query(q: { runId: string; key: string }): Promise<SeriesSliceLike> };
} = {
  store: {
    dir: '/tmp',
    runDir: (id) => `/tmp/${id}`,
    listRuns: () => [...runs.values()],
    getRun: (id) => runs.get(id),
    onDidChangeRun: () => ({ dispose() {} }),
    deleteRun: async () => undefined,
    renameRun: async () => undefined,
  },
  series: {
    keys: (id) => Object.keys(series[id] ?? {}),
    latest: (id, key) => {
      const s = series[id]?.[key];
      if (!s) return undefined;
      const i = s.x.length - 1;
      return { step: s.x[i], value: s.y[i], time: 0 };
    },
    query: async ({ runId, key }) => {
      const s = series[runId][key];
      return {
        x: Float64Array.from(s.x),
        y: Float64Array.from(s.y),
        nonFinite: { x: new Float64Array(), kind: new Uint8Array() },
        total: s.x.length,
        decimated: false,
      };
    },
  },
};
const info = (r: RunSummary): RunInfo => ({ ...r, color: r.runId === 'a' ? '#0077ee' : '#ff9944' });

describe('compare table', () => {
  it('marks a missing param with a null cell, never an undefined one that JSON turns into null', () => {
    const t = buildCompareTable(deps, ['a', 'b', 'gone'], info);
    assert.deepStrictEqual(
      t.runs.map((r) => r.name),
      ['lr1e-3', 'lr3e-4'],
    );
    const seed = t.params.find((p) => p.name === 'seed')!;
    assert.deepStrictEqual(seed.cells, [{ value: 0 }, null]);
    assert.ok(seed.differs, 'a missing value differs from a present one');
    const opt = t.params.find((p) => p.name === 'opt')!;
    assert.strictEqual(opt.differs, false);
    // What the page receives: the message after a JSON round trip.
    const wire = JSON.parse(JSON.stringify({ type: 'compare', table: t })) as { table: typeof t };
    assert.ok(isCompareHostMessage(wire));
    const cells = wire.table.params.find((p) => p.name === 'seed')!.cells.map(paramText);
    assert.deepStrictEqual(cells, ['0', MISSING]);
    assert.notStrictEqual(MISSING, 'null');
  });

  it('writes params and finals in the one number format, each final with its step, NaN named', () => {
    const t = buildCompareTable(deps, ['a', 'b'], info);
    const lr = t.params.find((p) => p.name === 'lr')!;
    assert.deepStrictEqual(lr.cells.map(paramText), ['0.001', '3e-4']);
    assert.deepStrictEqual(
      t.metrics.map((m) => m.name),
      ['acc', 'loss', 'sys/cpu'],
      "the person's metrics first, system metrics after",
    );
    const loss = t.metrics.find((m) => m.name === 'loss')!;
    assert.deepStrictEqual(loss.cells.map(metricText), [
      { value: '0.25', step: 'step 2' },
      { value: '3e-4', step: 'step 3' },
    ]);
    const acc = t.metrics.find((m) => m.name === 'acc')!;
    assert.deepStrictEqual(acc.cells.map(metricText), [
      { value: 'NaN', step: 'step 1' },
      { value: MISSING, step: '' },
    ]);
    assert.strictEqual(
      paramText({ value: null }),
      'null',
      'a param that is null says so; only a missing one is a dash',
    );
  });

  it('names the runs in the title', () => {
    assert.strictEqual(buildCompareTable(deps, ['a', 'b'], info).title, 'Compare: lr1e-3 vs lr3e-4');
    assert.strictEqual(compareTitle(['a', 'b', 'c']), 'Compare: a, b, c');
    assert.strictEqual(compareTitle(['a', 'b', 'c', 'd', 'e']), 'Compare: a, b +3 more');
    assert.strictEqual(compareTitle(['x'.repeat(40), 'y']), `Compare: ${'x'.repeat(23)}… vs y`);
  });
});

describe('compare charts', () => {
  it('charts the metrics at least two runs share, each run a line of its finite points', async () => {
    assert.deepStrictEqual(sharedKeys(deps, ['a', 'b']), ['loss', 'sys/cpu']);
    assert.deepStrictEqual(sharedKeys(deps, ['a']), ['acc', 'loss', 'sys/cpu'], 'a run alone: all its metrics');
    const { charts, omitted } = await buildCompareCharts(deps, ['a', 'b']);
    assert.strictEqual(omitted, 0);
    const loss = charts.find((c) => c.key === 'loss')!;
    assert.deepStrictEqual(loss.lines, [
      { runId: 'a', x: [0, 1, 2], y: [1, 0.5, 0.25] },
      { runId: 'b', x: [0, 1, 3], y: [2, 1, 0.0003] },
    ]);
  });
});
