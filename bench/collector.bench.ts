// Collector ingest with durability on: sustained points/s from one client and from
// eight, and ack latency at a paced 100,000 points/s, printed as one Markdown
// section. The collector runs in this process exactly as in the extension host
// (RunStore with group commit + fdatasync); the clients run in a worker thread so
// they do not share a core with it. Peers in the same run: the same collector with
// fdatasync off (the cost of the sync itself) and a bare `ws` server that only
// parses each frame and acks it (the cost of everything: validation, the log,
// durability). Clients send the columnar form of `metrics` (`cols`, what the Python
// client sends); one row sends the same points in the object form (`points`) to the
// same collector, so the difference shows. Last, the time to open a store of 1,000
// runs from their meta files, against replaying every log.
//
// Rerun: npm run bench -- collector
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { WebSocketServer } from 'ws';
import type { Plugin } from '../src/api/types';
import { Collector } from '../src/collector/collector';
import { Hub } from '../src/core/hub';
import { RunStore } from '../src/store/runStore';

const { createPlugins } = require('../test/fixtures/backends/fileBackends') as { createPlugins(): Plugin[] };

const SECONDS = Number(process.env.COLLECTOR_BENCH_SECONDS ?? 3);
const REPS = Number(process.env.COLLECTOR_BENCH_REPS ?? 5);
const BATCH = 1000;
/** Unacknowledged frames in flight over all clients (split evenly), as a client library would bound them. */
const WINDOW = 128;
const PACED_RATE = 100_000;
const TOKEN = 'bench-token';

interface ClientResult {
  pointsPerSec: number;
  latenciesMs: number[];
}

// Plain JS so the worker needs no TypeScript loader.
const CLIENT = `
const { parentPort, workerData } = require('worker_threads');
const WebSocket = require(workerData.wsPath);
const { url, token, clients, seconds, batch, window, rate, warmup, runPrefix, form } = workerData;
// The body of each frame after its seq: ',"points":[...]}' or ',"cols":{...}}', the same points either way.
const variants = [];
for (let k = 0; k < 16; k++) {
  const pts = [];
  for (let i = 0; i < batch; i++) pts.push({ key: i % 2 ? 'train/acc' : 'train/loss', value: Math.sin(k * batch + i) * 3.7, step: k * batch + i, time: 1732252800 + i / 1000 });
  const cols = { keys: ['train/loss', 'train/acc'], k: pts.map((p) => (p.key === 'train/loss' ? 0 : 1)), v: pts.map((p) => p.value), s: pts.map((p) => p.step), t: pts.map((p) => p.time) };
  variants.push(form === 'points' ? ',"points":' + JSON.stringify(pts) + '}' : ',"cols":' + JSON.stringify(cols) + '}');
}
const now = () => Number(process.hrtime.bigint()) / 1e6;
let measuring = false, stopped = false, ackedPoints = 0;
const latencies = [];
function client(idx) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const runId = runPrefix + idx;
    let seq = 1, acked = 0, welcomed = false, sentBatches = 0;
    const sentAt = new Map();
    const frame = (s) => '{"type":"metrics","runId":"' + runId + '","seq":' + s + variants[s % 16];
    const sendOne = () => { seq++; sentAt.set(seq, now()); ws.send(frame(seq)); sentBatches++; };
    const pump = () => { if (!stopped && welcomed && !rate) while (seq - acked < window) sendOne(); };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', client: 'bench', version: '0', protocol: 1, token })));
    ws.on('error', reject);
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') {
        welcomed = true;
        ws.send(JSON.stringify({ type: 'run.start', runId, seq: 1, project: 'bench', name: runId, time: 1732252800 }));
        if (rate) {
          const t0 = now();
          const timer = setInterval(() => {
            if (stopped) { clearInterval(timer); return; }
            const due = Math.floor(((now() - t0) / 1000) * rate / batch);
            while (sentBatches < due) sendOne();
          }, 1);
        }
        pump();
      } else if (m.type === 'ack' && m.runId === runId) {
        const t = now();
        for (let s = acked + 1; s <= m.seq; s++) {
          if (s === 1) continue;
          if (measuring) { ackedPoints += batch; if (rate) latencies.push(t - sentAt.get(s)); }
          sentAt.delete(s);
        }
        if (m.seq > acked) acked = m.seq;
        pump();
      } else if (m.type === 'error') {
        reject(new Error('collector error: ' + JSON.stringify(m)));
      }
    });
    resolve({ ws, done: () => new Promise((r) => { const check = () => (acked >= seq ? r() : setTimeout(check, 5)); check(); }) });
  });
}
(async () => {
  const cs = await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  const t0 = now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (now() - t0) / 1000;
  measuring = false;
  const points = ackedPoints;
  stopped = true;
  await Promise.all(cs.map((c) => c.done()));
  for (const c of cs) c.ws.close();
  parentPort.postMessage({ pointsPerSec: points / elapsed, latenciesMs: latencies });
})().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); });
`;

