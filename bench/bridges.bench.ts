// The W&B, Aim and ClearML bridge backends: points per second through each bridge (the
// backend's write calls into the bridge process and the SDK, acknowledged) against the same
// SDK called directly in a loop by a Python script, in the same run, on the same machine;
// and collector ingest (the headless collector, the real Python client) with all three
// bridges chosen against none. Everything is offline or local: W&B offline, Aim a local
// repo, ClearML offline. Prints one Markdown section. Rerun: npm run bench -- bridges
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginContext, RunRecord, RunSummary } from '../src/api/types';
import { BridgeBackend } from '../src/backends/bridge/backend';
import { AIM, CLEARML, WANDB, type TrackerSpec } from '../src/backends/bridge/trackers';

const ROOT = path.resolve(__dirname, '..');
const PY = process.env.RUNWATCH_BENCH_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const CLI = path.join(ROOT, 'dist', 'collector-cli.js');
const REPS = 3;
// Sizes keep the bench to a few minutes on a small shared machine.
const STEPS = 2_000; // two keys per step: 4,000 points per run
const PER_RECORD = 50; // steps per metrics record, as the Python client batches them
const INGEST_POINTS = 100_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

function records(runId: string): RunRecord[] {
  const out: RunRecord[] = [
    {
      runId,
      offset: 0,
      event: { type: 'run.start', project: 'bench', name: runId, time: 1, params: { lr: 0.1 }, tags: {}, context: {} },
    },
  ];
  for (let s = 0; s < STEPS; s += PER_RECORD) {
    const points = [];
    for (let i = s; i < s + PER_RECORD; i++) {
      points.push({ key: 'train/loss', value: 1 / (i + 1), step: i, time: 1000 + i });
      points.push({ key: 'val/acc', value: i / STEPS, step: i, time: 1000 + i });
    }
    out.push({ runId, offset: out.length, event: { type: 'metrics', points } });
  }
  out.push({ runId, offset: out.length, event: { type: 'run.end', status: 'finished', time: 2000 } });
  return out;
}

function ctx(dir: string, config: Record<string, unknown>): PluginContext {
  const quiet = () => undefined;
  return {
    config,
    secrets: { get: async () => undefined },
    logger: { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet },
    notify: quiet,
    storageDir: dir,
  };
}

function configFor(spec: TrackerSpec, dir: string): Record<string, unknown> {
  if (spec === WANDB) return { mode: 'offline', dir: path.join(dir, 'wandb') };
  if (spec === AIM) return { repo: path.join(dir, 'aim') };
  return { mode: 'offline' };
}

/** Points/s through the bridge: the run's records in the sink runner's batch size, each acknowledged. */
async function viaBridge(spec: TrackerSpec, dir: string, rep: number): Promise<number> {
  process.env.CLEARML_CACHE_DIR = path.join(dir, 'clearml');
  const b = new BridgeBackend(spec, { interpreter: async () => PY });
  await b.initialize(ctx(dir, configFor(spec, dir)));
  const runId = `bridge-${rep}`;
  const recs = records(runId);
  const run: RunSummary = {
    runId,
    project: 'bench',
    name: runId,
    status: 'running',
    startTime: 1,
    params: {},
    tags: {},
    context: {},
  };
  // The process start and the SDK's run set-up are not counted: the first record goes alone.
  await b.write({ run, records: recs.slice(0, 1) });
  const t0 = performance.now();
  for (let i = 1; i < recs.length; i += 10) await b.write({ run, records: recs.slice(i, i + 10) });
  const secs = (performance.now() - t0) / 1000;
  await b.dispose();
  return (STEPS * 2) / secs;
}

const DIRECT = String.raw`
import os, sys, time
tracker, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
if tracker == "wandb":
    import wandb
    run = wandb.init(project="bench", name="direct", dir=out, mode="offline", settings=wandb.Settings(console="off", x_disable_stats=True, silent=True))
    run.config.update({"lr": 0.1})
    t0 = time.perf_counter()
    for i in range(steps):
        run.log({"train/loss": 1 / (i + 1), "val/acc": i / steps}, step=i)
    run.finish()
elif tracker == "aim":
    import aim
    run = aim.Run(repo=out, experiment="bench", system_tracking_interval=None, capture_terminal_logs=False)
    run["hparams"] = {"lr": 0.1}
    t0 = time.perf_counter()
    for i in range(steps):
        run.track(1 / (i + 1), name="loss", step=i, context={"subset": "train"})
        run.track(i / steps, name="acc", step=i, context={"subset": "val"})
    run.close()
else:
    from clearml import Task
    Task.set_offline(True)
    task = Task.init(project_name="bench", task_name="direct", auto_connect_frameworks=False, auto_resource_monitoring=False, auto_connect_streams=False, auto_connect_arg_parser=False)
    task.connect({"lr": 0.1})
    log = task.get_logger()
    t0 = time.perf_counter()
    for i in range(steps):
        log.report_scalar("train", "loss", 1 / (i + 1), iteration=i)
        log.report_scalar("val", "acc", i / steps, iteration=i)
    task.flush(wait_for_uploads=True)
    task.close()
print(2 * steps / (time.perf_counter() - t0))
`;

