// Runs through RabbitMQ against the direct WebSocket path, in one run: points per second from
// publishers through a real broker (scripts/rabbitmq.sh) into the durable store (the AMQP source on a
// Hub, as the extension and the collector CLI run it), against the same clients streaming the same
// frames to the collector over WebSocket; and latency from publish to durable at a paced 100,000
// points/s on both paths. Publishers and WebSocket clients run in a worker thread.
//
// Rerun: npm run bench -- amqp
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as amqp from 'amqplib';
import { Collector } from '../src/collector/collector';
import { Hub } from '../src/core/hub';
import { AMQP_SOURCE_ID, AmqpSource } from '../src/sources/amqp/source';
import { RunStore } from '../src/store/runStore';

const REPS = Number(process.env.AMQP_BENCH_REPS ?? 3);
const CLIENTS = 4;
const BATCH = 1000;
const FRAMES = Number(process.env.AMQP_BENCH_FRAMES ?? 250); // per client: 250,000 points each
const WINDOW = 32; // unconfirmed (or unacknowledged) frames per client
const PACED_RATE = 100_000;
const PACED_SECONDS = 3;
const TOKEN = 'bench-token';
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

// Plain JS so the worker needs no TypeScript loader. Each client is one run: run.start, then frames
// of BATCH points (columnar, as the Python client sends), at most `window` unconfirmed. Sent times
// use performance.timeOrigin + now(), the same clock as the main thread's.
const CLIENT = `
const { parentPort, workerData } = require('worker_threads');
const { mode, url, token, clients, frames, batch, window, rate, seconds, runPrefix, exchange } = workerData;
const clock = () => performance.timeOrigin + performance.now();
const bodies = [];
for (let k = 0; k < 16; k++) {
  const n = batch, keys = ['train/loss', 'train/acc'], kk = [], v = [], s = [], t = [];
  for (let i = 0; i < n; i++) { kk.push(i % 2); v.push(Math.sin(k * n + i) * 3.7); s.push(k * n + i); t.push(1732252800 + i / 1000); }
  bodies.push(',"cols":' + JSON.stringify({ keys, k: kk, v, s, t }) + '}');
}
const frame = (runId, seq) => '{"type":"metrics","runId":"' + runId + '","seq":' + seq + bodies[seq % 16];
const start = (runId) => JSON.stringify({ type: 'run.start', runId, seq: 1, project: 'bench', name: runId, time: 1732252800 });
const sent = []; // [runId, seq, time] for latency
const acked = []; // [runId, seq, time] (WebSocket: the ack is the durable point)

function amqpClient(idx) {
  const amqplib = require(workerData.amqpPath);
  const runId = runPrefix + idx;
  return amqplib.connect(url, { noDelay: true }).then((conn) => conn.createConfirmChannel().then((ch) => new Promise((resolve, reject) => {
    let seq = 1, inflight = 0, total = rate ? Math.ceil((rate / clients) * seconds / batch) : frames;
    const opts = (s) => ({ persistent: true, mandatory: true, headers: { 'runwatch-protocol': 1, 'runwatch-run-id': runId, 'runwatch-seq': s } });
    const key = 'bench.' + runId;
    const one = () => {
      seq++; inflight++;
      const s = seq;
      if (rate) sent.push([runId, s, clock()]);
      ch.publish(exchange, key, Buffer.from(frame(runId, s)), opts(s), (err) => {
        if (err) return reject(err);
        inflight--;
        if (!rate) pump();
        if (seq - 1 >= total && inflight === 0) conn.close().then(resolve, resolve);
      });
    };
    const pump = () => { while (inflight < window && seq - 1 < total) one(); };
    ch.publish(exchange, key, Buffer.from(start(runId)), opts(1), (err) => { if (err) reject(err); });
    if (!rate) return pump();
    const t0 = clock();
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((clock() - t0) / 1000) * (rate / clients) / batch));
      while (seq - 1 < due) one();
      if (seq - 1 >= total) clearInterval(timer);
    }, 1);
  })));
}

function wsClient(idx) {
  const WebSocket = require(workerData.wsPath);
  const runId = runPrefix + idx;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let seq = 1, ack = 1, welcomed = false;
    const total = rate ? Math.ceil((rate / clients) * seconds / batch) : frames;
    const one = () => { seq++; if (rate) sent.push([runId, seq, clock()]); ws.send(frame(runId, seq)); };
    const pump = () => { while (seq - ack < window && seq - 1 < total) one(); };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', client: 'bench', version: '0', protocol: 1, token })));
    ws.on('error', reject);
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') {
        welcomed = true;
        ws.send(start(runId));
        if (!rate) return pump();
        const t0 = clock();
        const timer = setInterval(() => {
          const due = Math.min(total, Math.floor(((clock() - t0) / 1000) * (rate / clients) / batch));
          while (seq - 1 < due) one();
          if (seq - 1 >= total) clearInterval(timer);
        }, 1);
      } else if (m.type === 'ack') {
        const t = clock();
        for (let s = ack + 1; s <= m.seq; s++) if (rate) acked.push([runId, s, t]);
        ack = Math.max(ack, m.seq);
        if (!rate) pump();
        if (ack - 1 >= total) { ws.close(); resolve(); }
      } else if (m.type === 'error') reject(new Error(JSON.stringify(m)));
    });
  });
}

(async () => {
  const t0 = clock();
  await Promise.all(Array.from({ length: clients }, (_, i) => (mode === 'amqp' ? amqpClient(i) : wsClient(i))));
  parentPort.postMessage({ t0, t1: clock(), sent, acked });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

interface ClientsResult {
  t0: number;
  t1: number;
  sent: [string, number, number][];
  acked: [string, number, number][];
}

function runClients(data: Record<string, unknown>): Promise<ClientsResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT, {
      eval: true,
      workerData: {
        amqpPath: require.resolve('amqplib'),
        wsPath: require.resolve('ws'),
        clients: CLIENTS,
        frames: FRAMES,
        batch: BATCH,
        window: WINDOW,
        seconds: PACED_SECONDS,
        rate: 0,
        token: TOKEN,
        ...data,
      },
    });
    w.once('message', (m: ClientsResult & { error?: string }) => {
      void w.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}

const clock = () => performance.timeOrigin + performance.now();

/** Times at which each (run, seq) became durable in the store (offset + 1 = seq: no gaps, no repeats here). */
function watchDurable(store: RunStore): { at: Map<string, number>; points: () => number } {
  const at = new Map<string, number>();
  let points = 0;
  store.onDidAppend((runId, records) => {
    const t = clock();
    for (const r of records) {
      at.set(`${runId}:${r.offset + 1}`, t);
      if (r.event.type === 'metrics') points += r.event.points.length;
    }
  });
  return { at, points: () => points };
}

async function waitUntil(cond: () => boolean, what: string, ms = 300_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface PathResult {
  pointsPerSec: number;
  latenciesMs: number[];
}

/** CPU seconds the broker's Erlang VM has used so far (utime + stime from /proc). */
let beamPid = 0;
function beamCpu(): number {
  try {
    const f = fs.readFileSync(`/proc/${beamPid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
const cpu = { beam: [] as number[], node: [] as number[] };

let prefixN = 0;
const prefix = () => `r${process.pid}-${prefixN++}-`;

async function viaAmqp(brokerUrl: string, rate: number): Promise<PathResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-amqp-'));
  const store = await RunStore.open(dir);
  const hub = new Hub({ store, stateDir: path.join(dir, 'backends'), logger: quiet });
  const queue = `bench-${path.basename(dir)}`;
  const admin = await amqp.connect(brokerUrl);
  try {
    await hub.configurePlugins({ sources: { [AMQP_SOURCE_ID]: { url: brokerUrl, queue, exchange: 'runwatch' } } });
    hub.registerPlugin(new AmqpSource(), 'builtin');
    admin.on('error', () => undefined);
    const ch = await admin.createChannel();
    await ch.assertQueue(queue, { durable: true });
    for (let i = 0; i < 500; i++) {
      const q = await ch.checkQueue(queue).catch(() => undefined);
      if (q?.consumerCount) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const durable = watchDurable(store);
    const b0 = beamCpu();
    const n0 = process.cpuUsage();
    const total = rate
      ? CLIENTS * Math.ceil(((rate / CLIENTS) * PACED_SECONDS) / BATCH) * BATCH
      : CLIENTS * FRAMES * BATCH;
    const r = await runClients({ mode: 'amqp', url: brokerUrl, exchange: 'runwatch', rate, runPrefix: prefix() });
    await waitUntil(() => durable.points() >= total, `${total} durable points`);
    const end = Math.max(...durable.at.values());
    if (!rate) {
      const n = process.cpuUsage(n0);
      cpu.beam.push(((beamCpu() - b0) / total) * 1e6);
      cpu.node.push(((n.user + n.system) / 1e6 / total) * 1e6);
    }
    const lat = r.sent.map(([run, seq, t]) => (durable.at.get(`${run}:${seq}`) ?? NaN) - t);
    await ch.deleteQueue(queue).catch(() => undefined);
    return { pointsPerSec: total / ((end - r.t0) / 1000), latenciesMs: lat };
  } finally {
    await hub.dispose();
    await admin.close().catch(() => undefined);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function viaWebSocket(rate: number): Promise<PathResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-ws-'));
  const store = await RunStore.open(dir);
  const collector = new Collector({ store, token: TOKEN, heartbeatTimeoutMs: 60_000 });
  try {
    const { url } = await collector.start();
    const total = rate
      ? CLIENTS * Math.ceil(((rate / CLIENTS) * PACED_SECONDS) / BATCH) * BATCH
      : CLIENTS * FRAMES * BATCH;
    const r = await runClients({ mode: 'ws', url, rate, runPrefix: prefix() });
    const acked = new Map(r.acked.map(([run, seq, t]) => [`${run}:${seq}`, t]));
    const lat = r.sent.map(([run, seq, t]) => (acked.get(`${run}:${seq}`) ?? NaN) - t);
    return { pointsPerSec: total / ((r.t1 - r.t0) / 1000), latenciesMs: lat };
  } finally {
    await collector.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function pct(xs: number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}
const median = (xs: number[]) => pct(xs, 50);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const brokerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-rabbitmq-'));
  const script = path.join(__dirname, '..', 'scripts', 'rabbitmq.sh');
  const info = JSON.parse(execFileSync('bash', [script, 'start', brokerDir], { encoding: 'utf8' }).trim()) as {
    url: string;
  };
  beamPid = Number(fs.readFileSync(path.join(brokerDir, 'beam.pid'), 'utf8').trim());
  const rates = { amqp: [] as number[], ws: [] as number[] };
  const lat = { amqp: { p50: [] as number[], p99: [] as number[] }, ws: { p50: [] as number[], p99: [] as number[] } };
  try {
    for (let rep = 0; rep < REPS; rep++) {
      rates.amqp.push((await viaAmqp(info.url, 0)).pointsPerSec);
      rates.ws.push((await viaWebSocket(0)).pointsPerSec);
      const a = await viaAmqp(info.url, PACED_RATE);
      lat.amqp.p50.push(pct(a.latenciesMs, 50));
      lat.amqp.p99.push(pct(a.latenciesMs, 99));
      const w = await viaWebSocket(PACED_RATE);
      lat.ws.p50.push(pct(w.latenciesMs, 50));
      lat.ws.p99.push(pct(w.latenciesMs, 99));
    }
  } finally {
    execFileSync('bash', [script, 'stop', brokerDir]);
    fs.rmSync(brokerDir, { recursive: true, force: true });
  }
  const ws = median(rates.ws);
  const out: string[] = [];
  out.push('## RabbitMQ: publishers → broker → durable store, against the direct WebSocket path');
  out.push('');
  out.push('Rerun: `npm run bench -- amqp` (or `npx tsx bench/amqp.bench.ts`).');
  out.push('');
  out.push(
    `A real RabbitMQ broker (Debian's rabbitmq-server, scripts/rabbitmq.sh) on this machine; the AMQP source on a Hub over a durable RunStore in the bench process, as the extension runs it (a message is acked only after the store's fdatasync). ${CLIENTS} publishers (a worker thread), one run each, publish ${FRAMES} persistent \`metrics\` messages of ${BATCH.toLocaleString('en-US')} points (columnar, as the Python client sends) with publisher confirms, at most ${WINDOW} unconfirmed each; points/s is all points over the time from the first publish to the last point durable in the store. The peer in the same run: the same ${CLIENTS} clients streaming the same frames to the collector over WebSocket (at most ${WINDOW} unacknowledged each; its ack means durable). Median of ${REPS} interleaved repeats.`,
  );
  out.push('');
  out.push('| path | points/s (median) | min–max | target | × WebSocket |');
  out.push('|---|---:|---:|---|---:|');
  const row = (name: string, xs: number[], target: string) =>
    out.push(
      `| ${name} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))} | ${target} | ${(median(xs) / ws).toFixed(2)}× |`,
    );
  row('publishers → RabbitMQ → AMQP source → durable store', rates.amqp, '≥ 500,000');
  row('clients → WebSocket → collector → durable store (peer)', rates.ws, '');
  out.push('');
  out.push(
    `CPU per million points on the RabbitMQ path (median): the broker ${median(cpu.beam).toFixed(2)} s, this process (source, store, publishers) ${median(cpu.node).toFixed(2)} s; on a machine this small the broker and Runwatch share the same cores.`,
  );
  out.push('');
  out.push(
    `Latency at a paced ${fmt(PACED_RATE)} points/s over ${CLIENTS} clients for ${PACED_SECONDS} s: from publishing (sending) a frame to the moment the store holds it durably (AMQP: the store's append event; WebSocket: the ack, sent after the same fdatasync); percentiles over all frames of a repeat, median over repeats.`,
  );
  out.push('');
  out.push('| path | p50 (ms) | p99 (ms) | target |');
  out.push('|---|---:|---:|---|');
  out.push(`| via RabbitMQ | ${median(lat.amqp.p50).toFixed(1)} | ${median(lat.amqp.p99).toFixed(1)} | p99 < 250 |`);
  out.push(`| via WebSocket (peer) | ${median(lat.ws.p50).toFixed(1)} | ${median(lat.ws.p99).toFixed(1)} | |`);
  out.push('');
  out.push(`Load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores at the end.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