type Form = 'cols' | 'points';

function runClients(
  url: string,
  clients: number,
  rate: number,
  runPrefix: string,
  form: Form = 'cols',
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT, {
      eval: true,
      workerData: {
        wsPath: require.resolve('ws'),
        url,
        token: TOKEN,
        clients,
        seconds: SECONDS,
        batch: BATCH,
        window: Math.max(1, Math.floor(WINDOW / clients)),
        rate,
        warmup: 0.5,
        runPrefix,
        form,
      },
    });
    w.once('message', (m: ClientResult & { error?: string }) => {
      void w.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}

/** Every group commit's write + fdatasync time in durable runs: on a shared disk this is what moves. */
const flushMs: number[] = [];

/**
 * A durable (or not) collector; with `faulty`, the hub also runs three chosen backends that
 * fail in the three ways a backend breaks (one throws on every batch, one never answers, one takes
 * a second a batch), as they would in the extension host.
 */
async function withCollector<T>(sync: boolean, f: (url: string) => Promise<T>, faulty = false): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-coll-'));
  const store = await RunStore.open(dir, { sync, onFlush: sync ? (ms) => flushMs.push(ms) : undefined });
  const collector = new Collector({ store, token: TOKEN, heartbeatTimeoutMs: 60_000 });
  let hub: Hub | undefined;
  try {
    if (faulty) {
      const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
      hub = new Hub({ store, stateDir: path.join(dir, 'backends'), logger: quiet });
      for (const p of createPlugins())
        if (['broken', 'hanging', 'slow'].includes(p.metadata.id)) hub.registerPlugin(p, 'api');
      await hub.selectBackends(['broken', 'hanging', 'slow'], { slow: { folder: path.join(dir, 'slow-out') } });
    }
    const { url } = await collector.start();
    return await f(url);
  } finally {
    await collector.stop();
    await hub?.dispose();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The peer: a bare ws server that parses every frame and acks it at once (no checks, no log). */
async function withRawWs<T>(f: (url: string) => Promise<T>): Promise<T> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; runId?: string; seq?: number };
      if (m.type === 'hello')
        ws.send(
          JSON.stringify({
            type: 'welcome',
            server: 'raw',
            version: '0',
            protocol: 1,
            limits: { maxFrameBytes: 1 << 23, maxBatchPoints: 100000 },
            heartbeatIntervalMs: 10000,
          }),
        );
      else ws.send(JSON.stringify({ type: 'ack', runId: m.runId, seq: m.seq }));
    });
  });
  const addr = wss.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  try {
    return await f(`ws://127.0.0.1:${port}`);
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  }
}

/** The floor under any JSON collector: JSON.parse of the same frames, one thread, no sockets, no I/O. */
function parseCeiling(form: Form): number {
  const pts = Array.from({ length: BATCH }, (_, i) => ({
    key: i % 2 ? 'train/acc' : 'train/loss',
    value: Math.sin(i) * 3.7,
    step: i,
    time: 1732252800 + i / 1000,
  }));
  const cols = {
    keys: ['train/loss', 'train/acc'],
    k: pts.map((_, i) => i % 2),
    v: pts.map((p) => p.value),
    s: pts.map((p) => p.step),
    t: pts.map((p) => p.time),
  };
  const text = JSON.stringify(
    form === 'points'
      ? { type: 'metrics', runId: 'bench-x', seq: 2, points: pts }
      : { type: 'metrics', runId: 'bench-x', seq: 2, cols },
  );
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 1000) {
    JSON.parse(text);
    n++;
  }
  return (n * BATCH) / ((performance.now() - t0) / 1000);
}

