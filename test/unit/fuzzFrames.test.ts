// Random and mutated frames: the hand-written metrics check agrees with the zod
// schema, and a live collector answers every bad frame with exactly the error the
// schema predicts, keeps the connection, keeps serving, and does not hold on to
// what it was sent.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { Collector } from '../../src/collector/collector';
import { parseFrame } from '../../src/collector/frames';
import * as v1 from '../../src/protocol/v1';
import { RunStore } from '../../src/store/runStore';
import { ReliableClient, TestConnection } from './collectorTestClient';

/** Seeded PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RUN = 'fuzz-never-started';

function templates(): Record<string, unknown>[] {
  return [
    { type: 'run.start', runId: RUN, seq: 1, project: 'p', name: 'n', time: 1700000000, params: { lr: 0.1, opt: 'adam', b: true, z: null }, tags: { a: 'b' }, context: { pid: 3 } },
    { type: 'metrics', runId: RUN, seq: 2, points: [{ key: 'loss', value: 0.5, step: 0, time: 1700000000.5 }, { key: 'acc', value: 'NaN', step: 1, time: 1 }, { key: 'x', value: '-Infinity', step: 2, time: 0 }] },
    { type: 'params', runId: RUN, seq: 3, params: { a: 1 } },
    { type: 'tags', runId: RUN, seq: 4, tags: { k: 'v' } },
    { type: 'artifact', runId: RUN, seq: 5, name: 'model.pt', path: '/tmp/model.pt', kind: 'model', metadata: { size: 3 } },
    { type: 'log', runId: RUN, seq: 6, stream: 'stdout', lines: ['hello', 'world'], time: 1 },
    { type: 'run.end', runId: RUN, seq: 7, status: 'finished', time: 2, reason: 'done' },
    { type: 'hello', client: 'c', version: '1', protocol: 1, token: 't' },
  ];
}

const WEIRD: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, -0, 1e308, '', 'NaN', 'Infinity', '-Infinity', 'x'.repeat(300), [], [1], {}, { a: 1 }, '..', '.', 'a b'];

function randomValue(r: () => number): unknown {
  return WEIRD[Math.floor(r() * WEIRD.length)];
}

/** A structural mutation: change, drop or add a value somewhere in the object. */
function mutateObject(obj: unknown, r: () => number, depth = 0): unknown {
  if (typeof obj !== 'object' || obj === null || depth > 3 || r() < 0.25) return randomValue(r);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(obj) ? [...obj] : { ...(obj as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const roll = r();
  if (keys.length === 0 || roll < 0.1) {
    (copy as Record<string, unknown>)[Array.isArray(copy) ? String(copy.length) : `extra${Math.floor(r() * 3)}`] = randomValue(r);
    return copy;
  }
  const k = keys[Math.floor(r() * keys.length)];
  if (roll < 0.25 && !Array.isArray(copy)) delete copy[k];
  else (copy as Record<string, unknown>)[k] = mutateObject((copy as Record<string, unknown>)[k], r, depth + 1);
  return copy;
}

const CHARS = '{}[]",:0123456789.-eE tnfaulrsNIy\\\u00e9\u20ac\ud83d\ude00';

/** A textual mutation: insert, delete or replace characters, or cut the frame short. */
function mutateText(text: string, r: () => number): string {
  let t = text;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const c = CHARS[Math.floor(r() * CHARS.length)];
    const roll = r();
    if (roll < 0.3) t = t.slice(0, at) + c + t.slice(at);
    else if (roll < 0.6) t = t.slice(0, at) + t.slice(at + 1);
    else if (roll < 0.9) t = t.slice(0, at) + c + t.slice(at + 1);
    else t = t.slice(0, at);
  }
  return t;
}

function randomText(r: () => number): string {
  const n = Math.floor(r() * 200);
  let s = '';
  for (let i = 0; i < n; i++) s += r() < 0.5 ? CHARS[Math.floor(r() * CHARS.length)] : String.fromCharCode(32 + Math.floor(r() * 95));
  return s;
}

function makeFrame(r: () => number, pad: string): string {
  const ts = templates();
  const base = { ...ts[Math.floor(r() * ts.length)], pad };
  const roll = r();
  if (roll < 0.15) return randomText(r);
  if (roll < 0.55) return JSON.stringify(mutateObject(base, r));
  if (roll < 0.9) return mutateText(JSON.stringify(base), r);
  return mutateText(JSON.stringify(mutateObject(base, r)), r);
}

const RUN_TYPES = new Set(['run.start', 'metrics', 'params', 'tags', 'artifact', 'log', 'run.end']);

/** What the collector must answer, worked out from the zod schemas alone. */
function expectedReply(text: string): string {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'bad_json';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'bad_json';
  const type = (o as { type?: unknown }).type;
  if (type === 'heartbeat') return v1.Heartbeat.safeParse(o).success ? 'heartbeat' : 'bad_message';
  if (type === 'hello') return 'bad_message'; // malformed, or a second hello
  if (typeof type !== 'string' || !RUN_TYPES.has(type)) return 'unknown_type';
  if (!v1.RunMessage.safeParse(o).success) return 'bad_message';
  // A good run.start would create the run and be acked: the generator leaves those out.
  return type === 'run.start' ? 'ack' : 'unknown_run';
}

describe('fuzz: frames', function () {
  this.timeout(300_000);

  it('the hand-written metrics check accepts and rejects exactly what the zod schema does, with the same result', () => {
    const r = rng(1234);
    const base = templates()[1];
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 20_000; i++) {
      const mutated = i % 3 === 0 ? mutateText(JSON.stringify(base), r) : JSON.stringify(mutateObject(base, r));
      let obj: unknown;
      try {
        obj = JSON.parse(mutated);
      } catch {
        continue;
      }
      if (typeof obj !== 'object' || obj === null || (obj as { type?: unknown }).type !== 'metrics') continue;
      const ref = v1.Metrics.safeParse(obj);
      const got = parseFrame(mutated, { maxBatchPoints: 1_000_000 });
      assert.equal(got.kind === 'run', ref.success, `disagree on ${mutated}: ${JSON.stringify(got)}`);
      if (ref.success && got.kind === 'run') {
        accepted++;
        assert.equal(got.runId, ref.data.runId);
        assert.equal(got.seq, ref.data.seq);
        assert.deepEqual(got.event, { type: 'metrics', points: ref.data.points.map((p) => ({ ...p, value: v1.decodeNumber(p.value) })) });
      } else {
        rejected++;
        assert.equal(got.kind === 'error' && got.error.code, 'bad_message');
      }
    }
    // The mutations must exercise both sides.
    assert.ok(accepted > 500 && rejected > 5000, `accepted ${accepted}, rejected ${rejected}`);
  });

  it('12,000 random and mutated frames each get the predicted error; the connection stays, a good client is served, memory stays flat', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-fuzz-'));
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      // Frames arrive as Buffers, whose bytes live outside the JS heap: count both.
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const store = await RunStore.open(dir);
    const collector = new Collector({ store, token: 'fz' });
    try {
      const { url } = await collector.start();
      const r = rng(42);
      const pad = 'p'.repeat(2000); // a collector that kept frames would grow by tens of MB
      const round = async (n: number): Promise<{ sent: number; codes: Map<string, number> }> => {
        const conn = await TestConnection.connect(url, 'fz');
        const expected: string[] = [];
        while (expected.length < n) {
          if (r() < 0.01) {
            conn.ws.send(Buffer.from(randomText(r)), { binary: true });
            expected.push('bad_json');
            continue;
          }
          const text = Buffer.from(makeFrame(r, pad)).toString(); // what arrives after UTF-8 encoding
          const want = expectedReply(text);
          if (want === 'heartbeat' || want === 'ack') continue; // good frames: not what this test sends
          conn.send(text);
          expected.push(want);
        }
        await conn.waitFor(() => conn.messages.length >= n + 1, `${n} replies`, 120_000);
        const replies = conn.messages.slice(1); // after welcome
        assert.equal(replies.length, n);
        const codes = new Map<string, number>();
        replies.forEach((m, i) => {
          assert.equal(m.type, 'error', `frame ${i} got ${JSON.stringify(m)}`);
          assert.equal(m.code, expected[i], `frame ${i}: ${JSON.stringify(m)}`);
          assert.ok(typeof m.message === 'string' && (m.message as string).length > 10);
          codes.set(m.code as string, (codes.get(m.code as string) ?? 0) + 1);
        });
        assert.equal(conn.closed, undefined, 'bad frames do not close the connection');
        // The same connection still takes good data.
        conn.send({ type: 'run.start', runId: `same-${n}`, seq: 1, project: 'p', time: 1 });
        await conn.waitFor(() => conn.ackedSeq(`same-${n}`) === 1, 'ack on the fuzzed connection');
        conn.close();
        await conn.waitClosed();
        return { sent: n, codes };
      };
      await round(1000); // warm up (JIT, zod caches)
      const before = heap();
      const { sent, codes } = await round(12_000);
      const middle = heap();
      assert.equal(sent, 12_000);
      for (const code of ['bad_json', 'bad_message', 'unknown_type', 'unknown_run']) assert.ok((codes.get(code) ?? 0) > 50, `${code}: ${codes.get(code)}`);
      assert.ok(middle - before < 16 * 1024 * 1024, `memory grew by ${((middle - before) / 1048576).toFixed(1)} MB over 12,000 frames`);
      // A second round must not add more: anything kept per frame (over ~400 bytes) shows here.
      await round(12_000);
      const after = heap();
      assert.ok(after - middle < 5 * 1024 * 1024, `memory grew by ${((after - middle) / 1048576).toFixed(1)} MB over a second 12,000 frames`);

      const good = new ReliableClient('good-after-fuzz', 'fz');
      await good.connect(url);
      good.send({ type: 'run.start', project: 'p', time: 1 });
      const s = good.send({ type: 'metrics', points: [{ key: 'k', value: 1, step: 0, time: 1 }] });
      await good.waitAcked(s);
      assert.equal(store.recordCount('good-after-fuzz'), 2);
      good.conn!.close();
    } finally {
      await collector.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
