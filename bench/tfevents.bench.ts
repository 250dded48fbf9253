// Event-file writing throughput: the Runwatch TensorBoard backend (float64 tensors,
// TFRecord framing, written after every batch) against tensorboardX's SummaryWriter
// writing the same scalars (float32 simple_value), measured in the same run.
// Prints one Markdown section. Rerun: npm run bench -- tfevents
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginContext, RunRecord, RunSummary } from '../src/api/types';
import { TensorBoardBackend } from '../src/backends/tensorboard/backend';
import { DEFAULT_SINK_OPTIONS } from '../src/core/sinkRunner';

const ROOT = path.resolve(__dirname, '..');
const PY = path.join(ROOT, '.vscode-test/venv-test/bin/python');
const REPS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Records as the store hands them to a backend: one metrics record per client frame (here 50 steps). */
function records(runId: string, steps: number, keys: number): RunRecord[] {
  const out: RunRecord[] = [];
  const base = 1_700_000_000;
  for (let s0 = 0; s0 < steps; s0 += 50) {
    const points = [];
    for (let s = s0; s < Math.min(steps, s0 + 50); s++) {
      for (let k = 0; k < keys; k++)
        points.push({ key: `metric${k}`, value: 1 / (s + k + 1), step: s, time: base + s * 0.01 });
    }
    out.push({ runId, offset: out.length, event: { type: 'metrics', points } });
  }
  return out;
}

async function runwatch(
  tmp: string,
  rep: number,
  steps: number,
  keys: number,
): Promise<{ seconds: number; bytes: number }> {
  const runId = `bench-${keys}-${rep}`;
  const recs = records(runId, steps, keys); // built before the clock starts: the store has them already
  const b = new TensorBoardBackend();
  const ctx: PluginContext = {
    config: { logDir: path.join(tmp, 'rw') },
    secrets: { get: async () => undefined },
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    notify() {},
    storageDir: path.join(tmp, 'state'),
  };
  await b.initialize(ctx);
  const run: RunSummary = {
    runId,
    project: 'bench',
    name: runId,
    status: 'running',
    startTime: 1_700_000_000,
    params: {},
    tags: {},
    context: {},
  };
  const t0 = process.hrtime.bigint();
  // The hub's batches: up to batchSize records and about maxBatchPoints points each.
  const perRecord = (recs[0].event as { points: unknown[] }).points.length;
  const per = Math.max(
    1,
    Math.min(DEFAULT_SINK_OPTIONS.batchSize, Math.floor(DEFAULT_SINK_OPTIONS.maxBatchPoints / perRecord)),
  );
  for (let i = 0; i < recs.length; i += per) await b.write({ run, records: recs.slice(i, i + per) });
  await b.dispose();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const dir = fs.readdirSync(path.join(tmp, 'rw', 'bench')).find((d) => d.startsWith(runId))!;
  const file = fs.readdirSync(path.join(tmp, 'rw', 'bench', dir))[0];
  return { seconds, bytes: fs.statSync(path.join(tmp, 'rw', 'bench', dir, file)).size };
}

function tensorboardX(tmp: string, rep: number, steps: number, keys: number): { seconds: number; bytes: number } {
  const dir = path.join(tmp, `tbx-${keys}-${rep}`);
  const r = spawnSync(PY, [path.join(__dirname, 'tfevents.bench.py'), dir, String(steps), String(keys)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`tensorboardX peer failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-tfevents-'));
  const rows: string[] = [];
  try {
    for (const [steps, keys] of [
      [50_000, 1],
      [20_000, 5],
    ]) {
      const points = steps * keys;
      const rw: number[] = [];
      const tbx: number[] = [];
      let rwBytes = 0;
      let tbxBytes = 0;
      for (let rep = 0; rep < REPS; rep++) {
        const a = await runwatch(tmp, rep, steps, keys);
        rw.push(points / a.seconds);
        rwBytes = a.bytes;
        const b = tensorboardX(tmp, rep, steps, keys);
        tbx.push(points / b.seconds);
        tbxBytes = b.bytes;
      }
      const r = median(rw);
      const t = median(tbx);
      const label = `${points.toLocaleString('en-US')} scalars (${keys} key${keys > 1 ? 's' : ''} × ${steps.toLocaleString('en-US')} steps)`;
      rows.push(
        `| ${label} | Runwatch TensorBoard backend (float64 tensor) | ${Math.round(r).toLocaleString('en-US')} | ${(rwBytes / points).toFixed(1)} | ${(r / t).toFixed(1)}× |`,
      );
      rows.push(
        `| ${label} | tensorboardX \`add_scalar\` (float32 simple_value) | ${Math.round(t).toLocaleString('en-US')} | ${(tbxBytes / points).toFixed(1)} | 1.0× |`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const out = [
    '## TensorBoard event-file writing',
    '',
    'Command: `npm run bench -- tfevents` (bench/tfevents.bench.ts; peer: bench/tfevents.bench.py)',
    '',
    `Scalars per second written to an event file on disk, median of ${REPS} runs; the ratio is against tensorboardX writing the same scalars in the same run. The Runwatch backend gets records as the hub delivers them (batches of up to 10,000 points, 50 steps per record) and appends after each batch; consecutive points with the same step and wall time share one Event. tensorboardX is timed from \`SummaryWriter()\` to \`close()\`.`,
    '',
    '| workload | writer | scalars/s | bytes/scalar | vs tensorboardX |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows,
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
