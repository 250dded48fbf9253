// `collector-cli export` as a real process, while a real collector process owns the
// store: a run and a project read back as JSON lines and CSV, every point with its step
// and wall time, NaN and ±Infinity kept; the owner is not disturbed (the export reads).
import { strict as assert } from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { ReliableClient } from './collectorTestClient';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'src/collector/cli.ts');
const node = (args: string[]) =>
  spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = node(args);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, out, err })));
}

const VALUES = [0.5, 'NaN', 'Infinity', '-Infinity', -2.25];

describe('collector CLI export', function () {
  this.timeout(120_000);
  let dir: string;
  let owner: ChildProcess | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-export-'));
    owner = node(['--store', dir, '--token', 'tok-e']);
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: owner!.stdout! }).once('line', resolve);
      owner!.once('exit', (c) => reject(new Error(`collector exited ${c}`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    for (const [runId, project] of [
      ['run-a', 'proj'],
      ['run-b', 'proj'],
      ['run-c', 'other'],
    ]) {
      const c = new ReliableClient(runId, 'tok-e');
      await c.connect(url);
      c.send({ type: 'run.start', project, name: runId, time: 1700000000, params: { lr: 0.1 } });
      c.send({
        type: 'metrics',
        points: VALUES.map((value, step) => ({ key: 'loss', value, step, time: 1700000000 + step / 4 })),
      });
      const end = c.send({ type: 'run.end', status: 'finished', time: 1700000010 });
      await c.waitAcked(end);
      c.conn?.close();
    }
  });

  after(() => {
    if (owner?.pid && owner.exitCode === null) process.kill(owner.pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exports a run as JSON lines: a run line, then every point with step, time and non-finite values kept', async () => {
    const out = path.join(dir, '..', `${path.basename(dir)}-a.jsonl`);
    const r = await run(['export', '--store', dir, '--run', 'run-a', '--format', 'jsonl', '--out', out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /run run-a: 1 run\(s\), 5 points/);
    const lines = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    fs.rmSync(out);
    assert.equal(lines[0].type, 'run');
    assert.deepEqual(
      [lines[0].runId, lines[0].project, lines[0].status, lines[0].params],
      ['run-a', 'proj', 'finished', { lr: 0.1 }],
    );
    assert.deepEqual(
      lines.slice(1).map((l) => [l.key, l.step, l.time, l.value]),
      VALUES.map((v, step) => ['loss', step, 1700000000 + step / 4, v]),
    );
  });

  it('exports a project as CSV to stdout, its runs only', async () => {
    const r = await run(['export', '--store', dir, '--project', 'proj', '--format', 'csv']);
    assert.equal(r.code, 0, r.err);
    const rows = r.out.trim().split('\n');
    assert.equal(rows[0], 'run_id,key,step,time,value');
    assert.equal(rows.length, 1 + 2 * VALUES.length);
    assert.deepEqual(new Set(rows.slice(1).map((l) => l.split(',')[0])), new Set(['run-a', 'run-b']));
    assert.ok(rows.includes('run-b,loss,1,1700000000.25,NaN'));
    assert.ok(rows.includes('run-b,loss,3,1700000000.75,-Infinity'));
  });

  it('says what is wrong with bad options or an unknown run, and writes no file', async () => {
    const both = await run(['export', '--store', dir, '--run', 'x', '--project', 'y', '--format', 'csv']);
    assert.equal(both.code, 2);
    assert.match(both.err, /either --run <id> or --project <name>/);
    const fmt = await run(['export', '--store', dir, '--run', 'run-a', '--format', 'xml']);
    assert.equal(fmt.code, 2);
    assert.match(fmt.err, /--format must be jsonl or csv, got "xml"/);
    const out = path.join(os.tmpdir(), `rw-export-missing-${process.pid}.csv`);
    const missing = await run(['export', '--store', dir, '--run', 'nope', '--format', 'csv', '--out', out]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /there is no run "nope"/);
    assert.ok(!fs.existsSync(out), 'no file for a failed export');
    const noStore = await run(['export', '--store', path.join(dir, 'nowhere'), '--run', 'a', '--format', 'csv']);
    assert.equal(noStore.code, 1);
    assert.match(noStore.err, /is not a run store/);
  });

  it('left the owning collector running and its store as it was', async () => {
    assert.equal(owner!.exitCode, null);
    const disc = JSON.parse(fs.readFileSync(path.join(dir, 'collector.json'), 'utf8')) as { pid: number };
    assert.equal(disc.pid, owner!.pid);
  });
});
