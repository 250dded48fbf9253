import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunRecord } from '../../src/api/types';
import { RunStore } from '../../src/store/runStore';
import { IMPORTED_DIR, SpoolImporter } from '../../src/sources/spoolImporter';
import { waitFor } from '../support/waitFor';

const RUN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

function line(msg: Record<string, unknown>): string {
  return JSON.stringify(msg) + '\n';
}

function start(runId = RUN, seq = 1): string {
  return line({
    type: 'run.start',
    runId,
    seq,
    project: 'proj',
    name: 'spooled',
    time: 1700000000,
    params: { lr: 0.1 },
    tags: { a: 'b' },
    context: { pid: 1 },
  });
}

function metrics(seq: number, points: { key: string; value: number | string; step: number }[], runId = RUN): string {
  return line({ type: 'metrics', runId, seq, points: points.map((p) => ({ ...p, time: 1700000001 + p.step })) });
}

function end(seq: number, runId = RUN): string {
  return line({ type: 'run.end', runId, seq, status: 'finished', time: 1700000100 });
}

async function readAll(store: RunStore, runId: string): Promise<RunRecord[]> {
  return store.read(runId, 0, 1_000_000);
}

describe('SpoolImporter', () => {
  let tmp: string;
  let store: RunStore;
  let spool: string;
  let importer: SpoolImporter | undefined;
  let warnings: string[];
  const logger = {
    info: () => undefined,
    warn: (m: string) => void warnings.push(m),
    error: (m: string) => void warnings.push(m),
  };

  beforeEach(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rw-spool-'));
    spool = path.join(tmp, 'spool');
    await fs.promises.mkdir(spool);
    store = await RunStore.open(path.join(tmp, 'store'));
    warnings = [];
    importer = undefined;
  });

  afterEach(async () => {
    await importer?.dispose();
    await store.close();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  it('imports a finished spool file through the watcher: exact points, NaN/±Infinity, params, tags, status; bad lines skipped and reported', async () => {
    const file = path.join(spool, `${RUN}.jsonl`);
    fs.writeFileSync(
      file,
      start() +
        metrics(2, [
          { key: 'loss', value: 0.5, step: 0 },
          { key: 'loss', value: 'NaN', step: 1 },
          { key: 'acc', value: 'Infinity', step: 1 },
          { key: 'acc', value: '-Infinity', step: 2 },
        ]) +
        'this is not json\n' +
        line({ type: 'metrics', runId: RUN, seq: 3, points: [] }) +
        line({ type: 'params', runId: RUN, seq: 4, params: { batch: 32 } }) +
        line({ type: 'tags', runId: RUN, seq: 5, tags: { phase: 'final' } }) +
        end(6) +
        '{"type":"metrics","runId":"torn',
    );
    importer = new SpoolImporter(store, spool, { logger });
    await importer.start();
    const moved = path.join(spool, IMPORTED_DIR, `${RUN}.jsonl`);
    await waitFor('the file to move to imported/', () => fs.existsSync(moved));
    assert.ok(!fs.existsSync(file));

    const run = store.getRun(RUN);
    assert.ok(run);
    assert.strictEqual(run.status, 'finished');
    assert.deepStrictEqual(run.params, { lr: 0.1, batch: 32 });
    assert.deepStrictEqual(run.tags, { a: 'b', phase: 'final' });
    assert.strictEqual(store.lastSeq(RUN), 6);

    const records = await readAll(store, RUN);
    assert.deepStrictEqual(
      records.map((r) => r.event.type),
      ['run.start', 'metrics', 'params', 'tags', 'run.end'],
    );
    const m = records[1].event;
    assert.ok(m.type === 'metrics');
    assert.deepStrictEqual(
      m.points.map((p) => [p.key, p.step, p.value]),
      [
        ['loss', 0, 0.5],
        ['loss', 1, NaN],
        ['acc', 1, Infinity],
        ['acc', 2, -Infinity],
      ],
    );
    assert.ok(
      warnings.some((w) => w.includes('line 3') && w.includes('bad_json')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.includes('line 4') && w.includes('bad_message')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.includes('torn')),
      warnings.join('\n'),
    );
  });

  it('imports columnar (cols) metrics lines, mixed with object lines, as the same points', async () => {
    const file = path.join(spool, `${RUN}.jsonl`);
    fs.writeFileSync(
      file,
      start() +
        line({
          type: 'metrics',
          runId: RUN,
          seq: 2,
          cols: {
            keys: ['loss', 'acc'],
            k: [0, 1, 0],
            v: [0.5, 'NaN', '-Infinity'],
            s: [0, 0, 1],
            t: [1700000001, 1700000001, 1700000002],
          },
        }) +
        metrics(3, [{ key: 'acc', value: 0.75, step: 1 }]) +
        line({ type: 'metrics', runId: RUN, seq: 4, cols: { keys: ['loss'], k: [0, 0], v: [1], s: [2], t: [1] } }) + // lengths differ: skipped
        end(5),
    );
    importer = new SpoolImporter(store, spool, { logger });
    const res = await importer.importFile(file);
    assert.ok(res.moved);
    assert.equal(res.badLines, 1);
    assert.ok(
      warnings.some((w) => w.includes('line 4') && w.includes('cols.k, v, s and t must have the same length')),
      warnings.join('\n'),
    );
    const points = (await readAll(store, RUN)).flatMap((r) =>
      r.event.type === 'metrics' ? r.event.points.map((p) => [p.key, p.step, p.value, p.time]) : [],
    );
    assert.deepStrictEqual(points, [
      ['loss', 0, 0.5, 1700000001],
      ['acc', 0, NaN, 1700000001],
      ['loss', 1, -Infinity, 1700000002],
      ['acc', 1, 0.75, 1700000002],
    ]);
  });

  it('drops seqs the store already holds (a run that reached the collector in part, lines repeated)', async () => {
    // The collector got seq 1-2 before it went away.
    await store.append(RUN, [
      {
        seq: 1,
        event: { type: 'run.start', project: 'proj', name: 'n', time: 1700000000, params: {}, tags: {}, context: {} },
      },
      { seq: 2, event: { type: 'metrics', points: [{ key: 'x', value: 1, step: 0, time: 1 }] } },
    ]);
    const file = path.join(spool, `${RUN}.jsonl`);
    fs.writeFileSync(
      file,
      start() +
        metrics(2, [{ key: 'x', value: 1, step: 0 }]) +
        metrics(3, [{ key: 'x', value: 2, step: 1 }]) +
        metrics(3, [{ key: 'x', value: 2, step: 1 }]) +
        metrics(4, [{ key: 'x', value: 3, step: 2 }]) +
        end(5),
    );
    importer = new SpoolImporter(store, spool, { logger });
    const res = await importer.importFile(file);
    assert.ok(res.moved);
    const points = (await readAll(store, RUN)).flatMap((r) =>
      r.event.type === 'metrics' ? r.event.points.map((p) => [p.step, p.value]) : [],
    );
    assert.deepStrictEqual(points, [
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    assert.strictEqual(store.getRun(RUN)?.status, 'finished');
  });

  it('imports a growing file incrementally and only moves it once the run has ended', async () => {
    const file = path.join(spool, `${RUN}.jsonl`);
    fs.writeFileSync(file, start() + metrics(2, [{ key: 'x', value: 1, step: 0 }]) + '{"type":"met');
    importer = new SpoolImporter(store, spool, { logger, staleMs: 3_600_000 });
    let res = await importer.importFile(file);
    assert.strictEqual(res.moved, false);
    assert.strictEqual(store.getRun(RUN)?.status, 'running');
    assert.strictEqual(store.recordCount(RUN), 2);

    // The client finishes the torn line and ends the run.
    fs.appendFileSync(
      file,
      `rics","runId":"${RUN}","seq":3,"points":[{"key":"x","value":2,"step":1,"time":5}]}\n` + end(4),
    );
    res = await importer.importFile(file);
    assert.strictEqual(res.moved, true);
    const events = (await readAll(store, RUN)).map((r) => r.event);
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ['run.start', 'metrics', 'metrics', 'run.end'],
    );
    const second = events[2];
    assert.ok(second.type === 'metrics');
    assert.deepStrictEqual(second.points, [{ key: 'x', value: 2, step: 1, time: 5 }]);
    assert.deepStrictEqual(warnings, []);
  });

  it('ends a run as crashed when its spool file went stale without run.end', async () => {
    const file = path.join(spool, `${RUN}.jsonl`);
    fs.writeFileSync(file, start() + metrics(2, [{ key: 'x', value: 1, step: 0 }]));
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(file, old, old);
    importer = new SpoolImporter(store, spool, { logger, staleMs: 60_000, recheckMs: 100 });
    await importer.start();
    await waitFor('the stale file to move', () => fs.existsSync(path.join(spool, IMPORTED_DIR, `${RUN}.jsonl`)));
    const run = store.getRun(RUN);
    assert.strictEqual(run?.status, 'crashed');
    const events = (await readAll(store, RUN)).map((r) => r.event);
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ['run.start', 'metrics', 'run.end'],
    );
  });

  it('reports data for a run whose run.start is missing, and does not crash', async () => {
    const file = path.join(spool, `${RUN}.jsonl`);
    fs.writeFileSync(file, metrics(2, [{ key: 'x', value: 1, step: 0 }]) + end(3));
    importer = new SpoolImporter(store, spool, { logger });
    const res = await importer.importFile(file);
    assert.strictEqual(res.badLines, 2);
    assert.strictEqual(store.getRun(RUN), undefined);
    assert.ok(
      warnings.some((w) => w.includes('run.start')),
      warnings.join('\n'),
    );
  });

  it('leaves a .part file alone while its writer lives; imports it (crashed, nothing doubled) once the writer is gone', async () => {
    const file = path.join(spool, `${RUN}.4242.jsonl.part`);
    fs.writeFileSync(
      file,
      start() + metrics(2, [{ key: 'x', value: 1, step: 0 }]) + metrics(3, [{ key: 'x', value: 2, step: 1 }]),
    );
    let alive = true;
    importer = new SpoolImporter(store, spool, { logger, partQuietMs: 0, isAlive: (pid) => pid === 4242 && alive });
    let res = await importer.importFile(file);
    assert.strictEqual(res.live, true);
    assert.strictEqual(store.getRun(RUN), undefined, 'nothing imported from a file that is still being written');

    // The same run reached a collector in part (seq 1-2) before its writer died.
    await store.append(RUN, [
      {
        seq: 1,
        event: { type: 'run.start', project: 'proj', name: 'n', time: 1700000000, params: {}, tags: {}, context: {} },
      },
      { seq: 2, event: { type: 'metrics', points: [{ key: 'x', value: 1, step: 0, time: 1 }] } },
    ]);
    alive = false;
    res = await importer.importFile(file);
    assert.strictEqual(res.moved, true);
    assert.ok(fs.existsSync(path.join(spool, IMPORTED_DIR, `${RUN}.4242.jsonl`)));
    const points = (await readAll(store, RUN)).flatMap((r) =>
      r.event.type === 'metrics' ? r.event.points.map((p) => p.step) : [],
    );
    assert.deepStrictEqual(points, [0, 1]);
    assert.strictEqual(store.getRun(RUN)?.status, 'crashed');
  });

  it('waits for a .part file to be quiet even when its pid looks dead (another pid namespace)', async () => {
    const file = path.join(spool, `${RUN}.4242.jsonl.part`);
    fs.writeFileSync(file, start() + end(2));
    importer = new SpoolImporter(store, spool, { logger, partQuietMs: 3_600_000, isAlive: () => false });
    const res = await importer.importFile(file);
    assert.strictEqual(res.live, true);
    assert.strictEqual(store.getRun(RUN), undefined);
  });
});