/** Points/s of the SDK called directly in a loop (set-up not counted, the final flush counted). */
function direct(spec: TrackerSpec, dir: string): number {
  const r = spawnSync(PY, ['-c', DIRECT, spec.tracker, path.join(dir, `direct-${spec.tracker}`), String(STEPS)], {
    encoding: 'utf8',
    env: { ...process.env, WANDB_SILENT: 'true', CLEARML_CACHE_DIR: path.join(dir, 'clearml-direct') },
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`direct ${spec.tracker} failed: ${r.stderr.slice(-2000)}`);
  return Number(r.stdout.trim().split('\n').pop());
}

const CLIENT = String.raw`
import sys, time
import runwatch
n = int(sys.argv[1])
run = runwatch.init(project="bench", name="ingest")
t0 = time.perf_counter()
for i in range(n // 2):
    run.log({"train/loss": 1 / (i + 1), "val/acc": i / n}, step=i)
run.finish()
print(n / (time.perf_counter() - t0))
`;

/** Points/s the Python client gets into the headless collector's durable store (finish waits for the acks). */
function ingest(dir: string, selected: string[], rep: number): number {
  const work = path.join(dir, `ingest-${selected.length}-${rep}`);
  fs.mkdirSync(work, { recursive: true });
  const backends = path.join(work, 'backends.json');
  const config = {
    'runwatch.wandb': { mode: 'offline', dir: path.join(work, 'wandb') },
    'runwatch.aim': { repo: path.join(work, 'aim') },
    'runwatch.clearml': { mode: 'offline' },
  };
  fs.writeFileSync(backends, JSON.stringify({ selected, config }));
  const script = String.raw`
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const [cli, store, backends, py, client, n, clientDir] = process.argv.slice(1);
const p = spawn('node', [cli, '--store', store, '--port', '0', '--token', 'bench', '--backends', backends], { stdio: ['ignore', 'pipe', 'ignore'] });
let buf = '';
p.stdout.on('data', (d) => {
  buf += d;
  if (!buf.includes('\n') || p.done) return;
  p.done = true;
  const info = JSON.parse(buf.split('\n')[0]);
  const env = { ...process.env, PYTHONPATH: clientDir, RUNWATCH_URL: info.url, RUNWATCH_TOKEN: 'bench', RUNWATCH_SYSTEM_INTERVAL: '0' };
  const r = spawnSync(py, ['-c', client, n], { env, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  p.kill('SIGTERM');
});
`;
  const env = { ...process.env, RUNWATCH_PYTHON: PY, CLEARML_CACHE_DIR: path.join(work, 'clearml') };
  const r = spawnSync(
    'node',
    [
      '-e',
      script,
      CLI,
      path.join(work, 'store'),
      backends,
      PY,
      CLIENT,
      String(INGEST_POINTS),
      path.join(ROOT, 'clients', 'python'),
    ],
    {
      encoding: 'utf8',
      env,
      timeout: 600_000,
    },
  );
  const v = Number(r.stdout.trim().split('\n').pop());
  if (!Number.isFinite(v)) throw new Error(`ingest run failed: ${r.stdout} ${r.stderr}`);
  return v;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-bridges-'));
  const rows: string[] = [];
  try {
    for (const spec of [WANDB, AIM, CLEARML]) {
      const bridge: number[] = [];
      const loop: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        const dir = path.join(tmp, `${spec.tracker}-${rep}`);
        fs.mkdirSync(dir, { recursive: true });
        bridge.push(await viaBridge(spec, dir, rep));
        loop.push(direct(spec, dir));
      }
      const b = median(bridge);
      const l = median(loop);
      rows.push(`| ${spec.displayName} | ${fmt(b)} | ${fmt(l)} | ${(b / l).toFixed(2)}× |`);
    }
    const none: number[] = [];
    const all: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      none.push(ingest(tmp, [], rep));
      all.push(ingest(tmp, [WANDB.id, AIM.id, CLEARML.id], rep));
    }
    const n = median(none);
    const a = median(all);
    console.log('## Bridge backends (W&B, Aim, ClearML)\n');
    console.log('`npm run bench -- bridges`\n');
    console.log(
      `Points/s through each bridge (${fmt(STEPS * 2)} points, records of ${PER_RECORD} steps × 2 keys, ten records per write, ` +
        `each write acknowledged once the SDK holds it) against the SDK called directly in a loop, median of ${REPS}:\n`,
    );
    console.log('| tracker | through the bridge | SDK in a loop | ratio |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(r);
    console.log(
      `\nCollector ingest (headless collector, the Python client, ${fmt(INGEST_POINTS)} points), median of ${REPS}:\n`,
    );
    console.log('| backends chosen | points/s | ratio |');
    console.log('| --- | ---: | ---: |');
    console.log(`| none | ${fmt(n)} | 1.00× |`);
    console.log(`| W&B, Aim and ClearML | ${fmt(a)} | ${(a / n).toFixed(2)}× |`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
