// The live dashboard as a person sees it, in a real VS Code with the packaged .vsix:
// a Python script (the bundled stdlib client, finding the collector through the
// workspace's discovery file) streams a run; the dashboard's charts hold its points
// soon after the first `log`; the Runs tree shows it live, then finished; a hidden dashboard
// is the same live page when shown again (or, with runwatch.dashboard.retainWhenHidden off,
// reloads with the same data); after a window reload it comes back with the same data and UI state.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import type { DashboardProbeGlobals } from '../../src/webview/dashboard/probeContract';
import { OUTPUT_DIR, ROOT, VsCode, waitFor, readJsonLines } from './harness';

const PYTHON =
  process.env.RUNWATCH_PYTHON ??
  (fs.existsSync(path.join(ROOT, '.vscode-test/venv-test/bin/python'))
    ? path.join(ROOT, '.vscode-test/venv-test/bin/python')
    : 'python3');
const STEPS = 200;
const NAN_STEP = 150;

// Streams STEPS steps of two metrics (one NaN), then stays live until the test
// creates the finish flag. Notes what it did, with wall times, in a JSON-lines file.
const SCRIPT = `
import json, math, os, sys, time
import runwatch
notes, flag = sys.argv[1], sys.argv[2]
def note(**kw):
    with open(notes, "a") as f:
        f.write(json.dumps(kw) + "\\n")
run = runwatch.init(project="e2e", name="live-run", config={"lr": 0.001, "batch": 32})
note(event="started", run_id=run.id)
for step in range(${STEPS}):
    loss = 2.0 * math.exp(-step / 50.0) + 0.05 * math.sin(step)
    if step == ${NAN_STEP}:
        loss = float("nan")
    t = time.time()
    run.log({"train/loss": loss, "val/acc": 1.0 - math.exp(-step / 40.0)}, step=step)
    if step == 0:
        note(event="first_log", time=t)
    time.sleep(0.01)
note(event="logged")
deadline = time.time() + 600
while not os.path.exists(flag) and time.time() < deadline:
    time.sleep(0.05)
run.finish()
note(event="finished")
`;

interface Note {
  event: string;
  run_id?: string;
  time?: number;
}

const readNotes = (file: string): Note[] => readJsonLines<Note>(file);

interface ChartAttrs {
  key: string;
  points: Record<string, number>;
  lastStep: Record<string, number>;
  nonfinite: Record<string, number>;
  drawnAt: number;
}

/** The charts' probes (src/webview/dashboard/probeContract.ts). */
async function charts(frame: Frame): Promise<ChartAttrs[]> {
  // No helper functions inside: tsx names them with a `__name` call the page does not have.
  return frame.$$eval('.chart[data-key]', (els) =>
    els.map((e) => ({
      key: e.getAttribute('data-key') ?? '',
      points: JSON.parse(e.getAttribute('data-points') ?? '{}') as Record<string, number>,
      lastStep: JSON.parse(e.getAttribute('data-last-step') ?? '{}') as Record<string, number>,
      nonfinite: JSON.parse(e.getAttribute('data-nonfinite') ?? '{}') as Record<string, number>,
      drawnAt: Number(e.getAttribute('data-drawn-at') ?? 0),
    })),
  );
}

/** The dashboard's document; frames are replaced on reload, so look it up each time. */
async function dashboard(vs: VsCode, timeoutMs = 120_000): Promise<Frame> {
  return vs.webviewFrame('#root .toolbar', timeoutMs);
}

/** Until no frame holds a dashboard page (closed, or torn down while hidden). */
async function dashboardGone(vs: VsCode, what: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    what,
    async () => {
      for (const f of vs.page.frames())
        if (!f.isDetached() && (await f.$('#root .toolbar').catch(() => null))) return undefined;
      return true;
    },
    timeoutMs,
  );
}

