// Shared by bench/runsTable.bench.ts and bench/runs-peers.bench.ts (not a bench itself): the
// runs both write (10 params, 5 metrics × 1,000 points, the same as bench/runs_peers_helper.py
// writes for the peers), and the two pages measured in headless Chromium on the built bundles
// with a stand-in for VS Code's messaging:
// - the runs table: the host's rows message → the first rows drawn;
// - the dashboard with N runs: the host's read of their series (the real SeriesFeed over the real
//   store, as the panel's prefetch does) and its init and series messages (built as the panel
//   builds them) → every chart drawn with a line for every run.
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import type { MetricPoint } from '../src/api/types';
import { RunStore } from '../src/store/runStore';
import { SeriesStore } from '../src/store/series';
import { groupFields } from '../src/ui/dashboard/groupBands';
import { runsPayload } from '../src/ui/dashboard/runInfo';
import { SeriesFeed } from '../src/ui/dashboard/seriesFeed';
import type { ViewsDeps } from '../src/ui/deps';
import type { wireRun } from '../src/ui/runsTable/rows';
import { type DashboardHostMessage, type SeriesData, defaultDashboardState } from '../src/webview/protocol/dashboard';

export const ROOT = path.resolve(__dirname, '..');
export const POINTS = 1000;
export const METRICS = ['train/loss', 'train/acc', 'val/loss', 'val/acc', 'lr'];
export const CHROMIUM = process.env.RUNWATCH_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
/** The built webview bundles (RUNWATCH_BENCH_WEBVIEW: another build's folder, e.g. one made for a profile). */
const WEBVIEW_DIR = process.env.RUNWATCH_BENCH_WEBVIEW ?? path.join(ROOT, 'dist/webview');
const T0 = 1_700_000_000;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const runName = (r: number): string => `run-${String(r).padStart(5, '0')}`;

