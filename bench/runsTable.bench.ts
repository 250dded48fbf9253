// Runs table benchmarks at 10,000 stored runs (10 params, 5 metrics × 1,000 points each), the store
// written directly with RunStore: store and series-cache open times, the host's rows (last values
// at once, min/max from the pyramids), the page's first draw, sort and filter in Chromium (the built
// page, run by playwright-core with a stand-in for VS Code's messaging), scrolling, a group band
// over 1,000 runs, and a dashboard of 100 of the runs overlaid (bench/runsBench.ts). Prints one
// Markdown section. Peers on the same runs: bench/runs-peers.bench.ts.
// Rerun: npm run bench -- runsTable (RUNWATCH_BENCH_RUNS=500 for a quick try). The dashboard part
// alone, on a store written once and kept: RUNWATCH_BENCH_ONLY=dashboard RUNWATCH_BENCH_STORE=/tmp/rw-runs
// npx tsx bench/runsTable.bench.ts (RUNWATCH_BENCH_PROFILE=file.cpuprofile: the page's CPU profile
// of the last opening; RUNWATCH_BENCH_WEBVIEW=folder: another build of the page). RUNWATCH_BENCH_ONLY=table:
// the runs table page alone (RUNWATCH_BENCH_PROFILE: its profile over the sorts and filters).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Browser, chromium } from 'playwright-core';
import type { RunSummary } from '../src/api/types';
import { RunStore } from '../src/store/runStore';
import { groupBand } from '../src/store/series/bands';
import { SeriesStore } from '../src/store/series';
import { runColors } from '../src/ui/dashboard/runColors';
import { MetricExtremes, wireRun } from '../src/ui/runsTable/rows';
import { compileFilter } from '../src/webview/runsTable/filterExpr';
import type { TableRun } from '../src/webview/runsTable/fields';
import { buildView } from '../src/webview/runsTable/rowsModel';
import { decodeWireNumber } from '../src/common/wireNumber';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  type DashboardDraw,
  METRICS,
  POINTS,
  dashboardDraw,
  drawnSummary,
  median,
  openBuiltPage,
  postRows,
  writeRuns,
} from './runsBench';

const RUNS = Number(process.env.RUNWATCH_BENCH_RUNS ?? 10_000);
/** Runs overlaid in the dashboard measurement, and its openings (the first with a cold series cache). */
const DASH_RUNS = Math.min(100, RUNS);
const DASH_REPS = Number(process.env.RUNWATCH_BENCH_DASH_REPS ?? 5);
/** `dashboard`: only the dashboard openings (and the store they need); unset: everything. */
const ONLY = process.env.RUNWATCH_BENCH_ONLY;
/** A folder to keep the written store in and reuse on the next run (unset: a new one, removed after). */
const STORE_DIR = process.env.RUNWATCH_BENCH_STORE;
const PROFILE = process.env.RUNWATCH_BENCH_PROFILE;

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const now = () => performance.now();

/** The page's rows, as the page decodes them (for the Node-side pipeline timings). */
function decode(w: ReturnType<typeof wireRun>): TableRun {
  const metrics: TableRun['metrics'] = {};
  for (const [k, [l, mi, ma]] of Object.entries(w.metrics)) {
    metrics[k] = {
      ...(l !== null ? { last: decodeWireNumber(l) } : {}),
      ...(mi !== null ? { min: decodeWireNumber(mi) } : {}),
      ...(ma !== null ? { max: decodeWireNumber(ma) } : {}),
    };
  }
  return { ...w, metrics };
}

interface PageTimes {
  firstDrawMs: number;
  domRows: number;
  /** Click → the next frame painted. */
  sortMs: number[];
  /** The page's refresh alone (its data-refresh-ms). */
  sortScriptMs: number[];
  filterMs: number[];
  filterScriptMs: number[];
  scrollFrameMs: number;
}

