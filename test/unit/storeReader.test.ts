// Reader mode: follows a writer's new runs, new records and deletions, fires the same events, and never
// writes (no meta.json, no cut tail, nothing created).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { RunEvent, RunSummary } from '../../src/api/types';
import { memoryLogger } from '../../src/common/logger';
import { RunStore } from '../../src/store/runStore';
import { SeriesStore } from '../../src/store/series';
import { tempDir } from '../support/tempDir';
import { waitFor } from '../support/waitFor';

const start: RunEvent = { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} };
const metric = (i: number): RunEvent => ({ type: 'metrics', points: [{ key: 'x', step: i, time: i, value: i }] });

/** Every file under dir with its size and mtime, to see that nothing changed. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${fs.statSync(p).size} ${fs.statSync(p).mtimeMs}`);
    }
  };
  walk(dir);
  return out.sort();
}

describe('store reader mode', function () {
  this.timeout(30_000);
  let tmp: { dir: string; remove(): void };
  beforeEach(() => (tmp = tempDir('reader')));
  afterEach(() => tmp.remove());

  it('sees new runs, new records and deletions live, with the usual events', async () => {
    const writer = await RunStore.open(tmp.dir, { sync: false });
    await writer.append('old', [
      { seq: 1, event: start },
      { seq: 2, event: metric(0) },
    ]);
    const reader = await RunStore.open(tmp.dir, { mode: 'reader', pollMs: 50, logger: memoryLogger() });
    const changed: RunSummary[] = [];
    const appended: string[] = [];
    const deleted: string[] = [];
    reader.onDidChangeRun((r) => changed.push(r));
    reader.onDidAppend((runId, recs) => appended.push(...recs.map((r) => `${runId}@${r.offset}`)));
    reader.onDidDeleteRun((id) => deleted.push(id));
    assert.deepEqual(
      reader.listRuns().map((r) => r.runId),
      ['old'],
    );

    await writer.append('old', [{ seq: 3, event: metric(1) }]);
    await writer.append('new', [
      { seq: 1, event: start },
      { seq: 2, event: metric(5) },
    ]);
    await writer.append('new', [{ seq: 3, event: { type: 'run.end', status: 'finished', time: 9 } }]);
    await waitFor(
      'the reader to see both runs grow',
      () => reader.recordCount('old') === 3 && reader.recordCount('new') === 3,
    );
    await waitFor('appends of both runs, the new one from its first record', () =>
      ['old@2', 'new@0', 'new@1', 'new@2'].every((x) => appended.includes(x)),
    );
    assert.equal(appended.filter((x) => x === 'new@1').length, 1, 'each record announced once');
    await waitFor('the finished status', () => changed.some((r) => r.runId === 'new' && r.status === 'finished'));
    assert.equal(reader.getRun('new')?.status, 'finished');
    assert.equal(reader.lastSeq('new'), 3);
    assert.equal((await reader.read('old', 0, 10)).length, 3);

    await writer.renameRun('new', 'given a name');
    await waitFor('the rename', () => reader.getRun('new')?.name === 'given a name');
    assert.ok(changed.some((r) => r.runId === 'new' && r.name === 'given a name'));

    await writer.deleteRun('old');
    await waitFor('the deletion', () => deleted.includes('old'));
    assert.equal(reader.getRun('old'), undefined);
    await assert.rejects(reader.renameRun('new', 'x'), /open as a reader/);
    await assert.rejects(reader.deleteRun('new'), /open as a reader/);
    await reader.close();
    await writer.close();
  });

  it('never writes: no meta.json rebuilt, a torn tail left alone, nothing created', async () => {
    const writer = await RunStore.open(tmp.dir, { sync: false });
    await writer.append('r', [
      { seq: 1, event: start },
      { seq: 2, event: metric(0) },
    ]);
    await writer.close();
    const runDir = path.join(tmp.dir, 'runs', 'r');
    fs.rmSync(path.join(runDir, 'meta.json'));
    fs.appendFileSync(path.join(runDir, 'log.rwl'), Buffer.from([50, 0, 0, 0, 1])); // a write in progress
    const before = snapshot(tmp.dir);
    const reader = await RunStore.open(tmp.dir, { mode: 'reader', pollMs: 50, logger: memoryLogger() });
    assert.equal(reader.recordCount('r'), 2);
    assert.equal((await reader.read('r', 0, 10)).length, 2);
    await reader.refresh();
    await reader.close();
    assert.deepEqual(snapshot(tmp.dir), before);
  });

  it("drives a series cache kept elsewhere: points the writer adds show up in the reader's charts", async () => {
    const writer = await RunStore.open(tmp.dir, { sync: false });
    await writer.append('r', [
      { seq: 1, event: start },
      { seq: 2, event: metric(0) },
    ]);
    const reader = await RunStore.open(tmp.dir, { mode: 'reader', pollMs: 50, logger: memoryLogger() });
    const cache = tempDir('reader-cache');
    const series = SeriesStore.open({
      runDir: (id) => {
        const d = path.join(cache.dir, id);
        fs.mkdirSync(d, { recursive: true });
        return d;
      },
      listRuns: () => reader.listRuns(),
      read: (id, from, max) => reader.read(id, from, max),
      recordCount: (id) => reader.recordCount(id),
      onDidAppend: (l) => reader.onDidAppend(l),
    });
    for (let i = 1; i < 50; i++) await writer.append('r', [{ seq: i + 2, event: metric(i) }]);
    await waitFor("all 50 points in the reader's series", async () => {
      await series.whenIdle();
      return (await series.query({ runId: 'r', key: 'x', x: 'step', maxPoints: 100 })).total === 50;
    });
    await series.dispose();
    await reader.close();
    await writer.close();
    cache.remove();
  });
});
