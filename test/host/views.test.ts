// Runs tree and run commands inside a real VS Code extension host.
// The tree is checked against a temporary RunStore filled through its API; the
// commands are the ones Runwatch registered, against the workspace store, with runs
// streamed by the real Python client (and by the copied connection snippet itself).
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunSummary, RunwatchExports } from '../../src/api/types';
import { RunStore } from '../../src/store/runStore';
import { SeriesStore } from '../../src/store/series';
import { runColors } from '../../src/ui/dashboard/runColors';
import { RunsTreeProvider, type RunsNode } from '../../src/ui/runsTree';
import { waitFor } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const PYTHON = process.env.RUNWATCH_PYTHON ?? 'python3';

function runPython(code: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const clean: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(ROOT, 'clients', 'python'), ...env };
  for (const k of Object.keys(clean)) if (k.startsWith('RUNWATCH_') && !(k in env)) delete clean[k];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', code], { cwd, env: clean, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** The run's swatch: the SVG file its icon points at, in the run's colour with its status. */
function swatch(item: vscode.TreeItem, runId: string, status: string): void {
  assert.ok(item.iconPath instanceof vscode.Uri, 'the icon is a file (a ThemeIcon cannot take an arbitrary colour)');
  const file = item.iconPath.fsPath;
  const color = runColors.colorOf(runId);
  assert.strictEqual(path.basename(file), `swatch-${color.slice(1)}-${status}.svg`);
  assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`<circle [^>]*fill="${color}"`));
}

function tooltipText(item: vscode.TreeItem): string {
  const t = item.tooltip;
  return typeof t === 'string' ? t : (t?.value ?? '');
}

