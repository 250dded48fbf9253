// Runs table benchmarks at 10,000 stored runs (10 params, 5 metrics × 1,000 points each), the store
// written directly with RunStore: store and series-cache open times, the host's rows (last values
// at once, min/max from the pyramids), the page's first draw, sort and filter in Chromium (the built
// page, run by playwright-core with a stand-in for VS Code's messaging), scrolling, and a group band
// over 1,000 runs. Prints one Markdown section. Rerun: npm run bench -- runsTable
// (RUNWATCH_BENCH_RUNS=500 for a quick try).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium } from 'playwright-core';
import type { MetricPoint, RunSummary } from '../src/api/types';
import { RunStore } from '../src/store/runStore';
import { groupBand } from '../src/store/series/bands';
import { SeriesStore } from '../src/store/series';
import { MetricExtremes, wireRun } from '../src/ui/runsTable/rows';
import { compileFilter } from '../src/webview/runsTable/filterExpr';
import type { TableRun } from '../src/webview/runsTable/fields';
import { buildView } from '../src/webview/runsTable/rowsModel';
import { decodeWireNumber } from '../src/common/wireNumber';

const ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.RUNWATCH_BENCH_RUNS ?? 10_000);
const POINTS = 1000;
const METRICS = ['train/loss', 'train/acc', 'val/loss', 'val/acc', 'lr'];
const CHROMIUM = process.env.RUNWATCH_CHROMIUM ?? '/usr/bin/chromium';
const T0 = 1_700_000_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const now = () => performance.now();

async function generate(dir: string): Promise<void> {
  const store = await RunStore.open(dir, { sync: false });
  for (let r = 0; r < RUNS; r++) {
    const runId = `run-${String(r).padStart(5, '0')}`;
    const params: Record<string, number | string | boolean> = {
      lr: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2][r % 5],
      seed: r % 10,
      batch_size: [32, 64, 128][r % 3],
      layers: 2 + (r % 7),
      hidden: [128, 256, 512, 1024][r % 4],
      dropout: (r % 5) / 10,
      optimizer: r % 2 ? 'adamw' : 'sgd',
      warmup: (r % 4) * 100,
      weight_decay: [0, 1e-4, 1e-2][r % 3],
      amp: r % 3 === 0,
    };
    const points: MetricPoint[] = new Array(POINTS * METRICS.length);
    let i = 0;
    for (let s = 0; s < POINTS; s++) {
      const t = T0 + r * 10 + s * 0.01;
      const decay = Math.exp(-s / (100 + (r % 50)));
      points[i++] = {
        key: 'train/loss',
        value: Math.round((2 * decay + 0.1 + (r % 13) / 100) * 1e4) / 1e4,
        step: s,
        time: t,
      };
      points[i++] = { key: 'train/acc', value: Math.round((1 - decay) * 1e4) / 1e4, step: s, time: t };
      points[i++] = { key: 'val/loss', value: Math.round((2.1 * decay + 0.12) * 1e4) / 1e4, step: s, time: t };
      points[i++] = { key: 'val/acc', value: Math.round((0.95 - decay) * 1e4) / 1e4, step: s, time: t };
      points[i++] = { key: 'lr', value: params.lr as number, step: s, time: t };
    }
    await store.append(runId, [
      {
        seq: 1,
        event: {
          type: 'run.start',
          project: `p${r % 4}`,
          name: `sweep-${r}`,
          time: T0 + r * 10,
          params,
          tags: {},
          context: {},
        },
      },
      { seq: 2, event: { type: 'metrics', points } },
      { seq: 3, event: { type: 'run.end', status: r % 17 === 0 ? 'failed' : 'finished', time: T0 + r * 10 + 10 } },
    ]);
  }
  const series = SeriesStore.open(store);
  await series.whenIdle();
  await series.dispose();
  await store.close();
}

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
  sortMs: number[];
  filterMs: number[];
  scrollFrameMs: number;
}