/** Writes `runs` runs into a new store at `dir` and builds its series cache. */
export async function writeRuns(dir: string, runs: number): Promise<void> {
  const store = await RunStore.open(dir, { sync: false });
  for (let r = 0; r < runs; r++) {
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
    await store.append(runName(r), [
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

// Strings, not functions, for the page: tsx would wrap functions in a helper the page does not have.
const STAND_IN =
  'window.sent = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m), getState: () => undefined, setState: () => {} });';

/** A new page running the built webview `name` under the messaging stand-in, and its load time (blank page → bundle run), in ms. */
export async function openBuiltPage(
  browser: Browser,
  name: 'runsTable' | 'dashboard',
): Promise<{ page: Page; loadMs: number }> {
  const js = fs.readFileSync(path.join(WEBVIEW_DIR, `${name}.js`), 'utf8');
  const css = fs.readFileSync(path.join(WEBVIEW_DIR, `${name}.css`), 'utf8');
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    const l0 = performance.now();
    await page.setContent(
      `<!DOCTYPE html><html><head><style>${css}</style></head><body><div id="root"></div></body></html>`,
    );
    await page.evaluate(STAND_IN);
    await page.addScriptTag({ content: js });
    return { page, loadMs: performance.now() - l0 };
  } catch (err) {
    await page.close();
    throw err;
  }
}

/** The host's rows message (`runs`) posted to a runs table page → the first rows in the DOM, in ms (structured clone included, as VS Code's postMessage does). */
export async function postRows(page: Page, rows: ReturnType<typeof wireRun>[]): Promise<number> {
  const message = JSON.stringify({ type: 'runs', reset: true, runs: rows });
  return (await page.evaluate(`new Promise((resolve) => {
    const msg = JSON.parse(${JSON.stringify(message)});
    const t0 = performance.now();
    window.postMessage(msg, '*');
    const check = () => Number(document.body.dataset.domRows || 0) > 0 && document.body.dataset.runs === String(msg.runs.length)
      ? resolve(performance.now() - t0) : setTimeout(check, 1);
    check();
  })`)) as number;
}

/** The runs table page: its load (blank page → bundle run) and its rows message (the host's `runs`) → the first rows in the DOM, in ms. */
export async function tableFirstDraw(
  browser: Browser,
  rows: ReturnType<typeof wireRun>[],
): Promise<{ loadMs: number; drawMs: number }> {
  const { page, loadMs } = await openBuiltPage(browser, 'runsTable');
  try {
    return { loadMs, drawMs: await postRows(page, rows) };
  } finally {
    await page.close();
  }
}

/** A dashboard opening with N runs, split into the host's part and the page's. */
export interface DashboardDraw {
  /** The page's load: blank page → its bundle run and `ready` posted. */
  loadMs: number;
  /** The host: reading every shown run's series through SeriesFeed (cold cache on the first opening) and the init message. */
  hostMs: number;
  /** Of hostMs, the SeriesFeed read alone. */
  readMs: number;
  /** The page: init and series messages posted → every chart drawn with every run and the next frame painted. */
  pageMs: number;
  /** The page: init and series messages posted → the first chart drawn with every run, to the frame that shows it. */
  firstMs: number;
  /** What was drawn, per chart: runs in its probes, legend items, uPlot series (cursor points). */
  charts: { key: string; runs: number; points: number; legend: number; uplotSeries: number }[];
  /** Size of the series message's arrays. */
  seriesBytes: number;
  /**
   * The floor: plain uPlot in the same page drawing the same lines (per chart a raw and a smoothed
   * line per run, the same size), from its constructors to the next frame painted; the columns made before.
   */
  uplotMs: number;
  /** The floor of firstMs: plain uPlot drawing the first chart's lines, to the frame that shows it. */
  uplotFirstMs: number;
}

/** Typed arrays cross into the page as base64 (untimed), rebuilt there before the clock starts. */
function encode(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Float64Array)
      return { $f64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    if (v instanceof Uint8Array) return { $u8: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    return v;
  });
}

const DECODE = `(text) => JSON.parse(text, (k, v) => {
  if (v && typeof v === 'object' && (v.$f64 !== undefined || v.$u8 !== undefined)) {
    const bin = atob(v.$f64 ?? v.$u8); const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return v.$f64 !== undefined ? new Float64Array(bytes.buffer) : bytes;
  }
  return v;
})`;

/**
 * Opens the built dashboard page with `runIds` shown, as DashboardPanel does: the host reads
 * every shown (run, key) through a fresh SeriesFeed (the panel's prefetch), then posts `init`
 * (state, settings, runsPayload, groupFields) and one `series` message with the cached slices.
 */
export async function dashboardDraw(
  browser: Browser,
  store: RunStore,
  series: SeriesStore,
  runIds: string[],
  profile?: string,
): Promise<DashboardDraw> {
  const opened = await openBuiltPage(browser, 'dashboard');
  const page = opened.page;
  try {
    const r0 = performance.now();
    await page.waitForFunction('window.sent.some((m) => m.type === "ready")', undefined, { polling: 5 });
    const loadMs = opened.loadMs + performance.now() - r0;

    const deps = { store, series, log: { info: () => undefined, warn: (m: string) => console.error(m) } };
    const feed = new SeriesFeed(deps as unknown as Pick<ViewsDeps, 'store' | 'series' | 'log'>);
    const t0 = performance.now();
    const items = runIds.flatMap((runId) => series.keys(runId).map((key) => ({ runId, key })));
    await feed.read(items, 'step');
    const readMs = performance.now() - t0;
    const cached = feed.cached(runIds, 'step');
    const shown = runIds.map((id) => store.getRun(id)).filter((r) => r !== undefined);
    const init: DashboardHostMessage = {
      type: 'init',
      state: { ...defaultDashboardState, runIds },
      settings: { wheelZoom: 'modifier' },
      ...runsPayload(store, runIds),
      groupFields: groupFields(shown),
    };
    const hostMs = performance.now() - t0;
    const keys = new Set(cached.map((s) => s.key)).size;
    let seriesBytes = 0;
    for (const s of cached) seriesBytes += s.x.byteLength + s.y.byteLength;

    await page.evaluate(`window.__decode = ${DECODE}; window.__series = [];`);
    await page.evaluate(`window.__init = window.__decode(${JSON.stringify(encode(init))})`);
    for (let i = 0; i < cached.length; i += 250) {
      const part: SeriesData[] = cached.slice(i, i + 250);
      await page.evaluate(`window.__series.push(...window.__decode(${JSON.stringify(encode(part))}))`);
    }
    // A CPU profile of the page's part (RUNWATCH_BENCH_PROFILE), for finding where its time goes.
    const cdp = profile ? await page.context().newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    const times = (await page.evaluate(`new Promise((resolve) => {
      const runs = ${runIds.length}, keys = ${keys};
      const t0 = performance.now();
      window.__wallT0 = Date.now();
      let first;
      window.postMessage(window.__init, '*');
      window.postMessage({ type: 'series', series: window.__series, sentAt: Date.now() }, '*');
      const drawn = (c) => c.dataset.drawnAt && Object.keys(JSON.parse(c.dataset.points || '{}')).length === runs;
      let done = false;
      // Checked on every change of a chart's probes (a microtask after the draw that set them:
      // polling with timers could miss the frame after a draw while the page's next draw ran first).
      const check = () => {
        if (done) return;
        const charts = Array.from(document.querySelectorAll('.chart'));
        // The first chart: to the animation frame after its draw (its paint follows that frame's callbacks).
        if (first === undefined && charts.some(drawn)) {
          first = null;
          requestAnimationFrame(() => { first = performance.now() - t0; });
        }
        // Every chart: drawn, then the next frame painted (a task after its rAF runs after the paint).
        if (charts.length === keys && charts.every(drawn)) {
          done = true;
          observer.disconnect();
          requestAnimationFrame(() => setTimeout(() => resolve({ first, all: performance.now() - t0 }), 0));
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-drawn-at', 'data-points'] });
      check();
    })`)) as { first: number; all: number };
    if (cdp && profile) {
      const { profile: p } = await cdp.send('Profiler.stop');
      fs.writeFileSync(profile, JSON.stringify(p));
      await cdp.detach();
    }
    if (process.env.RUNWATCH_BENCH_DEBUG)
      console.error(
        'draws (ms after posting):',
        await page.evaluate(
          `window.runwatchDraws.map((d) => d.key.split('/').pop() + '@' + (d.drawnAt - window.__wallT0)).join(' ')`,
        ),
      );
    const pageMs = times.all;
    const firstMs = times.first;
    const width = (await page.evaluate(`document.querySelector('.chart .plot').clientWidth`)) as number;
    await page.addScriptTag({ path: path.join(ROOT, 'node_modules/uplot/dist/uPlot.iife.min.js') });
    const uplotMs = (await page.evaluate(`new Promise((resolve) => {
      const byKey = new Map();
      for (const s of window.__series) { if (!byKey.has(s.key)) byKey.set(s.key, []); byKey.get(s.key).push(s); }
      const smooth = (y) => { const out = new Array(y.length); let acc = 0, wn = 1;
        for (let i = 0; i < y.length; i++) { acc = acc * 0.6 + 0.4 * y[i]; wn *= 0.6; out[i] = acc / (1 - wn); } return out; };
      const plots = [...byKey.values()].map((list) => {
        const cols = [Array.from(list[0].x)];
        const series = [{}];
        for (const s of list) {
          cols.push(Array.from(s.y), smooth(s.y));
          series.push({ stroke: '#3b8eea', width: 1, alpha: 0.25, points: { show: false } }, { stroke: '#3b8eea', width: 1.5, points: { show: false } });
        }
        const box = document.createElement('div'); document.body.append(box);
        return { cols, series, box };
      });
      const t0 = performance.now();
      for (const p of plots) new uPlot({ width: ${width}, height: 220, series: p.series, legend: { show: false } }, p.cols, p.box);
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
    })`)) as number;
    // The first chart alone, on a fresh box, to the animation frame after it (as firstMs).
    const uplotFirstMs = (await page.evaluate(`new Promise((resolve) => {
      const list = window.__series.filter((s) => s.key === window.__series[0].key);
      const cols = [Array.from(list[0].x)];
      const series = [{}];
      for (const s of list) {
        let acc = 0, wn = 1; const sm = Array.from(s.y, (y) => { acc = acc * 0.6 + 0.4 * y; wn *= 0.6; return acc / (1 - wn); });
        cols.push(Array.from(s.y), sm);
        series.push({ stroke: '#3b8eea', width: 1, alpha: 0.25, points: { show: false } }, { stroke: '#3b8eea', width: 1.5, points: { show: false } });
      }
      const box = document.createElement('div'); document.body.prepend(box);
      const t0 = performance.now();
      new uPlot({ width: ${width}, height: 220, series, legend: { show: false } }, cols, box);
      requestAnimationFrame(() => resolve(performance.now() - t0));
    })`)) as number;
    const charts = (await page.evaluate(`Array.from(document.querySelectorAll('.chart'), (c) => {
      const pts = JSON.parse(c.dataset.points || '{}');
      return { key: c.dataset.key, runs: Object.keys(pts).length, points: Object.values(pts).reduce((a, b) => a + b, 0),
        legend: c.querySelectorAll('.legend-item').length, uplotSeries: c.querySelectorAll('.u-cursor-pt').length };
    })`)) as DashboardDraw['charts'];
    return { loadMs, hostMs, readMs, pageMs, firstMs, charts, seriesBytes, uplotMs, uplotFirstMs };
  } finally {
    await page.close();
  }
}

/** One line saying what every chart drew (all the same: "5 charts × 100 runs (…)"), or each chart's. */
export function drawnSummary(d: DashboardDraw): string {
  const c = d.charts;
  const same = c.every((x) => x.runs === c[0].runs && x.legend === c[0].legend && x.uplotSeries === c[0].uplotSeries);
  const one = (x: DashboardDraw['charts'][number]) =>
    `${x.runs} runs in its probes, ${x.legend} legend items, ${x.uplotSeries} uPlot series (raw and smoothed), ` +
    `${x.points.toLocaleString('en')} points`;
  return same && c.length ? `${c.length} charts, each: ${one(c[0])}` : c.map((x) => `${x.key}: ${one(x)}`).join('; ');
}