/** Until the dashboard shows `count` charts (not system metrics) with points of `runId`, sorted by key. */
async function runCharts(vs: VsCode, runId: string, what: string, count: number): Promise<ChartAttrs[]> {
  return waitFor(
    what,
    async () => {
      const f = await dashboard(vs, 5_000).catch(() => undefined);
      const cs = f
        ? (await charts(f).catch(() => []))
            .filter((c) => c.points[runId] && !c.key.startsWith('sys/'))
            .sort((a, b) => a.key.localeCompare(b.key))
        : [];
      return cs.length === count ? cs : undefined;
    },
    120_000,
  );
}

async function runRowText(vs: VsCode, name: string): Promise<string> {
  const row = vs.page.locator('.part.sidebar .monaco-list-row', { hasText: name }).first();
  return ((await row.textContent({ timeout: 5_000 }).catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
}

/** The client must find the collector through the workspace's discovery file, as a script started from tmux would. */
// System metrics are on in these runs; they keep arriving while a run is live, so the
// comparisons of what was drawn leave the sys/ charts out.
function scriptEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: path.join(ROOT, 'clients', 'python'),
    PYTHONUNBUFFERED: '1',
  };
  for (const k of Object.keys(env)) if (k.startsWith('RUNWATCH_')) delete env[k];
  env.RUNWATCH_SYSTEM_INTERVAL = '0.5'; // system metrics on, often enough to be seen in this short run
  return env;
}

