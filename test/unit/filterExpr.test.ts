// The runs table's filter language: what matches, precedence, and where and why a bad one fails.
import * as assert from 'assert';
import { compileFilter } from '../../src/webview/runsTable/filterExpr';
import type { TableRun } from '../../src/webview/runsTable/fields';
import { filterTarget } from '../../src/webview/runsTable/rowsModel';

function run(id: string, over: Partial<TableRun>): TableRun {
  return {
    runId: id,
    name: id,
    project: 'sweep',
    status: 'finished',
    startTime: Date.parse('2026-12-01T10:00:00Z') / 1000,
    endTime: Date.parse('2026-12-01T10:10:00Z') / 1000,
    tags: {},
    params: {},
    metrics: {},
    color: '#000',
    ...over,
  };
}

const RUNS: TableRun[] = [
  run('a', {
    params: { lr: 1e-4, seed: 0, opt: 'adam' },
    tags: { baseline: '' },
    metrics: { 'val/loss': { last: 0.3, min: 0.1, max: 2 } },
  }),
  run('b', { params: { lr: 1e-2, seed: 1, opt: 'sgd' }, metrics: { 'val/loss': { last: NaN, min: 0.5, max: 9 } } }),
  run('c', { status: 'failed', params: { lr: 1e-4, seed: 1, opt: 'adam', amp: true }, tags: { team: 'vision' } }),
  run('resnet-d', { status: 'running', endTime: undefined, params: { lr: '0.001' } }),
];

function matches(src: string): string[] {
  const c = compileFilter(src);
  if (!c.ok) throw new Error(`${src}: column ${c.error.column}: ${c.error.message}`);
  return RUNS.filter((r) => c.test(filterTarget(r))).map((r) => r.runId);
}

function error(src: string): { column: number; message: string } {
  const c = compileFilter(src);
  assert.ok(!c.ok, `${src} should not compile`);
  return c.error;
}

describe('filter expressions', () => {
  it('an empty filter keeps every run', () => {
    assert.deepStrictEqual(matches('  '), ['a', 'b', 'c', 'resnet-d']);
  });

  it('numeric comparisons on params, with exponent literals; a numeric text param compares as a number', () => {
    assert.deepStrictEqual(matches('params.lr < 1e-3'), ['a', 'c']);
    assert.deepStrictEqual(matches('params.lr >= 1e-3'), ['b', 'resnet-d']);
    assert.deepStrictEqual(matches('params.lr = 0.0001'), ['a', 'c']);
    assert.deepStrictEqual(matches('params.seed != 0'), ['b', 'c']);
  });

  it('the issue example: params, status and a tag joined by and', () => {
    assert.deepStrictEqual(matches('params.lr < 1e-3 and status = finished and tag:baseline'), ['a']);
  });

  it('metric aggregates: min, max, last (the default), NaN as a literal', () => {
    assert.deepStrictEqual(matches('metrics.val/loss.min < 0.2'), ['a']);
    assert.deepStrictEqual(matches('metrics.val/loss.max > 1'), ['a', 'b']);
    assert.deepStrictEqual(matches('metrics.val/loss < 1'), ['a']);
    assert.deepStrictEqual(matches('metrics.val/loss.last = nan'), ['b']);
    assert.deepStrictEqual(matches('metrics.val/loss.last != nan'), ['a']);
  });

  it('a run without the field matches no comparison, so not of one matches it', () => {
    assert.deepStrictEqual(matches('params.amp = true'), ['c']);
    assert.deepStrictEqual(matches('not params.amp = true'), ['a', 'b', 'resnet-d']);
  });

  it('and binds tighter than or; parentheses and not change that', () => {
    assert.deepStrictEqual(matches('status = failed or params.seed = 0 and params.opt = adam'), ['a', 'c']);
    assert.deepStrictEqual(matches('(status = failed or params.seed = 0) and params.opt = sgd'), []);
    assert.deepStrictEqual(matches('not (status = finished or status = running)'), ['c']);
    assert.deepStrictEqual(matches('NOT status = finished AND params.opt = adam'), ['c']);
  });

  it('~ is a case-insensitive regular expression; = on text ignores case', () => {
    assert.deepStrictEqual(matches('name ~ ^RES'), ['resnet-d']);
    assert.deepStrictEqual(matches('params.opt ~ "ad(a|e)m"'), ['a', 'c']);
    assert.deepStrictEqual(matches('tags.team = VISION'), ['c']);
  });

  it('plain words and quoted text search name, project, id and tags; side by side means and', () => {
    assert.deepStrictEqual(matches('resnet'), ['resnet-d']);
    assert.deepStrictEqual(matches('vision'), ['c']);
    assert.deepStrictEqual(matches('sweep tag:baseline'), ['a']);
    assert.deepStrictEqual(matches('"resnet-d"'), ['resnet-d']);
  });

  it('dates compare with start and end; duration is in seconds (a live run counts up to now)', () => {
    assert.deepStrictEqual(matches('start >= 2026-12-01 and duration > 300'), ['a', 'b', 'c', 'resnet-d']);
    assert.deepStrictEqual(matches('duration < 601'), ['a', 'b', 'c']);
    assert.deepStrictEqual(matches('start < 2026-11-30'), []);
  });

  it('a bad expression says where (1-based column) and why', () => {
    let e = error('params.lr < ');
    assert.strictEqual(e.column, 13);
    assert.match(e.message, /value is missing after "<"/);
    e = error('status = finised');
    assert.strictEqual(e.column, 10);
    assert.match(e.message, /unknown status "finised".*finished/);
    e = error('foo = 1');
    assert.strictEqual(e.column, 1);
    assert.match(e.message, /unknown field "foo"/);
    e = error('(params.lr < 1 or status = failed');
    assert.strictEqual(e.column, 1);
    assert.match(e.message, /never closed/);
    e = error('params.lr < 1)');
    assert.strictEqual(e.column, 14);
    assert.match(e.message, /closes nothing/);
    e = error('name ~ "(unclosed"');
    assert.strictEqual(e.column, 8);
    assert.match(e.message, /regular expression/);
    e = error('params.lr < abc');
    assert.strictEqual(e.column, 13);
    assert.match(e.message, /not a number/);
    e = error('params.lr < 1 and');
    assert.strictEqual(e.column, 18);
    assert.match(e.message, /condition is missing/);
    e = error('name = "open');
    assert.strictEqual(e.column, 8);
    assert.match(e.message, /never closed/);
    e = error('tag:');
    assert.strictEqual(e.column, 5);
    e = error('params.lr ! 3');
    assert.strictEqual(e.column, 11);
    e = error('= 3');
    assert.strictEqual(e.column, 1);
    assert.match(e.message, /needs a field/);
    e = error('params. = 3');
    assert.match(e.message, /needs a name after the dot/);
  });
});
