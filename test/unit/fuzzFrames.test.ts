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
import { packColumn } from '../../src/protocol/packedColumn';
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
    {
      type: 'run.start',
      runId: RUN,
      seq: 1,
      project: 'p',
      name: 'n',
      time: 1700000000,
      params: { lr: 0.1, opt: 'adam', b: true, z: null },
      tags: { a: 'b' },
      context: { pid: 3 },
    },
    {
      type: 'metrics',
      runId: RUN,
      seq: 2,
      points: [
        { key: 'loss', value: 0.5, step: 0, time: 1700000000.5 },
        { key: 'acc', value: 'NaN', step: 1, time: 1 },
        { key: 'x', value: '-Infinity', step: 2, time: 0 },
      ],
    },
    {
      type: 'metrics',
      runId: RUN,
      seq: 8,
      cols: {
        keys: ['loss', 'acc', 'x'],
        k: [0, 1, 2, 0],
        v: [0.5, 'NaN', '-Infinity', 'Infinity'],
        s: [0, 1, 2, 3],
        t: [1700000000.5, 1, 0, 2],
      },
    },
    { type: 'params', runId: RUN, seq: 3, params: { a: 1 } },
    { type: 'tags', runId: RUN, seq: 4, tags: { k: 'v' } },
    {
      type: 'artifact',
      runId: RUN,
      seq: 5,
      name: 'model.pt',
      path: '/tmp/model.pt',
      kind: 'model',
      metadata: { size: 3 },
    },
    { type: 'log', runId: RUN, seq: 6, stream: 'stdout', lines: ['hello', 'world'], time: 1 },
    { type: 'run.end', runId: RUN, seq: 7, status: 'finished', time: 2, reason: 'done' },
    { type: 'hello', client: 'c', version: '1', protocol: 1, token: 't' },
  ];
}

const WEIRD: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53,
  -0,
  1e308,
  '',
  'NaN',
  'Infinity',
  '-Infinity',
  'x'.repeat(300),
  [],
  [1],
  {},
  { a: 1 },
  '..',
  '.',
  'a b',
];

function randomValue(r: () => number): unknown {
  return WEIRD[Math.floor(r() * WEIRD.length)];
}