describe('Runs tree (temporary store)', function () {
  this.timeout(120_000);
  let dir = '';
  let store: RunStore;
  let series: SeriesStore;
  let tree: RunsTreeProvider;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-views-'));
    store = await RunStore.open(dir, { sync: false });
    const t = 1_700_000_000;
    await store.append('run-a', [
      {
        event: {
          type: 'run.start',
          project: 'vision',
          name: 'resnet',
          time: t,
          params: { lr: 0.1, opt: 'sgd' },
          tags: {},
          context: {},
        },
      },
      {
        event: {
          type: 'metrics',
          points: Array.from({ length: 10 }, (_, i) => ({
            key: 'train/loss',
            value: 1 / (i + 1),
            step: i,
            time: t + i,
          })),
        },
      },
      { event: { type: 'run.end', status: 'finished', time: t + 90 } },
    ]);
    await store.append('run-b', [
      {
        event: { type: 'run.start', project: 'nlp', name: 'bert', time: t, params: {}, tags: { nlp: '' }, context: {} },
      },
      { event: { type: 'metrics', points: [{ key: 'val/acc', value: 0.5, step: 3, time: t + 3 }] } },
    ]);
    await store.append('run-c', [
      { event: { type: 'run.start', project: 'nlp', name: 'gpt', time: t, params: {}, tags: {}, context: {} } },
      { event: { type: 'run.end', status: 'failed', time: t + 5 } },
    ]);
    series = SeriesStore.open(store);
    await series.whenIdle();
    tree = new RunsTreeProvider({ store, series, exportSource: () => store }, { iconDir: path.join(dir, 'icons') });
  });

  after(async () => {
    tree?.dispose();
    await series?.dispose();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists projects, then their runs with status, duration and last step', () => {
    const projects = tree.getChildren();
    assert.deepStrictEqual(
      projects.map((p) => label(tree.getTreeItem(p))),
      ['nlp', 'vision'],
    );
    const vision = tree.getChildren(projects[1]);
    assert.strictEqual(vision.length, 1);
    const run = tree.getTreeItem(vision[0]);
    assert.strictEqual(label(run), 'resnet');
    assert.strictEqual(run.description, 'finished · step 9 · 1m 30s');
    swatch(run, 'run-a', 'finished');
    assert.match(tooltipText(run), /lr = 0\.1\nopt = "sgd"/, 'the hover lists the params');
    assert.strictEqual(run.contextValue, 'run.finished');

    const nlp = tree.getChildren(projects[0]).map((n) => tree.getTreeItem(n));
    const bert = nlp.find((i) => label(i) === 'bert')!;
    assert.match(String(bert.description), /^live · #nlp · step 3 · .*$/);
    swatch(bert, 'run-b', 'running');
    const gpt = nlp.find((i) => label(i) === 'gpt')!;
    swatch(gpt, 'run-c', 'failed');
    assert.strictEqual(gpt.contextValue, 'run.failed');
  });

  it("shows a run's metrics with latest values, and its params", () => {
    const run: RunsNode = { kind: 'run', runId: 'run-a' };
    const [metrics, params] = tree.getChildren(run);
    const m = tree.getChildren(metrics).map((n) => tree.getTreeItem(n));
    assert.deepStrictEqual(
      m.map((i) => [label(i), i.description]),
      [['train/loss', '0.1 @ step 9']],
    );
    const p = tree.getChildren(params).map((n) => tree.getTreeItem(n));
    assert.deepStrictEqual(
      p.map((i) => [label(i), i.description]),
      [
        ['lr', '0.1'],
        ['opt', 'sgd'],
      ],
    );
    assert.deepStrictEqual(tree.getParent(metrics), run);
  });

  it('shows a crashed run with the crashed icon', async () => {
    // What the collector appends when a client goes silent past the heartbeat timeout.
    await store.append('run-d', [
      {
        event: {
          type: 'run.start',
          project: 'rl',
          name: 'ppo',
          time: 1_700_000_000,
          params: {},
          tags: {},
          context: {},
        },
      },
      {
        event: {
          type: 'run.end',
          status: 'crashed',
          time: 1_700_000_030,
          reason: 'no message from the client for 30s (heartbeat timeout)',
        },
      },
    ]);
    const ppo = tree.getTreeItem({ kind: 'run', runId: 'run-d' });
    assert.strictEqual(label(ppo), 'ppo');
    swatch(ppo, 'run-d', 'crashed');
    assert.strictEqual(ppo.contextValue, 'run.crashed');
    assert.match(String(ppo.description), /^crashed · 30s$/);
    // Its error row says why, and the hover has it once read from the log.
    const kids = tree.getChildren({ kind: 'run', runId: 'run-d' });
    assert.strictEqual(kids[0].kind, 'error');
    await tree.errorDetails('run-d');
    assert.strictEqual(label(tree.getTreeItem(kids[0])), 'no message from the client for 30s (heartbeat timeout)');
  });

  it("shows a failed run's error, traceback and last lines in its Error row and hover", async () => {
    await store.append('run-e', [
      {
        event: {
          type: 'run.start',
          project: 'rl',
          name: 'sac',
          time: 1_700_000_000,
          params: { lr: 3e-4 },
          tags: { sweep: '' },
          context: {},
        },
      },
      { event: { type: 'log', stream: 'stdout', lines: ['epoch 1', 'epoch 2'], time: 1_700_000_001 } },
      {
        event: {
          type: 'log',
          stream: 'stderr',
          lines: ['Traceback (most recent call last):', '  File "/w/sac.py", line 7, in <module>', "KeyError: 'obs'"],
          time: 1_700_000_002,
        },
      },
      { event: { type: 'run.end', status: 'failed', time: 1_700_000_003, reason: "KeyError: 'obs'" } },
    ]);
    const node: RunsNode = { kind: 'run', runId: 'run-e' };
    const [errorNode] = tree.getChildren(node);
    assert.deepStrictEqual(errorNode, { kind: 'error', runId: 'run-e' });
    const run = await tree.resolveTreeItem(tree.getTreeItem(node), node);
    const hover = tooltipText(run);
    assert.match(hover, /\*\*Error:\*\* KeyError: 'obs'/);
    assert.match(hover, /Traceback \(most recent call last\):\n {2}File "\/w\/sac\.py", line 7/);
    assert.match(hover, /Last 5 console lines/);
    assert.match(hover, /lr = 3e-4/, 'params in the one number format');
    const row = tree.getTreeItem(errorNode);
    assert.strictEqual(label(row), 'KeyError');
    assert.strictEqual(row.description, "'obs'");
    assert.strictEqual(row.command?.command, 'runwatch.showRunError');
    assert.strictEqual(row.contextValue, 'runError');
  });

  it('narrows the runs by a filter and hides archived runs unless asked', async () => {
    const runsOf = () => tree.getChildren().flatMap((p) => tree.getChildren(p).map((n) => label(tree.getTreeItem(n))));
    assert.ok(runsOf().includes('resnet'));
    try {
      tree.setFilter({ text: 'sgd', statuses: [], tags: [], showArchived: false });
      assert.deepStrictEqual(runsOf(), ['resnet'], 'a param value matches');
      assert.strictEqual(tree.message(), 'Filter "sgd": 1 of 5 runs');
      tree.setFilter({ text: '', statuses: ['failed', 'crashed'], tags: [], showArchived: false });
      assert.deepStrictEqual(runsOf().sort(), ['gpt', 'ppo', 'sac']);
      tree.setFilter({ text: '', statuses: [], tags: ['sweep'], showArchived: false });
      assert.deepStrictEqual(runsOf(), ['sac']);
      tree.setFilter({ text: '', statuses: [], tags: [], showArchived: false });
      await store.append('run-e', [{ event: { type: 'tags', tags: { 'runwatch.archived': 'true' } } }]);
      assert.ok(!runsOf().includes('sac'), 'archived runs are hidden');
      assert.strictEqual(tree.message(), '1 archived run hidden');
      tree.setFilter({ ...tree.filter, showArchived: true });
      assert.ok(runsOf().includes('sac'));
    } finally {
      tree.setFilter({ text: '', statuses: [], tags: [], showArchived: false });
    }
  });

  it('opens a metric chart on click and shows where it was first logged', () => {
    const m = tree.getTreeItem({ kind: 'metric', runId: 'run-a', key: 'train/loss' });
    assert.strictEqual(m.command?.command, 'runwatch.openMetricChart');
    assert.strictEqual(m.contextValue, 'metric');
    assert.match(tooltipText(m), /Latest: 0\.1 at step 9/);
    const r = tree.getTreeItem({ kind: 'run', runId: 'run-a' });
    assert.strictEqual(r.command?.command, 'runwatch.openRun', 'a click opens or focuses the run, not "add"');
    for (const item of [m, r])
      assert.strictEqual(item.command?.arguments, undefined, 'the clicked row is read from the selection');
  });

  it('repaints only the row of a run that changes, and the whole tree when a run is added', async () => {
    const fired: (RunsNode | RunsNode[] | undefined)[] = [];
    const sub = tree.onDidChangeTreeData((e) => fired.push(e));
    try {
      const [nlp] = tree.getChildren().filter((n) => n.kind === 'project' && n.project === 'nlp');
      const rowOfB = tree.getChildren(nlp).find((n) => n.kind === 'run' && n.runId === 'run-b');
      await store.append('run-b', [{ event: { type: 'run.end', status: 'killed', time: 1_700_000_010 } }]);
      await waitFor('a tree refresh', () => fired.length > 0, 30_000);
      assert.ok(Array.isArray(fired[0]) && fired[0].includes(rowOfB!), 'the row object the tree was given');
      assert.deepStrictEqual(
        (fired[0] as RunsNode[]).map((n) => n.kind === 'run' && n.runId),
        ['run-b'],
      );
      const bert = tree.getTreeItem({ kind: 'run', runId: 'run-b' });
      swatch(bert, 'run-b', 'killed');
      assert.match(String(bert.description), /^killed/);
      fired.length = 0;
      await store.append('run-new', [
        {
          event: {
            type: 'run.start',
            project: 'nlp',
            name: 'new',
            time: 1_700_000_020,
            params: {},
            tags: {},
            context: {},
          },
        },
      ]);
      await waitFor('a tree refresh', () => fired.length > 0, 30_000);
      assert.strictEqual(fired[0], undefined, 'a new run rebuilds the tree');
    } finally {
      sub.dispose();
    }
  });
});

