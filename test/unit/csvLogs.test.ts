// CSV training logs and the Hugging Face trainer state as runs: files written by Lightning's
// CSVLogger, Keras' CSVLogger (torch backend) and transformers' TrainerState (test/python/
// make_csvlogs.py) read back to exactly the values in them; hand-written edge cases for sparse
// rows, bad rows (each reported once, with the line and its byte offset, the rest imported),
// lines still being written, a header rewritten with a new column, and a file written afresh.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricPoint, RunEvent } from '../../src/api/types';
import { decodeWireNumber } from '../../src/common/wireNumber';
import { csvNumber, pollCsvLog, splitCsvLine } from '../../src/sources/csvlogs/csvLog';
import { hfKey, pollTrainerState } from '../../src/sources/csvlogs/trainerState';
import { identityOf, type LogDirState } from '../../src/sources/tfevents/logDirRun';
import { findTargets } from '../../src/sources/tfevents/targets';
import { DEFAULT_GLOBS } from '../../src/sources/tfevents/find';
import { tempDir } from '../support/tempDir';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.RUNWATCH_TEST_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const HELPER = path.join(ROOT, 'test/python/make_csvlogs.py');

interface Written {
  file: string;
  points: [string, number, number | string][];
}

function write(mode: string, dir: string): Written {
  const r = spawnSync(PYTHON, [HELPER, mode, dir], {
    encoding: 'utf8',
    env: { ...process.env, KERAS_BACKEND: 'torch' },
  });
  assert.equal(r.status, 0, `make_csvlogs.py ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Written;
}

const id = identityOf('x', 'csv', '/');
const points = (evs: RunEvent[]): MetricPoint[] => evs.flatMap((e) => (e.type === 'metrics' ? e.points : []));
const triples = (evs: RunEvent[]) => points(evs).map((p) => [p.key, p.step, p.value]);
const expected = (w: Written, key = (k: string) => k) => w.points.map(([k, s, v]) => [key(k), s, decodeWireNumber(v)]);

describe('CSV logs and trainer state', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir('csvlogs')));
  after(() => tmp?.remove());

  describe('files the frameworks wrote', () => {
    before(function () {
      if (!fs.existsSync(PYTHON)) this.skip();
    });

    it("Lightning's CSVLogger metrics.csv: every value at its step, sparse rows, a run named for version_N", () => {
      const w = write('lightning', path.join(tmp.dir, 'pl'));
      const r = pollCsvLog(w.file, id);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(triples(r.events), expected(w));
      assert.ok(points(r.events).some((p) => p.key === 'val_loss'));
      assert.equal(r.events[0].type, 'run.start');
      const t = findTargets([path.join(tmp.dir, 'pl')], DEFAULT_GLOBS, []);
      assert.deepEqual(
        t.map((x) => [x.kind, x.identity.project, x.identity.name]),
        [['csv', 'tiny', 'version_0']],
      );
      // Read again from its cursor: nothing new.
      assert.deepEqual(pollCsvLog(w.file, id, r.state).events, []);
    });

    it("Keras' CSVLogger (torch backend): the epoch column is the step", () => {
      const w = write('keras', path.join(tmp.dir, 'keras'));
      const r = pollCsvLog(w.file, id);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(triples(r.events), expected(w));
      const start = r.events[0];
      assert.equal(start.type === 'run.start' && start.tags.source, 'keras-csv');
    });

    it("the Trainer's trainer_state.json log_history: the newest file, keys named as its TensorBoard callback names them", () => {
      const w = write('hf', path.join(tmp.dir, 'hf'));
      const out = path.dirname(w.file);
      const t = findTargets([tmp.dir], ['hf/**/trainer_state.json'], []);
      assert.deepEqual(
        t.map((x) => [x.kind, x.path]),
        [['hf', out]],
        'the checkpoint and the final state are one run',
      );
      const r = pollTrainerState(out, id);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(
        triples(r.events),
        expected(w, (k) => (k === 'epoch' ? k : hfKey(k))),
      );
      const start = r.events[0];
      assert.equal(start.type === 'run.start' && start.params.max_steps, 30);
      assert.deepEqual(pollTrainerState(out, id, r.state).events, [], 'entries already imported are not again');
    });
  });

  describe('hand-written edge cases', () => {
    const file = (name: string, text: string) => {
      const f = path.join(tmp.dir, 'hand', name);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, text);
      return f;
    };

    it('cells: quotes, non-finite values', () => {
      assert.deepEqual(splitCsvLine('a,"b,c","d""e"'), ['a', 'b,c', 'd"e']);
      assert.ok(Number.isNaN(csvNumber('nan')));
      assert.equal(csvNumber('-inf'), -Infinity);
      assert.equal(csvNumber('1e-3'), 0.001);
      assert.equal(csvNumber('abc'), undefined);
      assert.equal(csvNumber(''), undefined);
    });

    it('bad rows: each reported once with the line and its byte offset; the rest imported', () => {
      const text = 'step,loss,acc\n0,1.5,0.1\n1,1.25\n2,oops,0.3\nx,1,1\n3,1.0,0.4\n';
      const f = file('bad.csv', text);
      const r = pollCsvLog(f, id);
      assert.deepEqual(
        r.problems.map((p) => [p.file, p.record, p.offset, p.message]),
        [
          [
            f,
            1,
            text.indexOf('1,1.25'),
            `line 3 at byte ${text.indexOf('1,1.25')}: 2 fields, the header has 3; row skipped`,
          ],
          [
            f,
            2,
            text.indexOf('2,oops'),
            `line 4 at byte ${text.indexOf('2,oops')}: not a number: loss="oops"; those cells skipped`,
          ],
          [
            f,
            3,
            text.indexOf('x,1'),
            `line 5 at byte ${text.indexOf('x,1')}: step is "x", not a step number; row skipped`,
          ],
        ],
      );
      assert.deepEqual(triples(r.events), [
        ['loss', 0, 1.5],
        ['acc', 0, 0.1],
        ['acc', 2, 0.3],
        ['loss', 3, 1],
        ['acc', 3, 0.4],
      ]);
      const again = pollCsvLog(f, id, r.state);
      assert.deepEqual([again.events, again.problems], [[], []], 'reported once');
    });

    it('a line still being written waits; the rest of it comes on the next read; CRLF lines', () => {
      const f = file('grow.csv', 'epoch,loss\r\n0,0.5\r\n1,0.');
      const r1 = pollCsvLog(f, id);
      assert.deepEqual(triples(r1.events), [['loss', 0, 0.5]]);
      fs.appendFileSync(f, '25\r\n2,0.125\r\n');
      const r2 = pollCsvLog(f, id, r1.state);
      assert.deepEqual(triples(r2.events), [
        ['loss', 1, 0.25],
        ['loss', 2, 0.125],
      ]);
      assert.deepEqual(r2.problems, []);
      assert.equal(r2.state.files['grow.csv'].offset, fs.statSync(f).size);
    });

    it('a header rewritten with a new column (Lightning does): the rows already read are not read again', () => {
      const f = file('metrics.csv', 'epoch,step,train_loss\n0,0,2.0\n0,1,1.5\n');
      const r1 = pollCsvLog(f, id);
      fs.writeFileSync(f, 'epoch,step,train_loss,val_loss\n0,0,2.0,\n0,1,1.5,\n0,1,,1.75\n');
      const r2 = pollCsvLog(f, id, r1.state);
      assert.deepEqual(r2.problems, []);
      assert.deepEqual(triples(r2.events), [
        ['epoch', 1, 0],
        ['val_loss', 1, 1.75],
      ]);
    });

    it('a file written afresh (shorter than the cursor) is reported once and read from its start', () => {
      const f = file('again.csv', 'epoch,loss\n0,1\n1,2\n2,3\n');
      const r1 = pollCsvLog(f, id);
      fs.writeFileSync(f, 'epoch,loss\n0,9\n');
      const r2 = pollCsvLog(f, id, r1.state);
      assert.equal(r2.problems.length, 1);
      assert.match(r2.problems[0].message, /shrank to 15 bytes below the read position 23/);
      assert.deepEqual(triples(r2.events), [['loss', 0, 9]]);
    });

    it('an empty file waits; a CSV without a step or epoch column is not a training log, said once', () => {
      const empty = file('empty.csv', '');
      assert.deepEqual(pollCsvLog(empty, id).problems, []);
      const f = file('data.csv', 'x,y\n1,2\n');
      const r1 = pollCsvLog(f, id);
      assert.equal(r1.problems.length, 1);
      assert.match(r1.problems[0].message, /no step or epoch column .*x, y.*not read/);
      assert.deepEqual(r1.events, []);
      assert.deepEqual(pollCsvLog(f, id, r1.state).problems, []);
    });

    it('trainer_state.json: a half-written file waits; an entry without a step is reported and skipped', () => {
      const dir = path.join(tmp.dir, 'hand', 'hf');
      fs.mkdirSync(dir, { recursive: true });
      const f = path.join(dir, 'trainer_state.json');
      fs.writeFileSync(f, '{"log_history": [{"loss": 1, "st');
      const r0 = pollTrainerState(dir, id, undefined, { staleMs: 60_000 });
      assert.deepEqual([r0.events, r0.problems], [[], []]);
      fs.writeFileSync(
        f,
        JSON.stringify({ log_history: [{ loss: 1, step: 1 }, { loss: 2 }, 'x', { loss: 3, step: 3 }] }),
      );
      const r = pollTrainerState(dir, id, undefined as LogDirState | undefined);
      assert.deepEqual(
        r.problems.map((p) => p.message),
        ['log_history entry 1: no step (undefined); skipped', 'log_history entry 2: not an object; skipped'],
      );
      assert.deepEqual(triples(r.events), [
        ['train/loss', 1, 1],
        ['train/loss', 3, 3],
      ]);
    });
  });
});