/** A structural mutation: change, drop or add a value somewhere in the object. */
function mutateObject(obj: unknown, r: () => number, depth = 0): unknown {
  if (typeof obj !== 'object' || obj === null || depth > 3 || r() < 0.25) return randomValue(r);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(obj)
    ? [...obj]
    : { ...(obj as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const roll = r();
  if (keys.length === 0 || roll < 0.1) {
    (copy as Record<string, unknown>)[Array.isArray(copy) ? String(copy.length) : `extra${Math.floor(r() * 3)}`] =
      randomValue(r);
    return copy;
  }
  const k = keys[Math.floor(r() * keys.length)];
  if (roll < 0.25 && !Array.isArray(copy)) delete copy[k];
  else (copy as Record<string, unknown>)[k] = mutateObject((copy as Record<string, unknown>)[k], r, depth + 1);
  return copy;
}

/** A columnar metrics frame drawn at random: mostly well-formed, with odd lengths, indexes and values mixed in. */
function randomCols(r: () => number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const odd = () => r() < 0.03;
  const nk = Math.floor(r() * 4);
  const keys: unknown[] = Array.from({ length: nk }, (_, i) => (odd() ? randomValue(r) : r() < 0.05 ? 'k0' : `k${i}`));
  const n = Math.floor(r() * 6);
  const len = () => (r() < 0.05 ? Math.max(0, n + pick([-1, 1])) : n);
  const k = Array.from({ length: len() }, () =>
    odd() ? pick([-1, nk, 0.5, '0', null]) : Math.floor(r() * Math.max(1, nk)),
  );
  const v = Array.from({ length: len() }, () =>
    odd() ? randomValue(r) : pick([0, -1.5, 1e300, 'NaN', 'Infinity', '-Infinity', r()]),
  );
  const s = Array.from({ length: len() }, () => (odd() ? pick([-1, 0.5, 2 ** 53, '1', null]) : Math.floor(r() * 1000)));
  const t = Array.from({ length: len() }, () => (odd() ? pick([-1, 'NaN', '1', null]) : 1700000000 + r()));
  const cols: Record<string, unknown> = { keys, k, v, s, t };
  for (const name of ['v', 's', 't'] as const) {
    // Sometimes packed: from the column's numbers when it holds only numbers, else a string of a length near it.
    if (r() >= 0.2) continue;
    const col = cols[name] as unknown[];
    const nums = col.every((x) => typeof x === 'number') ? (col as number[]) : undefined;
    cols[name] = nums && nums.length ? packColumn(nums, r() < 0.5 ? 4 : 8) : 'A'.repeat(Math.floor(r() * 20));
  }
  if (r() < 0.02) delete cols[pick(['keys', 'k', 'v', 's', 't'])];
  return { type: 'metrics', runId: 'rc', seq: 1 + Math.floor(r() * 10), cols, ...(r() < 0.01 ? { points: [] } : {}) };
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
  for (let i = 0; i < n; i++)
    s += r() < 0.5 ? CHARS[Math.floor(r() * CHARS.length)] : String.fromCharCode(32 + Math.floor(r() * 95));
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

  it('the hand-written metrics check accepts and rejects exactly what the zod schema does, with the same result (both forms)', () => {
    const r = rng(1234);
    const bases = { points: templates()[1], cols: templates()[2] };
    const stats = {
      points: { accepted: 0, rejected: 0 },
      cols: { accepted: 0, rejected: 0 },
      random: { accepted: 0, rejected: 0 },
    };
    for (let i = 0; i < 60_000; i++) {
      // Mutations of each form, and random column frames (lengths, indexes and values drawn at random).
      const form = i % 3 === 0 ? 'points' : i % 3 === 1 ? 'cols' : 'random';
      const mutated =
        form === 'random'
          ? JSON.stringify(randomCols(r))
          : i % 9 < 3
            ? mutateText(JSON.stringify(bases[form]), r)
            : JSON.stringify(mutateObject(bases[form], r));
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
        stats[form].accepted++;
        assert.equal(got.runId, ref.data.runId);
        assert.equal(got.seq, ref.data.seq);
        assert.deepEqual(got.event, { type: 'metrics', points: v1.metricsPoints(ref.data) });
        assert.equal(got.points, v1.metricsPoints(ref.data).length);
      } else {
        stats[form].rejected++;
        assert.equal(got.kind === 'error' && got.error.code, 'bad_message');
      }
    }
    // The mutations must exercise both sides, for each form.
    for (const [form, st] of Object.entries(stats))
      assert.ok(st.accepted > 500 && st.rejected > 3000, `${form}: accepted ${st.accepted}, rejected ${st.rejected}`);
  });

  it('cols frames: each rule refused with a bad_message naming the field and index; the limit counts points', () => {
    const frame = (cols: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ type: 'metrics', runId: 'r', seq: 2, cols, ...extra });
    const good = { keys: ['a', 'b'], k: [0, 1, 1], v: [1, 'NaN', -2.5], s: [0, 0, 1], t: [1, 1, 2] };
    const ok = parseFrame(frame(good), { maxBatchPoints: 3 });
    assert.deepEqual(ok.kind === 'run' && ok.event, {
      type: 'metrics',
      points: [
        { key: 'a', value: 1, step: 0, time: 1 },
        { key: 'b', value: NaN, step: 0, time: 1 },
        { key: 'b', value: -2.5, step: 1, time: 2 },
      ],
    });
    const cases: [string, RegExp][] = [
      [frame({ ...good, keys: ['a', 'a'] }), /cols\.keys\[1\] "a" appears twice/],
      [frame({ ...good, keys: [] }), /cols\.keys is empty/],
      [frame({ ...good, keys: ['a', 'x'.repeat(251)] }), /cols\.keys\[1\] must be a string of 1 to 250/],
      [frame({ ...good, k: [0, 2, 1] }), /cols\.k\[1\] must be an integer index into cols\.keys \(0 to 1\), got 2/],
      [frame({ ...good, k: [0, 1, 0.5] }), /cols\.k\[2\]/],
      [frame({ ...good, v: [1, 'nan', 2] }), /cols\.v\[1\] must be a number or one of/],
      [
        frame({ ...good, s: [0, -1, 1] }),
        /cols\.s\[1\] must be an integer from 0 to 2\^53 − 1 \(9007199254740991\), got -1/,
      ],
      [frame({ ...good, s: [0, 0, 2 ** 53] }), /cols\.s\[2\]/],
      [frame({ ...good, t: [1, 1, 'Infinity'] }), /cols\.t\[2\] must be seconds/],
      [frame({ ...good, t: [1, 1] }), /cols\.k, v, s and t must have the same length; got 3, 3, 3 and 2/],
      [frame({ ...good, k: [], v: [], s: [], t: [] }), /cols\.k is empty/],
      [frame({ ...good, v: 'x' }), /cols\.v is packed but is not base64 of 3 little-endian float32 or float64 numbers/],
      [frame({ ...good, v: 1 }), /cols\.v must be an array of values or a packed column, got 1/],
      [frame({ ...good, s: packColumn([0, 0.5, 1]) }), /cols\.s\[1\] must be an integer from 0/],
      [frame({ ...good, s: packColumn([0, 0, 1], 4).slice(0, -4) }), /cols\.s is packed but is not base64 of 3/],
      [frame({ ...good, t: packColumn([1, -1, 2]) }), /cols\.t\[1\] must be seconds/],
      [frame({ ...good, t: packColumn([1, 1, 2]).replace(/^./, '*') }), /cols\.t is packed but/],
      [frame({ ...good, t: packColumn([1, 1]) }), /cols\.t is packed but is not base64 of 3/],
      [JSON.stringify({ type: 'metrics', runId: 'r', seq: 2, cols: [1] }), /"cols" must be an object/],
      [frame(good, { points: [{ key: 'a', value: 1, step: 0, time: 1 }] }), /exactly one of "points" and "cols"/],
      [JSON.stringify({ type: 'metrics', runId: 'r', seq: 2 }), /"points" must be an array .* \(or send "cols"\)/],
    ];
    for (const [text, re] of cases) {
      const got = parseFrame(text, { maxBatchPoints: 100 });
      assert.equal(got.kind, 'error', text);
      assert.equal(got.kind === 'error' && got.error.code, 'bad_message', text);
      assert.match(got.kind === 'error' ? got.error.message : '', re, text);
      assert.equal(got.kind === 'error' && got.error.seq, 2);
      assert.equal(v1.Metrics.safeParse(JSON.parse(text)).success, false, `zod refuses it too: ${text}`);
    }
    // Packed columns: float32 or float64 by their length; a packed value may be NaN or ±Infinity as it is.
    const packed = {
      ...good,
      v: packColumn([0.1, NaN, -Infinity], 4),
      s: packColumn([0, 0, 2 ** 53 - 1]),
      t: packColumn([1, 1, 2]),
    };
    const p = parseFrame(frame(packed), { maxBatchPoints: 3 });
    assert.deepEqual(p.kind === 'run' && p.event, {
      type: 'metrics',
      points: [
        { key: 'a', value: Math.fround(0.1), step: 0, time: 1 },
        { key: 'b', value: NaN, step: 0, time: 1 },
        { key: 'b', value: -Infinity, step: 2 ** 53 - 1, time: 2 },
      ],
    });
    const z = v1.Metrics.safeParse(JSON.parse(frame(packed)));
    assert.ok(z.success);
    assert.deepEqual(
      z.success && v1.metricsPoints(z.data),
      p.kind === 'run' && p.event.type === 'metrics' && p.event.points,
    );
    const over = parseFrame(frame(good), { maxBatchPoints: 2 });
    assert.deepEqual(over.kind === 'error' && [over.error.code, over.error.seq], ['too_many_points', 2]);
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
      for (const code of ['bad_json', 'bad_message', 'unknown_type', 'unknown_run'])
        assert.ok((codes.get(code) ?? 0) > 50, `${code}: ${codes.get(code)}`);
      assert.ok(
        middle - before < 16 * 1024 * 1024,
        `memory grew by ${((middle - before) / 1048576).toFixed(1)} MB over 12,000 frames`,
      );
      // A second round must not add more: anything kept per frame (over ~400 bytes) shows here.
      await round(12_000);
      const after = heap();
      assert.ok(
        after - middle < 5 * 1024 * 1024,
        `memory grew by ${((after - middle) / 1048576).toFixed(1)} MB over a second 12,000 frames`,
      );

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
