// The runs table as a person uses it, in a real VS Code with the packaged .vsix: a Python script
// (the bundled client) streams a sweep of six runs over learning rate and seed; "Show Runs Table"
// lists them; sorting by a column reorders the rows; an expression filters them and a bad one says
// where and why; grouping by lr draws each group's band between its runs' min and max (read from
// the page's probe); brushing the seed axis of the parallel coordinates filters the table; rows
// selected and tagged can be filtered by the tag; archived runs hide until "show archived"; the
// state comes back after a window reload; Plot opens the dashboard with the selected runs.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { OUTPUT_DIR, ROOT, VsCode, waitFor } from './harness';

const PYTHON =
  process.env.RUNWATCH_PYTHON ??
  (fs.existsSync(path.join(ROOT, '.vscode-test/venv-test/bin/python'))
    ? path.join(ROOT, '.vscode-test/venv-test/bin/python')
    : 'python3');
const STEPS = 40;
const LRS = [0.001, 0.01];
const SEEDS = [0, 1, 2];

/** The loss the script logs: known here, so the band's edges can be checked exactly. */
const loss = (lr: number, seed: number, step: number) => (lr * 100) / (step + 1) + seed * 0.25;

const SCRIPT = `
import runwatch
for lr in ${JSON.stringify(LRS)}:
    for seed in ${JSON.stringify(SEEDS)}:
        run = runwatch.init(project="sweep", name=f"lr{lr}-s{seed}", config={"lr": lr, "seed": seed})
        for step in range(${STEPS}):
            run.log({"loss": lr * 100 / (step + 1) + seed * 0.25}, step=step)
        run.finish()
print("done")
`;

function scriptEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(ROOT, 'clients', 'python') };
  for (const k of Object.keys(env)) if (k.startsWith('RUNWATCH_')) delete env[k];
  env.RUNWATCH_SYSTEM_INTERVAL = '0'; // exact keys: no system metrics
  return env;
}

async function tableFrame(vs: VsCode): Promise<Frame> {
  return vs.webviewFrame('#root .filter', 120_000);
}

/** The names of the run rows in the DOM, top to bottom. */
async function rowNames(frame: Frame): Promise<string[]> {
  return frame.$$eval('.row[data-run-id] .cell[data-col="name"]', (els) =>
    els.map((e) => (e.textContent ?? '').trim()),
  );
}

async function shown(frame: Frame): Promise<number> {
  return Number((await frame.getAttribute('body', 'data-shown')) ?? '-1');
}

/** Back to no filter, no groups, no brushes, no selection, panels closed: each test starts from there. */
async function reset(frame: Frame): Promise<void> {
  // A string: tsx would wrap a function in a helper the page does not have.
  await frame.evaluate(`(() => {
    const g = document.getElementById('group-by');
    g.value = '';
    g.dispatchEvent(new Event('change'));
    const f = document.querySelector('.filter');
    f.value = '';
    f.dispatchEvent(new Event('input'));
    for (const b of document.querySelectorAll('button')) {
      if (b.textContent === 'Clear brushes' || b.textContent === 'Clear') b.click();
    }
    for (const d of document.querySelectorAll('details.panel')) d.open = false;
  })()`);
}

async function setFilter(frame: Frame, text: string): Promise<void> {
  await frame.fill('.filter', text);
}

interface DrawnBand {
  label: string;
  runs: number;
  polygons: number;
  x: number[];
  lo: (number | null)[];
  hi: (number | null)[];
}