describe('run commands (workspace store, real collector)', function () {
  this.timeout(300_000);
  let api: { listRuns(): RunSummary[] };
  let workspace = '';
  const ids: string[] = [];

  const streamRun = async (name: string, lr: number): Promise<string> => {
    const id = await runPython(
      `import runwatch\nrun = runwatch.init(project="cmds", name=${JSON.stringify(name)}, config={"lr": ${lr}, "seed": 1})\n` +
        `for s in range(5): run.log({"loss": 1.0 / (s + 1) + ${lr}}, step=s)\nrun.finish()\nprint(run.id)`,
      workspace,
    );
    await waitFor(
      `run ${name} finished in the store`,
      () => api.listRuns().find((r) => r.runId === id && r.status === 'finished'),
      60_000,
    );
    return id;
  };

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    const exports = await ext.activate();
    api = exports.getApi(1);
    workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await waitFor(
      'the discovery file',
      () => fs.existsSync(path.join(workspace, '.runwatch', 'collector.json')),
      60_000,
    );
    ids.push(await streamRun('cmd-a', 0.1), await streamRun('cmd-b', 0.2));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  // Reading the clipboard back waits for a browser permission under code-server, so
  // these tests check what the commands copied through their return values.
  it('Copy Run ID copies the ids of the clicked run or of the multi-selection', async () => {
    const one = await vscode.commands.executeCommand<string[]>('runwatch.copyRunId', { kind: 'run', runId: ids[0] });
    assert.deepStrictEqual(one, [ids[0]]);
    const both = await vscode.commands.executeCommand<string[]>(
      'runwatch.copyRunId',
      { kind: 'run', runId: ids[0] },
      ids.map((runId) => ({ kind: 'run', runId })),
    );
    assert.deepStrictEqual(both, ids);
  });

  it('Rename Run renames it in the store', async () => {
    const ok = await vscode.commands.executeCommand('runwatch.renameRun', ids[1], undefined, { name: 'renamed-b' });
    assert.strictEqual(ok, true);
    assert.strictEqual(api.listRuns().find((r) => r.runId === ids[1])?.name, 'renamed-b');
  });

  it('Show Dashboard and Open in Dashboard open the panel on the chosen runs', async () => {
    const panel = await vscode.commands.executeCommand<{ runIds: readonly string[]; panel: vscode.WebviewPanel }>(
      'runwatch.openInDashboard',
      ids[0],
    );
    assert.ok(panel.runIds.includes(ids[0]));
    assert.strictEqual(panel.panel.viewType, 'runwatch.dashboard');
    const again = await vscode.commands.executeCommand<{ runIds: readonly string[] }>('runwatch.showDashboard');
    assert.strictEqual(again, panel, 'one dashboard per window: Show Dashboard reveals it');
  });

  it('Compare Runs tabulates params and final metrics with their steps, and names the runs in the title', async () => {
    const panel = await vscode.commands.executeCommand<{
      panel: vscode.WebviewPanel;
      table(): {
        title: string;
        params: { name: string; differs: boolean }[];
        metrics: { name: string; cells: ({ value: unknown; step: number } | null)[]; differs: boolean }[];
      };
    }>('runwatch.compareRuns', ids);
    const t = panel.table();
    assert.deepStrictEqual(
      t.params.map((p) => [p.name, p.differs]),
      [
        ['lr', true],
        ['seed', false],
      ],
    );
    const loss = t.metrics.find((m) => m.name === 'loss')!;
    assert.ok(loss.differs);
    assert.deepStrictEqual(
      loss.cells.map((c) => c?.step),
      [4, 4],
      'each final with its step',
    );
    assert.strictEqual(t.title, 'Compare: cmd-a vs renamed-b');
    assert.strictEqual(panel.panel.title, t.title, 'the tab names the runs');
  });

  it('a click on a run opens it in the dashboard, and a second click only focuses it', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const node: RunsNode = { kind: 'run', runId: ids[1] };
    type Dash = { runIds: readonly string[]; panel: vscode.WebviewPanel };
    const first = await vscode.commands.executeCommand<Dash>('runwatch.openRun', node);
    assert.ok(first.runIds.includes(ids[1]));
    const shown = [...first.runIds];
    const again = await vscode.commands.executeCommand<Dash>('runwatch.openRun', node);
    assert.strictEqual(again, first);
    assert.deepStrictEqual([...again.runIds], shown, 'nothing added on the second click');
  });

  it('projects and metrics have context menus: open all, compare, export; open chart, export CSV', async () => {
    const pkg = vscode.extensions.getExtension('runwatch.runwatch')!.packageJSON as {
      contributes: { menus: Record<string, { command: string; when?: string }[]> };
    };
    const menu = pkg.contributes.menus['view/item/context'];
    const on = (item: string) =>
      menu.filter((m) => m.when?.includes(`viewItem == ${item}`) && m.when.includes('view == runwatch.runs'));
    for (const c of ['runwatch.openProjectInDashboard', 'runwatch.compareProject', 'runwatch.exportRun'])
      assert.ok(
        on('project').some((m) => m.command === c),
        `${c} on projects`,
      );
    for (const c of ['runwatch.openMetricChart', 'runwatch.exportMetricCsv'])
      assert.ok(
        on('metric').some((m) => m.command === c),
        `${c} on metrics`,
      );

    const project = { kind: 'project', project: 'cmds' };
    const compare = await vscode.commands.executeCommand<{ runIds: string[] }>('runwatch.compareProject', project);
    for (const id of ids) assert.ok(compare.runIds.includes(id), 'every run of the project compared');
    const dash = await vscode.commands.executeCommand<{ runIds: readonly string[] }>(
      'runwatch.openProjectInDashboard',
      project,
    );
    for (const id of ids) assert.ok(dash.runIds.includes(id), 'every run of the project in the dashboard');

    const file = path.join(os.tmpdir(), `runwatch-views-metric-${process.pid}.csv`);
    try {
      const res = await vscode.commands.executeCommand<{ points: number }>(
        'runwatch.exportMetricCsv',
        { kind: 'metric', runId: ids[0], key: 'loss' },
        undefined,
        { file },
      );
      assert.strictEqual(res.points, 5);
      const rows = fs.readFileSync(file, 'utf8').trim().split('\n');
      assert.strictEqual(rows[0], 'run_id,key,step,time,value');
      assert.deepStrictEqual(
        rows.slice(1).map((r) => r.split(',')[2]),
        ['0', '1', '2', '3', '4'],
      );
      assert.ok(rows.slice(1).every((r) => r.startsWith(`${ids[0]},loss,`)));
    } finally {
      fs.rmSync(file, { force: true });
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it("Show Error opens a failed run's error, traceback and last lines as a read-only document", async () => {
    const id = await runPython(
      [
        'import runwatch, traceback',
        'run = runwatch.init(project="cmds", name="cmd-fail", config={"lr": 0.5})',
        'run.log({"loss": 1.0}, step=0)',
        'run.log_output(["loading data", "step 0 done"])',
        'try:',
        '    raise RuntimeError("synthetic failure at step 1")',
        'except RuntimeError as e:',
        '    run.log_output(traceback.format_exc().splitlines(), stream="stderr")',
        '    run.finish("failed", reason=f"RuntimeError: {e}")',
        'print(run.id)',
      ].join('\n'),
      workspace,
    );
    await waitFor('the failed run in the store', () =>
      api.listRuns().find((r) => r.runId === id && r.status === 'failed'),
    );
    const text = await vscode.commands.executeCommand<string>('runwatch.showRunError', { kind: 'error', runId: id });
    assert.match(text, /Run "cmd-fail" \(.*\) in project cmds: failed/);
    assert.match(text, /Error: RuntimeError: synthetic failure at step 1/);
    assert.match(text, /Traceback \(most recent call last\):\n {2}File "<string>", line 6, in <module>/);
    assert.match(text, /loading data\nstep 0 done/);
    const doc = vscode.window.activeTextEditor?.document;
    assert.strictEqual(doc?.uri.scheme, 'runwatch-error', 'shown from a read-only content provider');
    assert.strictEqual(doc?.getText(), text);
  });

  it('Compare with Selected, from the context menu of a multi-selection, compares exactly the selected runs', async () => {
    // A third run, so that "exactly" means something, and a pair unlike the previous test's.
    const third = await streamRun('cmd-c', 0.3);
    // VS Code calls a tree item's context-menu command with (clicked item, selected items).
    const clicked: RunsNode = { kind: 'run', runId: third };
    const selection: RunsNode[] = [{ kind: 'run', runId: ids[0] }, clicked];
    type Compare = { runIds: string[]; panel: vscode.WebviewPanel; table(): { runs: { runId: string }[] } };
    // Had it not used the selection, it would ask for more runs in a quick pick and wait there.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const panel = await Promise.race([
      vscode.commands.executeCommand<Compare>('runwatch.compareWithSelected', clicked, selection),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void vscode.commands.executeCommand('workbench.action.closeQuickOpen');
          reject(
            new Error(
              'Compare with Selected did not open within 30 s (is it asking for runs instead of using the selection?)',
            ),
          );
        }, 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.ok(panel, 'the command returns the compare panel');
    assert.strictEqual(panel.panel.viewType, 'runwatch.compare');
    assert.ok(panel.panel.visible, 'the compare panel is showing');
    assert.deepStrictEqual([...panel.runIds].sort(), [ids[0], third].sort());
    assert.deepStrictEqual(
      panel
        .table()
        .runs.map((r) => r.runId)
        .sort(),
      [ids[0], third].sort(),
    );
  });

  it("Reveal Run Folder selects the run's folder in the Explorer (code-server has no OS file manager)", async () => {
    assert.strictEqual(vscode.env.uiKind, vscode.UIKind.Web, 'code-server is a web UI');
    const runDir = path.join(workspace, '.runwatch', 'runs', ids[0]);
    const revealed = await vscode.commands.executeCommand<string>('runwatch.revealRunFolder', {
      kind: 'run',
      runId: ids[0],
    });
    assert.strictEqual(revealed, runDir);
    assert.ok(fs.existsSync(path.join(runDir, 'log.rwl')), "it is the folder that holds the run's log");
    // What a person sees is the Explorer with that folder selected. An extension cannot
    // read the Explorer's selection, but "Open in Integrated Terminal" with no argument
    // opens a terminal in whatever the Explorer has selected: its cwd tells.
    const opened = new Promise<vscode.Terminal>((resolve) => {
      const sub = vscode.window.onDidOpenTerminal((t) => {
        sub.dispose();
        resolve(t);
      });
    });
    await vscode.commands.executeCommand('openInTerminal');
    const terminal = await Promise.race([
      opened,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no terminal opened: nothing is selected in the Explorer')), 30_000),
      ),
    ]);
    try {
      const cwd = (terminal.creationOptions as vscode.TerminalOptions).cwd;
      assert.ok(cwd, 'the terminal has a cwd');
      assert.strictEqual(
        typeof cwd === 'string' ? cwd : cwd.fsPath,
        runDir,
        "the Explorer's selection is the run folder",
      );
    } finally {
      terminal.dispose();
    }
  });

  it('Copy Connection Snippet copies Python lines that connect from outside VS Code', async () => {
    const snippet = await vscode.commands.executeCommand<string>('runwatch.copyConnectionSnippet');
    assert.ok(snippet, 'the command returns what it copied');
    const discovery = JSON.parse(fs.readFileSync(path.join(workspace, '.runwatch', 'collector.json'), 'utf8')) as {
      url: string;
      token: string;
    };
    assert.ok(snippet.includes(discovery.url) && snippet.includes(discovery.token));
    // Run it from a folder with no discovery file and no RUNWATCH_* variables.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-snippet-'));
    try {
      const before = new Set(api.listRuns().map((r) => r.runId));
      await runPython(snippet, elsewhere, { PYTHONPATH: '' });
      const run = await waitFor(
        "the snippet's run",
        () => api.listRuns().find((r) => !before.has(r.runId) && r.project === 'my-project' && r.status === 'finished'),
        60_000,
      );
      ids.push(run.runId);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('Delete Run asks first, and deletes only when confirmed', async () => {
    const id = ids[2] ?? ids[1];
    assert.strictEqual(
      await vscode.commands.executeCommand('runwatch.deleteRun', id, undefined, { confirmed: false }),
      false,
    );
    assert.ok(
      api.listRuns().some((r) => r.runId === id),
      'kept when not confirmed',
    );
    assert.strictEqual(
      await vscode.commands.executeCommand('runwatch.deleteRun', id, undefined, { confirmed: true }),
      true,
    );
    assert.ok(!api.listRuns().some((r) => r.runId === id), 'gone when confirmed');
  });
});
