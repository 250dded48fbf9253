// The Runs tree and Compare as a person uses them, in a real VS Code with the packaged .vsix:
// a small sweep streamed by the real Python client (one run fails with a traceback); the tree
// shows each run's tags and a swatch; expanding the failed run shows its error, and clicking
// it opens the traceback and last lines; the filter (typed text, a checked status) narrows the
// rows and "Clear Runs Filter" brings them back; two runs Ctrl-clicked and compared show
// their names in the tab title and header, and overlaid charts in their colours.
import * as assert from 'assert';
import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import type { Page } from 'playwright-core';
import { VsCode, python, pythonEnv, waitFor } from './harness';

const execFileAsync = promisify(execFile);

// Three runs of one project: two finish, one raises half way (its traceback printed to stderr
// and sent as console lines, as a script that catches and reports its error does).
const SWEEP = `
import json, math, sys, traceback
import runwatch
ids = {}
for name, lr, seed, fail in [("lr1e-3-seed0", 1e-3, 0, False), ("lr3e-3-seed1", 3e-3, 1, True), ("lr1e-4-seed0", 1e-4, 0, False)]:
    tags = ["sweep"] + (["baseline"] if seed == 0 else [])
    run = runwatch.init(project="tc-sweep", name=name, config={"lr": lr, "seed": seed}, tags=tags)
    ids[name] = run.id
    try:
        for step in range(40):
            if fail and step == 20:
                raise RuntimeError("CUDA error: an illegal memory access was encountered (synthetic)")
            run.log({"train/loss": 2.0 * math.exp(-step * lr * 300) + 0.01 * seed, "val/acc": 1 - math.exp(-step / 10)}, step=step)
        run.log_output([f"{name}: done"])
        run.finish()
    except RuntimeError as e:
        run.log_output([f"{name}: epoch 2 of 4"])
        run.log_output(traceback.format_exc().splitlines(), stream="stderr")
        run.finish("failed", reason=f"RuntimeError: {e}")
print(json.dumps(ids))
`;

// A run that streams until killed: the tree repaints twice a second while it does.
const STREAM = `
import math, time
import runwatch
run = runwatch.init(project="tc-live", name="streaming", config={"lr": 1e-3})
step = 0
while True:
    run.log({f"m{i}": math.sin(step / 50 + i) for i in range(20)}, step=step)
    step += 1
    time.sleep(0.002)
`;

const ROW = '.part.sidebar .monaco-list-row';