async function pageTimes(browser: Browser, rows: ReturnType<typeof wireRun>[], profile?: string): Promise<PageTimes> {
  const { page } = await openBuiltPage(browser, 'runsTable');
  const firstDrawMs = await postRows(page, rows);
  // A CPU profile of the sorts and filters (RUNWATCH_BENCH_PROFILE with RUNWATCH_BENCH_ONLY=table).
  const cdp = profile ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  const domRows = Number(await page.getAttribute('body', 'data-dom-rows'));
  // Each sort and filter: from the click (or the input event) to the next frame painted (a task
  // after its animation frame), so the style, layout and paint the change causes are in it, not
  // only the page's own refresh (kept as data-refresh-ms and reported beside it).
  const painted = (act: string): Promise<number> =>
    page.evaluate(`new Promise((resolve) => {
      const t0 = performance.now();
      ${act};
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
    })`) as Promise<number>;
  const sortMs: number[] = [];
  const sortScriptMs: number[] = [];
  for (const col of ['metrics.val/loss.min', 'params.lr', 'name', 'metrics.train/loss.last', 'duration']) {
    sortMs.push(await painted(`document.querySelector('.th[data-col="${col}"]').click()`));
    sortScriptMs.push(Number(await page.getAttribute('body', 'data-refresh-ms')));
  }
  const filterMs: number[] = [];
  const filterScriptMs: number[] = [];
  for (const f of [
    'params.lr < 1e-3',
    'params.lr < 1e-3 and metrics.val/loss.min < 0.2',
    'sweep-99',
    'status = failed',
    '',
  ]) {
    const act = `const i = document.querySelector('.filter'); i.value = ${JSON.stringify(f)}; i.dispatchEvent(new Event('input', { bubbles: true }))`;
    filterMs.push(await painted(act));
    filterScriptMs.push(Number(await page.getAttribute('body', 'data-refresh-ms')));
  }
  if (cdp && profile) {
    const { profile: p } = await cdp.send('Profiler.stop');
    fs.writeFileSync(profile, JSON.stringify(p));
    await cdp.detach();
  }
  // Scroll by 3 rows a frame for 120 frames: time per frame and the table's own draw time.
  const scroll = (await page.evaluate(`new Promise((resolve) => {
    const s = document.querySelector('.scroller');
    const frames = []; let last = performance.now(); let n = 0;
    const step = () => {
      const t = performance.now(); frames.push(t - last); last = t;
      s.scrollTop += 66;
      n++;
      if (n < 120) requestAnimationFrame(step); else resolve({ frames });
    };
    requestAnimationFrame(step);
  })`)) as { frames: number[] };
  return {
    firstDrawMs,
    domRows,
    sortMs,
    sortScriptMs,
    filterMs,
    filterScriptMs,
    scrollFrameMs: median(scroll.frames.slice(5)),
  };
}

/** 100 of the stored runs (every 100th: different params and curves) opened DASH_REPS times in the dashboard. */
async function dashboardPart(
  browser: Browser,
  store: RunStore,
  series: SeriesStore,
  runs: RunSummary[],
): Promise<DashboardDraw[]> {
  const step = Math.max(1, Math.floor(runs.length / DASH_RUNS));
  const shown = runs
    .filter((_r, i) => i % step === 0)
    .slice(0, DASH_RUNS)
    .map((r) => r.runId);
  const dash: DashboardDraw[] = [];
  for (let i = 0; i < DASH_REPS; i++)
    dash.push(await dashboardDraw(browser, store, series, shown, i === DASH_REPS - 1 ? PROFILE : undefined));
  return dash;
}

