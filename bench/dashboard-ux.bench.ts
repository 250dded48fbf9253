// The dashboard's speed as a person feels it, in a real VS Code (code-server with the packaged
// .vsix) driven by Chromium, printed as one Markdown section:
// - click → drawn: a stored 1M and a 10M point run opened from the Runs tree, cold (first
//   opening in this extension host) and warm (median of the later openings), split into
//   click → page ready (VS Code creating the panel, loading the page) and ready → drawn (ours);
// - tab re-show → drawn: the dashboard hidden behind another editor, then shown again;
// - the peer: raw uPlot drawing the same number of points in the same Chromium.
//
// Rerun: npm run bench -- dashboard-ux   (needs scripts/setup-vscode.sh and npm run package)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RunStore } from '../src/store/runStore';
import { SeriesStore } from '../src/store/series';
import type { LoadTiming } from '../src/webview/dashboard/probeContract';
import { ROOT, VsCode, waitFor } from '../test/e2e/harness';

const SIZES = (process.env.DASHBOARD_UX_SIZES ?? '1000000,10000000').split(',').map(Number);
/** A folder to keep the seeded store in between runs (seeding 10M points takes minutes). */
const SEED_CACHE = process.env.DASHBOARD_UX_SEED_CACHE;
const REPS = Number(process.env.DASHBOARD_UX_REPS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function seed(storeDir: string): Promise<void> {
  const store = await RunStore.open(storeDir, { sync: false });
  const t0 = Date.now() / 1000 - 3600;
  for (const n of SIZES) {
    const runId = `ux-${n}`;
    const start = { type: 'run.start' as const, project: 'bench', name: `ux-${n / 1e6}M`, time: t0 };
    await store.append(runId, [{ event: { ...start, params: {}, tags: {}, context: {} } }]);
    for (let i = 0; i < n; i += 50_000) {
      const points = [];
      for (let j = i; j < Math.min(n, i + 50_000); j++)
        points.push({
          key: 'big/value',
          value: Math.exp(-j / (n / 4)) + 0.05 * Math.sin(j / 50),
          step: j,
          time: t0 + j / 1000,
        });
      await store.append(runId, [{ event: { type: 'metrics', points } }]);
    }
    await store.append(runId, [{ event: { type: 'run.end', status: 'finished', time: t0 + n / 1000 } }]);
  }
  const series = SeriesStore.open(store);
  await series.whenIdle();
  await series.dispose();
  await store.close();
}

/** The page's probes: [ms from page start to ready-posted epoch, first draw epoch]. */
interface Opening {
  /** ms from the click to: the page's document starting to load, its bundle fetched, `ready` posted, first chart drawn. */
  doc: number;
  /** The placeholder page VS Code loads first: its response started, ended, parsed. */
  phStart: number;
  phEnd: number;
  phParsed: number;
  script: number;
  ready: number;
  drawn: number;
}

async function drawnAfter(vs: VsCode, since: number): Promise<Opening> {
  return waitFor(
    'a dashboard page drawn',
    async () => {
      for (const f of vs.page.frames()) {
        if (f.isDetached()) continue;
        const d = await f
          .evaluate<(string | undefined)[] | null>(
            'document.body && [document.body.dataset.readyAt, document.body.dataset.firstDrawAt, document.body.dataset.loadTiming]',
          )
          .catch(() => undefined);
        if (d && d[0] && d[1] && Number(d[1]) >= since) {
          const t = JSON.parse(d[2] ?? '{}') as LoadTiming;
          return {
            doc: t.documentStart - since,
            phStart: (t.placeholderResponseStart ?? NaN) - since,
            phEnd: (t.placeholderResponseEnd ?? NaN) - since,
            phParsed: (t.placeholderParsed ?? NaN) - since,
            script: (t.scriptFetchEnd ?? NaN) - since,
            ready: Number(d[0]) - since,
            drawn: Number(d[1]) - since,
          };
        }
      }
      return undefined;
    },
    300_000,
    20,
  );
}

async function clickRun(vs: VsCode, name: string): Promise<Opening> {
  await vs.runCommand('View: Close All Editors');
  const row = vs.page.locator('.part.sidebar .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  const at = Date.now();
  await row.click();
  return drawnAfter(vs, at);
}

async function reshow(vs: VsCode): Promise<Opening> {
  await vs.runCommand('File: New Untitled Text File');
  await new Promise((r) => setTimeout(r, 1000));
  // The dashboard's tab, clicked as a person would.
  const tab = vs.page.locator('.tabs-container .tab', { hasText: 'Runwatch Dashboard' }).first();
  const at = Date.now();
  await tab.click();
  return drawnAfter(vs, at);
}

async function rawUplot(vs: VsCode, n: number): Promise<number> {
  const page = await vs.page.context().newPage();
  try {
    await page.setContent('<div id="c" style="width:800px"></div>');
    await page.addScriptTag({ path: path.join(ROOT, 'node_modules/uplot/dist/uPlot.iife.min.js') });
    const code = `new Promise((resolve) => {
      const count = ${n}; const x = new Float64Array(count), y = new Float64Array(count);
      for (let i = 0; i < count; i++) { x[i] = i; y[i] = Math.exp(-i / (count / 4)) + 0.05 * Math.sin(i / 50); }
      const t0 = performance.now();
      new uPlot({ width: 800, height: 220, series: [{}, { stroke: 'red' }], hooks: { draw: [() => resolve(performance.now() - t0)] } }, [x, y], document.getElementById('c'));
    })`;
    return (await page.evaluate(code)) as number;
  } finally {
    await page.close();
  }
}

async function main(): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-bench-ux-'));
  const storeDir = path.join(workspace, '.runwatch');
  const cached = SEED_CACHE && path.join(SEED_CACHE, SIZES.join('-'));
  if (cached && fs.existsSync(cached)) {
    fs.cpSync(cached, storeDir, { recursive: true });
  } else {
    process.stderr.write(`seeding runs of ${SIZES.join(', ')} points...\n`);
    await seed(storeDir);
    if (cached) fs.cpSync(storeDir, cached, { recursive: true });
  }
  const vs = await VsCode.start({ name: 'bench-ux', workspace });
  const click: Record<number, Opening[]> = {};
  const re: Opening[] = [];
  const raw: Record<number, number[]> = {};
  try {
    await vs.page
      .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
      .first()
      .waitFor({ timeout: 180_000 });
    await vs.page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
    try {
      for (let r = 0; r < REPS; r++)
        for (const n of SIZES) (click[n] ??= []).push(await clickRun(vs, `ux-${n / 1e6}M`));
    } catch (err) {
      await vs.screenshot('bench-dashboard-ux-failed');
      throw err;
    }
    for (let r = 0; r < REPS; r++) re.push(await reshow(vs));
    process.stderr.write(`clicks: ${JSON.stringify(click)}\nre-shows: ${JSON.stringify(re)}\n`);
    for (let r = 0; r < REPS; r++) for (const n of SIZES) (raw[n] ??= []).push(await rawUplot(vs, n));
  } finally {
    await vs.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  const out: string[] = [
    '## Dashboard: click → drawn, tab re-show → drawn',
    '',
    '`npm run bench -- dashboard-ux` (bench/dashboard-ux.bench.ts: code-server with the packaged .vsix, Chromium)',
    '',
    'A stored run opened from the Runs tree. *click → ready* is VS Code creating the panel and loading the page until it ' +
      'posts `ready`; *ready → drawn* is Runwatch (the host reads the decimated series, posts it, uPlot draws). Cold: the ' +
      `first opening in this extension host; warm: the median of the next ${REPS - 1}. Peer: raw uPlot drawing all the ` +
      'points in the same Chromium (data already in memory).',
    '',
    '| series | click → drawn, cold (ms) | of which click → ready | click → drawn, warm (ms) | of which click → ready | raw uPlot (ms) | cold / raw |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of SIZES) {
    const [cold, ...warm] = click[n];
    const rawMs = median(raw[n]);
    out.push(
      `| ${n / 1e6}M points | ${cold.drawn.toFixed(0)} | ${cold.ready.toFixed(0)} | ${median(warm.map((w) => w.drawn)).toFixed(0)} | ${median(warm.map((w) => w.ready)).toFixed(0)} | ` +
        `${rawMs.toFixed(0)} | ${(cold.drawn / rawMs).toFixed(2)}× |`,
    );
  }
  const reDrawn = median(re.map((r) => r.drawn));
  out.push(
    '',
    `Tab re-show → drawn (the dashboard hidden behind another editor, its tab clicked): median ${reDrawn.toFixed(0)} ms ` +
      `over ${re.length}, of which tab click → page ready ${median(re.map((r) => r.ready)).toFixed(0)} ms ` +
      `(target ≤ 300 ms: ${reDrawn <= 300 ? 'met' : 'NOT met'}).`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
