// Dashboard groups as a person uses them, in a real VS Code with the packaged .vsix: four runs
// from Python over two learning rates (two seeds each) charted together, then "Group by" the
// learning rate. Each chart then draws one line per group with its band, and the band's edges
// are the group's smallest and largest stored values at a step (computed in the host); the
// legend names each group and its run count; the grouping comes back after a window reload.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import type { BandProbe } from '../../src/webview/dashboard/probeContract';
import { VsCode, python, pythonEnv, readRunLog, waitFor } from './harness';

const STEPS = 20;
const LRS = [0.1, 0.01];
const SEEDS = [0, 1];

/** The loss each run logs: known, so the test can say what each band's edges must be. */
function loss(lr: number, seed: number, step: number): number {
  return Math.round((lr * 10 + ((seed + 1) * step) / 10) * 1e6) / 1e6;
}

const SCRIPT = `
import runwatch
for lr in ${JSON.stringify(LRS)}:
    for seed in ${JSON.stringify(SEEDS)}:
        run = runwatch.init(project="groups", name=f"lr{lr}-s{seed}", config={"lr": lr, "seed": seed})
        for step in range(${STEPS}):
            run.log({"loss": round(lr * 10 + (seed + 1) * step / 10, 6)}, step=step)
        run.finish()
        print(run.id, flush=True)
`;

async function dashboard(vs: VsCode, timeoutMs = 120_000): Promise<Frame> {
  return vs.webviewFrame('#root .toolbar', timeoutMs);
}

/** The loss chart's bands once it draws `groups` groups. */
async function bandsDrawn(frame: Frame, groups: number): Promise<BandProbe[] | undefined> {
  const chart = frame.locator('.chart[data-key="loss"][data-grouped="true"]');
  if ((await chart.count()) !== 1) return undefined;
  const bands = JSON.parse((await chart.getAttribute('data-bands')) ?? '[]') as BandProbe[];
  return bands.length === groups ? bands : undefined;
}

