// How training scripts find the collector, inside a real extension host with the
// installed .vsix: an integrated terminal opened with createTerminal (no env of its
// own) gets RUNWATCH_* and the bundled client on PYTHONPATH from Runwatch's
// environmentVariableCollection, so `python3 -c "import runwatch ..."` there imports
// the extension's copy of the client and streams a run into the store. And the
// workspace's discovery file is private (0600) and names the live collector.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import * as vscode from 'vscode';
import WebSocket from 'ws';
import type { RunwatchApiV1, RunwatchExports } from '../../src/api/types';
import { waitFor } from './helpers';
import { columnEntries } from '../../src/protocol/packedColumn';

const ROOT = path.resolve(__dirname, '..', '..');

/** The metric points in a run's durable log (<store>/runs/<id>/log.rwl: u32 length, u32 CRC-32, JSON). */
function loggedPoints(storeDir: string, runId: string): { key: string; value: number; step: number }[] {
  const buf = fs.readFileSync(path.join(storeDir, 'runs', runId, 'log.rwl'));
  const points: { key: string; value: number; step: number }[] = [];
  for (let pos = 0; pos + 8 <= buf.length;) {
    const end = pos + 8 + buf.readUInt32LE(pos);
    if (end > buf.length) break;
    const payload = buf.subarray(pos + 8, end);
    if (zlib.crc32(payload) !== buf.readUInt32LE(pos + 4)) break;
    type Cols = { keys: string[]; k: number[]; v: number[] | string; s: number[] | string };
    const rec = JSON.parse(payload.toString('utf8')) as {
      event: { type: string; points?: { key: string; value: number; step: number }[]; cols?: Cols };
    };
    // The Python client sends the columnar form (`cols`), stored as received.
    // Its v and s may be packed (base64 of float32 or float64).
    const c = rec.event.cols;
    if (rec.event.type === 'metrics' && c) {
      const v = columnEntries(c.v, c.k.length) ?? [];
      const s = columnEntries(c.s, c.k.length) ?? [];
      points.push(...c.k.map((ki, i) => ({ key: c.keys[ki], value: v[i], step: s[i] })));
    } else if (rec.event.type === 'metrics') points.push(...(rec.event.points ?? []));
    pos = end;
  }
  return points;
}

/**
 * Runs `python3 -c "<code>"` in the terminal, as a person would type it; `code` is one
 * line of Python with single-quoted strings only. Resolves with what the script wrote
 * to `out` (JSON); rejects with its exit code and stderr if it failed.
 */
