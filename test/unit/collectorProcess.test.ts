// The same guarantees against the headless collector as a real process (the CLI,
// run from source): a seq gap is refused, not acked; a client process that is
// killed and replaced by one that only heartbeats its run's id keeps the run
// running; once nobody names it, it is marked crashed. The store is read back by
// a separate RunStore after the collector has stopped.
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { RunStore } from '../../src/store/runStore';
import { TestConnection } from './collectorTestClient';

const ROOT = path.resolve(__dirname, '../..');
const TSX = require.resolve('tsx/cjs');

async function startCollector(store: string): Promise<{ proc: ChildProcess; url: string; token: string }> {
  const args = [
    '--require',
    TSX,
    path.join(ROOT, 'src/collector/cli.ts'),
    '--store',
    store,
    '--heartbeat-timeout',
    '1',
    '--quiet',
  ];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line; stderr:\n${err}`)), 60_000);
    readline.createInterface({ input: proc.stdout! }).once('line', (l) => (clearTimeout(t), resolve(l)));
    proc.once('exit', (code) => (clearTimeout(t), reject(new Error(`exited ${code}; stderr:\n${err}`))));
  });
  const info = JSON.parse(line) as { url: string; token: string };
  return { proc, url: info.url, token: info.token };
}

/** A client in its own process: starts the run, sends `extra` frames, then is killed with SIGKILL. */
function clientProcess(url: string, token: string, runId: string): Promise<void> {
  const script = `
    const WebSocket = require(${JSON.stringify(require.resolve('ws'))});
    const ws = new WebSocket(${JSON.stringify(url)});
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', client: 'proc', version: '0', protocol: 1, token: ${JSON.stringify(token)} }));
      ws.send(JSON.stringify({ type: 'run.start', runId: ${JSON.stringify(runId)}, seq: 1, project: 'p', time: 1 }));
    });
    ws.on('message', (d) => { const m = JSON.parse(d); if (m.type === 'ack' && m.seq === 1) console.log('acked'); });
  `;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('client process got no ack')), 30_000);
    readline.createInterface({ input: proc.stdout! }).once('line', () => {
      clearTimeout(t);
      proc.kill('SIGKILL');
      proc.once('exit', () => resolve());
    });
  });
}

describe('collector process: gaps and heartbeat-only reconnects', function () {
  this.timeout(120_000);
  let dir: string;
  let collector: { proc: ChildProcess; url: string; token: string } | undefined;

  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-proc-'))));
  afterEach(async () => {
    if (collector && collector.proc.exitCode === null) {
      const exited = new Promise((r) => collector!.proc.once('exit', r));
      collector.proc.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function stopAndRead(runId: string) {
    const exited = new Promise((r) => collector!.proc.once('exit', r));
    collector!.proc.kill('SIGTERM');
    await exited;
    const store = await RunStore.open(dir);
    try {
      return { summary: store.getRun(runId), records: await store.read(runId, 0, 100) };
    } finally {
      await store.close();
    }
  }

  it('refuses seq 3 after 1 with seq_gap; 2 and 3 are then stored once each, in order', async () => {
    collector = await startCollector(dir);
    const c = await TestConnection.connect(collector.url, collector.token);
    c.send({ type: 'run.start', runId: 'g', seq: 1, project: 'p', time: 1 });
    c.send({ type: 'metrics', runId: 'g', seq: 3, points: [{ key: 'k', value: 3, step: 3, time: 1 }] });
    await c.waitFor(() => c.messages.some((m) => m.code === 'seq_gap'), 'seq_gap');
    await c.waitFor(() => c.ackedSeq('g') === 1, 'ack 1');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.ackedSeq('g'), 1, 'seq 3 is not acked');
    for (const s of [2, 3])
      c.send({ type: 'metrics', runId: 'g', seq: s, points: [{ key: 'k', value: s, step: s, time: 1 }] });
    await c.waitFor(() => c.ackedSeq('g') === 3, 'ack 3');
    c.close();
    const { records } = await stopAndRead('g');
    const steps = records.flatMap((r) => (r.event.type === 'metrics' ? r.event.points.map((p) => p.step) : []));
    assert.deepEqual(steps, [2, 3]);
  });

  it('a killed client replaced by one that only heartbeats the run id keeps it running; then it is crashed', async () => {
    collector = await startCollector(dir);
    await clientProcess(collector.url, collector.token, 'hb');
    const b = await TestConnection.connect(collector.url, collector.token);
    const until = Date.now() + 3500; // more than three timeouts of 1 s
    while (Date.now() < until) {
      b.send({ type: 'heartbeat', time: Date.now() / 1000, runIds: ['hb'] });
      await new Promise((r) => setTimeout(r, 250));
    }
    b.close();
    await new Promise((r) => setTimeout(r, 2500)); // nobody names it now
    const { summary, records } = await stopAndRead('hb');
    assert.equal(summary?.status, 'crashed');
    const end = records[records.length - 1].event;
    assert.equal(end.type, 'run.end');
    // Crashed only after the heartbeats stopped: its end time is after them.
    assert.ok(
      end.type === 'run.end' && end.time * 1000 >= until,
      `crashed at ${end.type === 'run.end' && end.time}, heartbeats until ${until / 1000}`,
    );
  });
});
