// The editor features' pure parts: which lines show which run's values and with what text, where a
// recorded path is found in the workspace, and a run's command line rebuilt with changed params.
import { strict as assert } from 'assert';
import * as path from 'path';
import type * as vscode from 'vscode';
import type { RunSummary } from '../../src/api/types';
import { buildIndex, renderFile, sparkline, TrendMemory } from '../../src/ui/editor/inlineModel';
import { sourcePlaces } from '../../src/ui/dashboard/sourcePlaces';
import { resolveSourcePath } from '../../src/ui/editor/sourcePaths';
import { paramArgs, recordedCommand, shellLine, withParams } from '../../src/ui/launch/commandLine';
import { applyTerminalEnv, runwatchEnv } from '../../src/ui/terminalEnv';

function run(id: string, status: RunSummary['status'], start: number, sources: RunSummary['sources']): RunSummary {
  return {
    runId: id,
    project: 'p',
    name: `name-${id}`,
    status,
    startTime: start,
    params: {},
    tags: {},
    context: {},
    sources,
  };
}

describe('editor: inline values model', () => {
  const loc = (line: number) => ({ file: '/w/train.py', line });
  const runs = [
    run('old', 'finished', 1, { 'train/loss': loc(10) }),
    run('a', 'running', 2, { 'train/loss': loc(10), 'val/acc': loc(10), lr: loc(20) }),
    run('b', 'running', 3, { 'train/loss': loc(10) }),
    run('none', 'running', 4, undefined),
  ];

  it('shows live runs newest first, selected runs ahead of them, and nothing of other runs', () => {
    const idx = buildIndex(runs, [], (f) => f);
    const lines = idx.get('/w/train.py');
    assert.ok(lines);
    assert.deepEqual(
      lines.get(9)?.map((e) => `${e.runId}:${e.key}`),
      ['b:train/loss', 'a:train/loss', 'a:val/acc'],
    );
    const sel = buildIndex(runs, ['old'], (f) => f)
      .get('/w/train.py')
      ?.get(9);
    assert.equal(sel?.[0].runId, 'old');
    assert.equal(buildIndex(runs, [], () => undefined).size, 0, 'a file not found here is not drawn');
  });

  it("draws the first run's keys with its step and the trend of the first key", () => {
    const lines = buildIndex([runs[1]], [], (f) => f).get('/w/train.py');
    assert.ok(lines);
    let values: Record<string, { step: number; value: number }> = {
      'train/loss': { step: 1200, value: 0.5 },
      'val/acc': { step: 1200, value: 0.9 },
      lr: { step: 1199, value: 0.001 },
    };
    const trends = new TrendMemory();
    const first = renderFile(lines, (_r, k) => values[k], trends);
    assert.deepEqual(first, [
      { line: 9, text: 'train/loss 0.5 · val/acc 0.9 · step 1,200' },
      { line: 19, text: 'lr 0.001 · step 1,199' },
    ]);
    values = { ...values, 'train/loss': { step: 1300, value: 0.4312 } };
    const next = renderFile(lines, (_r, k) => values[k], trends);
    assert.equal(next[0].text, 'train/loss 0.4312 · val/acc 0.9 · step 1,300 ↓');
    assert.equal(next[1].text, 'lr 0.001 · step 1,199', 'no new step, no arrow');
    assert.deepEqual(
      renderFile(lines, () => undefined, trends),
      [],
      'nothing logged yet: nothing drawn',
    );
  });

  it('sparklines span the blocks, keep gaps for NaN and stay within the width', () => {
    assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
    assert.equal(sparkline([1, NaN, 3]), '▁ █');
    assert.equal(
      sparkline(
        Array.from({ length: 1000 }, (_, i) => i),
        32,
      ).length,
      32,
    );
    assert.equal(sparkline([]), '');
  });
});

describe('editor: source paths', () => {
  const have = (files: string[]) => (f: string) => files.includes(f);
  it('uses the recorded path when it exists, else the workspace by cwd, else by the longest tail', () => {
    assert.equal(resolveSourcePath('/w/a.py', { folders: [], exists: have(['/w/a.py']) }), '/w/a.py');
    assert.equal(
      resolveSourcePath('/remote/proj/src/a.py', {
        cwd: '/remote/proj',
        folders: ['/ws'],
        exists: have(['/ws/src/a.py']),
      }),
      '/ws/src/a.py',
    );
    assert.equal(
      resolveSourcePath('/x/y/src/a.py', { folders: ['/ws'], exists: have(['/ws/a.py', '/ws/src/a.py']) }),
      '/ws/src/a.py',
    );
    assert.equal(resolveSourcePath('/x/a.py', { folders: ['/ws'], exists: have([]) }), undefined);
    assert.equal(resolveSourcePath('<stdin>', { folders: ['/ws'], exists: () => true }), undefined);
  });
});

