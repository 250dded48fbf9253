// The dashboard as a person uses it, in a real VS Code with the packaged .vsix: ten stored
// runs charted together, read by what the screen shows. Their colours are pairwise apart
// and in one legend order; the hover readout's numbers are the stored points; the wheel
// scrolls the page (and zooms only with Ctrl); zooming one chart zooms the others; a chart
// expands to the panel; the metric filter picks charts; the CSV button writes the stored values.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { MIN_DELTA_E, deltaE2000 } from '../../src/webview/protocol/palette';
import { ROOT, VsCode, python, readRunLog, waitFor } from './harness';

const RUNS = 10;
const STEPS = 60;
const NAN_STEP = 30;
/** Charts: train/{loss,acc,lr}, val/{loss,acc}, test/loss (more than one screen, so the page scrolls). */
const CHARTS = 6;

// Ten finished runs of three metrics; run 0 logs a NaN. Prints the run ids, one per line.
const SCRIPT = `
import math, runwatch
for i in range(${RUNS}):
    run = runwatch.init(project="ux", name=f"run-{i:02d}", config={"lr": 10 ** -(i % 4 + 2)})
    for step in range(${STEPS}):
        loss = round(2.0 * math.exp(-step / 20.0) * (1 + i / 10.0), 6)
        if i == 0 and step == ${NAN_STEP}:
            loss = float("nan")
        acc = round(1 - math.exp(-step / (10.0 + i)), 6)
        run.log({"train/loss": loss, "train/acc": acc, "train/lr": 0.001 * (i + 1),
                 "val/loss": round(loss * 1.1, 6) if loss == loss else 0.5, "val/acc": acc * 0.9,
                 "test/loss": 0.25 + i / 100}, step=step)
    run.finish()
    print(run.id, flush=True)
`;

interface StoredPoint {
  step: number;
  value: number;
  time: number;
}

function stored(storeDir: string, runId: string, key: string): StoredPoint[] {
  const out: StoredPoint[] = [];
  for (const rec of readRunLog(storeDir, runId)) {
    if (rec.event.type !== 'metrics') continue;
    // A metrics event may carry only where keys were logged (no points).
    const points = (rec.event.points ?? []) as { key: string; step: number; value: unknown; time: number }[];
    for (const p of points) {
      if (p.key === key) out.push({ step: p.step, time: p.time, value: typeof p.value === 'number' ? p.value : NaN });
    }
  }
  return out;
}

function rgbToHex(rgb: string): string {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  if (!m) return rgb;
  return '#' + [m[1], m[2], m[3]].map((v) => Number(v).toString(16).padStart(2, '0')).join('');
}

async function dashboard(vs: VsCode): Promise<Frame> {
  return vs.webviewFrame('#root .toolbar', 120_000);
}