async function rowText(page: Page, name: string): Promise<string> {
  const row = page.locator(ROW, { hasText: name }).first();
  return ((await row.textContent({ timeout: 2_000 }).catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
}

async function runRows(page: Page): Promise<string[]> {
  const texts = await page.locator(ROW).allTextContents();
  return texts.map((t) => t.replace(/\u00a0/g, ' ')).filter((t) => /^lr\d/.test(t));
}

describe('Runs tree and Compare (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;
  let ids: Record<string, string> = {};

  before(async () => {
    vs = await VsCode.start({ name: 'treeCompare' });
    await vs.page
      .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
      .first()
      .waitFor({ state: 'visible', timeout: 180_000 });
    await vs.waitForFile('.runwatch/collector.json', (t) => t.includes('"token"'), 120_000);
    fs.writeFileSync(path.join(vs.workspace, 'sweep.py'), SWEEP);
    const { stdout } = await execFileAsync(python(), [path.join(vs.workspace, 'sweep.py')], {
      cwd: vs.workspace,
      env: pythonEnv(),
      timeout: 120_000,
    });
    ids = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
    assert.strictEqual(Object.keys(ids).length, 3, `the sweep printed its run ids: ${stdout}`);
    const item = vs.page
      .locator('.part.activitybar .action-item', { has: vs.page.locator('a[aria-label^="Runwatch"]') })
      .first();
    if (!((await item.getAttribute('class')) ?? '').includes('checked')) await item.locator('a').click();
    await waitFor('the three runs in the tree', async () => (await runRows(vs!.page)).length === 3, 90_000);
  });

  after(async () => {
    await vs?.stop();
  });

  it('shows tags and a colour swatch per run, and the failed run its error and traceback', async () => {
    const page = vs!.page;
    try {
      const done = await waitFor(
        'the finished run with its tags',
        async () => {
          const t = await rowText(page, 'lr1e-3-seed0');
          return /finished · .*#sweep #baseline/.test(t) ? t : undefined;
        },
        60_000,
      );
      assert.match(done, /step 39/);
      // The swatch: an icon file named for the run's colour and status.
      const icon = await page
        .locator(ROW, { hasText: 'lr1e-3-seed0' })
        .first()
        .locator('.custom-view-tree-node-item-icon')
        .evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).backgroundImage ?? '');
      assert.match(icon, /swatch-[0-9a-f]{6}-finished\.svg/);

      const failed = page.locator(ROW, { hasText: 'lr3e-3-seed1' }).first();
      await waitFor('the failed run', async () => /failed/.test(await rowText(page, 'lr3e-3-seed1')), 60_000);
      // Its hover: the error, the traceback and the last console lines, read from the run's log.
      const hover = page
        .locator('.monaco-hover, .workbench-hover', { hasText: 'Traceback (most recent call last):' })
        .first();
      await waitFor(
        'the hover of the failed run',
        async () => {
          // A hover shows once the pointer rests on the label: move onto it, then wait a moment.
          await failed
            .locator('.monaco-icon-label')
            .first()
            .hover({ position: { x: 20, y: 8 } });
          await page.mouse.move(130, 143, { steps: 3 }).catch(() => undefined);
          await failed
            .locator('.monaco-icon-label')
            .first()
            .hover({ position: { x: 30, y: 9 } });
          return hover.isVisible({ timeout: 3_000 }).catch(() => false);
        },
        60_000,
        1_000,
      ).catch(async (e: Error) => {
        await vs!.screenshot('treeCompare-hover-missing');
        throw e;
      });
      const hoverText = (await hover.textContent()) ?? '';
      assert.match(hoverText, /Error: RuntimeError: CUDA error/);
      assert.match(hoverText, /lr = 0\.003/, 'params, in the one number format');
      await page.mouse.move(900, 600);
      await failed.locator('.monaco-tl-twistie').click();
      // The exception's type as the label, its message as the description.
      const errorRow = page.locator(ROW, { hasText: /RuntimeError\s*CUDA error: an illegal/ }).first();
      await errorRow.waitFor({ state: 'visible', timeout: 60_000 });
      await errorRow.click();
      const editor = page.locator('.editor-instance .monaco-editor .view-lines').first();
      const text = await waitFor(
        'the error document with the traceback',
        async () => {
          const t = ((await editor.textContent().catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
          return t.includes('Traceback (most recent call last):') ? t : undefined;
        },
        60_000,
      );
      assert.match(text, /Error: RuntimeError: CUDA error: an illegal memory access/);
      assert.match(text, /raise RuntimeError\("CUDA error/);
      assert.match(text, /lr3e-3-seed1: epoch 2 of 4/, 'the last console lines');
      const tab = page.locator('.tabs-container .tab.active').first();
      assert.match((await tab.textContent()) ?? '', /lr3e-3-seed1 error\.log/);

      // A click on one of its metrics opens the dashboard at that metric's chart.
      await page
        .locator(ROW, { hasText: /^val\/acc/ })
        .first()
        .click();
      const dash = await vs!.webviewFrame('.chart[data-key="val/acc"]', 60_000);
      await dash.waitForSelector('.chart.focused[data-key="val/acc"]', { timeout: 30_000, state: 'attached' });
      const points = JSON.parse(
        (await dash.getAttribute('.chart[data-key="val/acc"]', 'data-points')) ?? '{}',
      ) as Record<string, number>;
      assert.ok(ids['lr3e-3-seed1'] in points, 'the dashboard shows the failed run');
    } finally {
      await vs!.screenshot('treeCompare-error');
    }
  });

  it('narrows the runs by typed text and by a checked status, and clears the filter', async () => {
    const page = vs!.page;
    try {
      const input = await vs!.openQuickInput('Runwatch: Filter Runs…');
      await input.fill('lr1e');
      await page.keyboard.press('Enter');
      await waitFor(
        'only the lr1e runs',
        async () => {
          const rows = await runRows(page);
          return rows.length === 2 && rows.every((r) => r.startsWith('lr1e'));
        },
        30_000,
      );
      await page
        .locator('.part.sidebar', { hasText: 'Filter "lr1e": 2 of 3 runs' })
        .first()
        .waitFor({ state: 'visible', timeout: 30_000 });

      // Now by status: the text cleared, "failed" checked.
      await vs!.openQuickInput('Runwatch: Filter Runs…');
      await input.fill('');
      await page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: /^failed/ })
        .first()
        .click();
      await page.keyboard.press('Enter');
      await waitFor(
        'only the failed run',
        async () => {
          const rows = await runRows(page);
          return rows.length === 1 && rows[0].startsWith('lr3e-3-seed1');
        },
        30_000,
      );

      await vs!.runCommand('Runwatch: Clear Runs Filter');
      await waitFor('all three runs again', async () => (await runRows(page)).length === 3, 30_000);
    } catch (err) {
      await vs!.screenshot('treeCompare-filter');
      // A filter left on would hide the runs the next tests click.
      await vs!.runCommand('Runwatch: Clear Runs Filter').catch(() => undefined);
      throw err;
    }
  });

  it('compares two Ctrl-clicked runs: names in the tab title and header, overlaid charts', async () => {
    const page = vs!.page;
    try {
      await page.locator(ROW, { hasText: 'lr1e-3-seed0' }).first().click();
      // The plain click showed that run in the dashboard (beside the failed run shown before).
      const dash = await vs!.webviewFrame('.chart[data-key="train/loss"]', 60_000);
      const drawn = async () =>
        Object.keys(
          JSON.parse((await dash.getAttribute('.chart[data-key="train/loss"]', 'data-points')) ?? '{}') as Record<
            string,
            number
          >,
        );
      await waitFor('the dashboard drawing the clicked run', async () => (await drawn()).includes(ids['lr1e-3-seed0']));
      await page
        .locator(ROW, { hasText: 'lr1e-4-seed0' })
        .first()
        .click({ modifiers: ['Control'] });
      // Ctrl-click only selects: nothing is added to the dashboard.
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!(await drawn()).includes(ids['lr1e-4-seed0']), 'the Ctrl-clicked run is not added to the dashboard');
      // Right-click, "Compare with Selected" (again if a just-opened menu missed the click).
      const compareFrame = () => vs!.webviewFrame('.cmp-header h1', 15_000);
      let frame: Awaited<ReturnType<typeof compareFrame>> | undefined;
      for (let attempt = 1; !frame; attempt++) {
        await page.locator(ROW, { hasText: 'lr1e-4-seed0' }).first().click({ button: 'right' });
        const item = page.locator('.context-view .action-item', { hasText: 'Compare with Selected' }).first();
        await item.waitFor({ state: 'visible', timeout: 30_000 });
        await item.hover();
        await item.click();
        frame = await compareFrame().catch((e: Error) => {
          if (attempt >= 3) throw e;
          return undefined;
        });
        if (!frame) await page.keyboard.press('Escape');
      }
      const h1 = (await frame.textContent('.cmp-header h1')) ?? '';
      assert.match(h1, /Comparing 2 runs: (lr1e-3-seed0, lr1e-4-seed0|lr1e-4-seed0, lr1e-3-seed0)/);
      const title = page.locator('.tabs-container .tab', { hasText: 'Compare:' }).first();
      await title.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match((await title.textContent()) ?? '', /Compare: lr1e-[34]-seed0 vs lr1e-[34]-seed0/);

      await frame.waitForSelector('.cmp-chart[data-key="train/loss"] canvas', { timeout: 60_000 });
      const charts = await frame.$$eval('.cmp-chart[data-key]', (els) =>
        els.map((e) => ({
          key: e.getAttribute('data-key') ?? '',
          runs: JSON.parse(e.getAttribute('data-runs') ?? '[]') as string[],
          points: JSON.parse(e.getAttribute('data-points') ?? '{}') as Record<string, number>,
          colors: JSON.parse(e.getAttribute('data-colors') ?? '{}') as Record<string, string>,
        })),
      );
      const loss = charts.find((c) => c.key === 'train/loss');
      assert.ok(loss, `a train/loss chart among ${charts.map((c) => c.key).join(', ')}`);
      const both = [ids['lr1e-3-seed0'], ids['lr1e-4-seed0']].sort();
      assert.deepStrictEqual([...loss.runs].sort(), both, 'both runs overlaid in one chart');
      for (const id of both) assert.strictEqual(loss.points[id], 40, 'every logged step drawn');
      const colors = both.map((id) => loss.colors[id]);
      // The tree's swatch is the chart's colour, so a run can be matched between them.
      const swatchOf = async (name: string) =>
        page
          .locator(ROW, { hasText: name })
          .first()
          .locator('.custom-view-tree-node-item-icon')
          .evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).backgroundImage ?? '');
      for (const name of ['lr1e-3-seed0', 'lr1e-4-seed0'])
        assert.ok(
          (await swatchOf(name)).includes(`swatch-${loss.colors[ids[name]].slice(1).toLowerCase()}-finished.svg`),
          `the tree's swatch of ${name} has its chart colour ${loss.colors[ids[name]]}`,
        );
      assert.ok(colors.every((c) => /^#[0-9a-f]{6}$/i.test(c)) && colors[0] !== colors[1], `two colours: ${colors}`);
      // The params diff beside it: lr differs (highlighted), seed does not.
      const lrRow = await frame.getAttribute('table.cmp-table tr[data-name="lr"]', 'class');
      assert.match(lrRow ?? '', /differs/);
      const seedRow = await frame.getAttribute('table.cmp-table tr[data-name="seed"]', 'class');
      assert.doesNotMatch(seedRow ?? '', /differs/);
      const finals = (await frame.textContent('table.cmp-table tr[data-name="train/loss"]')) ?? '';
      assert.match(finals, /step 39.*step 39/, 'each final with its step');
      assert.doesNotMatch(await frame.textContent('#root').then((t) => t ?? ''), /\bnull\b|undefined/);
    } finally {
      await vs!.screenshot('treeCompare-compare');
    }
  });
  it('a plain click on a run opens it while another run streams, every time', async () => {
    const page = vs!.page;
    const script = path.join(vs!.workspace, 'stream.py');
    fs.writeFileSync(script, STREAM);
    const streamer: ChildProcess = spawn(python(), [script], { cwd: vs!.workspace, env: pythonEnv(), stdio: 'ignore' });
    try {
      await waitFor(
        'the streaming run in the tree',
        async () => /live · step/.test(await rowText(page, 'streaming')),
        60_000,
      );
      const stepShown = async () =>
        Number(/live · step ([\d,]+)/.exec(await rowText(page, 'streaming'))?.[1].replace(/,/g, ''));
      const firstStep = await stepShown();
      const names = ['lr1e-3-seed0', 'lr1e-4-seed0', 'lr3e-3-seed1'];
      for (let i = 0; i < 9; i++) {
        const name = names[i % names.length];
        await vs!.runCommand('View: Close All Editors');
        await page.locator(ROW, { hasText: name }).first().click();
        // One click, no retry: a click the tree dropped is the defect this checks.
        await waitFor(
          `click ${i + 1} of 9 (on ${name}) to open its dashboard`,
          async () => {
            const f = await vs!.webviewFrame('.chart[data-key="train/loss"]', 2_000).catch(() => undefined);
            const drawn = await f?.getAttribute('.chart[data-key="train/loss"]', 'data-points').catch(() => null);
            return drawn && Object.keys(JSON.parse(drawn) as object).includes(ids[name]) ? true : undefined;
          },
          20_000,
        );
      }
      // The streaming run's own row kept repainting all along.
      await waitFor('the streaming row to show a later step', async () => (await stepShown()) > firstStep || undefined);
    } finally {
      streamer.kill('SIGKILL');
      await vs!.screenshot('treeCompare-live-clicks');
    }
  });

  it('the Compare Runs picker lists names, project, status, start time and params, not bare ids', async () => {
    const page = vs!.page;
    try {
      // A project row selected (clicked twice: folded and unfolded), so no run is selected in the tree.
      const project = page.locator(ROW, { hasText: 'tc-sweep' }).first();
      await project.click();
      await project.click();
      await vs!.runCommand('Runwatch: Compare Runs');
      const row = (name: string) =>
        page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: name }).first();
      await row('lr1e-3-seed0').waitFor({ state: 'visible', timeout: 30_000 });
      const text = ((await row('lr1e-3-seed0').textContent()) ?? '').replace(/\u00a0/g, ' ');
      assert.match(text, /tc-sweep · finished · started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      assert.match(text, /lr=0\.001 · seed=0/);
      assert.match(text, /#sweep #baseline/);
      assert.doesNotMatch(text, new RegExp(ids['lr1e-3-seed0']), 'no 32-character id');
      await row('lr1e-3-seed0').click();
      await row('lr3e-3-seed1').click();
      await page.keyboard.press('Enter');
      await waitFor(
        'the compare page on the picked runs',
        async () => {
          const f = await vs!.webviewFrame('.cmp-header h1', 30_000);
          const h1 = (await f.textContent('.cmp-header h1')) ?? '';
          return /lr3e-3-seed1/.test(h1) && /lr1e-3-seed0/.test(h1) && !/lr1e-4-seed0/.test(h1);
        },
        60_000,
      );
    } finally {
      await vs!.screenshot('treeCompare-picker');
    }
  });
});