describe("editor: a chart's Go to Source places", () => {
  it('one place for runs of one script (the newest run opens it), one per file and line otherwise', () => {
    const at = (file: string, line: number) => ({ file, line });
    const runs = [
      run('a', 'finished', 1, { loss: at('/w/train.py', 10) }),
      run('b', 'running', 3, { loss: at('/w/train.py', 10) }),
      run('c', 'finished', 2, { loss: at('/w/other.py', 4), acc: at('/w/other.py', 5) }),
      run('d', 'running', 4, { acc: at('/w/train.py', 11) }),
      run('e', 'running', 5, undefined),
    ];
    assert.deepEqual(
      sourcePlaces(runs, 'loss').map((p) => [p.runId, `${p.loc.file}:${p.loc.line}`, p.runs]),
      [
        ['b', '/w/train.py:10', ['name-b', 'name-a']],
        ['c', '/w/other.py:4', ['name-c']],
      ],
    );
    assert.deepEqual(
      sourcePlaces(runs, 'acc').map((p) => p.runId),
      ['d', 'c'],
    );
    assert.deepEqual(sourcePlaces(runs, 'nothing'), []);
  });
});

describe('editor: rerun command lines', () => {
  it('rebuilds the interpreter command line and changes params given on it', () => {
    const cmd = recordedCommand({
      executable: '/venv/bin/python',
      origArgv: ['python', 'train.py', '--lr', '0.1', '--batch-size=64', '--name', 'x y'],
      argv: ['train.py', '--lr', '0.1', '--batch-size=64', '--name', 'x y'],
      cwd: '/w',
    });
    assert.ok(!('error' in cmd));
    if ('error' in cmd) return;
    assert.equal(shellLine(cmd.argv), "/venv/bin/python train.py --lr 0.1 --batch-size=64 --name 'x y'");
    const args = paramArgs(cmd.argv, { lr: 0.1, batch_size: 64, 'opt.name': 'x y' });
    assert.deepEqual(
      args.map((a) => [a.param, a.value]),
      [
        ['lr', '0.1'],
        ['batch_size', '64'],
      ],
      '--name is not taken for opt.name: whole names only',
    );
    const nested = paramArgs(['python', 't.py', '--model.layers', '12'], { 'model.layers': 12 });
    assert.deepEqual(
      nested.map((a) => [a.param, a.value]),
      [['model.layers', '12']],
    );
    assert.equal(
      shellLine(withParams(cmd.argv, args, { lr: '0.01', batch_size: '128' })),
      "/venv/bin/python train.py --lr 0.01 --batch-size=128 --name 'x y'",
    );
    assert.deepEqual(recordedCommand({ argv: ['-c'] }), {
      error: 'its context does not record the command line (an older client, or not run from Python)',
    });
    assert.ok('error' in recordedCommand({ notebook: '/w/n.ipynb', origArgv: ['python', '-m', 'ipykernel_launcher'] }));
  });
});

describe('editor: the environment for terminals, tasks and debug sessions', () => {
  const info = { url: 'ws://127.0.0.1:9', token: 't', spoolDir: '/s', extensionPath: '/ext' };

  it('debug sessions get the terminals variables, RUNWATCH_CAPTURE=0 only with capture off', () => {
    const on = runwatchEnv({ ...info, capture: true }, '/mine');
    assert.deepEqual(on, {
      RUNWATCH_URL: 'ws://127.0.0.1:9',
      RUNWATCH_TOKEN: 't',
      RUNWATCH_SPOOL_DIR: '/s',
      PYTHONPATH: `${path.join('/ext', 'clients', 'python')}${path.delimiter}/mine`,
    });
    assert.equal(runwatchEnv({ ...info, capture: false }).RUNWATCH_CAPTURE, '0');
  });

  it('terminals (and the tasks run in them) get RUNWATCH_CAPTURE=0 with capture off, and lose it when back on', () => {
    const ops: string[] = [];
    const c = {
      persistent: true,
      description: '',
      replace: (n: string, v: string) => ops.push(`replace ${n}=${v}`),
      prepend: (n: string, v: string) => ops.push(`prepend ${n}=${v}`),
      delete: (n: string) => ops.push(`delete ${n}`),
    };
    applyTerminalEnv(c as unknown as vscode.GlobalEnvironmentVariableCollection, { ...info, capture: false });
    assert.ok(ops.includes('replace RUNWATCH_CAPTURE=0'), ops.join('\n'));
    ops.length = 0;
    applyTerminalEnv(c as unknown as vscode.GlobalEnvironmentVariableCollection, { ...info, capture: true });
    assert.ok(ops.includes('delete RUNWATCH_CAPTURE'), ops.join('\n'));
    ops.length = 0;
    applyTerminalEnv(c as unknown as vscode.GlobalEnvironmentVariableCollection, info);
    assert.ok(!ops.some((o) => o.includes('RUNWATCH_CAPTURE')), 'not given: left as it is');
  });
});
