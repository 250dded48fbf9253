// The headless collector CLI as a real process: its listening line, discovery
// file and clean stop; and kill -9 mid-stream, restart on the same port, and a
// client that resends what was not acknowledged -> every point exactly once.
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import type { RunRecord } from '../../src/api/types';
import { RunStore } from '../../src/store/runStore';
import { ReliableClient, waitUntil } from './collectorTestClient';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'src/collector/cli.ts');

interface Listening {
  event: string;
  url: string;
  port: number;
  token: string;
}

/** Starts the CLI from source (through tsx, so the test does not depend on a fresh build). */
async function startCli(args: string[]): Promise<{ proc: ChildProcess; info: Listening; stderr: () => string }> {
  const proc = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const lines = readline.createInterface({ input: proc.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`collector did not print its listening line in time; stderr:\n${err}`)),
      60_000,
    );
    lines.once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`collector exited with ${code} before listening; stderr:\n${err}`));
    });
  });
  return { proc, info: JSON.parse(first) as Listening, stderr: () => err };
}

function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((r) => proc.once('exit', (code) => r(code)));
}

function kill(proc: ChildProcess | undefined): void {
  if (proc?.pid && proc.exitCode === null && proc.signalCode === null) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function batch(from: number, n: number) {
  // Values that are not simple functions of the step, so a mix-up would show.
  return {
    type: 'metrics',
    points: Array.from({ length: n }, (_, i) => ({
      key: i % 2 ? 'acc' : 'loss',
      value: Math.sin(from + i) * 1000,
      step: from + i,
      time: 1700000000 + (from + i) / 10,
    })),
  };
}

describe('collector CLI', function () {
  this.timeout(180_000);
  let dir: string;
  const procs: ChildProcess[] = [];
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-cli-'))));
  afterEach(() => {
    for (const p of procs.splice(0)) kill(p);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints one listening line, writes a private discovery file, and stops cleanly on SIGTERM', async () => {
    const { proc, info } = await startCli(['--store', dir, '--token', 'tok-1', '--heartbeat-timeout', '5']);
    procs.push(proc);
    assert.equal(info.event, 'listening');
    assert.equal(info.token, 'tok-1');
    assert.equal(info.url, `ws://127.0.0.1:${info.port}`);
    const file = path.join(dir, 'collector.json');
    const disc = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(
      { url: disc.url, token: disc.token, pid: disc.pid, spoolDir: disc.spoolDir },
      { url: info.url, token: 'tok-1', pid: proc.pid, spoolDir: path.join(dir, 'spool') },
    );
    assert.equal(typeof disc.version, 'string');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), '*\n');
    const c = new ReliableClient('cli-run', 'tok-1');
    await c.connect(info.url);
    c.send({ type: 'run.start', project: 'p', time: 1 });
    c.send(batch(0, 10));
    await c.waitAcked(2);
    process.kill(proc.pid!, 'SIGTERM');
    assert.equal(await exited(proc), 0);
    assert.ok(!fs.existsSync(file), 'discovery file removed on stop');
    const store = await RunStore.open(dir);
    assert.equal(store.recordCount('cli-run'), 2);
    await store.close();
  });

  it('rejects bad options with a message and exit code 2', async () => {
    const proc = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CLI, '--port', 'abc'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(proc);
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    assert.equal(await exited(proc), 2);
    assert.match(err, /--port needs a number/);
  });

  it("kill -9 mid-stream, restart on the same port and token: the resending client's run arrives complete, every point once", async () => {
    const TOTAL_BATCHES = 120;
    const PER_BATCH = 100;
    const first = await startCli(['--store', dir, '--token', 'tok-k', '--heartbeat-timeout', '60']);
    procs.push(first.proc);
    const port = first.info.port;
    const c = new ReliableClient('survivor', 'tok-k');
    await c.connect(first.info.url);
    c.send({ type: 'run.start', project: 'p', name: 'survivor', time: 1700000000 });
    let sent = 0;
    // Stream with a window of unacked batches until well past the first acks, then kill.
    while (c.acked < 30) {
      while (sent < TOTAL_BATCHES && c.unackedCount < 16) c.send(batch(sent++ * PER_BATCH, PER_BATCH));
      await c.waitAcked(Math.min(c.acked + 1, c.lastSeq));
    }
    while (sent < 50) c.send(batch(sent++ * PER_BATCH, PER_BATCH)); // more in flight at the kill
    process.kill(first.proc.pid!, 'SIGKILL');
    await exited(first.proc);
    await c.conn!.waitClosed();
    const ackedAtKill = c.acked;
    assert.ok(c.unackedCount > 0, 'something was in flight at the kill');
    // Keep producing while the collector is down; those are kept by the client.
    while (sent < 80) c.send(batch(sent++ * PER_BATCH, PER_BATCH));

    const second = await startCli([
      '--store',
      dir,
      '--port',
      String(port),
      '--token',
      'tok-k',
      '--heartbeat-timeout',
      '60',
    ]);
    procs.push(second.proc);
    assert.equal(second.info.port, port);
    await c.connect(second.info.url);
    while (sent < TOTAL_BATCHES) c.send(batch(sent++ * PER_BATCH, PER_BATCH));
    const end = c.send({ type: 'run.end', status: 'finished', time: 1700000999 });
    await c.waitAcked(end);
    assert.ok(c.resent > 0);
    process.kill(second.proc.pid!, 'SIGTERM');
    assert.equal(await exited(second.proc), 0, second.stderr());

    const store = await RunStore.open(dir);
    try {
      const recs: RunRecord[] = await store.read('survivor', 0, 100_000);
      assert.equal(recs.length, 1 + TOTAL_BATCHES + 1, `acked ${ackedAtKill} at the kill`);
      const points = recs.flatMap((r) => (r.event.type === 'metrics' ? r.event.points : []));
      assert.equal(points.length, TOTAL_BATCHES * PER_BATCH);
      const expected = Array.from({ length: TOTAL_BATCHES }, (_, b) => batch(b * PER_BATCH, PER_BATCH).points).flat();
      assert.deepEqual(points, expected);
      assert.equal(store.getRun('survivor')!.status, 'finished');
      assert.equal(store.lastSeq('survivor'), end);
    } finally {
      await store.close();
    }
    await waitUntil(() => !fs.existsSync(path.join(dir, 'collector.json')), 'discovery removed');
  });

  it('a second collector on a store another one owns refuses to start, says who owns it, and writes nothing', async () => {
    const a = await startCli(['--store', dir, '--token', 'tok-a', '--heartbeat-timeout', '60']);
    procs.push(a.proc);
    const c = new ReliableClient('owned', 'tok-a');
    await c.connect(a.info.url);
    c.send({ type: 'run.start', project: 'p', time: 1 });
    const last = c.send(batch(0, 50));
    await c.waitAcked(last);
    const log = path.join(dir, 'runs', 'owned', 'log.rwl');
    const files = () => JSON.stringify(listFiles(dir).map((f) => [f, fs.statSync(path.join(dir, f)).size]));
    // The owner's own summary writes settle first (they come shortly after an append).
    let before = files();
    for (let same = 0; same < 4;) {
      await new Promise((r) => setTimeout(r, 250));
      const now = files();
      same = now === before ? same + 1 : 0;
      before = now;
    }
    const discovery = fs.readFileSync(path.join(dir, 'collector.json'), 'utf8');

    const b = spawn(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), CLI, '--store', dir, '--token', 'tok-b'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(b);
    let out = '';
    let err = '';
    b.stdout.on('data', (d) => (out += d));
    b.stderr.on('data', (d) => (err += d));
    assert.equal(await exited(b), 3, err);
    assert.equal(out, '', 'no listening line');
    assert.match(err, new RegExp(`in use by runwatch collector CLI \\(pid ${a.proc.pid}\\)`));
    assert.match(err, /only one process may write it/);
    assert.equal(files(), before, 'the second collector changed no file in the store');
    assert.equal(
      fs.readFileSync(path.join(dir, 'collector.json'), 'utf8'),
      discovery,
      'the discovery file still names the owner',
    );

    // The owner goes on writing, unharmed.
    const more = c.send(batch(50, 50));
    await c.waitAcked(more);
    assert.ok(fs.statSync(log).size > 0);
    process.kill(a.proc.pid!, 'SIGTERM');
    assert.equal(await exited(a.proc), 0, a.stderr());
    const store = await RunStore.open(dir);
    assert.equal(store.recordCount('owned'), 3);
    await store.close();
  });

  it('restarted without --port or --token, it comes back on the same port with the same token', async () => {
    const a = await startCli(['--store', dir]);
    procs.push(a.proc);
    process.kill(a.proc.pid!, 'SIGTERM');
    assert.equal(await exited(a.proc), 0, a.stderr());
    const endpoint = path.join(dir, 'collector.endpoint.json');
    assert.equal(fs.statSync(endpoint).mode & 0o777, 0o600, 'the remembered token is private');
    const b = await startCli(['--store', dir]);
    procs.push(b.proc);
    assert.deepEqual([b.info.port, b.info.token], [a.info.port, a.info.token]);
    // After a kill -9 too (nothing ran at exit).
    process.kill(b.proc.pid!, 'SIGKILL');
    await exited(b.proc);
    const c = await startCli(['--store', dir]);
    procs.push(c.proc);
    assert.deepEqual([c.info.port, c.info.token], [a.info.port, a.info.token]);
  });

  it('when the remembered port is taken, it listens on another one and says so', async () => {
    const a = await startCli(['--store', dir]);
    procs.push(a.proc);
    process.kill(a.proc.pid!, 'SIGTERM');
    await exited(a.proc);
    const squatter = net.createServer().listen(a.info.port, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      const b = await startCli(['--store', dir]);
      procs.push(b.proc);
      assert.notEqual(b.info.port, a.info.port);
      assert.equal(b.info.token, a.info.token, 'the token is kept');
      assert.match(b.stderr(), new RegExp(`port ${a.info.port} \\(used last time\\) is taken`));
      const disc = JSON.parse(fs.readFileSync(path.join(dir, 'collector.json'), 'utf8')) as { url: string };
      assert.equal(disc.url, b.info.url, 'the discovery file names the new port');
    } finally {
      squatter.close();
    }
  });
});

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else out.push(p);
  }
  return out.sort();
}
