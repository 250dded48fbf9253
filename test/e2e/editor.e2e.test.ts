// The editor features as a person uses them, in the real VS Code with the packaged .vsix:
// examples/train_demo.py run in an integrated terminal shows the latest value after its `run.log`
// line, changing while it trains; "Go to Source" on a metric (palette, Runs tree, runs table and a
// chart's context menu) opens that file at that line; a task of tasks.json streams a run with no Runwatch code beyond `import runwatch` (tasks get
// the terminals' environment); "Rerun in Terminal" starts a second run with the same params.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { python, readRunLog, ROOT, VsCode, waitFor } from './harness';

const DEMO = fs.readFileSync(path.join(ROOT, 'examples', 'train_demo.py'), 'utf8');
const LOG_LINE = DEMO.split('\n').findIndex((l) => l.includes('run.log(metrics, step=step)')) + 1;

const TASK_SCRIPT = `import os, sys, time, runwatch
run = runwatch.init(project='tasks', name='from-task')
for i in range(20):
    run.log({'task/loss': 1.0 / (i + 1)}, step=i)
    time.sleep(0.02)
run.finish()
open(sys.argv[1], 'w').write(os.environ.get('RUNWATCH_URL', '') + ' ' + run.id)
`;

interface Start {
  runId: string;
  name: string;
  params: Record<string, unknown>;
  context: Record<string, unknown>;
}

function starts(storeDir: string): Start[] {
  const runs = path.join(storeDir, 'runs');
  if (!fs.existsSync(runs)) return [];
  return fs.readdirSync(runs).flatMap((runId) => {
    const first = readRunLog(storeDir, runId)[0]?.event;
    return first?.type === 'run.start'
      ? [
          {
            runId,
            name: String(first.name),
            params: first.params as Start['params'],
            context: first.context as Start['context'],
          },
        ]
      : [];
  });
}