describe('runs table (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;

  before(async () => {
    vs = await VsCode.start({ name: 'runsTable' });
    fs.writeFileSync(path.join(vs.workspace, 'sweep.py'), SCRIPT);
    await vs.page
      .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
      .first()
      .waitFor({ state: 'visible', timeout: 180_000 });
    await vs.waitForFile('.runwatch/collector.json', (t) => t.includes('"token"'), 120_000);
    const r = spawnSync(PYTHON, [path.join(vs.workspace, 'sweep.py')], {
      cwd: vs.workspace,
      env: scriptEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    fs.writeFileSync(path.join(OUTPUT_DIR, 'runsTable-e2e-python.log'), `${r.stdout}\n${r.stderr}`);
    assert.strictEqual(r.status, 0, `the sweep script failed: ${r.stderr}`);
  });

  after(async () => {
    await vs?.stop();
  });

  it('lists the runs, sorts by a column and filters by an expression; a bad one says where and why', async () => {
    const v = vs!;
    try {
      await v.runCommand('Runwatch: Show Runs Table');
      const frame = await tableFrame(v);
      await waitFor('six runs in the table', async () => (await shown(frame)) === 6 || undefined, 60_000);
      await frame.click('.th[data-col="params.seed"]');
      await waitFor('rows sorted by seed', async () => {
        const names = await rowNames(frame);
        return names.length === 6 && names.slice(0, 2).every((n) => n.endsWith('-s0')) && names[5].endsWith('-s2');
      });
      await frame.click('.th[data-col="params.seed"]');
      await waitFor('rows sorted by seed, descending', async () => (await rowNames(frame))[0]?.endsWith('-s2'));
      assert.ok(await frame.$('.th.sorted.desc[data-col="params.seed"]'), 'the header shows the descending sort');

      await setFilter(frame, 'params.lr < 5e-3 and params.seed >= 1');
      const names = await waitFor('the expression to filter', async () => {
        const n = await rowNames(frame);
        return n.length === 2 ? n : undefined;
      });
      assert.deepStrictEqual(names.sort(), ['lr0.001-s1', 'lr0.001-s2']);
      await setFilter(frame, 'params.lr < ');
      const error = await waitFor('the error line', async () => (await frame.textContent('.filter-error'))?.trim());
      assert.match(error, /column 13: a value is missing after "</);
      assert.strictEqual(await shown(frame), 6, 'a bad expression hides nothing');
      // min loss = lr*100/40 + seed*0.25 at the last step: below 0.01 only for lr 0.001, seed 0.
      await setFilter(frame, 'metrics.loss.min < 0.01');
      await waitFor('a metric min filter', async () => {
        const n = await rowNames(frame);
        return n.length === 1 && n[0] === 'lr0.001-s0';
      });
      await setFilter(frame, 'metrics.loss.max >= 1 or status = failed');
      // max loss = lr*100 + seed*0.25 at step 0: 1 or more only for lr 0.01.
      await waitFor('a metric max filter', async () => {
        const n = await rowNames(frame);
        return n.length === 3 && n.every((x) => x.startsWith('lr0.01-'));
      });
      await setFilter(frame, '');
    } finally {
      await v.screenshot('runsTable-sort-filter');
    }
  });

  it('groups by lr and draws each group band between its runs’ min and max', async () => {
    const v = vs!;
    try {
      const frame = await tableFrame(v);
      await reset(frame);
      await frame.click('.group-panel summary');
      await frame.selectOption('#group-by', 'params.lr');
      await frame.selectOption('#band-key', 'loss');
      await waitFor('two group rows', async () => (await frame.$$('.row.group')).length === 2 || undefined);
      const bands = await waitFor(
        'bands drawn for both groups',
        async () => {
          const raw = await frame.getAttribute('svg.band-chart', 'data-bands');
          const b = JSON.parse(raw ?? '[]') as DrawnBand[];
          return b.length === 2 && b.every((g) => g.polygons > 0 && g.runs === 3) ? b : undefined;
        },
        60_000,
      );
      for (const [gi, lr] of LRS.entries()) {
        const b = bands.find((g) => g.label === `lr=${lr}`);
        assert.ok(b, `a band labelled lr=${lr} (got ${bands.map((g) => g.label).join(', ')}, group ${gi})`);
        // 40 steps over 200 cells: each step has a cell of its own, holding that step of each seed.
        const width = b.x[1] - b.x[0];
        const x0 = b.x[0] - width / 2;
        let checked = 0;
        for (let step = 0; step < STEPS; step++) {
          // The hair keeps a step on a cell's left edge in that cell despite rounding.
          const i = Math.max(0, Math.min(b.x.length - 1, Math.floor((step - x0) / width + 1e-9)));
          const values = SEEDS.map((s) => loss(lr, s, step));
          assert.ok(Math.abs(b.lo[i]! - Math.min(...values)) < 1e-9, `lo at step ${step}: ${b.lo[i]}`);
          assert.ok(Math.abs(b.hi[i]! - Math.max(...values)) < 1e-9, `hi at step ${step}: ${b.hi[i]}`);
          checked++;
        }
        assert.strictEqual(checked, STEPS);
      }
      await frame.selectOption('#group-by', '');
      await frame.click('.group-panel summary');
    } finally {
      await v.screenshot('runsTable-bands');
    }
  });

  it('brushing the seed axis of the parallel coordinates filters the table', async () => {
    const v = vs!;
    try {
      const frame = await tableFrame(v);
      await reset(frame);
      await frame.click('.pc-panel summary');
      type Axis = { id: string; x: number; top: number; bottom: number };
      const axes = await waitFor('axes drawn', async () => {
        const a = JSON.parse((await frame.getAttribute('canvas.pc-canvas', 'data-axes')) ?? '[]') as Axis[];
        return a.some((x) => x.id === 'params.seed') ? a : undefined;
      });
      const seed = axes.find((a) => a.id === 'params.seed')!;
      const canvas = frame.locator('canvas.pc-canvas');
      // Seeds 0..2 sit at the bottom..top: a brush over the top quarter keeps seed 2 only.
      await canvas.hover({ position: { x: seed.x, y: seed.top - 5 } });
      await v.page.mouse.down();
      await canvas.hover({ position: { x: seed.x, y: seed.top + (seed.bottom - seed.top) * 0.25 } });
      await v.page.mouse.up();
      const names = await waitFor('the table filtered by the brush', async () => {
        const n = await rowNames(frame);
        return n.length === 2 ? n : undefined;
      });
      assert.ok(
        names.every((n) => n.endsWith('-s2')),
        `only seed 2 remains: ${names.join(', ')}`,
      );
      assert.strictEqual(await frame.getAttribute('canvas.pc-canvas', 'data-highlighted'), '2');
      await frame.click('text=Clear brushes');
      await waitFor('all rows back', async () => (await shown(frame)) === 6 || undefined);
      await frame.click('.pc-panel summary');
    } finally {
      await v.screenshot('runsTable-brush');
    }
  });

  it('tags selected runs and filters by the tag; archived runs hide until "show archived"', async () => {
    const v = vs!;
    try {
      const frame = await tableFrame(v);
      await reset(frame);
      await setFilter(frame, 'params.seed = 0');
      await waitFor('two seed-0 rows', async () => (await rowNames(frame)).length === 2 || undefined);
      await frame.click('.row[data-run-id] >> nth=0');
      await frame.click('.row[data-run-id] >> nth=1', { modifiers: ['Control'] });
      await waitFor('two selected', async () => (await frame.$$('.row.selected')).length === 2 || undefined);
      await frame.click('button[data-action="tag"]');
      // The box that asks for the two runs' tags (not some other), holding what was typed, then Enter.
      await v.quickTitle('Tag 2 runs').waitFor({ state: 'visible', timeout: 30_000 });
      const input = v.page.locator('.quick-input-widget input.input');
      await input.fill('picked, best');
      await waitFor('the tag box to hold the names', async () => (await input.inputValue()) === 'picked, best', 10_000);
      await input.press('Enter');
      await input.waitFor({ state: 'hidden', timeout: 30_000 });
      const tableNow = await tableFrame(v);
      await setFilter(tableNow, 'tag:picked');
      const tagged = await waitFor('the tag filter to match the tagged runs', async () => {
        const n = await rowNames(tableNow);
        return n.length === 2 ? n.sort() : undefined;
      });
      assert.deepStrictEqual(tagged, ['lr0.001-s0', 'lr0.01-s0']);

      await tableNow.click('.row[data-run-id] >> nth=0');
      await tableNow.click('button[data-action="archive"]');
      await waitFor('the archived run hidden', async () => {
        const text = (await tableNow.textContent('.count')) ?? '';
        return (await rowNames(tableNow)).length === 1 && text.includes('1 archived hidden');
      });
      await tableNow.check('#show-archived');
      await waitFor('archived shown again', async () => (await rowNames(tableNow)).length === 2 || undefined);
      await tableNow.uncheck('#show-archived');
      await setFilter(tableNow, '');
    } finally {
      await v.screenshot('runsTable-tags');
    }
  });

  it('keeps its filter, sort and columns across a window reload', async () => {
    const v = vs!;
    try {
      let frame = await tableFrame(v);
      await reset(frame);
      // Seeds 1 and 2: none of them archived by the test before.
      await setFilter(frame, 'params.seed >= 1');
      await frame.click('.th[data-col="name"]');
      await frame.click('.columns-panel summary');
      await frame.uncheck('.chooser .col[data-col="project"] input[type=checkbox]');
      await waitFor('project hidden', async () => !(await frame.$('.th[data-col="project"]')) || undefined);
      const before = await waitFor('four rows by name', async () => {
        const n = await rowNames(frame);
        return n.length === 4 && n[0] === 'lr0.001-s1' ? n : undefined;
      });
      // VS Code's own reload (not a bare browser reload): the workbench saves webview state on the way out.
      const navigated = v.page.waitForEvent('framenavigated', {
        predicate: (f) => f === v.page.mainFrame(),
        timeout: 180_000,
      });
      await v.runCommand('Developer: Reload Window');
      await navigated;
      await v.page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
      frame = await waitFor(
        'the restored runs table with its rows',
        async () => {
          const f = await v.webviewFrame('#root .filter', 5_000).catch(() => undefined);
          return f && (await rowNames(f).catch(() => [])).length === 4 ? f : undefined;
        },
        240_000,
      );
      assert.strictEqual(await frame.inputValue('.filter'), 'params.seed >= 1');
      assert.deepStrictEqual(await rowNames(frame), before, 'same rows in the same order');
      assert.ok(await frame.$('.th.sorted[data-col="name"]'), 'still sorted by name');
      assert.strictEqual(await frame.$('.th[data-col="project"]'), null, 'project still hidden');
    } finally {
      await v.screenshot('runsTable-reload');
    }
  });

  it('plots the selected runs in the dashboard', async () => {
    const v = vs!;
    try {
      const frame = await tableFrame(v);
      await reset(frame);
      await frame.click('.row[data-run-id] >> nth=0');
      await frame.click('.row[data-run-id] >> nth=1', { modifiers: ['Shift'] });
      const ids = await frame.$$eval('.row.selected[data-run-id]', (els) =>
        els.map((e) => e.getAttribute('data-run-id') ?? ''),
      );
      assert.strictEqual(ids.length, 2);
      await frame.click('button[data-action="plot"]');
      const dash = await v.webviewFrame('#root .toolbar', 120_000);
      await waitFor(
        'both runs’ loss points in the dashboard',
        async () => {
          const pts = await dash.$$eval('.chart[data-key="loss"]', (els) =>
            els.map((e) => JSON.parse(e.getAttribute('data-points') ?? '{}') as Record<string, number>),
          );
          return pts.some((p) => ids.every((id) => (p[id] ?? 0) >= STEPS)) || undefined;
        },
        60_000,
      );
    } finally {
      await v.screenshot('runsTable-plot');
    }
  });
});
