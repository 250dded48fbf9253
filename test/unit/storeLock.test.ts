// One writer per store, across real processes: a second writer is refused with a clear error, a reader
// follows the owner live, and after the owner is SIGKILLed the reader takes the lock and continues the
// log from its true end, so every record the owner acknowledged is still there exactly once.
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { RunRecord } from '../../src/api/types';
import { memoryLogger } from '../../src/common/logger';
import { RunStore, StoreLockedError } from '../../src/store/runStore';
import { acquireStoreLock, readStoreLockOwner, waitForStoreLock } from '../../src/store/storeLock';
import { tempDir } from '../support/tempDir';
import { waitFor } from '../support/waitFor';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = path.join(ROOT, 'test/fixtures/storeWriter.ts');
const RUN = 'shared';

interface Writer {
  proc: ChildProcess;
  acked: () => number;
  output: () => string;
}

function startWriter(dir: string, everyMs = 10): Writer {
  // node itself with tsx's loader, not the tsx wrapper: SIGKILL must hit the process holding the lock.
  const args = ['--require', require.resolve('tsx/cjs'), FIXTURE, dir, RUN, String(everyMs)];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let acked = 0;
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const m of d.matchAll(/acked (\d+)/g)) acked = Math.max(acked, Number(m[1]));
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { proc, acked: () => acked, output: () => out };
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => proc.once('exit', () => r()));
}

async function readAll(store: RunStore): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (let from = 0; ;) {
    const recs = await store.read(RUN, from, 500);
    if (recs.length === 0) return out;
    out.push(...recs);
    from = recs[recs.length - 1].offset + 1;
  }
}

describe('store lock: one writer at a time, across processes', function () {
  this.timeout(60_000);
  let tmp: { dir: string; remove(): void };
  let writer: Writer | undefined;
  beforeEach(() => (tmp = tempDir('lock')));
  afterEach(async () => {
    if (writer && writer.proc.exitCode === null && writer.proc.signalCode === null) {
      writer.proc.kill('SIGKILL');
      await exited(writer.proc);
    }
    writer = undefined;
    tmp.remove();
  });

  it('refuses a second writer, lets a reader follow live, and hands over after kill -9 with nothing lost', async () => {
    writer = startWriter(tmp.dir);
    const a = writer;
    await waitFor('the writer process to ack 20 records', () => a.acked() >= 20, { explain: a.output });

    await assert.rejects(RunStore.open(tmp.dir), (err: unknown) => {
      assert.ok(err instanceof StoreLockedError, String(err));
      assert.match(err.message, new RegExp(`store test fixture \\(pid ${a.proc.pid}`));
      assert.match(err.message, /mode: 'reader'/);
      return true;
    });
    const owner = await readStoreLockOwner(tmp.dir);
    assert.equal(owner?.pid, a.proc.pid);

    const reader = await RunStore.open(tmp.dir, { mode: 'reader', pollMs: 100, logger: memoryLogger() });
    const live: number[] = [];
    reader.onDidAppend((runId, recs) => live.push(...recs.map((r) => r.offset)));
    await assert.rejects(reader.append(RUN, []), /open as a reader/);
    const seenAtStart = reader.recordCount(RUN);
    await waitFor('the reader to see records the writer adds', () => reader.recordCount(RUN) >= seenAtStart + 20, {
      explain: () => `reader at ${reader.recordCount(RUN)}, writer acked ${a.acked()}`,
    });
    assert.ok(live.length >= 20, 'appends fired in the reader');
    assert.deepEqual(
      live,
      live.map((_, i) => live[0] + i),
      'in order, each once',
    );

    // A reader taking over: it waits on the lock while the owner lives.
    const ac = new AbortController();
    let got = false;
    const takeover = waitForStoreLock(tmp.dir, ac.signal, 'store test B', 200).then((l) => ((got = true), l));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got, false, 'the lock was taken while its owner lives');

    a.proc.kill('SIGKILL');
    await exited(a.proc);
    const ackedByA = a.acked();
    const lock = await takeover;
    assert.equal(await acquireStoreLock(tmp.dir), undefined, 'held by B now');
    await reader.close();
    const b = await RunStore.open(tmp.dir, { lock, logger: memoryLogger() });
    assert.ok(b.lastSeq(RUN) >= ackedByA, `B resumes after A's last acked seq ${ackedByA}, got ${b.lastSeq(RUN)}`);
    let seq = b.lastSeq(RUN);
    for (let i = 0; i < 10; i++) {
      const s = ++seq;
      await b.append(RUN, [{ seq: s, event: { type: 'metrics', points: [{ key: 'x', step: s, time: s, value: s }] } }]);
    }
    const recs = await readAll(b);
    const seqs = recs.map((r) => (r.event.type === 'metrics' ? r.event.points[0].step : 1));
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      'every record once, in order, none overwritten',
    );
    assert.ok(seqs.length >= ackedByA + 10);
    await b.close();
    assert.ok(await acquireStoreLock(tmp.dir).then((l) => l?.release().then(() => true)), 'released on close');
  });

  it('a refused writer in the same process gets the error too, and the lock is free again after close', async () => {
    const first = await RunStore.open(tmp.dir, { owner: 'first' });
    await assert.rejects(RunStore.open(tmp.dir), /in use by first \(pid \d+/);
    await first.close();
    const second = await RunStore.open(tmp.dir);
    await second.close();
  });
});