describe('dashboard groups (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;

  before(async () => {
    vs = await VsCode.start({ name: 'dashboardGroups' });
    const storeDir = path.join(vs.workspace, '.runwatch');
    await vs.waitForFile('.runwatch/collector.json', (t) => t.includes('"token"'), 180_000);
    fs.writeFileSync(path.join(vs.workspace, 'sweep.py'), SCRIPT);
    const r = spawnSync(python(), [path.join(vs.workspace, 'sweep.py')], {
      cwd: vs.workspace,
      env: pythonEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.strictEqual(r.status, 0, `the script failed: ${r.stderr}`);
    const runIds = r.stdout.trim().split('\n');
    assert.strictEqual(runIds.length, LRS.length * SEEDS.length);
    // Every run's last point is in the store before the dashboard opens.
    const lastStepStored = (id: string) =>
      readRunLog(storeDir, id).some(
        (rec) =>
          rec.event.type === 'metrics' &&
          ((rec.event.points ?? []) as { step: number }[]).some((p) => p.step === STEPS - 1),
      );
    await waitFor('every run stored', () => (runIds.every(lastStepStored) ? true : undefined), 60_000);
    await vs.runCommand('Runwatch: Show Dashboard');
    const frame = await dashboard(vs);
    await frame.click('.runs-picker summary');
    await frame.fill('#run-search', 'groups');
    await frame.click('#runs-all');
    await waitFor(
      'four runs in the loss legend',
      async () => ((await frame.locator('.chart[data-key="loss"] .legend-item').count()) === 4 ? true : undefined),
      60_000,
    );
    await frame.click('.runs-picker summary');
  });

  after(async () => {
    await vs?.stop();
  });

  it('grouped by the learning rate, draws a band between each group’s min and max', async () => {
    const frame = await dashboard(vs!);
    try {
      await frame.selectOption('#group-by', 'params.lr');
      const bands = await waitFor('two group bands on the loss chart', () => bandsDrawn(frame, 2), 60_000);
      assert.deepStrictEqual(
        bands.map((b) => [b.label, b.members, b.runs]),
        [
          ['lr=0.01', 2, 2],
          ['lr=0.1', 2, 2],
        ],
      );
      for (const b of bands) {
        const lr = Number(b.label.split('=')[1]);
        for (const step of [0, 5, 10, STEPS - 1]) {
          // The cell that holds this step (its midpoint is the nearest).
          let i = 0;
          for (let k = 1; k < b.x.length; k++) if (Math.abs(b.x[k] - step) < Math.abs(b.x[i] - step)) i = k;
          const values = SEEDS.map((seed) => loss(lr, seed, step));
          const where = `${b.label} at step ${step}`;
          assert.ok(Math.abs((b.lo[i] ?? NaN) - Math.min(...values)) < 1e-9, `${where}: lower ${b.lo[i]}`);
          assert.ok(Math.abs((b.hi[i] ?? NaN) - Math.max(...values)) < 1e-9, `${where}: upper ${b.hi[i]}`);
          const mean = values.reduce((s, v) => s + v, 0) / values.length;
          assert.ok(Math.abs((b.center[i] ?? NaN) - mean) < 1e-9, `${where}: mean ${b.center[i]}`);
        }
      }
      // A few thousand numbers per group, not every run's points.
      for (const b of bands) assert.ok(b.x.length <= 2000, `${b.label}: ${b.x.length} cells`);
      // The legend names the groups (not the runs) and their run counts.
      const legend = await frame.locator('.chart[data-key="loss"] .legend-item .legend-name').allTextContents();
      assert.deepStrictEqual(legend, ['lr=0.01 (2 runs)', 'lr=0.1 (2 runs)']);
      // The hover readout names them too.
      const over = frame.locator('.chart[data-key="loss"] .u-over');
      const box = (await over.boundingBox())!;
      await over.hover({ position: { x: box.width * 0.5, y: box.height / 2 } });
      const readout = await waitFor(
        'the readout with both groups',
        async () => {
          const names = await frame.locator('.chart[data-key="loss"] .readout .readout-name').allTextContents();
          return names.length === 2 ? names : undefined;
        },
        10_000,
      );
      assert.deepStrictEqual(readout, ['lr=0.01 (2 runs)', 'lr=0.1 (2 runs)']);
    } finally {
      await vs!.screenshot('dashboardGroups-grouped');
    }
  });

  it('keeps the grouping through a window reload', async () => {
    const v = vs!;
    const navigated = v.page.waitForEvent('framenavigated', {
      predicate: (f) => f === v.page.mainFrame(),
      timeout: 180_000,
    });
    await v.runCommand('Developer: Reload Window');
    await navigated;
    await v.page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
    try {
      const bands = await waitFor(
        'the restored dashboard drawing the two groups',
        async () => {
          const frame = await dashboard(v, 5_000).catch(() => undefined);
          if (!frame) return undefined;
          if (
            (await frame
              .locator('#group-by')
              .inputValue()
              .catch(() => '')) !== 'params.lr'
          )
            return undefined;
          return bandsDrawn(frame, 2).catch(() => undefined);
        },
        240_000,
      );
      assert.deepStrictEqual(
        bands.map((b) => b.label),
        ['lr=0.01', 'lr=0.1'],
      );
      // The new page got the groups' bands, not the runs' points.
      const frame = await dashboard(v);
      const points = (await frame.locator('body').getAttribute('data-series-points')) ?? '0';
      assert.strictEqual(points, '0', 'no run points sent to the page while grouped');
      // Ungrouped again: the runs' own lines come back.
      await frame.selectOption('#group-by', '');
      await waitFor(
        'four run lines on the loss chart',
        async () => {
          const chart = frame.locator('.chart[data-key="loss"][data-grouped="false"]');
          if ((await chart.count()) !== 1) return undefined;
          const drawn = JSON.parse((await chart.getAttribute('data-points')) ?? '{}') as Record<string, number>;
          return Object.values(drawn).filter((n) => n === STEPS).length === 4 ? true : undefined;
        },
        60_000,
      );
    } finally {
      await v.screenshot('dashboardGroups-after-reload');
    }
  });
});
