// Export of a run and of a project as JSON lines and CSV: every point with key, step, wall time and
// value, NaN/±Infinity kept and read back exactly; the stream's backpressure is honoured.
import { strict as assert } from 'assert';
import { Writable } from 'stream';
import type { RunEvent } from '../../src/api/types';
import { decodeWireNumber } from '../../src/common/wireNumber';
import { CSV_HEADER, exportProject, exportRun } from '../../src/store/export';
import { RunStore } from '../../src/store/runStore';
import { tempDir } from '../support/tempDir';

const start = (project: string, time: number): RunEvent => ({
  type: 'run.start',
  project,
  name: `n${time}`,
  time,
  params: { lr: 0.1 },
  tags: { who: 'me' },
  context: {},
});
const VALUES = [0.5, NaN, Infinity, -Infinity, 1e-7, -0.25];

/** A slow sink: small high-water mark, so the export must wait for 'drain'. */
function collector(): { out: Writable; text: () => string; drains: () => number } {
  const chunks: string[] = [];
  let drains = 0;
  const out = new Writable({
    highWaterMark: 16,
    decodeStrings: false,
    write(chunk: string, _enc, cb) {
      chunks.push(chunk);
      setImmediate(cb);
    },
  });
  out.on('drain', () => drains++);
  return { out, text: () => chunks.join(''), drains: () => drains };
}

/** Splits one CSV line by RFC 4180 rules (quoted fields, doubled quotes). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') {
          s += '"';
          i += 2;
        } else if (line[i] === '"') break;
        else s += line[i++];
      }
      out.push(s);
      i += 2;
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

describe('store export', () => {
  let tmp: { dir: string; remove(): void };
  let store: RunStore;
  beforeEach(async () => {
    tmp = tempDir('export');
    store = await RunStore.open(tmp.dir, { sync: false });
    await store.append('a', [{ seq: 1, event: start('proj', 10) }]);
    const points = VALUES.map((value, i) => ({ key: i % 2 ? 'val,"odd"' : 'loss', step: i, time: 100.5 + i, value }));
    await store.append('a', [{ seq: 2, event: { type: 'metrics', points } }]);
    await store.append('a', [{ seq: 3, event: { type: 'log', stream: 'stdout', lines: ['hi'], time: 200 } }]);
    await store.append('a', [{ seq: 4, event: { type: 'run.end', status: 'finished', time: 300 } }]);
    await store.append('b', [{ seq: 1, event: start('proj', 20) }]);
    await store.append('b', [
      { seq: 2, event: { type: 'metrics', points: [{ key: 'loss', step: 0, time: 1, value: 2 }] } },
    ]);
    await store.append('c', [{ seq: 1, event: start('other', 30) }]);
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('JSON lines: a run line with params, tags and status, then every point; non-finite values round-trip', async () => {
    const sink = collector();
    const stats = await exportRun(store, 'a', 'jsonl', sink.out);
    assert.deepEqual(stats, { runs: 1, points: VALUES.length });
    const lines = sink
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1 + VALUES.length);
    const [run, ...points] = lines;
    assert.equal(run.type, 'run');
    assert.equal(run.format, 'runwatch-export');
    assert.equal(run.version, 1);
    assert.equal(run.status, 'finished');
    assert.equal(run.endTime, 300);
    assert.deepEqual(run.params, { lr: 0.1 });
    assert.deepEqual(run.tags, { who: 'me' });
    points.forEach((p, i) => {
      assert.equal(p.type, 'point');
      assert.equal(p.runId, 'a');
      assert.equal(p.key, i % 2 ? 'val,"odd"' : 'loss');
      assert.equal(p.step, i);
      assert.equal(p.time, 100.5 + i);
      assert.ok(Object.is(decodeWireNumber(p.value), VALUES[i]), `value ${String(p.value)} at ${i}`);
    });
    assert.deepEqual(
      points.slice(1, 4).map((p) => p.value),
      ['NaN', 'Infinity', '-Infinity'],
    );
  });

  it('CSV: header, quoted keys, non-finite values as NaN/Infinity/-Infinity; parses back to the same points', async () => {
    const sink = collector();
    await exportRun(store, 'a', 'csv', sink.out);
    const [header, ...rows] = sink.text().trimEnd().split('\n');
    assert.equal(header, CSV_HEADER);
    assert.equal(rows.length, VALUES.length);
    rows.forEach((row, i) => {
      const [runId, key, step, time, value] = csvLine(row);
      assert.deepEqual([runId, key, Number(step), Number(time)], ['a', i % 2 ? 'val,"odd"' : 'loss', i, 100.5 + i]);
      assert.ok(Object.is(Number(value), VALUES[i]), `value ${value} at ${i}`);
    });
    assert.ok(rows[0].startsWith('a,loss,0,100.5,0.5'));
    assert.ok(rows[1].includes('"val,""odd"""'));
  });

  it('a project: its runs oldest first, others left out; both formats', async () => {
    const j = collector();
    assert.deepEqual(await exportProject(store, 'proj', 'jsonl', j.out), { runs: 2, points: VALUES.length + 1 });
    const runs = j
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; runId: string })
      .filter((l) => l.type === 'run')
      .map((l) => l.runId);
    assert.deepEqual(runs, ['a', 'b']);
    const c = collector();
    await exportProject(store, 'proj', 'csv', c.out);
    const rows = c.text().trimEnd().split('\n');
    assert.equal(rows.length, 1 + VALUES.length + 1);
    assert.equal(rows[rows.length - 1], 'b,loss,0,1,2');
  });

  it('streams a large run through a slow sink in chunks, honouring backpressure', async () => {
    for (let r = 0; r < 20; r++) {
      const points = Array.from({ length: 5000 }, (_, i) => ({ key: 'k', step: r * 5000 + i, time: i, value: i }));
      await store.append('b', [{ seq: 3 + r, event: { type: 'metrics', points } }]);
    }
    const sink = collector();
    const stats = await exportRun(store, 'b', 'csv', sink.out);
    assert.equal(stats.points, 100_001);
    assert.equal(sink.text().trimEnd().split('\n').length, 1 + 100_001);
    assert.ok(sink.drains() > 5, `waited for drain ${sink.drains()} times`);
  });

  it('says what was wrong for an unknown run or format', async () => {
    await assert.rejects(exportRun(store, 'nope', 'csv', collector().out), /no run "nope"/);
    await assert.rejects(
      exportRun(store, 'a', 'xml' as 'csv', collector().out),
      /"xml" is unknown: use "jsonl" or "csv"/,
    );
  });
});
