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
import { BRIDGE_PRIORITY } from '../src/backends/bridge/process';
import { AIM, CLEARML, WANDB, type TrackerSpec } from '../src/backends/bridge/trackers';
import { DEFAULT_SINK_OPTIONS } from '../src/core/sinkRunner';

const ROOT = path.resolve(__dirname, '..');
const PY = process.env.RUNWATCH_BENCH_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const CLI = path.join(ROOT, 'dist', 'collector-cli.js');
// Pairs (through the bridge, then the loop) are short, and a busy neighbour moves one by 10-15 %:
// five pairs for a steadier median. ClearML's default-mode loop (some 16 s a run) takes three.
const REPS = 5;
const DEFAULT_MODE_REPS = 3;
// Sizes keep the bench to a few minutes on a small shared machine.
const STEPS = 10_000; // two keys per step: 20,000 points per run
// ClearML's default (subprocess) reporter takes about 200 points/s: its loop gets fewer steps.
const DEFAULT_MODE_STEPS = 1_000;
const PER_RECORD = 50; // steps per metrics record, as the Python client batches them
const INGEST_POINTS = 100_000;
// Records per write as the sink runner sizes them: at most maxBatchPoints points (and batchSize records).
const PER_WRITE = Math.min(
  DEFAULT_SINK_OPTIONS.batchSize,
  Math.floor(DEFAULT_SINK_OPTIONS.maxBatchPoints / (PER_RECORD * 2)),
);
const INGEST_REPS = 5; // ingest is short and this machine is shared: more runs for a steadier median
// While iterating: RUNWATCH_BENCH_ONLY=loops skips collector ingest; RUNWATCH_BENCH_TRACKERS=clearml,aim
// measures only those trackers' loops (and not ClearML's slow default-mode loop). Either prints a
// loops-only table; a full run (neither set) is what goes into the results.
const ONLY_LOOPS = process.env.RUNWATCH_BENCH_ONLY === 'loops';
const ONLY_TRACKERS = process.env.RUNWATCH_BENCH_TRACKERS?.split(',');

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
  for (let i = 1; i < recs.length; i += PER_WRITE) await b.write({ run, records: recs.slice(i, i + PER_WRITE) });
  const secs = (performance.now() - t0) / 1000;
  await b.dispose();
  return (STEPS * 2) / secs;
}

const DIRECT = String.raw`
import os, sys, time
tracker, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The priority the bridge runs at (process.ts), so neither side gets more of a shared machine.
os.nice(int(os.environ["BRIDGE_NICE"]) - os.nice(0))
# And the scheduling class the bridge takes on Linux (runwatch/bridge/__main__.py).
if hasattr(os, "SCHED_IDLE"):
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
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
    if tracker == "clearml-thread":
        # The reporter in a thread of this process, as the bridge runs it (clearml.py says why).
        Task._report_subprocess_enabled = False
    task = Task.init(project_name="bench", task_name="direct", auto_connect_frameworks=False, auto_resource_monitoring=False, auto_connect_streams=False, auto_connect_arg_parser=False)
    task.connect({"lr": 0.1})
    log = task.get_logger()
    t0 = time.perf_counter()
    for i in range(steps):
        log.report_scalar("train", "loss", 1 / (i + 1), iteration=i)
        log.report_scalar("val", "acc", i / steps, iteration=i)
    task.flush(wait_for_uploads=True)
    folder = task.get_offline_mode_folder()
    task.close()
    # Durable, as a bridge acknowledges a batch only once its scalars are on disk.
    fd = os.open(os.path.join(folder, "metrics.jsonl"), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
print(2 * steps / (time.perf_counter() - t0))
`;

