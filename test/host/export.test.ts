// "Runwatch: Export Run…" inside a real extension host with the installed .vsix: a run
// streamed by the real Python client, exported from the Runs tree's context menu (the
// run node, then its project node) as CSV and JSON lines, with the format and file
// given as a person would answer the quick pick and the save dialog.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunSummary, RunwatchExports } from '../../src/api/types';
import { waitFor } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const PYTHON = process.env.RUNWATCH_PYTHON ?? 'python3';

function runPython(code: string, cwd: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(ROOT, 'clients', 'python') };
  for (const k of Object.keys(env)) if (k.startsWith('RUNWATCH_')) delete env[k];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', code], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

describe('Export Run… (host)', function () {
  this.timeout(300_000);
  let api: { listRuns(): RunSummary[] };
  let runId = '';
  let out = '';

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    api = (await ext.activate()).getApi(1);
    const workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await waitFor(
      'the discovery file',
      () => fs.existsSync(path.join(workspace, '.runwatch', 'collector.json')),
      60_000,
    );
    runId = await runPython(
      'import runwatch\nrun = runwatch.init(project="export-host", name="to-export")\n' +
        'for s, v in enumerate([0.5, float("nan"), float("inf"), -1.0]): run.log({"loss": v}, step=s)\n' +
        'run.finish()\nprint(run.id)',
      workspace,
    );
    await waitFor(
      'the run finished in the store',
      () => api.listRuns().find((r) => r.runId === runId && r.status === 'finished'),
      60_000,
    );
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-export-host-'));
  });

  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('is in the Runs tree context menu of runs and projects', () => {
    const pkg = vscode.extensions.getExtension('runwatch.runwatch')!.packageJSON as {
      contributes: {
        menus: Record<string, { command: string; when?: string }[]>;
        commands: { command: string; title: string }[];
      };
    };
    const entry = pkg.contributes.menus['view/item/context'].find((m) => m.command === 'runwatch.exportRun');
    assert.ok(entry?.when?.includes('viewItem =~ /^run/') && entry.when.includes('viewItem == project'), entry?.when);
    assert.strictEqual(pkg.contributes.commands.find((c) => c.command === 'runwatch.exportRun')?.title, 'Export Run…');
  });

  it('exports the clicked run as CSV, every point with step and time, NaN and Infinity kept', async () => {
    const file = path.join(out, 'run.csv');
    const result = await vscode.commands.executeCommand<{ file: string; points: number }>(
      'runwatch.exportRun',
      { kind: 'run', runId },
      undefined,
      { format: 'csv', file },
    );
    assert.strictEqual(result?.points, 4);
    const rows = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.strictEqual(rows[0], 'run_id,key,step,time,value');
    assert.deepStrictEqual(
      rows.slice(1).map((r) => {
        const [id, key, step, , value] = r.split(',');
        return [id, key, step, value];
      }),
      [
        [runId, 'loss', '0', '0.5'],
        [runId, 'loss', '1', 'NaN'],
        [runId, 'loss', '2', 'Infinity'],
        [runId, 'loss', '3', '-1'],
      ],
    );
    assert.ok(
      rows.slice(1).every((r) => Number(r.split(',')[3]) > 1_600_000_000),
      'wall times kept',
    );
  });

  it('exports the clicked project as JSON lines', async () => {
    const file = path.join(out, 'project.jsonl');
    const result = await vscode.commands.executeCommand<{ runs: number; points: number }>(
      'runwatch.exportRun',
      { kind: 'project', project: 'export-host' },
      undefined,
      { format: 'jsonl', file },
    );
    assert.deepStrictEqual([result?.runs, result?.points], [1, 4]);
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepStrictEqual([lines[0].type, lines[0].runId, lines[0].status], ['run', runId, 'finished']);
    assert.deepStrictEqual(
      lines.slice(1).map((l) => l.value),
      [0.5, 'NaN', 'Infinity', -1],
    );
  });
});
