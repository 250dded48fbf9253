// "Kill the host mid-run and start again": the real collector CLI with
// `--backends` and file-writing test backends, killed with SIGKILL while the
// backends are still delivering, then restarted on the same store. Every backend
// must end with every record exactly once (exact counts, no gaps, no duplicates).
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import WebSocket from 'ws';
import { RunStore } from '../../src/store/runStore';
import { waitFor } from '../support/waitFor';

const WAIT = { timeoutMs: 90_000, intervalMs: 20 };

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/collector-cli.js');
const PLUGINS = path.join(ROOT, 'test/fixtures/backends/fileBackends.js');
const TOKEN = 'crash-test-token';

function startCli(
  storeDir: string,
  backendsFile: string,
): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(
    process.execPath,
    [CLI, '--store', storeDir, '--port', '0', '--token', TOKEN, '--backends', backendsFile, '--plugin', PLUGINS],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      const msg = JSON.parse(line) as { event: string; url: string };
      if (msg.event === 'listening') resolve({ proc, url: msg.url, stderr: () => err });
    });
    proc.on('exit', (code) => reject(new Error(`collector exited (${code}) before listening:\n${err}`)));
  });
}

/** A minimal protocol v1 client: sends frames and resolves once each seq is acked. */
async function connect(
  url: string,
): Promise<{ send(msg: Record<string, unknown>): void; acked(seq: number): Promise<void>; close(): void }> {
  const ws = new WebSocket(url);
  const acked = new Set<number>();
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { type: string; seq?: number; message?: string };
    if (m.type === 'ack' && m.seq) acked.add(m.seq);
    if (m.type === 'error') acked.add(-1);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const welcome = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ type: 'hello', client: 'crash-test', version: '0', protocol: 1, token: TOKEN }));
  await welcome;
  return {
    send: (msg) => ws.send(JSON.stringify(msg)),
    async acked(seq) {
      while (!acked.has(seq)) {
        if (acked.has(-1)) throw new Error('the collector answered with an error');
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    close: () => ws.close(),
  };
}

function lines(file: string): {
  offset: number;
  event: { type: string; points?: unknown[]; params?: Record<string, unknown>; status?: string };
}[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l));
}

describe('hub: a collector killed mid-run and restarted', function () {
  this.timeout(240_000);
  let dir: string;
  let proc: ChildProcess | undefined;

  before(function () {
    if (!fs.existsSync(CLI))
      execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'ignore' });
  });
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-crash-'))));
  afterEach(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every backend ends with every record exactly once', async () => {
    const storeDir = path.join(dir, 'store');
    const folders = { 'files-a': path.join(dir, 'a'), 'files-b': path.join(dir, 'b'), slow: path.join(dir, 'slow') };
    const backendsFile = path.join(dir, 'backends.json');
    fs.writeFileSync(
      backendsFile,
      JSON.stringify({
        selected: Object.keys(folders),
        config: {
          'files-a': { folder: folders['files-a'] },
          'files-b': { folder: folders['files-b'] },
          slow: { folder: folders.slow, delayMs: 100 },
        },
        sink: { batchSize: 7 },
      }),
    );
    const runId = 'crash-run-1';
    const PHASE1 = 300,
      PHASE2 = 200,
      POINTS = 3;
    const metrics = (seq: number) => ({
      type: 'metrics',
      runId,
      seq,
      points: Array.from({ length: POINTS }, (_, k) => ({
        key: `m${k}`,
        value: seq + k / 10,
        step: seq,
        time: 1_700_000_000 + seq,
      })),
    });

    // Phase 1: stream, wait until durable, kill -9 while the slow backend is still delivering.
    let cli = await startCli(storeDir, backendsFile);
    proc = cli.proc;
    let c = await connect(cli.url);
    c.send({
      type: 'run.start',
      runId,
      seq: 1,
      project: 'crash',
      name: 'kill -9',
      time: 1_700_000_000,
      params: { lr: 0.01, layers: 4 },
    });
    for (let s = 2; s < 2 + PHASE1; s++) c.send(metrics(s));
    await c.acked(1 + PHASE1);
    const slowFile = path.join(folders.slow, `${runId}.jsonl`);
    await waitFor('the slow backend to have written something', () => lines(slowFile).length > 0, WAIT);
    const slowBefore = lines(slowFile).length;
    cli.proc.kill('SIGKILL');
    await new Promise((r) => cli.proc.once('exit', r));
    c.close();
    assert.ok(slowBefore < 1 + PHASE1, `killed mid-delivery (slow backend held ${slowBefore} of ${1 + PHASE1})`);

    // Phase 2: restart on the same store, finish the run.
    cli = await startCli(storeDir, backendsFile);
    proc = cli.proc;
    c = await connect(cli.url);
    const last = 2 + PHASE1 + PHASE2;
    for (let s = 2 + PHASE1; s < last; s++) c.send(metrics(s));
    c.send({ type: 'params', runId, seq: last, params: { batch_size: 32 } });
    c.send({ type: 'run.end', runId, seq: last + 1, status: 'finished', time: 1_700_001_000 });
    await c.acked(last + 1);
    c.close();

    const expected = 1 + PHASE1 + PHASE2 + 2;
    for (const [id, folder] of Object.entries(folders)) {
      const file = path.join(folder, `${runId}.jsonl`);
      await waitFor(`${id} to hold the whole run`, () => lines(file).length >= expected, WAIT);
    }
    cli.proc.kill('SIGTERM');
    await new Promise((r) => cli.proc.once('exit', r));

    const store = await RunStore.open(storeDir);
    const inLog = store.recordCount(runId);
    await store.close();
    assert.equal(inLog, expected, 'the log holds every acked message once');
    for (const [id, folder] of Object.entries(folders)) {
      const got = lines(path.join(folder, `${runId}.jsonl`));
      assert.deepEqual(
        got.map((l) => l.offset),
        Array.from({ length: expected }, (_, i) => i),
        `${id}: offsets 0..${expected - 1}, each once`,
      );
      const points = got.reduce((n, l) => n + (l.event.type === 'metrics' ? l.event.points!.length : 0), 0);
      assert.equal(points, (PHASE1 + PHASE2) * POINTS, `${id}: every point once`);
      assert.deepEqual(got[0].event.params, { lr: 0.01, layers: 4 });
      assert.deepEqual(got.find((l) => l.event.type === 'params')?.event.params, { batch_size: 32 });
      assert.equal(got[got.length - 1].event.status, 'finished');
    }
  });
});
