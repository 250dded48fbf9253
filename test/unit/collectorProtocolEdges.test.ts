// Protocol edges, decided in src/protocol/v1.ts and docs/protocol.md, checked on
// both the hand-written metrics check (frames.ts) and the zod schemas, and end to
// end through a real collector: key lengths in code points, JSON overflow
// (1e400) refused, the 2^53 − 1 bound named, required fields named when missing.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Collector } from '../../src/collector/collector';
import { parseFrame } from '../../src/collector/frames';
import * as v1 from '../../src/protocol/v1';
import { RunStore } from '../../src/store/runStore';
import { TestConnection } from './collectorTestClient';

const LIMITS = { maxBatchPoints: 100 };
const point = (over: Record<string, unknown> = {}) => ({ key: 'loss', value: 1, step: 0, time: 1, ...over });
const objects = (p: Record<string, unknown>) => JSON.stringify({ type: 'metrics', runId: 'r', seq: 2, points: [p] });
const cols = (key: string, v = '1', s = '0', t = '1') =>
  `{"type":"metrics","runId":"r","seq":2,"cols":{"keys":[${JSON.stringify(key)}],"k":[0],"v":[${v}],"s":[${s}],"t":[${t}]}}`;

/** Both checks on one frame: the same verdict; the hand-written one's message when refused. */
function check(text: string): { ok: boolean; message: string; zod: string } {
  const got = parseFrame(text, LIMITS);
  const ref = v1.Metrics.safeParse(JSON.parse(text));
  assert.equal(got.kind === 'run', ref.success, `frames.ts and zod disagree on ${text.slice(0, 120)}`);
  return {
    ok: got.kind === 'run',
    message: got.kind === 'error' ? got.error.message : '',
    // The object/cols union nests the field's issue: search all of them.
    zod: ref.success ? '' : JSON.stringify(ref.error.issues),
  };
}