describe('dashboard (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;
  let script: ChildProcess | undefined;
  let notesFile = '';
  let flagFile = '';
  let runId = '';

  before(async () => {
    vs = await VsCode.start({ name: 'dashboard' });
    notesFile = path.join(vs.workspace, 'notes.jsonl');
    flagFile = path.join(vs.workspace, 'finish.flag');
    fs.writeFileSync(path.join(vs.workspace, 'stream_run.py'), SCRIPT);
  });

  after(async () => {
    if (script && script.exitCode === null) script.kill('SIGKILL');
    await vs?.stop();
  });

  it('shows a streamed run in the dashboard charts soon after its first log', async () => {
    const v = vs!;
    try {
      // The status bar item appears once Runwatch has activated and its collector listens.
      await v.page
        .locator('.part.statusbar', { hasText: /Runwatch :\d+ collector/ })
        .first()
        .waitFor({ state: 'visible', timeout: 180_000 });
      await v.runCommand('Runwatch: Show Dashboard');
      await dashboard(v);
      await v.waitForFile('.runwatch/collector.json', (t) => t.includes('"token"'), 120_000);
      const log = fs.openSync(path.join(OUTPUT_DIR, 'dashboard-e2e-python.log'), 'w');
      script = spawn(PYTHON, [path.join(v.workspace, 'stream_run.py'), notesFile, flagFile], {
        cwd: v.workspace,
        env: scriptEnv(),
        stdio: ['ignore', log, log],
      });
      fs.closeSync(log);
      const first = await waitFor(
        "the script's first log",
        () => readNotes(notesFile).find((n) => n.event === 'first_log'),
        120_000,
      );
      runId = readNotes(notesFile).find((n) => n.event === 'started')?.run_id ?? '';
      assert.ok(runId, 'the script reported its run id');

      // The dashboard follows new runs: its train/loss chart gets this run's points.
      const seen = await waitFor(
        'train/loss points of the run in the dashboard',
        async () =>
          (await charts(await dashboard(v))).find((c) => c.key === 'train/loss' && (c.points[runId] ?? 0) > 0),
        60_000,
        50,
      );
      // Latency from the first log to the first draw holding the run (webview clock = this machine's clock).
      const frame = await dashboard(v);
      const firstDraw = await frame.evaluate(
        (id) =>
          (globalThis as unknown as DashboardProbeGlobals).runwatchDraws.find(
            (d) => d.key === 'train/loss' && id in d.lastStep,
          )?.drawnAt,
        runId,
      );
      const latencyMs = (firstDraw ?? seen.drawnAt) - first.time! * 1000;
      console.log(`      first log → first draw: ${latencyMs.toFixed(0)} ms`);
      // Not a performance test (bench/live-latency measures that): a bound on "live", far above the
      // ~100-200 ms seen here, that only a stalled path (a missed update, a reload-only refresh) breaks.
      assert.ok(
        latencyMs <= 2000,
        `the chart held the run's points ${latencyMs.toFixed(0)} ms after its first log; the bound is 2 s`,
      );
      fs.writeFileSync(path.join(OUTPUT_DIR, 'dashboard-e2e-first-draw.txt'), `${latencyMs.toFixed(0)} ms\n`);

      // All steps arrive; the NaN is a marker, not a break in the chart.
      const done = await waitFor(
        'all steps in the charts',
        async () => {
          const cs = await charts(await dashboard(v));
          const loss = cs.find((c) => c.key === 'train/loss');
          const acc = cs.find((c) => c.key === 'val/acc');
          return loss?.lastStep[runId] === STEPS - 1 &&
            acc?.lastStep[runId] === STEPS - 1 &&
            loss.points[runId] === STEPS - 1
            ? { loss, acc }
            : undefined;
        },
        120_000,
      );
      assert.strictEqual(done.loss.nonfinite[runId], 1, 'the NaN is drawn as one marker');
      assert.strictEqual(done.acc.points[runId], STEPS);
      // Grouped by key prefix, the run's own groups first and the system metrics last.
      const groups = await waitFor(
        'the sys group of system metrics',
        async () => {
          const hs = await (
            await dashboard(v)
          ).$$eval('section.group', (g) => g.map((e) => e.getAttribute('data-group') || 'metrics'));
          return hs.includes('sys') ? hs : undefined;
        },
        60_000,
      );
      assert.deepStrictEqual(groups, ['train', 'val', 'sys'], 'charts are grouped by key prefix, sys/ last');
    } finally {
      await v.screenshot('dashboard-live');
    }
  });

  it('zooms by dragging, pans with Shift+drag and resets on double-click', async () => {
    const v = vs!;
    try {
      const frame = await dashboard(v);
      const chart = frame.locator('.chart[data-key="train/loss"]');
      const range = async () => ((await chart.getAttribute('data-x-range')) ?? '').split(',').map(Number);
      const [fullMin, fullMax] = await range();
      const over = chart.locator('.u-over');
      const box = (await over.boundingBox())!;
      const page = v.page;
      // hover() moves the one mouse of the page to a point of the element, through the iframes.
      await over.hover({ position: { x: box.width * 0.3, y: box.height / 2 } });
      await page.mouse.down();
      await over.hover({ position: { x: box.width * 0.6, y: box.height / 2 } });
      await page.mouse.up();
      const zoomed = await waitFor(
        'the chart to zoom',
        async () => {
          const [a, b] = await range();
          return (await chart.getAttribute('data-zoomed')) === 'true' && b - a < (fullMax - fullMin) * 0.5
            ? [a, b]
            : undefined;
        },
        30_000,
      );
      await v.screenshot('dashboard-zoomed');
      await page.keyboard.down('Shift');
      await over.hover({ position: { x: box.width * 0.5, y: box.height / 2 } });
      await page.mouse.down();
      await over.hover({ position: { x: box.width * 0.2, y: box.height / 2 } });
      await page.mouse.up();
      await page.keyboard.up('Shift');
      await waitFor(
        'the chart to pan right',
        async () => {
          const [a, b] = await range();
          const span = zoomed[1] - zoomed[0];
          return a > zoomed[0] && Math.abs(b - a - span) < 0.01 * span ? true : undefined;
        },
        30_000,
      );
      await over.dblclick();
      await waitFor(
        'the chart to reset',
        async () => {
          const [a, b] = await range();
          return (await chart.getAttribute('data-zoomed')) === 'false' && a <= fullMin && b >= fullMax
            ? true
            : undefined;
        },
        30_000,
      );
    } finally {
      await v.screenshot('dashboard-zoom-reset');
    }
  });

  it('the Runs tree shows the run live, then finished', async () => {
    const v = vs!;
    try {
      // Clicking the activity-bar icon of the container already shown would hide it.
      const item = v.page
        .locator('.part.activitybar .action-item', { has: v.page.locator('a[aria-label^="Runwatch"]') })
        .first();
      if (!((await item.getAttribute('class')) ?? '').includes('checked')) await item.locator('a').click();
      const live = await waitFor(
        'the run row, live',
        async () => {
          const t = await runRowText(v, 'live-run');
          // The description, not the name ("live-run" contains "live" too).
          return /live · /.test(t) ? t : undefined;
        },
        60_000,
      );
      assert.match(live, /live-run/);
      // The status bar counts the connected client and its live run.
      await v.page
        .locator('.part.statusbar', { hasText: /Runwatch :\d+ collector · 1 client · 1 live/ })
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      await v.screenshot('dashboard-tree-live');
      fs.writeFileSync(flagFile, 'go');
      const finished = await waitFor(
        'the run row, finished',
        async () => {
          const t = await runRowText(v, 'live-run');
          return /finished · /.test(t) ? t : undefined;
        },
        120_000,
      );
      assert.match(finished, /step 199/);
      await waitFor('the script to exit', () => script!.exitCode !== null, 60_000);
      assert.strictEqual(script!.exitCode, 0);
      await waitFor(
        'the status bar to show no live run',
        async () => {
          const t = (await v.page.locator('.part.statusbar').first().textContent()) ?? '';
          return /Runwatch :\d+ collector/.test(t) && !/ live/.test(t) ? t : undefined;
        },
        60_000,
      );
    } finally {
      await v.screenshot('dashboard-tree-finished');
    }
  });

  it('a hidden dashboard is the same live page when its tab is clicked again (kept by default)', async () => {
    const v = vs!;
    try {
      const frame = await dashboard(v);
      const before = (await charts(frame))
        .filter((c) => c.points[runId] && !c.key.startsWith('sys/'))
        .sort((a, b) => a.key.localeCompare(b.key));
      assert.strictEqual(before.length, 2);
      // A mark in the page's own globals: a reloaded page would not have it.
      await frame.evaluate(() => {
        (globalThis as unknown as { keptMark?: number }).keptMark = 1;
      });
      // Another editor in the same group hides the panel (runwatch.dashboard.retainWhenHidden
      // is on by default: its page stays alive, hidden).
      await v.runCommand('File: New Untitled Text File');
      const iframe = v.page.locator('iframe.webview').first();
      await waitFor('the dashboard hidden', async () => ((await iframe.isVisible()) ? undefined : true), 30_000, 50);
      await v.page.locator('.tabs-container .tab', { hasText: 'Runwatch Dashboard' }).first().click();
      await waitFor('the dashboard shown', async () => ((await iframe.isVisible()) ? true : undefined), 30_000, 20);
      assert.ok(!frame.isDetached(), 'the same page is shown again, not a new one');
      const mark = await frame.evaluate(() => (globalThis as unknown as { keptMark?: number }).keptMark);
      assert.strictEqual(mark, 1, 'the page was not reloaded');
      const after = (await charts(frame))
        .filter((c) => c.points[runId] && !c.key.startsWith('sys/'))
        .sort((a, b) => a.key.localeCompare(b.key));
      assert.deepStrictEqual(
        after.map((c) => [c.key, c.points, c.lastStep, c.drawnAt]),
        before.map((c) => [c.key, c.points, c.lastStep, c.drawnAt]),
        'the same charts, not drawn again',
      );
    } finally {
      await v.screenshot('dashboard-kept-shown-again');
    }
  });

  it('with runwatch.dashboard.retainWhenHidden off, a hidden dashboard reloads and comes back with its data', async () => {
    const v = vs!;
    const settingsFile = path.join(v.workspace, '.vscode', 'settings.json');
    try {
      // The setting applies to dashboards opened afterwards: set it, then open a new one.
      fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
      fs.writeFileSync(settingsFile, JSON.stringify({ 'runwatch.dashboard.retainWhenHidden': false }, null, 2));
      // VS Code reads the changed file when it gets to it (seconds, on a loaded machine): a dashboard
      // opened before that keeps its page, so it is closed and opened again until one does not.
      let before: Awaited<ReturnType<typeof runCharts>> = [];
      for (let attempt = 1; ; attempt++) {
        await new Promise((r) => setTimeout(r, 2000));
        await v.runCommand('View: Close All Editors');
        await dashboardGone(v, 'the dashboard closed');
        await v.runCommand('Runwatch: Show Dashboard');
        before = await runCharts(v, runId, 'the new dashboard with the run', 2);
        // Another editor in the same group hides the panel; its page is torn down.
        await v.runCommand('File: New Untitled Text File');
        try {
          await dashboardGone(v, 'the dashboard page to go away', attempt < 3 ? 15_000 : 60_000);
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
      await v.runCommand('Runwatch: Show Dashboard');
      const after = await runCharts(v, runId, 'the dashboard charts again', before.length);
      assert.deepStrictEqual(
        after.map((c) => [c.key, c.points, c.lastStep]),
        before.map((c) => [c.key, c.points, c.lastStep]),
      );
    } finally {
      await v.screenshot('dashboard-shown-again');
      // Back to the default for the tests after this one.
      fs.writeFileSync(settingsFile, '{}\n');
    }
  });

  it('after a window reload the dashboard is restored with the same data and settings', async () => {
    const v = vs!;
    try {
      // In front (a test before may have left another editor over it).
      await v.runCommand('Runwatch: Show Dashboard');
      let frame = await dashboard(v);
      // A UI setting that must survive through the webview's saved state.
      await frame.click('#log-scale');
      await waitFor('the log-scale state to be saved', async () => frame.locator('#log-scale').isChecked(), 10_000);
      const before = (await charts(frame))
        .filter((c) => c.points[runId] && !c.key.startsWith('sys/'))
        .sort((a, b) => a.key.localeCompare(b.key));
      assert.strictEqual(before.length, 2);
      await v.screenshot('dashboard-before-reload');
      // VS Code's own reload (not a bare browser reload): the workbench saves editor and
      // webview state on the way out, as it does when a person reloads the window.
      const navigated = v.page.waitForEvent('framenavigated', {
        predicate: (f) => f === v.page.mainFrame(),
        timeout: 180_000,
      });
      await v.runCommand('Developer: Reload Window');
      await navigated;
      await v.page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
      const after = await waitFor(
        'the restored dashboard with both charts',
        async () => {
          frame = await dashboard(v, 5_000).catch(() => undefined as unknown as Frame);
          if (!frame) return undefined;
          const cs = (await charts(frame).catch(() => []))
            .filter((c) => c.points[runId] && !c.key.startsWith('sys/'))
            .sort((a, b) => a.key.localeCompare(b.key));
          return cs.length === before.length ? cs : undefined;
        },
        240_000,
      );
      for (let i = 0; i < before.length; i++) {
        assert.strictEqual(after[i].key, before[i].key);
        assert.deepStrictEqual(after[i].points, before[i].points, `${before[i].key}: same points`);
        assert.deepStrictEqual(after[i].lastStep, before[i].lastStep, `${before[i].key}: same last step`);
        assert.deepStrictEqual(after[i].nonfinite, before[i].nonfinite, `${before[i].key}: same markers`);
      }
      const logScale = await frame.locator('#log-scale').isChecked();
      assert.strictEqual(logScale, true, 'the log-scale setting came back with the panel');
    } finally {
      await v.screenshot('dashboard-after-reload');
    }
  });
});