/** Points/s of the SDK called directly in a loop (set-up not counted, the final flush counted). */
function direct(tracker: string, dir: string, steps = STEPS): number {
  const r = spawnSync(PY, ['-c', DIRECT, tracker, path.join(dir, `direct-${tracker}`), String(steps)], {
    encoding: 'utf8',
    env: {
      ...process.env,
      WANDB_SILENT: 'true',
      CLEARML_CACHE_DIR: path.join(dir, 'clearml-direct'),
      BRIDGE_NICE: String(BRIDGE_PRIORITY),
    },
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`direct ${tracker} failed: ${r.stderr.slice(-2000)}`);
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
print(n / (time.perf_counter() - t0), run.id)
`;

// One ingest run: the collector, the client, then (bridges chosen) waiting until each bridge's
// saved offset reaches the run's last record, counted from the run log (logFile.ts framing).
const SCRIPT = String.raw`
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const [cli, store, backends, py, client, n, clientDir, trackers] = process.argv.slice(1);
const p = spawn('node', [cli, '--store', store, '--port', '0', '--token', 'bench', '--backends', backends], { stdio: ['ignore', 'pipe', 'ignore'] });
let buf = '';
const records = (runId) => {
  const data = fs.readFileSync(path.join(store, 'runs', runId, 'log.rwl'));
  let pos = 0, count = 0;
  while (pos + 8 <= data.length) { pos += 8 + data.readUInt32LE(pos); count++; }
  return count;
};
const offset = (tracker, runId) => {
  try {
    const f = path.join(store, 'backends', 'plugins', 'runwatch.' + tracker, 'bridge-' + tracker, 'runs', runId + '.json');
    return JSON.parse(fs.readFileSync(f, 'utf8')).offset;
  } catch { return -1; }
};
p.stdout.on('data', async (d) => {
  buf += d;
  if (!buf.includes('\n') || p.done) return;
  p.done = true;
  const info = JSON.parse(buf.split('\n')[0]);
  const env = { ...process.env, PYTHONPATH: clientDir, RUNWATCH_URL: info.url, RUNWATCH_TOKEN: 'bench', RUNWATCH_SYSTEM_INTERVAL: '0' };
  const r = spawnSync(py, ['-c', client, n], { env, encoding: 'utf8' });
  const t0 = Date.now();
  const [rate, runId] = r.stdout.trim().split('\n').pop().split(' ');
  // Catch-up: until every chosen bridge has acknowledged the run's last record.
  const last = records(runId) - 1;
  const caught = {};
  for (const t of trackers ? trackers.split(',') : []) {
    while (offset(t, runId) < last && Date.now() - t0 < 300000) await new Promise((res) => setTimeout(res, 50));
    caught[t] = offset(t, runId) >= last ? (Date.now() - t0) / 1000 : null;
  }
  process.stdout.write(JSON.stringify({ rate: Number(rate), caught }) + '\n');
  p.kill('SIGTERM');
});
`;

interface Ingest {
  rate: number;
  /** Seconds after the client's finish until each bridge acknowledged the run's last record (null: not in 300 s). */
  caught: Record<string, number | null>;
}

/** Points/s the Python client gets into the headless collector's durable store (finish waits for the acks). */
function ingest(dir: string, specs: TrackerSpec[], rep: number): Ingest {
  const work = path.join(dir, `ingest-${specs.length}-${rep}`);
  fs.mkdirSync(work, { recursive: true });
  const backends = path.join(work, 'backends.json');
  const config = {
    'runwatch.wandb': { mode: 'offline', dir: path.join(work, 'wandb') },
    'runwatch.aim': { repo: path.join(work, 'aim') },
    'runwatch.clearml': { mode: 'offline' },
  };
  fs.writeFileSync(backends, JSON.stringify({ selected: specs.map((s) => s.id), config }));
  const env = { ...process.env, RUNWATCH_PYTHON: PY, CLEARML_CACHE_DIR: path.join(work, 'clearml') };
  const args = [
    '-e',
    SCRIPT,
    CLI,
    path.join(work, 'store'),
    backends,
    PY,
    CLIENT,
    String(INGEST_POINTS),
    path.join(ROOT, 'clients', 'python'),
    specs.map((s) => s.tracker).join(','),
  ];
  const r = spawnSync('node', args, { encoding: 'utf8', env, timeout: 600_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let out: Ingest | undefined;
  try {
    out = JSON.parse(line) as Ingest;
  } catch {
    out = undefined;
  }
  if (!out || !Number.isFinite(out.rate)) throw new Error(`ingest run failed: ${r.stdout} ${r.stderr}`);
  return out;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-bridges-'));
  const load0 = os.loadavg()[0];
  const rows: string[] = [];
  try {
    // ClearML's loop twice: in the bridge's reporter mode (a thread) and in the SDK's default (a subprocess).
    const loops: [TrackerSpec, string, string][] = [
      [WANDB, 'wandb', WANDB.displayName],
      [AIM, 'aim', AIM.displayName],
      [CLEARML, 'clearml-thread', `${CLEARML.displayName} (both with the reporter in a thread)`],
    ];
    for (const [spec, loopMode, label] of loops) {
      if (ONLY_TRACKERS && !ONLY_TRACKERS.includes(spec.tracker)) continue;
      const bridge: number[] = [];
      const loop: number[] = [];
      const defaults: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        const dir = path.join(tmp, `${spec.tracker}-${rep}`);
        fs.mkdirSync(dir, { recursive: true });
        bridge.push(await viaBridge(spec, dir, rep));
        loop.push(direct(loopMode, dir));
        if (spec === CLEARML && !ONLY_TRACKERS && rep < DEFAULT_MODE_REPS)
          defaults.push(direct('clearml', dir, DEFAULT_MODE_STEPS));
        // Each run's pair on stderr (not in the results), to see the spread behind a median.
        process.stderr.write(`${spec.tracker} rep ${rep}: bridge ${fmt(bridge[rep])}, loop ${fmt(loop[rep])}\n`);
      }
      const b = median(bridge);
      const l = median(loop);
      rows.push(`| ${label} | ${fmt(b)} | ${fmt(l)} | ${(b / l).toFixed(2)}× |`);
      if (spec === CLEARML && defaults.length) {
        const d = median(defaults);
        rows.push(
          `| ${CLEARML.displayName} (SDK loop in its default mode, the reporter in a subprocess) | ${fmt(b)} | ${fmt(d)} | ${(b / d).toFixed(2)}× |`,
        );
      }
    }
    if (ONLY_LOOPS || ONLY_TRACKERS) {
      console.log(
        `| tracker | through the bridge | SDK in a loop | ratio |\n| --- | ---: | ---: | ---: |\n${rows.join('\n')}`,
      );
      console.log(
        `\nLoops only. Load average (1 min) ${load0.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end.`,
      );
      return;
    }
    const none: number[] = [];
    const all: number[] = [];
    const catchUp: number[] = [];
    let missing = 0;
    const specs = [WANDB, AIM, CLEARML];
    for (let rep = 0; rep < INGEST_REPS; rep++) {
      none.push(ingest(tmp, [], rep).rate);
      const r = ingest(tmp, specs, rep);
      all.push(r.rate);
      const times = specs.map((s) => r.caught[s.tracker]);
      if (times.some((t) => t === null || t === undefined)) missing++;
      else catchUp.push(Math.max(...(times as number[])));
    }
    const load1 = os.loadavg()[0];
    const n = median(none);
    const a = median(all);
    console.log('## Bridge backends (W&B, Aim, ClearML)\n');
    console.log('`npm run bench -- bridges`\n');
    console.log(
      `Points/s through each bridge (${fmt(STEPS * 2)} points, records of ${PER_RECORD} steps × 2 keys, ` +
        `${PER_WRITE} records (${fmt(PER_WRITE * PER_RECORD * 2)} points) per write as the sink runner sizes them, ` +
        `each write acknowledged once the SDK holds it) against the SDK called directly in a loop (one call per point, ` +
        `W&B one \`log\` per step; ClearML's ends with \`close\` and an fsync of its metrics file, as a bridge acknowledges only scalars on disk), both at the bridge's CPU priority (nice ${BRIDGE_PRIORITY} and Linux's idle scheduling class, SCHED_IDLE), median of ${REPS}. The bridge runs ClearML's reporter in a thread (a subprocess ` +
        "would outlive a killed bridge), so its loop is measured in that mode; the SDK's default mode is shown too " +
        `(its loop ${fmt(DEFAULT_MODE_STEPS * 2)} points, median of ${DEFAULT_MODE_REPS}):\n`,
    );
    console.log('| tracker | through the bridge | SDK in a loop | ratio |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(r);
    console.log(
      `\nCollector ingest (headless collector, the Python client, ${fmt(INGEST_POINTS)} points), median of ${INGEST_REPS}, ` +
        "and how long after the client's finish the last of the three bridges had acknowledged the run's last record:\n",
    );
    console.log('| backends chosen | points/s | ratio | bridges caught up after |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(`| none | ${fmt(n)} | 1.00× | – |`);
    const caught = catchUp.length ? `${median(catchUp).toFixed(1)} s` : '–';
    console.log(
      `| W&B, Aim and ClearML | ${fmt(a)} | ${(a / n).toFixed(2)}× | ${caught}${missing ? ` (${missing} of ${INGEST_REPS} runs not in 300 s)` : ''} |`,
    );
    console.log(
      `\nThe bridge processes run at the lowest CPU priority (nice ${BRIDGE_PRIORITY}; on Linux the idle scheduling class, which gets a core only when nothing else wants it): while the client and the collector ` +
        'keep both cores busy the SDKs wait, and they catch up afterwards from the durable log. And a backend with ' +
        'nothing left to send reads the log again only after 250 ms without appends (at most 1 s; src/core/sinkRunner.ts), ' +
        'so the bridges are not even started during a burst like this one. ' +
        `Load average (1 min) ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end (other work shares this machine).`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
