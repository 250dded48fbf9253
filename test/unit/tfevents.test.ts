// The TensorBoard event-file reader against files written by tensorboard's own writer
// (test/python/make_tfevents.py, run with the test venv's Python): exact values, steps and
// wall times back, non-finite values kept; bad files reported once each with the rest read;
// a growing file read from its cursor gives every point once.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { decodeWireNumber } from '../../src/common/wireNumber';
import { descriptorFromProtos, DESCRIPTOR_FILE } from '../../src/sources/tfevents/genDescriptor';
import { halfToNumber, type SummaryItem } from '../../src/sources/tfevents/events';
import { pollLogDir, pollLogDirSteps, runIdentity, type LogDirState } from '../../src/sources/tfevents/logDirRun';
import { drainYielding, readEventFile } from '../../src/sources/tfevents/reader';
import { fastScalars } from '../../src/sources/tfevents/fastScalars';
import { decodeEvent } from '../../src/sources/tfevents/events';
import { splitRecords } from '../../src/sources/tfevents/records';
import { TfeventsStateFile } from '../../src/sources/tfevents/stateFile';
import { tempDir } from '../support/tempDir';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.RUNWATCH_TEST_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const HELPER = path.join(ROOT, 'test/python/make_tfevents.py');

function helper(...args: string[]): string {
  const r = spawnSync(PYTHON, [HELPER, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make_tfevents.py ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

interface Written {
  file: string;
  scalars: { tag: string; step: number; time: number; value: number | string }[];
  texts: { tag: string; step: number; time: number; text: string }[];
  params: Record<string, unknown>;
  other: Record<string, number>;
}

const scalarsOf = (items: SummaryItem[]) =>
  items.flatMap((i) => (i.kind === 'scalar' ? [{ tag: i.tag, step: i.step, time: i.time, value: i.value }] : []));

describe('tfevents reader', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  let written: Written;
  before(function () {
    if (!fs.existsSync(PYTHON)) this.skip();
    tmp = tempDir('tfevents');
    written = JSON.parse(helper('basic', path.join(tmp.dir, 'basic'))) as Written;
  });
  after(() => tmp?.remove());

  it('the bundled descriptor matches the .proto files', () => {
    const onDisk: unknown = JSON.parse(fs.readFileSync(DESCRIPTOR_FILE, 'utf8'));
    assert.deepEqual(
      onDisk,
      JSON.parse(JSON.stringify(descriptorFromProtos())),
      'rerun: npx tsx src/sources/tfevents/genDescriptor.ts',
    );
  });

  it('reads back exactly the scalars tensorboard wrote: simple_value and float, double, half tensors', () => {
    const r = readEventFile(written.file, undefined, { final: true });
    assert.deepEqual(r.problems, []);
    const want = written.scalars.map((s) => ({ ...s, value: decodeWireNumber(s.value) }));
    assert.deepEqual(scalarsOf(r.items), want);
    const values = scalarsOf(r.items).map((s) => s.value);
    assert.ok(values.some((v) => Number.isNaN(v)));
    assert.ok(values.includes(Infinity) && values.includes(-Infinity));
  });

  it('reads hparams as params, text as text, and counts what it does not show', () => {
    const { items } = readEventFile(written.file);
    assert.deepEqual(
      items.filter((i) => i.kind === 'hparams').map((i) => i.params),
      [written.params],
    );
    assert.deepEqual(
      items.flatMap((i) => (i.kind === 'text' ? [{ tag: i.tag, step: i.step, time: i.time, text: i.text }] : [])),
      written.texts,
    );
    const other: Record<string, number> = {};
    for (const i of items) if (i.kind === 'other') other[i.what] = (other[i.what] ?? 0) + 1;
    assert.deepEqual(other, written.other);
  });

  it('the fast path for plain scalars gives what the full decoder gives, and steps aside for anything else', () => {
    const files = [written.file, helper('bulk', path.join(tmp.dir, 'fast'), '50')];
    let fast = 0;
    let full = 0;
    for (const f of files) {
      const buf = fs.readFileSync(f);
      for (const r of splitRecords(buf, { offset: 0, records: 0 }, true).records) {
        const out: SummaryItem[] = [];
        const want = decodeEvent(buf.subarray(r.start, r.end));
        if (fastScalars(buf, r.start, r.end, out)) {
          fast++;
          assert.deepEqual(out, want);
        } else {
          full++;
          assert.deepEqual(out, [], 'nothing pushed when it steps aside');
        }
      }
    }
    assert.ok(fast >= 57, `${fast} records on the fast path`);
    assert.ok(full >= 8, `${full} records (tensors, hparams, text, images) left to the full decoder`);
  });

  it('half precision: subnormals, the largest half, infinities and NaN', () => {
    assert.equal(halfToNumber(0x0001), 2 ** -24);
    assert.equal(halfToNumber(0x7bff), 65504);
    assert.equal(halfToNumber(0xfc00), -Infinity);
    assert.ok(Number.isNaN(halfToNumber(0x7e00)));
    assert.equal(halfToNumber(0xbc00), -1);
  });

  describe('bad files: each reported once with the file and record, the rest read', () => {
    let bytes: Buffer;
    let all: ReturnType<typeof scalarsOf>;
    let bad: string;
    before(() => {
      bytes = fs.readFileSync(written.file);
      all = scalarsOf(readEventFile(written.file).items);
      bad = path.join(tmp.dir, 'bad');
      fs.mkdirSync(bad, { recursive: true });
    });

    it('a truncated file: the records before the cut are read, the cut one reported as truncated', () => {
      const f = path.join(bad, 'events.out.tfevents.truncated');
      fs.writeFileSync(f, bytes.subarray(0, bytes.length - 7));
      const open = readEventFile(f);
      assert.deepEqual(open.problems, [], 'while the file may still grow, a torn tail is not an error');
      const r = readEventFile(f, undefined, { final: true });
      assert.equal(r.problems.length, 1);
      assert.equal(r.problems[0].kind, 'truncated');
      assert.equal(r.problems[0].file, f);
      assert.equal(r.problems[0].record, r.cursor.records, 'the index of the record that is cut');
      assert.match(r.problems[0].message, /record \d+ at byte \d+: file ends inside it/);
      assert.ok(r.items.length > 0);
      assert.deepEqual(scalarsOf(r.items), all, 'the last record (an image) is the one lost');
    });

    it('a flipped byte in a record’s data: that record reported, every other one read', () => {
      const f = path.join(bad, 'events.out.tfevents.dataflip');
      const b = Buffer.from(bytes);
      const third = recordOffsets(b)[3]; // 0 file_version, 1 hparams, 2 loss step 0, 3 loss step 1
      b[third + 12 + 5] ^= 0x40;
      fs.writeFileSync(f, b);
      const r = readEventFile(f, undefined, { final: true });
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.deepEqual(
        { ...r.problems[0], message: undefined },
        { file: f, kind: 'corrupt', record: 3, offset: third, message: undefined },
      );
      assert.match(r.problems[0].message, /data .* fails its CRC/);
      assert.deepEqual(scalarsOf(r.items), [all[0], ...all.slice(2)]);
    });

    it('a flipped byte in a length header: reported once, the reader resyncs on the next record', () => {
      const f = path.join(bad, 'events.out.tfevents.headerflip');
      const b = Buffer.from(bytes);
      const offs = recordOffsets(b);
      b[offs[5] + 1] ^= 0x01;
      fs.writeFileSync(f, b);
      const r = readEventFile(f, undefined, { final: true });
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.equal(r.problems[0].kind, 'corrupt');
      assert.equal(r.problems[0].offset, offs[5]);
      assert.equal(r.problems[0].record, 5);
      assert.match(r.problems[0].message, /length header fails its CRC/);
      assert.deepEqual(scalarsOf(r.items), [...all.slice(0, 3), ...all.slice(4)]);
      assert.equal(r.cursor.offset, b.length);
    });

    it('an empty file: nothing read, no problem; garbage: reported once', () => {
      const empty = path.join(bad, 'events.out.tfevents.empty');
      fs.writeFileSync(empty, '');
      assert.deepEqual(readEventFile(empty, undefined, { final: true }), {
        items: [],
        problems: [],
        cursor: { offset: 0, records: 0 },
      });
      const junk = path.join(bad, 'events.out.tfevents.junk');
      fs.writeFileSync(junk, Buffer.alloc(100, 0x5a));
      const r = readEventFile(junk, undefined, { final: true });
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.deepEqual([r.problems[0].file, r.problems[0].record, r.problems[0].offset], [junk, 0, 0]);
    });

    it('a corrupt stretch read in two halves is still reported once', () => {
      const f = path.join(bad, 'events.out.tfevents.split');
      const b = Buffer.from(bytes);
      const offs = recordOffsets(b);
      b.fill(0x33, offs[4], offs[7]);
      fs.writeFileSync(f, b.subarray(0, offs[6]));
      const first = readEventFile(f);
      fs.writeFileSync(f, b);
      const second = readEventFile(f, first.cursor, { final: true });
      assert.equal(first.problems.length + second.problems.length, 1);
      assert.deepEqual(scalarsOf([...first.items, ...second.items]), [...all.slice(0, 2), ...all.slice(5)]);
    });
  });

  it('a growing file read from its cursor gives every point once', async () => {
    const dir = path.join(tmp.dir, 'grow');
    const p = spawn(PYTHON, [HELPER, 'grow', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: p.stdout });
    const it = lines[Symbol.asyncIterator]();
    const seen: number[] = [];
    let cursor;
    try {
      for (const n of [1, 7, 0, 250, 3]) {
        p.stdin.write(`${n}\n`);
        const file = (await it.next()).value as string;
        const r = readEventFile(file, cursor);
        assert.deepEqual(r.problems, []);
        cursor = r.cursor;
        seen.push(...scalarsOf(r.items).map((s) => s.step));
      }
    } finally {
      p.stdin.end();
      await new Promise((res) => p.once('exit', res));
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 261 }, (_, i) => i),
    );
  });

  it("files from tensorboardX's and torch's SummaryWriter: the scalars tensorboard's EventAccumulator reads, hparams, text", () => {
    const out = JSON.parse(helper('writers', path.join(tmp.dir, 'writers'))) as Record<
      string,
      { dir: string; scalars: { tag: string; step: number; time: number; value: number | string }[] }
    >;
    const order = (xs: { tag: string; step: number }[]) =>
      [...xs].sort((a, b) => a.tag.localeCompare(b.tag) || a.step - b.step);
    for (const [writer, w] of Object.entries(out)) {
      const r = pollLogDir(tmp.dir, w.dir);
      assert.deepEqual(r.problems, [], writer);
      const got = r.events.flatMap((e) => (e.type === 'metrics' ? e.points : []));
      const want = w.scalars.map((x) => ({ key: x.tag, step: x.step, time: x.time, value: decodeWireNumber(x.value) }));
      assert.deepEqual(
        order(got.map((p) => ({ ...p, tag: p.key }))).map(({ tag: _t, ...p }) => p),
        order(want.map((p) => ({ ...p, tag: p.key }))).map(({ tag: _t, ...p }) => p),
        writer,
      );
      assert.ok(want.length >= 5, `${writer}: ${want.length} scalars`);
      const logs = r.events.flatMap((e) => (e.type === 'log' ? e.lines : []));
      assert.deepEqual(logs, ['[notes/text_summary step 2] epoch one done'], writer);
      // add_hparams writes a sub-folder: its own run, with the params and the metric.
      const sub = fs.readdirSync(w.dir).find((n) => fs.statSync(path.join(w.dir, n)).isDirectory());
      assert.ok(sub, `${writer}: the hparams folder`);
      const hp = pollLogDir(tmp.dir, path.join(w.dir, sub));
      const start = hp.events[0];
      assert.deepEqual(start.type === 'run.start' && start.params, { lr: 0.01, opt: 'adam' }, writer);
      assert.deepEqual(
        hp.events.flatMap((e) => (e.type === 'metrics' ? e.points.map((p) => [p.key, p.value]) : [])),
        [['hp/metric', 0.5]],
        writer,
      );
    }
  });

  describe('a log directory as a run', () => {
    it('run.start, params, metrics and log lines; a second poll adds only what is new', () => {
      const logDir = path.join(tmp.dir, 'basic');
      const first = pollLogDir(tmp.dir, logDir);
      assert.deepEqual(first.problems, []);
      const [start, ...rest] = first.events;
      const id = runIdentity(tmp.dir, logDir);
      assert.deepEqual(start, {
        type: 'run.start',
        project: '.',
        name: 'basic',
        time: written.scalars[0].time,
        params: written.params,
        tags: { source: 'tensorboard' },
        context: { logDir },
      });
      const points = rest.flatMap((e) => (e.type === 'metrics' ? e.points : []));
      assert.deepEqual(
        points,
        written.scalars.map((s) => ({ key: s.tag, value: decodeWireNumber(s.value), step: s.step, time: s.time })),
      );
      const logs = rest.filter((e) => e.type === 'log');
      assert.deepEqual(logs, [
        { type: 'log', stream: 'stdout', lines: ['[notes step 3] hello world'], time: written.texts[0].time },
      ]);
      assert.deepEqual(first.state.notShown, written.other);
      assert.equal(first.state.runId, id.runId);
      const again = pollLogDir(tmp.dir, logDir, first.state);
      assert.deepEqual(again.events, []);
    });

    it('read in small steps with pauses between them: the same events and state as read at once', async () => {
      const logDir = path.join(tmp.dir, 'stepped');
      helper('bulk', logDir, '3000');
      const whole = pollLogDir(tmp.dir, logDir, undefined, { maxBytes: 60_000 });
      assert.ok(whole.more, 'a stretch of the file');
      let turns = 0;
      const ticking = setInterval(() => turns++, 1);
      // 1 KiB a step, a pause after every step: records cut by a step's end are read whole by the next.
      const stepped = await drainYielding(
        pollLogDirSteps(tmp.dir, logDir, undefined, { maxBytes: 60_000 }, 1024),
        0,
        1,
      );
      clearInterval(ticking);
      assert.ok(turns > 10, `the event loop ran between steps (${turns} timer turns)`);
      assert.deepEqual(stepped, whole);
      const rest = await drainYielding(pollLogDirSteps(tmp.dir, logDir, stepped.state, {}, 1024), 0, 0);
      assert.deepEqual(rest, pollLogDir(tmp.dir, logDir, whole.state));
    });

    it('the run id depends only on the workspace-relative path; project is the parent folder', () => {
      const a = runIdentity('/ws', '/ws/lightning_logs/version_0');
      assert.deepEqual(runIdentity('/ws', '/ws/lightning_logs/version_0'), a);
      assert.deepEqual({ project: a.project, name: a.name }, { project: 'lightning_logs', name: 'version_0' });
      assert.equal(runIdentity('/elsewhere', '/elsewhere/lightning_logs/version_0').runId, a.runId);
      assert.notEqual(runIdentity('/ws', '/ws/lightning_logs/version_1').runId, a.runId);
      assert.match(a.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('cursors persist: a new reader resumes where the saved state says', async () => {
      const dir = path.join(tmp.dir, 'persist', 'run1');
      helper('bulk', dir, '2500');
      const store = path.join(tmp.dir, 'state.json');
      const r1 = pollLogDir(tmp.dir, dir);
      const n1 = r1.events.flatMap((e) => (e.type === 'metrics' ? e.points : [])).length;
      assert.equal(n1, 2500);
      assert.ok(
        r1.events.filter((e) => e.type === 'metrics').every((e) => e.type === 'metrics' && e.points.length <= 1000),
      );
      await new TfeventsStateFile(store).set('persist/run1', r1.state);
      const loaded = new TfeventsStateFile(store).get('persist/run1') as LogDirState;
      assert.deepEqual(loaded, JSON.parse(JSON.stringify(r1.state)));
      assert.deepEqual(pollLogDir(tmp.dir, dir, loaded).events, []);
    });
  });
});

/** Byte offsets of the records in a well-formed file (lengths read straight from the framing). */
function recordOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let p = 0; p + 12 <= b.length; p += 16 + b.readUInt32LE(p)) out.push(p);
  return out;
}
