// A damaged record in the middle of a log is skipped and reported; the intact records after it are kept,
// through every reader (RunStore reads, the series cache's catch-up, a sink-style cursor loop), and no
// read ever changes the file.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { RunEvent, RunRecord } from '../../src/api/types';
import { memoryLogger } from '../../src/common/logger';
import { crc32 } from '../../src/store/crc32';
import { LogFile } from '../../src/store/logFile';
import { RunStore } from '../../src/store/runStore';
import { SeriesStore } from '../../src/store/series';
import { tempDir } from '../support/tempDir';

const RUN = 'flip';
const start: RunEvent = { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} };
const metric = (i: number): RunEvent => ({
  type: 'metrics',
  points: [{ key: 'loss', step: i, time: 100 + i, value: i / 4 }],
});

/** Byte offset where each record starts, walking the framing. */
function recordStarts(file: string): number[] {
  const buf = fs.readFileSync(file);
  const starts: number[] = [];
  for (let at = 0; at < buf.length; at += 8 + buf.readUInt32LE(at)) starts.push(at);
  return starts;
}

describe('store: a flipped byte in the middle of a log', () => {
  let tmp: { dir: string; remove(): void };
  beforeEach(() => (tmp = tempDir('corrupt')));
  afterEach(() => tmp.remove());

  async function write42(): Promise<{ logFile: string; size: number; bad: number }> {
    const store = await RunStore.open(tmp.dir, { sync: false });
    await store.append(RUN, [{ seq: 1, event: start }]);
    for (let i = 1; i < 42; i++) await store.append(RUN, [{ seq: i + 1, event: metric(i) }]);
    await store.close();
    const logFile = path.join(tmp.dir, 'runs', RUN, 'log.rwl');
    const starts = recordStarts(logFile);
    assert.equal(starts.length, 42);
    const buf = fs.readFileSync(logFile);
    buf[starts[21] + 8 + 5] ^= 0x04; // inside record 21's payload: same size, so meta.json looks fresh
    fs.writeFileSync(logFile, buf);
    return { logFile, size: buf.length, bad: starts[21] };
  }

  it('keeps the 41 intact records for every reader, reports the bad one, and never truncates', async () => {
    const { logFile, size, bad } = await write42();
    const log = memoryLogger();
    const store = await RunStore.open(tmp.dir, { sync: false, logger: log });

    // The series cache reads every run on open (this is what cut the log before).
    const series = SeriesStore.open(store, { logger: log });
    await series.whenIdle();
    const slice = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 1000 });
    assert.equal(slice.total, 40, 'every metric record but the damaged one');
    assert.ok(!Array.from(slice.x).includes(21));
    assert.equal(fs.statSync(logFile).size, size, 'reading for the series cache changed the log');

    const all = await store.read(RUN, 0, 1000);
    assert.equal(all.length, 41);
    assert.deepEqual(
      all.map((r) => r.offset),
      [...Array.from({ length: 21 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 22 + i)],
      'offsets stay stable: later records keep theirs, so cursors stay valid',
    );
    // A sink-style cursor: small reads, next = last offset + 1.
    const seen: RunRecord[] = [];
    for (let from = 0; ;) {
      const recs = await store.read(RUN, from, 5);
      if (recs.length === 0) break;
      seen.push(...recs);
      from = recs[recs.length - 1].offset + 1;
    }
    assert.deepEqual(
      seen.map((r) => r.offset),
      all.map((r) => r.offset),
    );
    assert.equal(fs.statSync(logFile).size, size, 'a read changed the log');

    const warning = log.lines.find((l) => l.startsWith('warn:') && l.includes('record 21'));
    assert.ok(warning, log.lines.join('\n'));
    assert.ok(warning.includes(RUN) && warning.includes(`byte ${bad}`), warning);
    assert.ok(!log.lines.some((l) => l.includes('series cache')), log.lines.join('\n'));

    // Appends go after the last record, never into the hole; a reopen still sees all of it.
    await store.append(RUN, [{ seq: 43, event: metric(42) }]);
    await series.dispose();
    await store.close();
    const again = await RunStore.open(tmp.dir, { sync: false, logger: memoryLogger() });
    const back = await again.read(RUN, 0, 1000);
    assert.equal(back.length, 42);
    assert.equal(back[back.length - 1].offset, 42);
    await again.close();
  });

  it('a damaged length field: the scan resyncs on the next valid frame', async () => {
    const file = path.join(tmp.dir, 'log.rwl');
    const payloads = Array.from({ length: 10 }, (_, i) => Buffer.from(JSON.stringify({ event: metric(i) })));
    const lf = await LogFile.open(file);
    await lf.append(payloads);
    await lf.close();
    const starts = recordStarts(file);
    const buf = fs.readFileSync(file);
    buf.writeUInt32LE(0x7fffffff, starts[4]); // an impossible length
    fs.writeFileSync(file, buf);
    const bad: { index: number; offset: number }[] = [];
    const again = await LogFile.open(file, { onBadRecord: (b) => bad.push(b) });
    assert.deepEqual(
      bad.map((b) => [b.index, b.offset]),
      [[4, starts[4]]],
    );
    const back = await again.read(0, 100);
    assert.deepEqual(
      back.map((b) => b.index),
      [0, 1, 2, 3, 5, 6, 7, 8, 9],
    );
    assert.equal(back[4].payload.toString(), payloads[5].toString());
    assert.equal(crc32(back[8].payload), crc32(payloads[9]));
    assert.equal(fs.statSync(file).size, buf.length);
    await again.close();
  });

  it('only a torn tail at the true end is cut, and only by the writer', async () => {
    const file = path.join(tmp.dir, 'log.rwl');
    const lf = await LogFile.open(file);
    await lf.append([Buffer.from('{"a":1}'), Buffer.from('{"a":2}')]);
    await lf.close();
    const good = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from([9, 0, 0, 0, 1, 2])); // half a header
    const reader = await LogFile.open(file, { mode: 'reader' });
    assert.equal(reader.count, 2);
    assert.equal(fs.statSync(file).size, good + 6, 'a reader cut the tail');
    await reader.close();
    const writer = await LogFile.open(file);
    assert.equal(writer.count, 2);
    assert.equal(writer.truncatedBytes, 6);
    assert.equal(fs.statSync(file).size, good);
    await writer.close();
  });
});