async function pythonInTerminal(
  terminal: vscode.Terminal,
  dir: string,
  name: string,
  code: string,
  timeoutMs = 90_000,
): Promise<Record<string, unknown>> {
  assert.ok(!/["$`\\!\n]/.test(code), 'the Python one-liner must survive a double-quoted bash word as is');
  const out = path.join(dir, `${name}.json`);
  const rc = path.join(dir, `${name}.rc`);
  const err = path.join(dir, `${name}.err`);
  terminal.sendText(`python3 -c "${code.replaceAll('OUT', `'${out}'`)}" 2>${err}; echo $? >${rc}`, true);
  const status = await waitFor(
    `${name}: the terminal command to finish`,
    () => fs.existsSync(rc) && fs.readFileSync(rc, 'utf8').trim(),
    timeoutMs,
  );
  const stderr = fs.existsSync(err) ? fs.readFileSync(err, 'utf8') : '';
  assert.strictEqual(status, '0', `${name}: python3 in the terminal exited with ${status}:\n${stderr}`);
  return { ...JSON.parse(fs.readFileSync(out, 'utf8')), stderr };
}

const real = (p: string) => fs.realpathSync(p);

describe('integrated terminal and discovery file (host)', function () {
  this.timeout(300_000);
  let ext: vscode.Extension<RunwatchExports>;
  let api: RunwatchApiV1;
  let workspace = '';
  let dir = '';
  let terminal: vscode.Terminal | undefined;

  before(async () => {
    const found = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(found, 'Runwatch is installed');
    ext = found;
    api = (await ext.activate()).getApi(1);
    workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await waitFor('the collector to listen', () => api.getCollectorInfo(), 60_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-terminal-'));
  });

  after(() => {
    terminal?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a terminal imports the extension's bundled client and gets the running collector's URL and token", async () => {
    // The terminal inherits code-server's environment (test/host/run.js passes its own on):
    // a PYTHONPATH from there would make `import runwatch` work without Runwatch.
    assert.ok(
      !process.env.PYTHONPATH,
      `the extension host inherited PYTHONPATH=${process.env.PYTHONPATH} from the process that started code-server; unset it before running the host tier`,
    );
    const info = api.getCollectorInfo()!;
    terminal = vscode.window.createTerminal({ name: 'Runwatch terminal test', shellPath: '/bin/bash' });
    const probe = await pythonInTerminal(
      terminal,
      dir,
      'probe',
      "import os, sys, json, runwatch; open(OUT, 'w').write(json.dumps({'file': runwatch.__file__, 'python': sys.executable, " +
        "'env': {k: v for k, v in os.environ.items() if k.startswith('RUNWATCH_') or k == 'PYTHONPATH'}}))",
    );
    const env = probe.env as Record<string, string>;
    const bundled = path.join(ext.extensionPath, 'clients', 'python');
    assert.ok(
      !real(ext.extensionPath).startsWith(real(ROOT) + path.sep),
      `Runwatch runs from the installed .vsix, not from the repository (${ext.extensionPath})`,
    );
    assert.strictEqual(
      real(String(probe.file)),
      real(path.join(bundled, 'runwatch', '__init__.py')),
      "runwatch is imported from the installed extension's folder",
    );
    assert.ok(
      !real(String(probe.file)).startsWith(real(path.join(ROOT, 'clients', 'python'))),
      "not from the repository's clients/python",
    );
    assert.strictEqual(env.PYTHONPATH, bundled + path.delimiter, 'PYTHONPATH holds only what Runwatch prepended');
    assert.strictEqual(env.RUNWATCH_URL, info.url, "RUNWATCH_URL is the running collector's");
    assert.strictEqual(env.RUNWATCH_TOKEN, info.token, "RUNWATCH_TOKEN is the running collector's");
    const discovery = JSON.parse(fs.readFileSync(path.join(workspace, '.runwatch', 'collector.json'), 'utf8')) as {
      spoolDir: string;
    };
    assert.strictEqual(env.RUNWATCH_SPOOL_DIR, discovery.spoolDir);
  });

  it('a script run in that terminal streams a run into the store through the collector', async () => {
    assert.ok(terminal, 'the terminal from the previous test');
    const before = new Set(api.listRuns().map((r) => r.runId));
    const result = await pythonInTerminal(
      terminal,
      dir,
      'train',
      "import json, runwatch; run = runwatch.init(project='terminal', name='from-terminal', config={'lr': 0.5}); " +
        "[run.log({'loss': 1.0 / (s + 1), 'acc': s / 10}, step=s) for s in range(7)]; run.finish(); " +
        "open(OUT, 'w').write(json.dumps({'id': run.id, 'acked': run.acked_points, 'spool': run.spool_path}))",
    );
    const runId = String(result.id);
    assert.ok(!before.has(runId));
    // Acknowledged by the collector, not spooled (the spool importer would bring it in too).
    assert.strictEqual(result.spool, null, `the run was spooled; the script said:\n${result.stderr}`);
    assert.strictEqual(result.acked, 14, 'the collector acknowledged all 14 points');
    const run = await waitFor(
      'the run, finished, in listRuns()',
      () => api.listRuns().find((r) => r.runId === runId && r.status === 'finished'),
      60_000,
    );
    assert.strictEqual(run.project, 'terminal');
    assert.strictEqual(run.name, 'from-terminal');
    assert.deepStrictEqual(run.params, { lr: 0.5 });
    assert.strictEqual(run.lastStep, 6);
    const points = loggedPoints(path.join(workspace, '.runwatch'), runId);
    assert.deepStrictEqual(
      points.map((p) => [p.key, p.step, p.value]).sort(),
      Array.from({ length: 7 }, (_, s) => [
        ['acc', s, s / 10],
        ['loss', s, 1 / (s + 1)],
      ])
        .flat()
        .sort(),
      'every point exactly once in the run log',
    );
  });

  it('the workspace discovery file is readable by the user only and names the live collector', async () => {
    const info = api.getCollectorInfo()!;
    const folder = path.join(workspace, '.runwatch');
    const file = path.join(folder, 'collector.json');
    assert.strictEqual((fs.statSync(file).mode & 0o777).toString(8), '600', 'collector.json is 0600');
    assert.strictEqual((fs.statSync(folder).mode & 0o777).toString(8), '700', '.runwatch/ is 0700');
    const discovery = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      url: string;
      token: string;
      pid: number;
      version: string;
      spoolDir: string;
    };
    assert.strictEqual(discovery.url, info.url);
    assert.strictEqual(discovery.token, info.token);
    assert.strictEqual(
      discovery.pid,
      process.pid,
      "the pid is this extension host's (clients treat a dead pid as no collector)",
    );
    assert.strictEqual(discovery.version, String(ext.packageJSON.version));
    assert.ok(fs.statSync(discovery.spoolDir).isDirectory(), 'the spool folder it names exists');
    // Live: hello with the token it names is welcomed.
    const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ws = new WebSocket(discovery.url);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no welcome from ${discovery.url} within 30 s`));
      }, 30_000);
      ws.on('open', () =>
        ws.send(
          JSON.stringify({ type: 'hello', client: 'host-test', version: '0', protocol: 1, token: discovery.token }),
        ),
      );
      ws.on('message', (data) => {
        clearTimeout(timer);
        ws.close(1000);
        resolve(JSON.parse(String(data)) as Record<string, unknown>);
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    assert.strictEqual(welcome.type, 'welcome', JSON.stringify(welcome));
  });
});
