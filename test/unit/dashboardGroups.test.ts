// Dashboard groups: the host's split of runs by a param or tag and its bands per group
// (src/ui/dashboard/groupBands.ts), and the page's shaping of those bands for uPlot
// (src/webview/dashboard/groupLines.ts) and its state (which grouping a band answers).
import * as assert from 'assert';
import type { SeriesQuery } from '../../src/store/series/types';
import { groupBands, groupFields, groupRuns } from '../../src/ui/dashboard/groupBands';
import { DashboardModel } from '../../src/webview/dashboard/state';
import { bandColumns, bandFill, groupLineId, groupLines } from '../../src/webview/dashboard/groupLines';
import {
  type GroupBandData,
  defaultDashboardState,
  groupSpec,
  isDashboardState,
} from '../../src/webview/protocol/dashboard';

const f64 = (a: number[]) => Float64Array.from(a);

function band(label: string, x: number[], center: number[], lo: number[], hi: number[]): GroupBandData {
  return { label, color: '#1f77b4', members: 2, runs: 2, x: f64(x), center: f64(center), lo: f64(lo), hi: f64(hi) };
}

describe('dashboard groups: the host side', () => {
  const runs: { runId: string; params: Record<string, number>; tags: Record<string, string> }[] = [
    { runId: 'a', params: { lr: 0.1, seed: 1 }, tags: { team: 'x', 'runwatch.archived': 'true' } },
    { runId: 'b', params: { lr: 0.01, seed: 1 }, tags: {} },
    { runId: 'c', params: { lr: 0.1, seed: 2 }, tags: { team: 'y' } },
    { runId: 'd', params: { seed: 3 }, tags: {} },
  ];

  it('lists the params and tags of the shown runs, leaving out internal tags', () => {
    assert.deepStrictEqual(groupFields(runs), ['params.lr', 'params.seed', 'tags.team']);
  });

  it('splits runs by a value in value order (numbers by size), runs without it last', () => {
    const groups = groupRuns(runs, 'params.lr');
    assert.deepStrictEqual(
      groups.map((g) => [g.label, g.runIds]),
      [
        ['lr=0.01', ['b']],
        ['lr=0.1', ['a', 'c']],
        ['lr (none)', ['d']],
      ],
    );
  });

  it("computes each group's band from the stored series, coloured by its first run", async () => {
    const values: Record<string, number[]> = { a: [1, 2, 3], c: [3, 6, 9], b: [5, 5, 5] };
    const source = {
      query: async (q: SeriesQuery) => ({ x: f64([0, 1, 2]), y: f64(values[q.runId] ?? []) }),
    };
    const groups = groupRuns(runs, 'params.lr').slice(0, 2);
    const bands = await groupBands(source, groups, 'loss', {}, (id) => `#00000${id === 'b' ? 1 : 2}`);
    assert.deepStrictEqual(
      bands.map((b) => [b.label, b.color, b.members, b.runs]),
      [
        ['lr=0.01', '#000001', 1, 1],
        ['lr=0.1', '#000002', 2, 2],
      ],
    );
    const g = bands[1];
    // The cell holding step 2: min, max and mean of a's and c's values there.
    const i = g.x.length - 1;
    assert.deepStrictEqual([g.lo[i], g.hi[i], g.center[i]], [3, 9, 6]);
  });
});

describe('dashboard groups: the page side', () => {
  it('aligns two groups on one x column, each keeping its own cells and NaN cells as gaps', () => {
    const g1 = band('lr=1', [0, 2], [1, NaN], [0, NaN], [2, NaN]);
    const g2 = band('lr=2', [1, 2], [10, 20], [9, 19], [11, 21]);
    const cols = bandColumns([g1, g2]);
    // Both groups have a cell at x=2: they share its row.
    assert.deepStrictEqual(Array.from(cols.x), [0, 1, 2]);
    assert.deepStrictEqual(cols.center, [
      [1, null, null],
      [null, 10, 20],
    ]);
    assert.deepStrictEqual(cols.lo, [
      [0, null, null],
      [null, 9, 19],
    ]);
    assert.deepStrictEqual(cols.hi, [
      [2, null, null],
      [null, 11, 21],
    ]);
  });

  it('masks values a log axis cannot show', () => {
    const cols = bandColumns([band('g', [0, 1], [1, 2], [-1, 0.5], [3, 4])], true);
    assert.deepStrictEqual(cols.lo, [[null, 0.5]]);
    assert.deepStrictEqual(cols.center, [[1, 2]]);
  });

  it('names each group with its run count and gives its line the latest finite centre', () => {
    const g = { ...band('lr=0.1', [0, 1, 2], [4, 5, NaN], [3, 4, NaN], [5, 6, NaN]), runs: 1, members: 3 };
    const { series, runs } = groupLines(
      [g, { ...band('lr=1', [0], [7], [7], [7]), members: 1, runs: 1 }],
      'loss',
      'step',
    );
    assert.deepStrictEqual(
      [...runs.values()].map((r) => r.name),
      ['lr=0.1 (1 of 3 runs)', 'lr=1 (1 run)'],
    );
    assert.strictEqual(series[0].runId, groupLineId('lr=0.1'));
    assert.deepStrictEqual(series[0].latest, { step: 1, value: 5 });
    assert.strictEqual(bandFill('#1f77b4'), '#1f77b433');
  });

  it('keeps bands only for the current grouping, and forgets them when it changes', () => {
    const model = new DashboardModel({ ...defaultDashboardState, groupBy: 'params.lr' });
    const spec = groupSpec(model.state);
    assert.strictEqual(spec, 'params.lr|mean|minmax');
    const groups = [band('lr=1', [0], [1], [0], [2])];
    assert.strictEqual(model.applyBands({ type: 'bands', spec: 'params.seed|mean|minmax', key: 'k', groups }), false);
    assert.strictEqual(model.applyBands({ type: 'bands', spec, key: 'k', groups }), true);
    assert.strictEqual(model.bandsOf('k'), groups);
    model.patch({ groupSpread: 'std' });
    assert.strictEqual(model.bandsOf('k'), undefined);
    model.patch({ groupBy: undefined });
    assert.strictEqual(groupSpec(model.state), '');
  });

  it('saves the grouping in the state and rejects a bad one', () => {
    const ok = { ...defaultDashboardState, groupBy: 'tags.team', groupCenter: 'median', groupSpread: 'std' };
    assert.ok(isDashboardState(ok));
    assert.ok(!isDashboardState({ ...ok, groupSpread: 'iqr' }));
    assert.ok(!isDashboardState({ ...ok, groupBy: 3 }));
  });
});
