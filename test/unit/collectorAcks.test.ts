// What an ack covers, against the real Collector and RunStore over real sockets:
// a seq gap is refused (seq_gap) instead of acked; a write the disk refuses
// (ENOSPC injected under the run log's own file handle) is never covered by a
// later ack; after the refused seq is resent and stored, acks go on; every point
// ends up in the log exactly once and in seq order.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunRecord } from '../../src/api/types';
import { Collector } from '../../src/collector/collector';
import { RunStore } from '../../src/store/runStore';
import { TestConnection, type Received, waitUntil } from './collectorTestClient';

const TOKEN = 'acks-token';

const start = (runId: string, seq = 1) => ({
  type: 'run.start',
  runId,
  seq,
  project: 'p',
  name: 'n',
  time: 1700000000,
});
const metrics = (runId: string, seq: number) => ({
  type: 'metrics',
  runId,
  seq,
  points: [{ key: 'loss', value: seq / 10, step: seq, time: 1700000000 + seq }],
});

function stepsOf(records: RunRecord[]): number[] {
  return records.flatMap((r) => (r.event.type === 'metrics' ? r.event.points.map((p) => p.step) : []));
}

function errors(c: TestConnection, code?: string): Received[] {
  return c.messages.filter((m) => m.type === 'error' && (code === undefined || m.code === code));
}

/**
 * Makes writes to run logs (files named log.rwl) fail with ENOSPC while `failing` > 0,
 * each failure using one up; every other file is untouched. The real RunLog sees a
 * real rejected write and truncates, as it would on a full disk.
 */
class FullDisk {
  failing = 0;
  delayMs = 0;
  private readonly logHandles = new WeakSet<object>();
  private readonly open = fs.promises.open;
  private proto?: { write: (...args: unknown[]) => Promise<unknown> };
  private write?: (...args: unknown[]) => Promise<unknown>;

  install(): void {
    const open = this.open;
    // Arrow functions reach this FullDisk; the patched write needs its own `this` (the file handle).
    const failNow = async (fh: object): Promise<boolean> => {
      if (!this.logHandles.has(fh) || this.failing <= 0) return false;
      this.failing--;
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      return true;
    };
    const patch = (fh: object): void => {
      if (this.proto) return;
      const proto = Object.getPrototypeOf(fh) as { write: (...args: unknown[]) => Promise<unknown> };
      const write = proto.write;
      this.proto = proto;
      this.write = write;
      proto.write = async function (this: object, ...args: unknown[]) {
        if (await failNow(this)) {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
            syscall: 'write',
          });
        }
        return write.apply(this, args);
      };
    };
    (fs.promises as { open: unknown }).open = async (file: fs.PathLike, ...rest: unknown[]) => {
      const fh = await (open as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(file, ...rest);
      if (String(file).endsWith('log.rwl')) {
        this.logHandles.add(fh);
        patch(fh);
      }
      return fh;
    };
  }

  uninstall(): void {
    (fs.promises as { open: unknown }).open = this.open;
    if (this.proto && this.write) this.proto.write = this.write;
    this.proto = undefined;
    this.failing = 0;
    this.delayMs = 0;
  }
}