/** Opening a store of 1,000 runs from their meta files, against replaying every log (metas removed). */
async function storeOpen(): Promise<{ metaMs: number[]; replayMs: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-open-'));
  try {
    const s = await RunStore.open(dir);
    const pts = Array.from({ length: 1000 }, (_, k) => ({ key: 'loss', value: k / 3, step: k, time: 1732252800 + k }));
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        s.append(`run-${i}`, [
          {
            seq: 1,
            event: {
              type: 'run.start',
              project: 'bench',
              name: `run ${i}`,
              time: 1732252800 + i,
              params: { lr: 0.001 },
              tags: {},
              context: {},
            },
          },
          { seq: 2, event: { type: 'metrics', points: pts } },
          { seq: 3, event: { type: 'run.end', status: 'finished', time: 1732259999 } },
        ]),
      ),
    );
    await s.close();
    const metaMs: number[] = [];
    const replayMs: number[] = [];
    for (let r = 0; r < REPS; r++) {
      let t = performance.now();
      await (await RunStore.open(dir)).close();
      metaMs.push(performance.now() - t);
      for (let i = 0; i < 1000; i++) fs.rmSync(path.join(dir, 'runs', `run-${i}`, 'meta.json'));
      t = performance.now();
      const replayed = await RunStore.open(dir); // rebuilds (and rewrites) every meta.json
      replayMs.push(performance.now() - t);
      await replayed.close();
    }
    return { metaMs, replayMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  let runCounter = 0;
  const prefix = () => `bench-${runCounter++}-`;
  const rows: { name: string; clients: number; rates: number[] }[] = [
    { name: 'collector, durable (fdatasync)', clients: 1, rates: [] },
    { name: 'collector, durable (fdatasync), object form `points` (peer)', clients: 1, rates: [] },
    { name: 'collector, durable (fdatasync)', clients: 8, rates: [] },
    { name: 'collector, fdatasync off (peer)', clients: 1, rates: [] },
    { name: 'bare ws: parse + ack, no checks, no log (peer)', clients: 1, rates: [] },
    { name: 'bare ws: parse + ack, no checks, no log (peer)', clients: 8, rates: [] },
    { name: 'collector, durable, with a throwing, a hanging and a 1 s-a-batch backend chosen', clients: 1, rates: [] },
  ];
  const p50s: number[] = [];
  const p99s: number[] = [];
  const rawP50s: number[] = [];
  const rawP99s: number[] = [];
  const paced: number[] = [];
  const ceilings: number[] = [];
  const objectCeilings: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    ceilings.push(parseCeiling('cols'));
    objectCeilings.push(parseCeiling('points'));
    // Interleaved, so drift in the machine's load hits every row alike.
    rows[0].rates.push((await withCollector(true, (u) => runClients(u, 1, 0, prefix()))).pointsPerSec);
    rows[1].rates.push((await withCollector(true, (u) => runClients(u, 1, 0, prefix(), 'points'))).pointsPerSec);
    rows[2].rates.push((await withCollector(true, (u) => runClients(u, 8, 0, prefix()))).pointsPerSec);
    rows[3].rates.push((await withCollector(false, (u) => runClients(u, 1, 0, prefix()))).pointsPerSec);
    rows[4].rates.push((await withRawWs((u) => runClients(u, 1, 0, prefix()))).pointsPerSec);
    rows[5].rates.push((await withRawWs((u) => runClients(u, 8, 0, prefix()))).pointsPerSec);
    rows[6].rates.push((await withCollector(true, (u) => runClients(u, 1, 0, prefix()), true)).pointsPerSec);
    const lat = await withCollector(true, (u) => runClients(u, 1, PACED_RATE, prefix()));
    p50s.push(pct(lat.latenciesMs, 50));
    p99s.push(pct(lat.latenciesMs, 99));
    paced.push(lat.pointsPerSec);
    const raw = await withRawWs((u) => runClients(u, 1, PACED_RATE, prefix()));
    rawP50s.push(pct(raw.latenciesMs, 50));
    rawP99s.push(pct(raw.latenciesMs, 99));
  }
  const rawOne = median(rows[4].rates);
  const out: string[] = [];
  out.push('## Collector: sustained ingest and ack latency');
  out.push('');
  out.push('Rerun: `npm run bench -- collector` (or `npx tsx bench/collector.bench.ts`).');
  out.push('');
  out.push(
    `The collector runs in the bench process as in the extension host (RunStore, group commit, fdatasync before every ack); the clients run in a worker thread, each streaming \`metrics\` frames of ${BATCH.toLocaleString('en-US')} points in the columnar form (\`cols\`, as the Python client sends them; one row sends the object form \`points\` instead) with up to ${WINDOW} unacknowledged frames in all (${WINDOW} for one client, ${WINDOW / 8} each for eight), counting only acknowledged points over ${SECONDS} s after a 0.5 s warm-up. Median of ${REPS} interleaved repeats. Peers in the same run: the same durable collector fed the object form, the same collector with fdatasync off, and a bare \`ws\` server that only JSON-parses each (columnar) frame and acks it.`,
  );
  out.push('');
  out.push('| server | clients | points/s (median) | min–max | target | × bare ws, 1 client |');
  out.push('|---|---:|---:|---:|---|---:|');
  for (const [i, r] of rows.entries()) {
    const target = i === 0 ? '≥ 1,000,000' : '';
    out.push(
      `| ${r.name} | ${r.clients} | ${fmt(median(r.rates))} | ${fmt(Math.min(...r.rates))}–${fmt(Math.max(...r.rates))} | ${target} | ${(median(r.rates) / rawOne).toFixed(2)}× |`,
    );
  }
  const ceiling = median(ceilings);
  out.push(
    `| JSON.parse of the same frames alone, one thread, no sockets (ceiling) | | ${fmt(ceiling)} | ${fmt(Math.min(...ceilings))}–${fmt(Math.max(...ceilings))} | | ${(ceiling / rawOne).toFixed(2)}× |`,
  );
  const objCeiling = median(objectCeilings);
  out.push(
    `| JSON.parse of the object-form frames alone (ceiling of the \`points\` row) | | ${fmt(objCeiling)} | ${fmt(Math.min(...objectCeilings))}–${fmt(Math.max(...objectCeilings))} | | ${(objCeiling / rawOne).toFixed(2)}× |`,
  );
  out.push('');
  out.push(
    `Group commits in the durable runs (write + fdatasync, per run log): ${flushMs.length.toLocaleString('en-US')} commits, p50 ${pct(flushMs, 50).toFixed(1)} ms, p99 ${pct(flushMs, 99).toFixed(1)} ms, max ${Math.max(...flushMs).toFixed(0)} ms. The disk is shared with other processes; an fdatasync also waits for their dirty data, so the durable rows move with it.`,
  );
  out.push('');
  out.push(
    `Durable single-client ingest reaches ${((median(rows[0].rates) / ceiling) * 100).toFixed(0)}% of what JSON.parse alone allows on this machine in this run; the columnar form takes ${(median(rows[0].rates) / median(rows[1].rates)).toFixed(2)}× the points per second of the object form (load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores at the end).`,
  );
  out.push('');
  out.push(
    `Faulty backends cost ingest ${(((median(rows[0].rates) - median(rows[6].rates)) / median(rows[0].rates)) * 100).toFixed(0)}% in this run (${fmt(median(rows[6].rates))} against ${fmt(median(rows[0].rates))} points/s with none; ${(median(rows[6].rates) / median(rows[0].rates)).toFixed(2)}×): each backend reads the log from its own cursor with its own bounded queue, retry and breaker, never on the ack path.`,
  );
  out.push('');
  out.push(
    `Ack latency at a paced ${fmt(PACED_RATE)} points/s from one client (a ${BATCH.toLocaleString('en-US')}-point frame every ${(BATCH / PACED_RATE) * 1000} ms): time from sending a frame to receiving the ack that covers it; percentiles over all frames of a repeat, median over repeats.`,
  );
  out.push('');
  out.push('| server | points/s achieved | p50 (ms) | p99 (ms) | target |');
  out.push('|---|---:|---:|---:|---|');
  out.push(
    `| collector, durable | ${fmt(median(paced))} | ${median(p50s).toFixed(1)} | ${median(p99s).toFixed(1)} | p99 < 100 |`,
  );
  out.push(`| bare ws (peer) | | ${median(rawP50s).toFixed(1)} | ${median(rawP99s).toFixed(1)} | |`);
  const open = await storeOpen();
  out.push('');
  out.push(
    `Opening a store of 1,000 finished runs (1,000 points each), median of ${REPS}: from their meta.json files, against replaying every log (the peer: all meta.json removed).`,
  );
  out.push('');
  out.push('| open | median (ms) | min–max | target | × replay |');
  out.push('|---|---:|---:|---|---:|');
  out.push(
    `| from meta.json | ${median(open.metaMs).toFixed(0)} | ${Math.min(...open.metaMs).toFixed(0)}–${Math.max(...open.metaMs).toFixed(0)} | < 500 | ${(median(open.metaMs) / median(open.replayMs)).toFixed(2)}× |`,
  );
  out.push(
    `| replaying every log (peer) | ${median(open.replayMs).toFixed(0)} | ${Math.min(...open.replayMs).toFixed(0)}–${Math.max(...open.replayMs).toFixed(0)} | | 1.00× |`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