/** The dashboard's rows of the table. */
function dashboardLines(dash: DashboardDraw[]): string[] {
  const dashTotal = dash.map((d) => d.hostMs + d.pageMs);
  const warm = (f: (d: DashboardDraw) => number) => ms(median(dash.slice(1).map(f)));
  const pageMed = median(dash.map((d) => d.pageMs));
  const uplotMed = median(dash.map((d) => d.uplotMs));
  const firstMed = median(dash.map((d) => d.firstMs));
  const uplotFirstMed = median(dash.map((d) => d.uplotFirstMs));
  const firstTotal = dash.map((d) => d.hostMs + d.firstMs);
  return [
    `| Dashboard of ${DASH_RUNS} overlaid runs, first chart drawn with every run: host read + page (first opening / median of the rest) | ${ms(firstTotal[0])} / ${ms(median(firstTotal.slice(1)))} ms | ≤ 300 ms |`,
    `| … all ${dash[0].charts.length} charts drawn with every run: host read + page (first / median of the rest) | ${ms(dashTotal[0])} / ${ms(median(dashTotal.slice(1)))} ms | |`,
    `| … host: read ${DASH_RUNS} × ${METRICS.length} series (SeriesFeed; first: cold series cache) + init message (first / rest) | ${ms(dash[0].readMs)} + ${ms(dash[0].hostMs - dash[0].readMs)} / ${warm((d) => d.readMs)} + ${warm((d) => d.hostMs - d.readMs)} ms | |`,
    `| … page: init and series messages → the first chart drawn with every run, to the frame that shows it (first / rest) | ${ms(dash[0].firstMs)} / ${warm((d) => d.firstMs)} ms | |`,
    `| … page: init and series messages → all ${dash[0].charts.length} charts drawn with every run, painted (first / rest) | ${ms(dash[0].pageMs)} / ${warm((d) => d.pageMs)} ms | |`,
    `| … peer floor: plain uPlot drawing the same lines in the same page, the first chart / all ${dash[0].charts.length} charts (all openings) | ${ms(uplotFirstMed)} / ${ms(uplotMed)} ms | |`,
    `| … page / plain uPlot (medians), the first chart / all charts | ${(firstMed / uplotFirstMed).toFixed(2)}× / ${(pageMed / uplotMed).toFixed(2)}× | |`,
    `| … the page's own load (blank page → bundle run, \`ready\` posted) | ${ms(median(dash.map((d) => d.loadMs)))} ms | |`,
  ];
}

/** The store of RUNS runs: written into a new folder, or reused from STORE_DIR when written there before. */
async function storeDir(): Promise<{ dir: string; genS: number; keep: boolean }> {
  const dir = STORE_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-runsTable-'));
  const marker = path.join(dir, `.bench-runs-${RUNS}-${POINTS}`);
  if (STORE_DIR && fs.existsSync(marker)) return { dir, genS: Number(fs.readFileSync(marker, 'utf8')), keep: true };
  if (STORE_DIR) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
  const g0 = now();
  await writeRuns(dir, RUNS);
  const genS = (now() - g0) / 1000;
  if (STORE_DIR) fs.writeFileSync(marker, String(genS));
  return { dir, genS, keep: STORE_DIR !== undefined };
}