describe('protocol edges', () => {
  it("counts key length in Unicode code points, as Python's len() does: 250 astral characters pass, 251 do not", () => {
    const k250 = '😀'.repeat(250); // 500 UTF-16 units
    assert.equal(k250.length, 500);
    assert.equal(v1.codePoints(k250), 250);
    for (const form of [(k: string) => objects(point({ key: k })), (k: string) => cols(k)]) {
      assert.equal(check(form(k250)).ok, true);
      assert.equal(check(form('a'.repeat(250))).ok, true);
      const over = check(form(`${k250}x`));
      assert.equal(over.ok, false);
      assert.match(over.message, /must be a string of 1 to 250 characters \(Unicode code points\)/);
      assert.match(over.zod, /at most 250 characters \(Unicode code points\)/);
      assert.equal(check(form('')).ok, false);
    }
    // Other text is counted the same way.
    const name = '€'.repeat(250);
    assert.equal(
      v1.RunStart.safeParse({
        type: 'run.start',
        runId: 'r',
        seq: 1,
        project: name,
        name: `${'😀'.repeat(250)}`,
        time: 1,
      }).success,
      true,
    );
    assert.equal(
      v1.RunStart.safeParse({ type: 'run.start', runId: 'r', seq: 1, project: `${name}x`, time: 1 }).success,
      false,
    );
  });

  it('refuses a JSON number that overflows to Infinity (1e400) with a message saying so, instead of storing Infinity', () => {
    const v = check(objects(point()).replace('"value":1', '"value":1e400'));
    assert.equal(v.ok, false);
    assert.match(
      v.message,
      /points\[0\]\.value is too large for a 64-bit float \(a JSON number like 1e400 overflows to Infinity\); send "Infinity"/,
    );
    assert.match(v.zod, /too large for a 64-bit float/);
    const neg = check(cols('a', '-1e400'));
    assert.match(neg.message, /cols\.v\[0\] is too large for a 64-bit float/);
    const t = check(cols('a', '1', '0', '1e400'));
    assert.match(t.message, /cols\.t\[0\] is too large for a 64-bit float/);
    assert.equal(check(cols('a', '"Infinity"')).ok, true, 'Infinity as the string still passes');
    // The other messages say it too.
    const start = v1.RunStart.safeParse(
      JSON.parse('{"type":"run.start","runId":"r","seq":1,"project":"p","time":1e400}'),
    );
    assert.equal(start.success, false);
    assert.match(start.success ? '' : start.error.issues[0].message, /time is too large for a 64-bit float/);
    const params = v1.Params.safeParse(JSON.parse('{"type":"params","runId":"r","seq":3,"params":{"lr":1e999}}'));
    assert.equal(params.success, false);
  });

  it('bounds steps and seqs at 2^53 − 1 and names the bound', () => {
    assert.equal(check(objects(point({ step: 2 ** 53 - 1 }))).ok, true);
    const over = check(objects(point({ step: 2 ** 53 })));
    assert.match(
      over.message,
      /points\[0\]\.step must be an integer from 0 to 2\^53 − 1 \(9007199254740991\), got 9007199254740992/,
    );
    assert.match(over.zod, /step must be at most 2\^53 − 1/);
    assert.match(check(cols('a', '1', String(2 ** 53))).message, /cols\.s\[0\] must be an integer from 0 to 2\^53 − 1/);
    const seq = check(JSON.stringify({ type: 'metrics', runId: 'r', seq: 2 ** 53, points: [point()] }));
    assert.match(seq.message, /"seq" must be an integer from 1 to 2\^53 − 1/);
    const params = v1.Params.safeParse({ type: 'params', runId: 'r', seq: 2 ** 53, params: {} });
    assert.match(params.success ? '' : params.error.issues[0].message, /seq must be at most 2\^53 − 1/);
  });

  it("names a missing required field: a point's time, run.end.time, log.time, hello's client and version", () => {
    const { time: _t, ...noTime } = point();
    assert.match(check(objects(noTime)).message, /points\[0\]\.time is required/);
    for (const [schema, msg] of [
      [v1.RunEnd, { type: 'run.end', runId: 'r', seq: 2, status: 'finished' }],
      [v1.Log, { type: 'log', runId: 'r', seq: 2, stream: 'stdout', lines: [] }],
    ] as const) {
      const r = schema.safeParse(msg);
      assert.equal(r.success, false);
      assert.deepEqual(r.success ? [] : r.error.issues.map((i) => i.path.join('.')), ['time']);
    }
    for (const missing of ['client', 'version']) {
      const hello: Record<string, unknown> = { type: 'hello', client: 'c', version: '1', protocol: 1, token: 't' };
      delete hello[missing];
      const r = v1.Hello.safeParse(hello);
      assert.deepEqual(r.success ? [] : r.error.issues.map((i) => i.path.join('.')), [missing]);
    }
  });

  describe('through a collector', () => {
    let dir: string;
    let store: RunStore;
    let collector: Collector;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-edges-'));
      store = await RunStore.open(dir);
      collector = new Collector({ store, token: 'e' });
      await collector.start();
    });
    after(async () => {
      await collector.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('stores a 250-code-point key, refuses 1e400 with bad_message (the seq is consumed), never stores Infinity for it', async () => {
      const c = await TestConnection.connect(collector.address!.url, 'e');
      c.send({ type: 'run.start', runId: 'edge', seq: 1, project: 'p', time: 1 });
      c.send(JSON.stringify({ type: 'metrics', runId: 'edge', seq: 2, points: [point({ key: '😀'.repeat(250) })] }));
      c.send('{"type":"metrics","runId":"edge","seq":3,"points":[{"key":"x","value":1e400,"step":1,"time":1}]}');
      c.send(
        JSON.stringify({
          type: 'metrics',
          runId: 'edge',
          seq: 4,
          points: [point({ key: 'x', value: 'Infinity', step: 2 })],
        }),
      );
      await c.waitFor(() => c.ackedSeq('edge') === 4, 'ack 4');
      const errs = c.messages.filter((m) => m.type === 'error');
      assert.deepEqual(
        errs.map((e) => [e.code, e.seq]),
        [['bad_message', 3]],
      );
      assert.match(errs[0].message as string, /1e400/);
      const pts = (await store.read('edge', 0, 10)).flatMap((r) => (r.event.type === 'metrics' ? r.event.points : []));
      assert.deepEqual(
        pts.map((p) => [p.key.length, p.step, p.value]),
        [
          [500, 0, 1],
          [1, 2, Infinity],
        ],
      );
      c.close();
    });
  });
});