describe('editor features (e2e, packaged .vsix in code-server)', function () {
  this.timeout(900_000);
  let vs: VsCode | undefined;
  let ws = '';
  let real = '';

  before(async () => {
    // The workspace is opened through a symlink (as /tmp is on macOS, or a home folder on another
    // volume): Python records the physical path it runs from, VS Code keeps the path it was given.
    real = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-editor-ws-'));
    fs.symlinkSync(real, `${real}-link`, 'dir');
    vs = await VsCode.start({ name: 'editor', workspace: `${real}-link` });
    ws = vs.workspace;
    fs.writeFileSync(path.join(ws, 'train_demo.py'), DEMO);
    fs.writeFileSync(path.join(ws, 'task_train.py'), TASK_SCRIPT);
    fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
    const task = {
      label: 'train-task',
      type: 'shell',
      command: `${python()} task_train.py task.out`,
      problemMatcher: [],
    };
    fs.writeFileSync(path.join(ws, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }));
    await vs.waitForFile(path.join(ws, '.runwatch', 'collector.json'), undefined, 180_000);
  });

  after(async () => {
    await vs?.stop();
    if (real && !process.env.RUNWATCH_KEEP_TMP) {
      fs.rmSync(`${real}-link`, { force: true });
      fs.rmSync(real, { recursive: true, force: true, maxRetries: 3 });
    }
  });

  /** Waits until the status bar says the cursor is on `line`. */
  async function cursorOn(line: number): Promise<string> {
    return waitFor(
      `the cursor on line ${line}`,
      async () => {
        const t = await vs!.page.locator('#status\\.editor\\.selection').textContent();
        return t && new RegExp(`Ln ${line},`).test(t) ? t : undefined;
      },
      30_000,
    );
  }

  /**
   * Go to Line in the active editor. Its box first (keys typed before it opens would edit the
   * file), and Enter only once it offers "Go to line N." (an Enter before that is ignored).
   */
  async function goToLine(line: number): Promise<void> {
    const page = vs!.page;
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input.input').waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.type(String(line));
    await page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: `Go to line ${line}.` })
      .first()
      .waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.press('Enter');
    await cursorOn(line);
  }

  /** The text drawn after the editor's lines by decorations (CSS ::after content), joined. */
  async function decorationTexts(): Promise<string[]> {
    // A string: the page's DOM types are not in this (Node) project.
    return vs!.page.evaluate<string[]>(`(() => {
      const out = [];
      for (const el of document.querySelectorAll('.monaco-editor .view-lines span')) {
        const c = getComputedStyle(el, '::after').content;
        if (c && c !== 'none' && c !== 'normal') out.push(c.replace(/^"|"$/g, ''));
      }
      return out;
    })()`);
  }

  /**
   * The active editor's file is the workspace's (its breadcrumbs start at the file), not the same
   * file under its physical path outside the workspace (breadcrumbs from `/`).
   */
  async function inWorkspace(file: string): Promise<void> {
    const first = vs!.page
      .locator('.editor-group-container.active .breadcrumbs-control .monaco-breadcrumb-item')
      .first();
    await waitFor(
      `breadcrumbs that start at ${file}`,
      async () => (await first.textContent())?.trim() === file,
      30_000,
    );
  }

  async function quickOpen(file: string): Promise<void> {
    const page = vs!.page;
    await page.locator('.monaco-workbench').click();
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible' });
    await input.fill(file);
    // The row of that file, not a recently opened one still listed before the filter applies.
    const row = page.locator(`.quick-input-list .monaco-list-row[aria-label*="${file}"]`).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    await row.click();
    await page.locator(`.tab.active[aria-label^="${file}"]`).waitFor({ state: 'visible', timeout: 60_000 });
  }

  async function pickRow(label: RegExp): Promise<void> {
    const row = vs!.page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    await row.click();
  }

  it('the inline value at the log line changes while the demo trains, and Go to Source opens that line', async () => {
    const page = vs!.page;
    try {
      await quickOpen('train_demo.py');
      // Show the log line.
      await goToLine(LOG_LINE);

      await vs!.runCommand('Terminal: Create New Terminal');
      await page.locator('.terminal-wrapper.active .xterm').first().waitFor({ state: 'visible', timeout: 60_000 });
      await new Promise((r) => setTimeout(r, 2000)); // the shell's prompt
      await page.keyboard.type(`${python()} train_demo.py --steps 600 --delay 0.05 --name e2e-demo --lr 0.001`);
      await page.keyboard.press('Enter');

      const step = (t: string) => Number(/step ([\d,]+)/.exec(t)?.[1].replace(/,/g, '') ?? NaN);
      const first = await waitFor(
        'an inline value after the log line',
        async () => (await decorationTexts()).find((t) => t.startsWith('train/loss ')),
        120_000,
      );
      assert.match(first, /^train\/loss \S+ · train\/acc \S+ · train\/lr \S+ .*· step [\d,]+/);
      const later = await waitFor(
        'the inline value to move on',
        async () => (await decorationTexts()).find((t) => t.startsWith('train/loss ') && step(t) > step(first)),
        60_000,
      );
      console.log(`      inline: "${first}" -> "${later}"`);

      // Another file in front, then Go to Source on the metric.
      await quickOpen('task_train.py');
      await vs!.runCommand('Runwatch: Go to Source');
      await pickRow(/train\/acc/);
      await page.locator('.tab.active[aria-label^="train_demo.py"]').waitFor({ state: 'visible', timeout: 60_000 });
      await cursorOn(LOG_LINE);
      await inWorkspace('train_demo.py');
    } finally {
      await vs!.screenshot('editor-inline-go-to-source').catch(() => undefined);
    }
  });

  it('"Go to Source" on a metric of the Runs tree opens the log line too', async () => {
    const page = vs!.page;
    try {
      await quickOpen('task_train.py');
      await page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
      const tree = page.locator('.part.sidebar .pane-body .monaco-list[aria-label*="Runs"]').first();
      const run = tree.locator('.monaco-list-row', { hasText: 'e2e-demo' }).first();
      await run.waitFor({ state: 'visible', timeout: 60_000 });
      // The twistie expands the run (a click on the row opens the dashboard).
      await run.locator('.monaco-tl-twistie').click();
      const metric = tree.locator('.monaco-list-row', { hasText: 'train/lr' }).first();
      await metric.waitFor({ state: 'visible', timeout: 60_000 });
      await metric.hover();
      await metric.locator('.action-label[aria-label="Go to Source"]').click();
      await page.locator('.tab.active[aria-label^="train_demo.py"]').waitFor({ state: 'visible', timeout: 60_000 });
      await cursorOn(LOG_LINE);
      await inWorkspace('train_demo.py');
    } finally {
      await vs!.screenshot('editor-tree-go-to-source').catch(() => undefined);
    }
  });

  async function opensLogLine(): Promise<void> {
    await vs!.page.locator('.tab.active[aria-label^="train_demo.py"]').waitFor({ state: 'visible', timeout: 60_000 });
    await cursorOn(LOG_LINE);
    await inWorkspace('train_demo.py');
  }

  /** train_demo.py open with the cursor on its first line, so opening the log line moves it. */
  async function demoAtTop(): Promise<void> {
    await quickOpen('train_demo.py');
    await goToLine(1);
  }

  it('"Go to Source" on a metric cell of the runs table: double-click, and its context menu', async () => {
    /** The table's tab in front; a hidden webview's page is reloaded on showing, so its frame is new. */
    const showTable = async (how: 'command' | 'tab') => {
      if (how === 'command') await vs!.runCommand('Runwatch: Show Runs Table');
      else await vs!.page.locator('.tab', { hasText: 'Runwatch: Runs Table' }).first().click();
      const frame = await vs!.webviewFrame('#root .filter', 120_000);
      return (col: string) => frame.locator(`.row[data-run-id] .cell[data-col="${col}"]`, { hasText: /\d/ }).first();
    };
    try {
      await demoAtTop();
      let cell = await showTable('command');
      const last = cell('metrics.train/loss.last');
      await last.waitFor({ state: 'visible', timeout: 60_000 });
      assert.match((await last.getAttribute('title')) ?? '', /Go to Source/);
      await last.scrollIntoViewIfNeeded();
      await last.dblclick();
      await opensLogLine();

      await demoAtTop();
      cell = await showTable('tab');
      const max = cell('metrics.train/acc.max');
      await max.waitFor({ state: 'visible', timeout: 60_000 });
      await max.scrollIntoViewIfNeeded();
      await vs!.contextMenu(() => max.click({ button: 'right' }), 'Go to Source');
      await opensLogLine();
    } finally {
      await vs!.screenshot('editor-table-go-to-source').catch(() => undefined);
    }
  });

  it('"Go to Source" in a chart\'s context menu opens the line that logged its metric', async () => {
    const page = vs!.page;
    try {
      await demoAtTop();
      const tree = page.locator('.part.sidebar .pane-body .monaco-list[aria-label*="Runs"]').first();
      // The activity bar's icon shows the sidebar, or hides it when it is showing already.
      if (!(await tree.isVisible()))
        await page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
      // A click on the run opens it in the dashboard.
      await tree.locator('.monaco-list-row', { hasText: 'e2e-demo' }).first().click();
      const frame = await vs!.webviewFrame('#root .toolbar', 120_000);
      const chart = frame.locator('.chart[data-key="train/acc"]').first();
      await chart.waitFor({ state: 'visible', timeout: 60_000 });
      await vs!.contextMenu(() => chart.locator('.plot').click({ button: 'right' }), 'Go to Source');
      await opensLogLine();
    } finally {
      await vs!.screenshot('editor-chart-go-to-source').catch(() => undefined);
    }
  });

  it('a task from tasks.json streams a run with the terminals environment', async () => {
    try {
      await vs!.runCommand('Tasks: Run Task');
      await pickRow(/train-task/);
      // VS Code may ask how to scan the task's output.
      const scan = vs!.page.locator('.quick-input-list .monaco-list-row', { hasText: /Continue without scanning/ });
      if (await scan.isVisible({ timeout: 5000 }).catch(() => false)) await scan.click();
      const out = path.join(ws, 'task.out');
      const text = await vs!.waitForFile(out, (t) => t.includes(' '), 120_000);
      const [url, runId] = text.trim().split(' ');
      const discovery = JSON.parse(fs.readFileSync(path.join(ws, '.runwatch', 'collector.json'), 'utf8')) as {
        url: string;
      };
      assert.strictEqual(url, discovery.url, 'the task had RUNWATCH_URL from Runwatch');
      const events = await waitFor(
        'the task run finished in the store',
        () => {
          const ev = readRunLog(path.join(ws, '.runwatch'), runId).map((r) => r.event);
          return ev.some((e) => e.type === 'run.end') ? ev : undefined;
        },
        60_000,
      );
      const points = events.flatMap((e) => (e.type === 'metrics' ? ((e.points ?? []) as { step: number }[]) : []));
      assert.strictEqual(points.length, 20);
    } finally {
      await vs!.screenshot('editor-task').catch(() => undefined);
    }
  });

  it('"Rerun in Terminal" starts a second run with the same params, and a third with a changed one', async () => {
    const store = path.join(ws, '.runwatch');
    try {
      const first = starts(store).filter((s) => s.name === 'e2e-demo');
      assert.strictEqual(first.length, 1);
      await vs!.runCommand('Runwatch: Rerun in Terminal');
      await pickRow(/e2e-demo/);
      await pickRow(/Same command line/);
      const second = await waitFor(
        'a second e2e-demo run',
        () => starts(store).find((s) => s.name === 'e2e-demo' && s.runId !== first[0].runId),
        120_000,
      );
      assert.deepStrictEqual(second.params, first[0].params);
      assert.strictEqual(second.params.lr, 0.001);
      assert.deepStrictEqual(second.context.argv, first[0].context.argv);
      assert.strictEqual(second.context.cwd, fs.realpathSync(ws)); // Python's cwd is the physical path

      // Again, with a changed param: the script takes --steps and --lr on its command line.
      await vs!.runCommand('Runwatch: Rerun in Terminal');
      await pickRow(/e2e-demo/);
      await pickRow(/Change params/);
      const input = vs!.page.locator('.quick-input-widget input.input');
      for (const [param, value] of [
        ['steps', '600'],
        ['lr', '0.002'],
      ]) {
        await vs!.page.locator('.quick-input-widget', { hasText: `: ${param}` }).waitFor({ state: 'visible' });
        await input.fill(value);
        await vs!.page.keyboard.press('Enter');
      }
      const known = new Set([first[0].runId, second.runId]);
      const third = await waitFor(
        'a third e2e-demo run',
        () => starts(store).find((s) => s.name === 'e2e-demo' && !known.has(s.runId)),
        120_000,
      );
      assert.strictEqual(third.params.lr, 0.002);
      assert.strictEqual(third.params.steps, 600);
      assert.strictEqual(third.params.seed, first[0].params.seed);
    } finally {
      await vs!.screenshot('editor-rerun').catch(() => undefined);
    }
  });
});