async function pageTimes(rows: ReturnType<typeof wireRun>[]): Promise<PageTimes> {
  const js = fs.readFileSync(path.join(ROOT, 'dist/webview/runsTable.js'), 'utf8');
  const css = fs.readFileSync(path.join(ROOT, 'dist/webview/runsTable.css'), 'utf8');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.setContent(
      `<!DOCTYPE html><html><head><style>${css}</style></head><body><div id="root"></div></body></html>`,
    );
    // Strings, not functions: tsx would wrap functions in a helper the page does not have.
    await page.evaluate(
      'window.sent = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m), getState: () => undefined, setState: () => {} });',
    );
    await page.addScriptTag({ content: js });
    const message = JSON.stringify({ type: 'runs', reset: true, runs: rows });
    // From handing the message to the page to the first rows in the DOM (structured clone included,
    // as VS Code's postMessage does).
    const firstDrawMs = (await page.evaluate(`new Promise((resolve) => {
      const msg = JSON.parse(${JSON.stringify(message)});
      const t0 = performance.now();
      window.postMessage(msg, '*');
      const check = () => Number(document.body.dataset.domRows || 0) > 0 && document.body.dataset.runs === String(msg.runs.length)
        ? resolve(performance.now() - t0) : setTimeout(check, 1);
      check();
    })`)) as number;
    const domRows = Number(await page.getAttribute('body', 'data-dom-rows'));
    const sortMs: number[] = [];
    for (const col of ['metrics.val/loss.min', 'params.lr', 'name', 'metrics.train/loss.last', 'duration']) {
      await page.click(`.th[data-col="${col}"]`);
      sortMs.push(Number(await page.getAttribute('body', 'data-refresh-ms')));
    }
    const filterMs: number[] = [];
    for (const f of [
      'params.lr < 1e-3',
      'params.lr < 1e-3 and metrics.val/loss.min < 0.2',
      'sweep-99',
      'status = failed',
      '',
    ]) {
      await page.fill('.filter', f);
      filterMs.push(Number(await page.getAttribute('body', 'data-refresh-ms')));
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
      filterMs,
      scrollFrameMs: median(scroll.frames.slice(5)),
    };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-runsTable-'));
  try {
    const g0 = now();
    await generate(dir);
    const genS = (now() - g0) / 1000;

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

    const page = await pageTimes(rows);
    await series.dispose();
    await store.close();

    const lines = [
      '## Runs table',
      '',
      '`npx tsx bench/runsTable.bench.ts` (in `npm run bench`): ' +
        `${RUNS.toLocaleString('en')} stored runs, 10 params, ${METRICS.length} metrics × ${POINTS.toLocaleString('en')} points ` +
        `(${((RUNS * POINTS * METRICS.length) / 1e6).toFixed(0)}M points; written with RunStore in ${genS.toFixed(0)} s). ` +
        'Page timings in headless Chromium (playwright-core) on the built page with a stand-in for VS Code messaging.',
      '',
      '| What | Median | Target |',
      '| --- | ---: | ---: |',
      `| Store open (writer, meta files), ${RUNS.toLocaleString('en')} runs | ${ms(median(opens))} ms | ≤ 1,000 ms |`,
      `| Series cache open to idle | ${ms(seriesOpenMs)} ms | |`,
      `| Host: rows with last values | ${ms(rowsMs)} ms | |`,
      `| Host: min/max of ${(RUNS * METRICS.length).toLocaleString('en')} series (background, after the first draw) | ${ms(extremesMs)} ms | |`,
      `| Rows message | ${(bytes / 1e6).toFixed(1)} MB | |`,
      `| Page: message → first rows drawn | ${ms(page.firstDrawMs)} ms | ≤ 500 ms |`,
      `| Page: row elements in the DOM | ${page.domRows} | |`,
      `| Page: sort by a column (refresh incl. draw), 5 columns | ${ms(median(page.sortMs))} ms (max ${ms(Math.max(...page.sortMs))}) | ≤ 50 ms |`,
      `| Page: filter (text and expressions), 5 filters | ${ms(median(page.filterMs))} ms (max ${ms(Math.max(...page.filterMs))}) | ≤ 50 ms |`,
      `| Page: scrolling, time per frame (3 rows a frame) | ${ms(page.scrollFrameMs)} ms (${(1000 / page.scrollFrameMs).toFixed(0)} fps) | ≥ 60 fps |`,
      `| Pipeline in Node: sort ${RUNS.toLocaleString('en')} rows by a metric min | ${ms(nodeSort)} ms | |`,
      `| Pipeline in Node: filter by an expression | ${ms(nodeFilter)} ms | |`,
      `| Pipeline in Node: group by lr × seed | ${ms(nodeGroup)} ms | |`,
      `| Group band over ${ids.length.toLocaleString('en')} runs (host, first / warm) | ${ms(bandTimes[0])} / ${ms(median(bandTimes.slice(1)))} ms | ≤ 500 ms |`,
      '',
      `Load average at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (shared with other work). ` +
        'Peers (TensorBoard at 250/1,000 runs, the MLflow UI) were not measured in this run.',
    ];
    console.log(lines.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
