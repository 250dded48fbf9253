// The runs table's pipeline without a DOM: archived runs hidden, sort with missing values last,
// brushes, groups (order, labels, aggregates with NaN), columns that differ, parallel-coordinate axes.
import * as assert from 'assert';
import type { TableRun } from '../../src/webview/runsTable/fields';
import { axisPosition, brushFor, buildAxes } from '../../src/webview/runsTable/parcoordsAxes';
import { aggregate, buildView, differingColumns, type ViewSpec } from '../../src/webview/runsTable/rowsModel';
import { allColumnIds, move, orderedIds } from '../../src/webview/runsTable/columns';

function run(id: string, params: TableRun['params'], loss?: number, tags: Record<string, string> = {}): TableRun {
  return {
    runId: id,
    name: id,
    project: 'p',
    status: 'finished',
    startTime: 0,
    endTime: 10,
    tags,
    params,
    metrics: loss === undefined ? {} : { loss: { last: loss, min: loss, max: loss } },
    color: '#000',
  };
}

const RUNS = [
  run('a', { lr: 0.01, seed: 0 }, 0.5),
  run('b', { lr: 0.001, seed: 0 }, NaN),
  run('c', { lr: 0.01, seed: 1 }, 0.3),
  run('d', { lr: 0.001, seed: 1 }),
  run('e', { lr: 0.1, seed: 0 }, 0.9, { 'runwatch.archived': 'true' }),
];

const spec = (over: Partial<ViewSpec> = {}): ViewSpec => ({
  test: () => true,
  showArchived: false,
  brushes: {},
  groupBy: [],
  expanded: new Set(),
  ...over,
});

const ids = (v: ReturnType<typeof buildView>) => v.runs.map((r) => r.runId);

describe('runs table: rows model', () => {
  it('hides archived runs unless asked, and counts them', () => {
    const v = buildView(RUNS, spec());
    assert.deepStrictEqual(ids(v), ['a', 'b', 'c', 'd']);
    assert.strictEqual(v.hiddenArchived, 1);
    assert.deepStrictEqual(ids(buildView(RUNS, spec({ showArchived: true }))), ['a', 'b', 'c', 'd', 'e']);
  });

  it('sorts by a metric both ways with NaN, then missing values, last either way', () => {
    assert.deepStrictEqual(ids(buildView(RUNS, spec({ sort: { id: 'metrics.loss.last', desc: false } }))), [
      'c',
      'a',
      'b',
      'd',
    ]);
    assert.deepStrictEqual(ids(buildView(RUNS, spec({ sort: { id: 'metrics.loss.last', desc: true } }))), [
      'a',
      'c',
      'b',
      'd',
    ]);
  });

  it('brushes keep runs inside every range or category set', () => {
    assert.deepStrictEqual(ids(buildView(RUNS, spec({ brushes: { 'params.lr': { min: 0.005, max: 1 } } }))), [
      'a',
      'c',
    ]);
    assert.deepStrictEqual(
      ids(buildView(RUNS, spec({ brushes: { 'params.lr': { min: 0, max: 1 }, 'params.seed': { values: ['1'] } } }))),
      ['c', 'd'],
    );
  });

  it('groups in sort order with labels; only expanded groups list their runs', () => {
    const v = buildView(RUNS, spec({ groupBy: ['params.lr'], expanded: new Set([JSON.stringify([0.001])]) }));
    assert.deepStrictEqual(
      v.items.map((i) => (i.kind === 'group' ? `${i.label}:${i.runs.length}` : i.run.runId)),
      ['lr=0.01:2', 'lr=0.001:2', 'b', 'd'],
    );
  });

  it('a group aggregate leaves out NaN and missing values', () => {
    const g = aggregate([RUNS[1], RUNS[3], RUNS[0]], { kind: 'metric', key: 'loss', agg: 'last' });
    assert.deepStrictEqual(g, { n: 1, mean: 0.5, min: 0.5, max: 0.5 });
    assert.strictEqual(aggregate([RUNS[3]], { kind: 'metric', key: 'loss', agg: 'last' }), undefined);
  });

  it('finds the columns that differ', () => {
    const d = differingColumns(RUNS.slice(0, 4), ['project', 'params.lr', 'params.seed', 'status']);
    assert.deepStrictEqual([...d].sort(), ['params.lr', 'params.seed']);
  });

  it('columns: every field, params and metrics × last/min/max; a saved order first; moves', () => {
    const all = allColumnIds(RUNS);
    assert.deepStrictEqual(all.slice(6), [
      'params.lr',
      'params.seed',
      'metrics.loss.last',
      'metrics.loss.min',
      'metrics.loss.max',
    ]);
    const o = orderedIds(all, ['params.seed', 'gone', 'name']);
    assert.deepStrictEqual(o.slice(0, 3), ['params.seed', 'name', 'project']);
    assert.deepStrictEqual(move(['a', 'b', 'c'], 'c', -1), ['a', 'c', 'b']);
    assert.deepStrictEqual(move(['a', 'b', 'c'], 'a', -1), ['a', 'b', 'c']);
  });

  it('parallel coordinates: log axis over decades, categories evenly, brushes from positions', () => {
    const axes = buildAxes(RUNS, ['params.lr', 'params.seed', 'name']);
    const [lr, seed, name] = axes;
    assert.strictEqual(lr.kind, 'log');
    assert.strictEqual(seed.kind, 'linear');
    assert.strictEqual(name.kind, 'cat');
    assert.ok(Math.abs(axisPosition(lr, 0.01)! - 0.5) < 1e-12, '0.01 is half way between 0.001 and 0.1 on a log axis');
    assert.strictEqual(axisPosition(name, 'c'), 2 / 4);
    const b = brushFor(lr, 0.4, 0.6);
    assert.ok('min' in b && b.min < 0.01 && b.max > 0.01 && b.min > 0.001 && b.max < 0.1);
    assert.deepStrictEqual(brushFor(name, 0.3, 1), { values: ['c', 'd', 'e'] });
  });
});