async function dashboardOnly(): Promise<void> {
  const { dir, keep } = await storeDir();
  try {
    const store = await RunStore.open(dir, { sync: false });
    const series = SeriesStore.open(store);
    await series.whenIdle();
    // Colours as the Runs tree assigns them when it first shows the runs (before any dashboard opens).
    for (const r of store.listRuns()) runColors.colorOf(r.runId);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    let dash: DashboardDraw[];
    try {
      dash = await dashboardPart(browser, store, series, store.listRuns());
    } finally {
      await browser.close();
    }
    await series.dispose();
    await store.close();
    console.log(
      [
        '## Runs table: the dashboard part only',
        '',
        `\`RUNWATCH_BENCH_ONLY=dashboard\`, ${RUNS.toLocaleString('en')} stored runs, ${DASH_REPS} openings.`,
        '',
        '| What | Median | Target |',
        '| --- | ---: | ---: |',
        ...dashboardLines(dash),
        '',
        `Drawn: ${drawnSummary(dash[dash.length - 1])}. Per opening (host + page first / all): ` +
          dash.map((d) => `${ms(d.hostMs)} + ${ms(d.firstMs)} / ${ms(d.pageMs)}`).join('; ') +
          `; plain uPlot all / first: ${dash.map((d) => `${ms(d.uplotMs)} / ${ms(d.uplotFirstMs)}`).join('; ')}.`,
        '',
        `Load average at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores.`,
      ].join('\n'),
    );
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The runs table page alone: its first draw, sorts, filters and scrolling on the store's rows. */
async function tableOnly(): Promise<void> {
  const { dir, keep } = await storeDir();
  try {
    const store = await RunStore.open(dir, { sync: false });
    const series = SeriesStore.open(store);
    await series.whenIdle();
    const runs = store.listRuns();
    const extremes = new MetricExtremes(series);
    await extremes.fill(
      runs.map((r) => r.runId),
      () => undefined,
    );
    const rows = runs.map((r) => wireRun(r, series, extremes, '#3b8eea'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    let page: PageTimes;
    try {
      page = await pageTimes(browser, rows, PROFILE);
    } finally {
      await browser.close();
    }
    await series.dispose();
    await store.close();
    console.log(
      [
        '## Runs table: the page part only',
        '',
        `\`RUNWATCH_BENCH_ONLY=table\`, ${RUNS.toLocaleString('en')} stored runs.`,
        '',
        '| What | Median | Target |',
        '| --- | ---: | ---: |',
        ...tableLines(page),
        '',
        `Sorts: ${page.sortMs.map(ms).join(', ')} ms; filters: ${page.filterMs.map(ms).join(', ')} ms.`,
        `Load average at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores.`,
      ].join('\n'),
    );
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The runs table page's rows of the table. */
function tableLines(page: PageTimes): string[] {
  return [
    `| Page: message → first rows drawn | ${ms(page.firstDrawMs)} ms | ≤ 500 ms |`,
    `| Page: row elements in the DOM | ${page.domRows} | |`,
    `| Page: sort by a column (click → next frame painted), 5 columns | ${ms(median(page.sortMs))} ms (max ${ms(Math.max(...page.sortMs))}) | ≤ 50 ms |`,
    `| … of it the page's refresh (filter, sort, rows drawn) | ${ms(median(page.sortScriptMs))} ms (max ${ms(Math.max(...page.sortScriptMs))}) | |`,
    `| Page: filter (text and expressions; input → next frame painted), 5 filters | ${ms(median(page.filterMs))} ms (max ${ms(Math.max(...page.filterMs))}) | ≤ 50 ms |`,
    `| … of it the page's refresh | ${ms(median(page.filterScriptMs))} ms (max ${ms(Math.max(...page.filterScriptMs))}) | |`,
    `| Page: scrolling, time per frame (3 rows a frame) | ${ms(page.scrollFrameMs)} ms (${(1000 / page.scrollFrameMs).toFixed(0)} fps) | ≥ 60 fps |`,
  ];
}

async function main(): Promise<void> {
  if (ONLY === 'dashboard') return dashboardOnly();
  if (ONLY === 'table') return tableOnly();
  if (ONLY !== undefined) throw new Error(`RUNWATCH_BENCH_ONLY: 'dashboard', 'table' or unset, not '${ONLY}'`);
  const { dir, genS, keep } = await storeDir();
  try {
    const opens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = now();
      const s = await RunStore.open(dir, { sync: false });
      opens.push(now() - t);
      await s.close();
    }
    const store = await RunStore.open(dir, { sync: false });
    const s0 = now();
    const series = SeriesStore.open(store);
    await series.whenIdle();
    const seriesOpenMs = now() - s0;

    const runs: RunSummary[] = store.listRuns();
    const extremes = new MetricExtremes(series);
    const r0 = now();
    const first = runs.map((r) => wireRun(r, series, extremes, '#3b8eea'));
    const rowsMs = now() - r0;
    const e0 = now();
    await extremes.fill(
      runs.map((r) => r.runId),
      () => undefined,
    );
    const extremesMs = now() - e0;
    const rows = runs.map((r) => wireRun(r, series, extremes, '#3b8eea'));
    const bytes = Buffer.byteLength(JSON.stringify(rows));
    void first;

    // The page's pipeline in Node (no DOM): filter, sort, group over all rows.
    const table = rows.map(decode);
    const base = { showArchived: false, brushes: {}, groupBy: [] as string[], expanded: new Set<string>() };
    const f = compileFilter('params.lr < 1e-3 and metrics.val/loss.min < 0.2');
    if (!f.ok) throw new Error('bad filter');
    const timeIt = (fn: () => void) => {
      const xs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = now();
        fn();
        xs.push(now() - t);
      }
      return median(xs);
    };
    const nodeSort = timeIt(() =>
      buildView(table, { ...base, test: () => true, sort: { id: 'metrics.val/loss.min', desc: false } }),
    );
    const nodeFilter = timeIt(() => buildView(table, { ...base, test: f.test }));
    const nodeGroup = timeIt(() =>
      buildView(table, { ...base, test: () => true, groupBy: ['params.lr', 'params.seed'] }),
    );

    const ids = runs.slice(0, Math.min(1000, runs.length)).map((r) => r.runId);
    const bandTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = now();
      await groupBand(series, { runIds: ids, key: 'val/loss' });
      bandTimes.push(now() - t);
    }

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    let page: PageTimes;
    const dash: DashboardDraw[] = [];
    let colorsMs = 0;
    try {
      page = await pageTimes(browser, rows);
      // Colours as the Runs tree assigns them when it first shows the runs (kept afterwards).
      const c0 = now();
      for (const r of runs) runColors.colorOf(r.runId);
      colorsMs = now() - c0;
      dash.push(...(await dashboardPart(browser, store, series, runs)));
    } finally {
      await browser.close();
    }
    await series.dispose();
    await store.close();

    const lines = [
      '## Runs table',
      '',
      '`npx tsx bench/runsTable.bench.ts` (in `npm run bench`): ' +
        `${RUNS.toLocaleString('en')} stored runs, 10 params, ${METRICS.length} metrics × ${POINTS.toLocaleString('en')} points ` +
        `(${((RUNS * POINTS * METRICS.length) / 1e6).toFixed(0)}M points; written with RunStore in ${genS.toFixed(0)} s). ` +
        'Page timings in headless Chromium (playwright-core) on the built page with a stand-in for VS Code messaging.' +
        (keep
          ? ' The store was kept from an earlier run (RUNWATCH_BENCH_STORE): its files are likely in the OS page cache.'
          : ''),
      '',
      '| What | Median | Target |',
      '| --- | ---: | ---: |',
      `| Store open (writer, meta files), ${RUNS.toLocaleString('en')} runs | ${ms(median(opens))} ms | ≤ 1,000 ms |`,
      `| Series cache open to idle | ${ms(seriesOpenMs)} ms | |`,
      `| Host: rows with last values | ${ms(rowsMs)} ms | |`,
      `| Host: min/max of ${(RUNS * METRICS.length).toLocaleString('en')} series (background, after the first draw) | ${ms(extremesMs)} ms | |`,
      `| Rows message | ${(bytes / 1e6).toFixed(1)} MB | |`,
      ...tableLines(page),
      `| Pipeline in Node: sort ${RUNS.toLocaleString('en')} rows by a metric min | ${ms(nodeSort)} ms | |`,
      `| Pipeline in Node: filter by an expression | ${ms(nodeFilter)} ms | |`,
      `| Pipeline in Node: group by lr × seed | ${ms(nodeGroup)} ms | |`,
      `| Group band over ${ids.length.toLocaleString('en')} runs (host, first / warm) | ${ms(bandTimes[0])} / ${ms(median(bandTimes.slice(1)))} ms | ≤ 500 ms |`,
      ...dashboardLines(dash),
      `| Host: colours of ${RUNS.toLocaleString('en')} runs seen first (once, as the Runs tree shows them; then kept) | ${ms(colorsMs)} ms | |`,
      '',
      `Dashboard: ${DASH_RUNS} of the stored runs (every ${Math.max(1, Math.floor(RUNS / DASH_RUNS))}th) opened ${DASH_REPS} times in the built dashboard page ` +
        '(bench/runsBench.ts). The target row is what a person waits for: the host read plus the page until the first chart (in view, drawn first) shows every run; all charts is the row below it. The host part is the real SeriesFeed reading every shown series from this store (as the ' +
        "panel's prefetch does; a fresh feed each time, the first opening on a cold series cache) and the init message " +
        '(runsPayload, groupFields); the page part is from posting init and the series message (structured clone, as ' +
        "VS Code's postMessage) until every chart has drawn every run and the next frame is painted; the page draws the " +
        'charts in view first, a frame at a time, so the first chart with every run is timed too (to the animation frame ' +
        'after its draw; its floor: plain uPlot drawing that one chart, to the frame after it). The panel reads ' +
        'while VS Code creates the panel and loads the page, so host and page add up only when the read is the longer. ' +
        "VS Code's own IPC and panel creation are not in it (see the dashboard-ux bench). The floor: plain uPlot " +
        'constructing the same charts (a raw and a smoothed line per run, same size) from prepared columns. ' +
        `Drawn: ${drawnSummary(dash[dash.length - 1])}; series message ${(dash[0].seriesBytes / 1e6).toFixed(1)} MB of arrays. ` +
        'Canvas is software-drawn here (headless, no GPU).',
      '',
      `Load average at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (shared with other work). ` +
        'Peers (TensorBoard and the MLflow UI) with Runwatch measured alongside them on the same runs, at 250 and 1,000 runs: ' +
        '`npm run bench -- runs-peers` (bench/results/runs-peers.md).',
    ];
    console.log(lines.join('\n'));
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
