// Points per second into a local MLflow tracking server (SQLite store): the Runwatch
// MLflow backend against MLflow's own Python client (log_metric in a loop, log_batch,
// and log_metric with synchronous=False), all in the same run against the same server.
// Prints one Markdown section. Rerun: npm run bench -- mlflow
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginContext, RunRecord, RunSummary } from '../src/api/types';
import { MlflowBackend } from '../src/backends/mlflow/backend';
import { DEFAULT_SINK_OPTIONS } from '../src/core/sinkRunner';
import { freePort } from './freePort';

const ROOT = path.resolve(__dirname, '..');
// RUNWATCH_BENCH_BIN: another venv's bin with the same mlflow (the test venv has it), to skip the Python test environment.
const BIN = process.env.RUNWATCH_BENCH_BIN ?? path.join(ROOT, '.vscode-test/venv-test/bin');
const REPS = 3;
// Sizes keep the whole bench to a few minutes on a small shared machine.
const N = 5_000; // points for the batched writers
const N_ASYNC = 1_000; // MLflow's asynchronous logging turned out about as slow as the loop
const N_LOOP = 200; // log_metric in a loop is one HTTP request per point

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

function healthy(uri: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${uri}/health`, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(5000, () => req.destroy());
  });
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-mlflow-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const server = spawn(
    path.join(BIN, 'mlflow'),
    [
      'server',
      '--backend-store-uri',
      `sqlite:///${path.join(tmp, 'mlflow.db')}`,
      '--artifacts-destination',
      path.join(tmp, 'artifacts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    {
      cwd: tmp,
      detached: true,
      stdio: ['ignore', fs.openSync(path.join(tmp, 'server.log'), 'w'), 'inherit'],
      env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
    },
  );
  try {
    const deadline = Date.now() + 300_000;
    while (!(await healthy(uri))) {
      if (Date.now() > deadline || server.exitCode !== null)
        throw new Error(
          `mlflow server did not start: ${fs.readFileSync(path.join(tmp, 'server.log'), 'utf8').slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }

    const rw: number[] = [];
    for (let rep = 0; rep < REPS; rep++) rw.push(N / (await runwatch(uri, tmp, rep)));
    const peer = (mode: string, n: number): number[] => {
      const out: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        const r = spawnSync(path.join(BIN, 'python'), [path.join(__dirname, 'mlflow.bench.py'), uri, mode, String(n)], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 64 << 20,
        });
        if (r.status !== 0) throw new Error(`peer ${mode} failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
        out.push(n / (JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number }).seconds);
      }
      return out;
    };
    const loop = peer('log_metric', N_LOOP);
    const batch = peer('log_batch', N);
    const asyncLog = peer('async', N_ASYNC);
    const r = median(rw);
    const row = (who: string, n: number, xs: number[]): string =>
      `| ${who} | ${n.toLocaleString('en-US')} | ${fmt(median(xs))} | ${(r / median(xs)).toFixed(1)}× |`;
    const out = [
      '## MLflow: points per second into a local tracking server',
      '',
      'Command: `npm run bench -- mlflow` (bench/mlflow.bench.ts; peer: bench/mlflow.bench.py)',
      '',
      `One \`mlflow server\` (SQLite store, 1 worker) on 127.0.0.1 serves every writer in the same run; median of ${REPS} runs each. Runwatch: the MLflow backend writes records as the hub delivers them (batches of up to 10,000 points as the hub sends them, 100 points a record: here one batch), from creating the experiment and run to the last accepted request. MLflow's client: timed after \`start_run\`, until every point is accepted (\`flush_async_logging\` for the asynchronous mode); each run checks that every point arrived.`,
      '',
      '| writer | points | points/s | Runwatch is |',
      '| --- | ---: | ---: | ---: |',
      `| Runwatch MLflow backend (log-batch, 1,000 a request, keep-alive) | ${N.toLocaleString('en-US')} | ${fmt(r)} | 1.0× |`,
      row('`mlflow.log_metric` in a loop', N_LOOP, loop),
      row('`MlflowClient.log_batch`, 1,000 a call', N, batch),
      row('`mlflow.log_metric(..., synchronous=False)`', N_ASYNC, asyncLog),
      '',
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function runwatch(uri: string, tmp: string, rep: number): Promise<number> {
  const runId = `bench-run-${rep}`;
  const base = Date.now() / 1000;
  const records: RunRecord[] = [
    {
      runId,
      offset: 0,
      event: {
        type: 'run.start',
        project: 'bench-runwatch',
        name: runId,
        time: base,
        params: {},
        tags: {},
        context: {},
      },
    },
  ];
  for (let s = 0; s < N; s += 100) {
    const points = [];
    for (let i = s; i < s + 100; i++) points.push({ key: 'loss', value: 1 / (i + 1), step: i, time: base + i / 1000 });
    records.push({ runId, offset: records.length, event: { type: 'metrics', points } });
  }
  const b = new MlflowBackend();
  const ctx: PluginContext = {
    config: { trackingUri: uri, experimentName: '' },
    secrets: { get: async () => undefined },
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (m: string | Error) => process.stderr.write(`${String(m)}\n`),
    },
    notify: (m: string) => process.stderr.write(`${m}\n`),
    storageDir: path.join(tmp, 'state'),
  };
  await b.initialize(ctx);
  const run: RunSummary = {
    runId,
    project: 'bench-runwatch',
    name: runId,
    status: 'running',
    startTime: base,
    params: {},
    tags: {},
    context: {},
  };
  const t0 = process.hrtime.bigint();
  const per = Math.max(
    1,
    Math.min(DEFAULT_SINK_OPTIONS.batchSize, Math.floor(DEFAULT_SINK_OPTIONS.maxBatchPoints / 100)),
  );
  for (let i = 0; i < records.length; i += per) await b.write({ run, records: records.slice(i, i + per) });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  b.dispose();
  // Outside the timing: every point must be there, as the peers check for theirs.
  const post = async (endpoint: string, body: unknown): Promise<any> =>
    (
      await fetch(`${uri}/api/2.0/mlflow/${endpoint}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json();
  const exp: any = await (
    await fetch(`${uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=bench-runwatch`)
  ).json();
  const found = await post('runs/search', {
    experiment_ids: [exp.experiment.experiment_id],
    filter: `tags.\`runwatch.runId\` = '${runId}'`,
  });
  const hist: any = await (
    await fetch(
      `${uri}/api/2.0/mlflow/metrics/get-history?run_id=${found.runs[0].info.run_id}&metric_key=loss&max_results=${N + 1000}`,
    )
  ).json();
  if (hist.metrics?.length !== N) throw new Error(`Runwatch: ${hist.metrics?.length} of ${N} points arrived`);
  return seconds;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