describe('collector acks: gaps and refused writes', function () {
  this.timeout(60_000);
  let dir: string;
  let store: RunStore;
  let collector: Collector;
  let url: string;
  const disk = new FullDisk();

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-acks-'));
    disk.install();
    store = await RunStore.open(dir);
    collector = new Collector({ store, token: TOKEN });
    url = (await collector.start()).url;
  });
  afterEach(async () => {
    disk.uninstall();
    await collector.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a seq after a gap (1, 3, then 2) is refused with seq_gap and not stored; 2 then 3 are stored and acked in order', async () => {
    const c = await TestConnection.connect(url, TOKEN);
    c.send(start('gap'));
    await c.waitFor(() => c.ackedSeq('gap') === 1, 'ack 1');
    c.send(metrics('gap', 3));
    await c.waitFor(() => errors(c).length === 1, 'an answer to seq 3');
    const [gap] = errors(c);
    assert.equal(gap.code, 'seq_gap');
    assert.equal(gap.seq, 3);
    assert.equal(gap.expected, 2);
    assert.match(gap.message as string, /resend from seq 2/);
    assert.equal(c.ackedSeq('gap'), 1, 'seq 3 is not acked');
    c.send(metrics('gap', 2));
    await c.waitFor(() => c.ackedSeq('gap') === 2, 'ack 2');
    c.send(metrics('gap', 3));
    await c.waitFor(() => c.ackedSeq('gap') === 3, 'ack 3');
    assert.deepEqual(stepsOf(await store.read('gap', 0, 100)), [2, 3], 'seq 2 is stored, and seq 3 once, after it');
    assert.equal(store.lastSeq('gap'), 3);
    c.close();
  });

  it('a write the disk refuses is never covered by a later ack; after a resend of the refused seq acks resume', async () => {
    const c = await TestConnection.connect(url, TOKEN);
    c.send(start('full'));
    c.send(metrics('full', 2));
    await c.waitFor(() => c.ackedSeq('full') === 2, 'ack 2');
    disk.failing = 1; // the next group commit fails
    c.send(metrics('full', 3));
    await c.waitFor(() => errors(c, 'storage').length === 1, 'storage error for seq 3');
    const [refused] = errors(c, 'storage');
    assert.equal(refused.seq, 3);
    assert.match(refused.message as string, /ENOSPC/);
    // The disk has room again: seq 4 alone must not be stored or acked (it would cover 3).
    c.send(metrics('full', 4));
    await c.waitFor(() => errors(c, 'seq_gap').length === 1, 'seq_gap for seq 4');
    assert.equal(errors(c, 'seq_gap')[0].expected, 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.ackedSeq('full'), 2, 'no ack past the refused seq');
    assert.equal(store.lastSeq('full'), 2);
    // Resend from 3, as the error said.
    c.send(metrics('full', 3));
    c.send(metrics('full', 4));
    c.send(metrics('full', 5));
    await c.waitFor(() => c.ackedSeq('full') === 5, 'ack 5');
    assert.deepEqual(stepsOf(await store.read('full', 0, 100)), [2, 3, 4, 5]);
    c.close();
  });

  it('frames that arrive while a failing commit is on the disk are un-accepted with it: nothing lands out of order or twice', async () => {
    const c = await TestConnection.connect(url, TOKEN);
    c.send(start('burst'));
    await c.waitFor(() => c.ackedSeq('burst') === 1, 'ack 1');
    disk.failing = 1;
    disk.delayMs = 150; // the failing write takes a while; seqs 3..10 arrive meanwhile
    c.send(metrics('burst', 2));
    await new Promise((r) => setTimeout(r, 50));
    for (let s = 3; s <= 10; s++) c.send(metrics('burst', s));
    await c.waitFor(() => errors(c).length === 9, 'an error for each of seqs 2..10');
    const errs = errors(c);
    assert.deepEqual(
      errs.map((e) => [e.code, e.seq]),
      [['storage', 2], ...[3, 4, 5, 6, 7, 8, 9, 10].map((s) => ['seq_gap', s])],
    );
    assert.ok(errs.slice(1).every((e) => e.expected === 2));
    assert.equal(c.ackedSeq('burst'), 1);
    assert.equal(store.lastSeq('burst'), 1);
    for (let s = 2; s <= 10; s++) c.send(metrics('burst', s));
    await c.waitFor(() => c.ackedSeq('burst') === 10, 'ack 10');
    assert.deepEqual(stepsOf(await store.read('burst', 0, 100)), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    c.close();
  });

  it('a message refused for its content consumes its seq (a note in the run log), so the run goes on and the ack stays true after a restart', async () => {
    const c = await TestConnection.connect(url, TOKEN);
    c.send(start('bad'));
    c.send({ type: 'metrics', runId: 'bad', seq: 2, points: [{ key: 'loss', value: 'oops', step: 1, time: 1 }] });
    c.send(metrics('bad', 3));
    await c.waitFor(() => c.ackedSeq('bad') === 3, 'ack 3');
    assert.deepEqual(
      errors(c).map((e) => [e.code, e.seq]),
      [['bad_message', 2]],
    );
    const recs = await store.read('bad', 0, 100);
    assert.equal(recs.length, 3);
    const note = recs[1].event;
    assert.equal(note.type, 'log');
    assert.match(
      note.type === 'log' ? note.lines[0] : '',
      /seq 2 \(metrics\) was refused and not stored: bad_message: .*points\[0\]\.value/,
    );
    assert.deepEqual(stepsOf(recs), [3]);
    c.close();
    // A new collector on the same store agrees: 1..3 are settled, 4 is next.
    await collector.stop();
    await store.close();
    store = await RunStore.open(dir);
    collector = new Collector({ store, token: TOKEN });
    url = (await collector.start()).url;
    const d = await TestConnection.connect(url, TOKEN);
    d.send(metrics('bad', 2)); // a resend of a settled seq is a duplicate
    d.send(metrics('bad', 4));
    await d.waitFor(() => d.ackedSeq('bad') === 4, 'ack 4 after the restart');
    assert.deepEqual(errors(d), []);
    assert.deepEqual(stepsOf(await store.read('bad', 0, 100)), [3, 4]);
    d.close();
    await waitUntil(() => collector.state.clients === 0, 'client gone');
  });

  it('a bad heartbeat or hello that carries runId and seq consumes nothing', async () => {
    const c = await TestConnection.connect(url, TOKEN);
    c.send(start('hb'));
    await c.waitFor(() => c.ackedSeq('hb') === 1, 'ack 1');
    c.send({ type: 'heartbeat', runIds: 'hb', runId: 'hb', seq: 2 });
    c.send({ type: 'hello', runId: 'hb', seq: 2 });
    await c.waitFor(() => errors(c).length === 2, 'two errors');
    assert.deepEqual(
      errors(c).map((e) => e.code),
      ['bad_message', 'bad_message'],
    );
    c.send(metrics('hb', 2));
    await c.waitFor(() => c.ackedSeq('hb') === 2, 'ack 2');
    assert.equal(store.recordCount('hb'), 2, 'no note was written');
    assert.deepEqual(stepsOf(await store.read('hb', 0, 10)), [2]);
    c.close();
  });
});
