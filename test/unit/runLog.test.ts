// The run log (framing, group commit, torn-tail recovery) and the RunStore on top.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunEvent, RunSummary } from '../../src/api/types';
import { crc32, crc32Portable } from '../../src/store/crc32';
import { LogFile } from '../../src/store/logFile';
import { RunStore, UnknownRunError } from '../../src/store/runStore';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rw-log-'));
}

const payload = (i: number) =>
  Buffer.from(
    JSON.stringify({
      seq: i + 1,
      event: { type: 'log', stream: 'stdout', lines: [`line ${i} ${'x'.repeat(i % 37)}`], time: i },
    }),
  );

function start(time = 100, extra: Partial<Extract<RunEvent, { type: 'run.start' }>> = {}): RunEvent {
  return {
    type: 'run.start',
    project: 'proj',
    name: 'first',
    time,
    params: { lr: 0.1 },
    tags: { a: 'b' },
    context: { pid: 1 },
    ...extra,
  };
}

function metrics(from: number, n: number): RunEvent {
  return {
    type: 'metrics',
    points: Array.from({ length: n }, (_, i) => ({
      key: 'loss',
      value: (from + i) / 7,
      step: from + i,
      time: 1000 + from + i,
    })),
  };
}

describe('run log', () => {
  let dir: string;
  beforeEach(() => (dir = tmpDir()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('portable and native CRC-32 agree (check value of "123456789" is cbf43926)', () => {
    assert.equal(crc32Portable(Buffer.from('123456789')).toString(16), 'cbf43926');
    assert.equal(crc32(Buffer.from('123456789')).toString(16), 'cbf43926');
    const b = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
    assert.equal(crc32(b), crc32Portable(b));
  });

  it('frames records as [u32 length][u32 crc][payload] and reads them back', async () => {
    const file = path.join(dir, 'log.rwl');
    const log = await LogFile.open(file);
    const first = await log.append([payload(0), payload(1)]);
    const third = await log.append([payload(2)]);
    assert.equal(first, 0);
    assert.equal(third, 2);
    await log.close();
    const raw = fs.readFileSync(file);
    const p0 = payload(0);
    assert.equal(raw.readUInt32LE(0), p0.length);
    assert.equal(raw.readUInt32LE(4), crc32(p0));
    assert.deepEqual(raw.subarray(8, 8 + p0.length), p0);
    assert.equal(
      raw.length,
      [0, 1, 2].reduce((n, i) => n + 8 + payload(i).length, 0),
    );
    const again = await LogFile.open(file);
    assert.equal(again.count, 3);
    assert.deepEqual(
      (await again.read(1, 10)).map((e) => String(e.payload)),
      [payload(1), payload(2)].map(String),
    );
    assert.deepEqual(await again.read(3, 10), []);
    await again.close();
  });

  it('group commit: 500 concurrent appends share a few writes and syncs, in call order', async () => {
    const log = await LogFile.open(path.join(dir, 'log.rwl'));
    const firsts = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append([payload(i)])));
    assert.deepEqual(
      firsts,
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.ok(
      log.flushCount >= 1 && log.flushCount <= 3,
      `expected the appends to share syncs, got ${log.flushCount} flushes`,
    );
    const back = (await log.read(0, 1000)).map((e) => e.payload);
    assert.equal(back.length, 500);
    back.forEach((b, i) => assert.equal(b.toString(), payload(i).toString()));
    // Appends made while a flush is running go into the next flush, not lost.
    const more = [log.append([payload(500)])];
    await new Promise((r) => setImmediate(r));
    for (let i = 501; i < 600; i++) more.push(log.append([payload(i)]));
    await Promise.all(more);
    assert.equal(log.count, 600);
    await log.close();
  });

  it('an empty append is a barrier: it resolves after earlier appends are durable', async () => {
    const log = await LogFile.open(path.join(dir, 'log.rwl'));
    const a = log.append([payload(0)]);
    const b = log.append([]);
    let aDone = false;
    void a.then(() => (aDone = true));
    await b;
    assert.ok(aDone);
    assert.equal(log.count, 1);
    await log.close();
  });

  async function writeRecords(file: string, n: number): Promise<number[]> {
    const log = await LogFile.open(file);
    for (let i = 0; i < n; i++) await log.append([payload(i)]);
    await log.close();
    const ends: number[] = [];
    let at = 0;
    for (let i = 0; i < n; i++) ends.push((at += 8 + payload(i).length));
    return ends;
  }

  it('a tail torn anywhere inside the last record is cut at the last good record', async () => {
    const file = path.join(dir, 'log.rwl');
    const ends = await writeRecords(file, 6);
    const full = fs.readFileSync(file);
    // Every cut point inside the last record, header included.
    for (let cut = ends[4] + 1; cut < ends[5]; cut++) {
      fs.writeFileSync(file, full.subarray(0, cut));
      const log = await LogFile.open(file);
      assert.equal(log.count, 5, `cut at ${cut}`);
      assert.equal(log.truncatedBytes, cut - ends[4]);
      assert.equal(fs.statSync(file).size, ends[4]);
      const back = (await log.read(0, 10)).map((e) => e.payload);
      back.forEach((b, i) => assert.equal(b.toString(), payload(i).toString()));
      await log.close();
    }
  });

  it('a flipped byte in the middle leaves a hole: later records keep their index, appends continue', async () => {
    const file = path.join(dir, 'log.rwl');
    const ends = await writeRecords(file, 10);
    const buf = fs.readFileSync(file);
    buf[ends[6] + 8 + 3] ^= 0x20; // inside record 7's payload
    fs.writeFileSync(file, buf);
    const bad: number[] = [];
    const log = await LogFile.open(file, { onBadRecord: (b) => bad.push(b.index) });
    assert.deepEqual(bad, [7]);
    assert.equal(log.count, 10);
    assert.equal(log.truncatedBytes, 0);
    assert.equal(fs.statSync(file).size, ends[9]);
    assert.equal(await log.append([payload(10)]), 10);
    const back = await log.read(0, 100);
    assert.deepEqual(
      back.map((e) => e.index),
      [0, 1, 2, 3, 4, 5, 6, 8, 9, 10],
    );
    back.forEach((e) => assert.equal(e.payload.toString(), payload(e.index).toString()));
    await log.close();
  });

  it('a header claiming an impossible length is treated as garbage', async () => {
    const file = path.join(dir, 'log.rwl');
    const ends = await writeRecords(file, 3);
    const junk = Buffer.alloc(16, 0xff);
    fs.appendFileSync(file, junk);
    const log = await LogFile.open(file);
    assert.equal(log.count, 3);
    assert.equal(log.truncatedBytes, 16);
    assert.equal(fs.statSync(file).size, ends[2]);
    await log.close();
  });
});

describe('run store', () => {
  let dir: string;
  beforeEach(() => (dir = tmpDir()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a run on run.start, lays out its folder, and reads records back with offsets', async () => {
    const store = await RunStore.open(dir);
    const recs = await store.append('run-1', [
      { seq: 1, event: start() },
      { seq: 2, event: metrics(0, 3) },
    ]);
    assert.deepEqual(
      recs.map((r) => r.offset),
      [0, 1],
    );
    assert.ok(fs.existsSync(path.join(store.runDir('run-1'), 'log.rwl')));
    assert.ok(fs.statSync(path.join(store.runDir('run-1'), 'artifacts')).isDirectory());
    assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), '*\n');
    assert.equal(store.lastSeq('run-1'), 2);
    assert.equal(store.recordCount('run-1'), 2);
    const back = await store.read('run-1', 1, 10);
    assert.deepEqual(back, [{ runId: 'run-1', offset: 1, event: metrics(0, 3) }]);
    await store.close();
    const meta = JSON.parse(fs.readFileSync(path.join(store.runDir('run-1'), 'meta.json'), 'utf8'));
    assert.equal(meta.summary.project, 'proj');
    assert.equal(meta.logBytes, fs.statSync(path.join(store.runDir('run-1'), 'log.rwl')).size);
  });

  it('drops items at or below the last accepted seq as duplicates (also while the first copy is in flight)', async () => {
    const store = await RunStore.open(dir);
    const a = store.append('r', [
      { seq: 1, event: start() },
      { seq: 2, event: metrics(0, 2) },
    ]);
    const b = store.append('r', [
      { seq: 2, event: metrics(0, 2) },
      { seq: 3, event: metrics(2, 2) },
    ]);
    const c = store.append('r', [{ seq: 1, event: start() }]);
    assert.equal((await a).length, 2);
    assert.deepEqual(
      (await b).map((r) => r.offset),
      [2],
    );
    assert.deepEqual(await c, []);
    assert.equal(store.recordCount('r'), 3);
    assert.equal(store.lastSeq('r'), 3);
    await store.close();
    // The seq survives a reopen: a resend after a restart is still a duplicate.
    const again = await RunStore.open(dir);
    assert.equal(again.lastSeq('r'), 3);
    assert.deepEqual(await again.append('r', [{ seq: 3, event: metrics(2, 2) }]), []);
    assert.equal(again.recordCount('r'), 3);
    await again.close();
  });

  it('rejects data for a run that was never started, and unsafe run ids', async () => {
    const store = await RunStore.open(dir);
    await assert.rejects(store.append('nope', [{ seq: 1, event: metrics(0, 1) }]), UnknownRunError);
    await assert.rejects(store.append('..', [{ seq: 1, event: start() }]), /not allowed/);
    assert.deepEqual(store.listRuns(), []);
    await store.close();
  });

  it('keeps the summary current and fires onDidAppend after durability and onDidChangeRun', async () => {
    const store = await RunStore.open(dir);
    const appended: number[] = [];
    const changes: RunSummary[] = [];
    store.onDidAppend((runId, records) => {
      // Fired after durability: an independent reader already sees the records.
      assert.ok(store.recordCount(runId) >= records[records.length - 1].offset + 1);
      appended.push(...records.map((r) => r.offset));
    });
    store.onDidChangeRun((r) => changes.push(r));
    await store.append('r', [{ seq: 1, event: start() }]);
    await store.append('r', [{ seq: 2, event: metrics(0, 5) }]);
    await store.append('r', [
      { seq: 3, event: { type: 'params', params: { bs: 32 } } },
      { seq: 4, event: { type: 'tags', tags: { c: 'd' } } },
    ]);
    await store.append('r', [{ seq: 5, event: { type: 'run.end', status: 'finished', time: 200 } }]);
    assert.deepEqual(appended, [0, 1, 2, 3, 4]);
    const s = store.getRun('r')!;
    assert.equal(s.status, 'finished');
    assert.equal(s.endTime, 200);
    assert.equal(s.lastStep, 4);
    assert.deepEqual(s.params, { lr: 0.1, bs: 32 });
    assert.deepEqual(s.tags, { a: 'b', c: 'd' });
    assert.equal(changes[changes.length - 1].status, 'finished');
    assert.ok(changes.some((c) => c.status === 'running'));
    await store.close();
  });

  it('stores NaN and ±Infinity and gives them back as numbers', async () => {
    const store = await RunStore.open(dir);
    await store.append('r', [{ seq: 1, event: start() }]);
    const ev: RunEvent = {
      type: 'metrics',
      points: [NaN, Infinity, -Infinity, 1.5].map((value, step) => ({ key: 'k', value, step, time: 1 })),
    };
    await store.append('r', [{ seq: 2, event: ev }]);
    await store.close();
    const again = await RunStore.open(dir);
    const [rec] = await again.read('r', 1, 1);
    assert.equal(rec.event.type, 'metrics');
    const values = rec.event.type === 'metrics' ? rec.event.points.map((p) => p.value) : [];
    assert.ok(Number.isNaN(values[0]));
    assert.deepEqual(values.slice(1), [Infinity, -Infinity, 1.5]);
    await again.close();
  });

  it('a crashed mark is a run.end with status crashed; later data brings the run back to running', async () => {
    const store = await RunStore.open(dir);
    await store.append('r', [{ seq: 1, event: start() }]);
    await store.append('r', [{ event: { type: 'run.end', status: 'crashed', time: 150 } }]);
    assert.equal(store.getRun('r')!.status, 'crashed');
    await store.append('r', [{ seq: 2, event: metrics(0, 1) }]);
    assert.equal(store.getRun('r')!.status, 'running');
    assert.equal(store.getRun('r')!.endTime, undefined);
    await store.close();
  });

  it('rebuilds a missing or stale meta.json from the log, keeping a rename', async () => {
    const store = await RunStore.open(dir);
    await store.append('r', [
      { seq: 1, event: start() },
      { seq: 2, event: metrics(0, 10) },
    ]);
    await store.renameRun('r', 'renamed');
    await store.close();
    const metaFile = path.join(dir, 'runs', 'r', 'meta.json');
    const staleMeta = fs.readFileSync(metaFile, 'utf8');
    // Stale: the log grew after the meta was written (as after a crash before the debounced write).
    const store2 = await RunStore.open(dir);
    await store2.append('r', [
      { seq: 3, event: metrics(10, 5) },
      { seq: 4, event: { type: 'run.end', status: 'failed', time: 300 } },
    ]);
    await store2.close();
    fs.writeFileSync(metaFile, staleMeta);
    const infos: string[] = [];
    const store3 = await RunStore.open(dir, {
      logger: { info: (m) => infos.push(m), warn: () => undefined, error: () => undefined },
    });
    assert.equal(infos.filter((m) => m.includes('rebuilt')).length, 1);
    const s = store3.getRun('r')!;
    assert.equal(s.status, 'failed');
    assert.equal(s.lastStep, 14);
    assert.equal(s.name, 'renamed');
    assert.equal(store3.lastSeq('r'), 4);
    assert.equal(store3.recordCount('r'), 4);
    await store3.close();
    // Missing altogether.
    fs.unlinkSync(metaFile);
    const store4 = await RunStore.open(dir);
    assert.equal(store4.getRun('r')!.status, 'failed');
    assert.equal(store4.lastSeq('r'), 4);
    await store4.close();
  });

  it('a damaged last record under a fresh meta is acknowledged data: kept as a hole and reported, never cut', async () => {
    const store = await RunStore.open(dir);
    await store.append('r', [
      { seq: 1, event: start() },
      { seq: 2, event: metrics(0, 4) },
    ]);
    await store.append('r', [{ seq: 3, event: metrics(4, 4) }]);
    await store.close();
    const logFile = path.join(dir, 'runs', 'r', 'log.rwl');
    const buf = fs.readFileSync(logFile);
    buf[buf.length - 10] ^= 0x01; // same size, so meta.json still looks fresh
    fs.writeFileSync(logFile, buf);
    const warnings: string[] = [];
    const again = await RunStore.open(dir, {
      logger: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined },
    });
    const recs = await again.read('r', 0, 10);
    assert.deepEqual(
      recs.map((r) => r.offset),
      [0, 1],
    );
    assert.equal(fs.statSync(logFile).size, buf.length, 'the damaged record was cut');
    assert.ok(
      warnings.some((w) => w.includes('record 2') && w.includes('damaged')),
      warnings.join('\n'),
    );
    assert.equal(again.recordCount('r'), 3);
    assert.equal(again.lastSeq('r'), 3, 'seq 3 was acknowledged: a resend is still a duplicate');
    assert.deepEqual(await again.append('r', [{ seq: 3, event: metrics(4, 4) }]), []);
    const [next] = await again.append('r', [{ seq: 4, event: metrics(8, 1) }]);
    assert.equal(next.offset, 3);
    await again.close();
  });

  it('opens 1,000 runs from their meta files without replaying any log, and lists them newest first', async function () {
    this.timeout(120_000);
    const store = await RunStore.open(dir);
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++)
      all.push(
        store.append(`run-${i}`, [
          { seq: 1, event: start(1000 + i, { name: `n${i}` }) },
          { seq: 2, event: metrics(0, 3) },
        ]),
      );
    await Promise.all(all);
    await store.close();
    // Damage two: one meta missing, one log torn (so its meta is stale).
    fs.unlinkSync(path.join(dir, 'runs', 'run-7', 'meta.json'));
    const torn = path.join(dir, 'runs', 'run-8', 'log.rwl');
    fs.truncateSync(torn, fs.statSync(torn).size - 5);
    const rebuilt: string[] = [];
    const again = await RunStore.open(dir, {
      logger: { info: (m) => m.includes('rebuilt') && rebuilt.push(m), warn: () => undefined, error: () => undefined },
    });
    assert.equal(rebuilt.length, 2, rebuilt.join('\n'));
    const runs = again.listRuns();
    assert.equal(runs.length, 1000);
    assert.equal(runs[0].runId, 'run-999');
    assert.equal(runs[999].runId, 'run-0');
    assert.equal(again.recordCount('run-8'), 1);
    assert.equal(again.lastSeq('run-8'), 1);
    assert.equal(again.getRun('run-7')!.name, 'n7');
    await again.close();
  });

  it('deletes and renames runs', async () => {
    const store = await RunStore.open(dir);
    await store.append('a', [{ seq: 1, event: start(1) }]);
    await store.append('b', [{ seq: 1, event: start(2) }]);
    const deleted: string[] = [];
    store.onDidDeleteRun((id) => deleted.push(id));
    assert.equal(await store.deleteRun('a'), true);
    assert.equal(await store.deleteRun('a'), false);
    assert.deepEqual(deleted, ['a']);
    assert.ok(!fs.existsSync(store.runDir('a')));
    await store.renameRun('b', 'bee');
    await store.close();
    const again = await RunStore.open(dir);
    assert.deepEqual(
      again.listRuns().map((r) => [r.runId, r.name]),
      [['b', 'bee']],
    );
    await again.close();
  });
});

describe('log file: a second writer behind the lock', () => {
  it('refuses to write when the file is not the size it left it (someone else wrote it)', async () => {
    const dir = tmpDir();
    try {
      const file = path.join(dir, 'log.rwl');
      const a = await LogFile.open(file);
      await a.append([payload(0)]);
      const b = await LogFile.open(file); // as a writer that ignored the store lock would
      await b.append([payload(1)]);
      await assert.rejects(a.append([payload(2)]), /another process writes it; nothing was written/);
      const reader = await LogFile.open(file, { mode: 'reader' });
      const back = await reader.read(0, 10);
      await reader.close();
      assert.deepEqual(
        back.map((e) => e.payload.toString()),
        [payload(0), payload(1)].map(String),
      );
      await a.close();
      await b.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