describe('dashboard as people use it (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;
  let runIds: string[] = [];
  let storeDir = '';

  before(async () => {
    vs = await VsCode.start({ name: 'dashboardUx' });
    storeDir = path.join(vs.workspace, '.runwatch');
    await vs.waitForFile('.runwatch/collector.json', (t) => t.includes('"token"'), 180_000);
    fs.writeFileSync(path.join(vs.workspace, 'ten_runs.py'), SCRIPT);
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(ROOT, 'clients', 'python') };
    for (const k of Object.keys(env)) if (k.startsWith('RUNWATCH_')) delete env[k];
    env.RUNWATCH_SYSTEM_INTERVAL = '0';
    const r = spawnSync(python(), [path.join(vs.workspace, 'ten_runs.py')], {
      cwd: vs.workspace,
      env,
      encoding: 'utf8',
    });
    assert.strictEqual(r.status, 0, `the script failed: ${r.stderr}`);
    runIds = r.stdout.trim().split('\n');
    assert.strictEqual(runIds.length, RUNS);
    await waitFor(
      'every run stored',
      () => (runIds.every((id) => stored(storeDir, id, 'val/loss').length === STEPS) ? true : undefined),
      60_000,
    );
    await vs.runCommand('Runwatch: Show Dashboard');
    const frame = await dashboard(vs);
    // The run picker: search narrows the list, "All" shows every run that matches.
    await frame.click('.runs-picker summary');
    await frame.fill('#run-search', 'ux');
    await frame.click('#runs-all');
    await waitFor(
      'ten runs in the train/loss legend',
      async () =>
        (await frame.locator('.chart[data-key="train/loss"] .legend-item').count()) === RUNS ? true : undefined,
      60_000,
    );
    await frame.click('.runs-picker summary');
  });

  after(async () => {
    await vs?.stop();
  });

  it('gives the ten runs colours pairwise apart, in the same legend order in every chart', async () => {
    const frame = await dashboard(vs!);
    const legend = (key: string) =>
      frame.$$eval(`.chart[data-key="${key}"] .legend-item`, (items) =>
        items.map((i) => ({
          runId: i.getAttribute('data-run-id') ?? '',
          color: i.querySelector('.swatch')?.getAttribute('style') ?? '',
        })),
      );
    const loss = await legend('train/loss');
    const acc = await legend('train/acc');
    assert.deepStrictEqual(
      acc.map((l) => l.runId),
      loss.map((l) => l.runId),
      'one legend order',
    );
    const colors = loss.map((l) => rgbToHex(l.color));
    for (let i = 0; i < colors.length; i++)
      for (let j = i + 1; j < colors.length; j++) {
        const d = deltaE2000(colors[i], colors[j]);
        assert.ok(d >= MIN_DELTA_E, `runs ${i} and ${j}: ${colors[i]} vs ${colors[j]}, ΔE ${d.toFixed(1)}`);
      }
    await vs!.screenshot('dashboardUx-ten-runs');
  });

  it('shows at the cursor every run’s stored value and step, and names the NaN', async () => {
    const frame = await dashboard(vs!);
    const over = frame.locator('.chart[data-key="train/loss"] .u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width * 0.25, y: box.height / 2 } });
    const rows = await waitFor(
      'the readout',
      async () => {
        const r = await frame.$$eval('.chart[data-key="train/loss"] .readout:not([hidden]) .readout-row', (els) =>
          els.map((e) => ({
            runId: e.getAttribute('data-run-id') ?? '',
            x: Number(e.getAttribute('data-x')),
            value: e.getAttribute('data-value') ?? '',
            time: e.getAttribute('data-time'),
            text: e.textContent ?? '',
          })),
        );
        // Complete once the host's step ↔ time pairs arrived (each row names its wall time).
        return r.length === RUNS && r.every((x) => x.time !== null) ? r : undefined;
      },
      30_000,
    );
    await vs!.screenshot('dashboardUx-readout');
    for (const r of rows) {
      const p = stored(storeDir, r.runId, 'train/loss').find((s) => s.step === r.x);
      assert.ok(p, `run ${r.runId} has a stored point at step ${r.x}`);
      assert.strictEqual(Number(r.value), p.value, `run ${r.runId} step ${r.x}`);
      assert.strictEqual(Number(r.time), p.time, `run ${r.runId} step ${r.x}: wall time`);
    }
    const header = await frame.locator('.chart[data-key="train/loss"] .readout-x').textContent();
    assert.match(header ?? '', /^step \d+$/);
    // At the NaN's step, run 0's row says NaN.
    const nanX = (NAN_STEP / (STEPS - 1)) * box.width;
    await over.hover({ position: { x: Math.min(box.width - 2, nanX), y: box.height / 2 } });
    // Walk the cursor over the NaN's step (pixel rounding may land a step off).
    let nan: string | null = null;
    for (let dx = 0; dx <= 12 && nan !== 'NaN'; dx++) {
      const x = nanX + (dx % 2 ? 1 : -1) * Math.ceil(dx / 2);
      await over.hover({ position: { x: Math.max(1, Math.min(box.width - 2, x)), y: box.height / 2 } });
      nan = await frame
        .locator(`.chart[data-key="train/loss"] .readout-row[data-run-id="${runIds[0]}"]`)
        .getAttribute('data-value', { timeout: 5_000 })
        .catch(() => null);
    }
    assert.strictEqual(nan, 'NaN', 'the readout names the non-finite value');
  });

  it('scrolls the page on the wheel, zooms only with Ctrl held, and zooms every chart together', async () => {
    const v = vs!;
    const frame = await dashboard(v);
    const chart = frame.locator('.chart[data-key="train/loss"]');
    const other = frame.locator('.chart[data-key="val/loss"]');
    const over = chart.locator('.u-over');
    const box = (await over.boundingBox())!;
    const scrollTop = async () => Number(await frame.evaluate('document.scrollingElement.scrollTop'));
    await frame.evaluate('window.scrollTo(0, 0)');
    await over.hover({ position: { x: box.width / 2, y: box.height / 2 } });
    await v.page.mouse.wheel(0, 200);
    await waitFor('the page to scroll', async () => ((await scrollTop()) > 0 ? true : undefined), 10_000);
    assert.strictEqual(await chart.getAttribute('data-zoomed'), 'false', 'the wheel alone does not zoom');
    await frame.evaluate('window.scrollTo(0, 0)');
    // Drag-zoom one chart: the other takes the same x range (synced zoom is on by default).
    const b = (await over.boundingBox())!;
    await over.hover({ position: { x: b.width * 0.2, y: b.height / 2 } });
    await v.page.mouse.down();
    await over.hover({ position: { x: b.width * 0.5, y: b.height / 2 } });
    await v.page.mouse.up();
    const range = await waitFor(
      'both charts zoomed to one range',
      async () => {
        const a = await chart.getAttribute('data-x-range');
        const o = await other.getAttribute('data-x-range');
        return (await other.getAttribute('data-zoomed')) === 'true' && a === o ? a : undefined;
      },
      30_000,
    );
    const [lo, hi] = (range ?? '').split(',').map(Number);
    assert.ok(hi - lo < STEPS * 0.6, `zoomed to ${range}`);
    // Ctrl+wheel zooms (out, here).
    await over.hover({ position: { x: b.width / 2, y: b.height / 2 } });
    await v.page.keyboard.down('Control');
    await v.page.mouse.wheel(0, 100);
    await v.page.keyboard.up('Control');
    await waitFor(
      'Ctrl+wheel to zoom out',
      async () => {
        const [a, c] = ((await chart.getAttribute('data-x-range')) ?? '').split(',').map(Number);
        return c - a > hi - lo + 1e-9 ? true : undefined;
      },
      10_000,
    );
    await over.dblclick();
    await waitFor('the zoom reset', async () =>
      (await other.getAttribute('data-zoomed')) === 'false' ? true : undefined,
    );
  });

  it('expands one chart to the whole panel and back', async () => {
    const frame = await dashboard(vs!);
    await frame.locator('.chart[data-key="val/loss"]').hover();
    await frame.click('.chart[data-key="val/loss"] .chart-button.expand');
    await waitFor(
      'only the expanded chart visible',
      async () => {
        const visible = await frame.$$eval('.chart', (cs) =>
          cs
            .filter((c) => (c as unknown as { offsetParent: unknown }).offsetParent !== null)
            .map((c) => c.getAttribute('data-key')),
        );
        return visible.length === 1 && visible[0] === 'val/loss' ? true : undefined;
      },
      30_000,
    );
    const h = await waitFor('the expanded plot to grow', async () => {
      const height = (await frame.locator('.chart[data-key="val/loss"] canvas').boundingBox())?.height ?? 0;
      return height > 300 ? height : undefined;
    });
    assert.ok(h > 300);
    await vs!.screenshot('dashboardUx-expanded');
    await frame.click('.chart[data-key="val/loss"] .chart-button.expand');
    await waitFor('every chart back', async () =>
      (await frame.locator('.chart:visible').count()) === CHARTS ? true : undefined,
    );
  });

  it('filters charts by a metric regex and folds a group', async () => {
    const frame = await dashboard(vs!);
    await frame.fill('#metric-filter', '^val/');
    await waitFor('only val charts', async () => {
      const keys = await frame.$$eval('.chart', (cs) => cs.map((c) => c.getAttribute('data-key')));
      return keys.join() === 'val/acc,val/loss' ? true : undefined;
    });
    await frame.fill('#metric-filter', '');
    await waitFor('every chart back', async () =>
      (await frame.locator('.chart').count()) === CHARTS ? true : undefined,
    );
    await frame.click('#group-train .group-toggle');
    await waitFor('train folded', async () =>
      (await frame.locator('.chart').count()) === CHARTS - 3 ? true : undefined,
    );
    await frame.click('#group-train .group-toggle');
    await waitFor('train open', async () => ((await frame.locator('.chart').count()) === CHARTS ? true : undefined));
  });

  it('exports the chosen runs of a chart as CSV whose numbers equal the store’s', async () => {
    const v = vs!;
    const frame = await dashboard(v);
    const file = path.join(v.workspace, 'train_loss.csv');
    await frame.locator('.chart[data-key="train/loss"]').hover();
    await frame.click('.chart[data-key="train/loss"] .chart-button.export-csv');
    const text = await v.saveAs(file, (t) => t.split('\n').length > RUNS * STEPS, 60_000);
    const lines = text.trim().split('\n');
    assert.strictEqual(lines[0], 'run_id,key,step,time,value');
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.strictEqual(rows.length, RUNS * STEPS);
    for (const id of runIds) {
      const mine = rows.filter((r) => r[0] === id);
      const want = stored(storeDir, id, 'train/loss');
      assert.deepStrictEqual(
        mine.map((r) => [Number(r[2]), Number(r[3]), r[4] === 'NaN' ? NaN : Number(r[4])]),
        want.map((p) => [p.step, p.time, p.value]),
        `run ${id}`,
      );
    }
  });
});
