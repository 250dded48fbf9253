// The dashboard's speed as a person feels it, in a real VS Code (code-server with the packaged
// .vsix) driven by Chromium, printed as one Markdown section:
// - click → drawn: a stored 1M and a 10M point run opened from the Runs tree with no dashboard
//   open, cold (first opening in this extension host) and warm (median of the later openings),
//   split into click → placeholder parsed (VS Code creating the webview) and the rest (ours);
// - click → drawn with the dashboard already open: the run goes into the live page;
// - tab re-show → on screen: the dashboard hidden behind another editor, then its tab clicked,
//   by default (the page kept alive) and with runwatch.dashboard.retainWhenHidden off (reload);
// - the peer: raw uPlot drawing the same number of points in the same Chromium.
// Every time starts at the pointerdown the workbench page saw (not when Playwright began its click).
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

/** One opening, in ms from the click (pointerdown). */
interface Opening {
  /** VS Code's webview frame (pre/index.html) started loading. */
  outer: number;
  /** The placeholder page VS Code loads into the inner frame: navigation start (our page's time origin), worker started (a new worker), fetch asked, response started, ended, parsed. */
  doc: number;
  phWorker: number;
  phFetch: number;
  phStart: number;
  phEnd: number;
  phParsed: number;
  ready: number;
  drawn: number;
  /** The first series message received by the page, and when the host posted it (host clock, same machine). */
  series: number;
  sent: number;
  /** The webview's new service worker (Chromium's own record, over the DevTools protocol): registered, installed, activated, running. */
  swNew: number;
  swInstalled: number;
  swActivated: number;
  swRunning: number;
}

/** Service worker versions as Chromium reports them, with the epoch ms each report came. */
interface SwEvent {
  at: number;
  versionId: string;
  scriptURL: string;
  status: string;
  runningStatus: string;
}
const swEvents = new WeakMap<VsCode, SwEvent[]>();

async function watchServiceWorkers(vs: VsCode): Promise<void> {
  const events: SwEvent[] = [];
  swEvents.set(vs, events);
  const cdp = await vs.page.context().newCDPSession(vs.page);
  cdp.on('ServiceWorker.workerVersionUpdated', (e: { versions: Omit<SwEvent, 'at'>[] }) => {
    const at = Date.now();
    for (const v of e.versions) events.push({ at, ...v });
  });
  await cdp.send('ServiceWorker.enable');
}

/** When the service worker first seen after `since` reached each state (ms from `since`). */
function newWorker(vs: VsCode, since: number): Pick<Opening, 'swNew' | 'swInstalled' | 'swActivated' | 'swRunning'> {
  const events = (swEvents.get(vs) ?? []).filter((e) => e.at >= since);
  const id = events.find((e) => e.status === 'new' || e.status === 'installing')?.versionId;
  const when = (pred: (e: SwEvent) => boolean) =>
    (events.find((e) => e.versionId === id && pred(e))?.at ?? NaN) - since;
  return {
    swNew: when(() => true),
    swInstalled: when((e) => e.status === 'installed' || e.status === 'activating' || e.status === 'activated'),
    swActivated: when((e) => e.status === 'activated'),
    swRunning: when((e) => e.runningStatus === 'running'),
  };
}

async function drawnAfter(vs: VsCode, since: number): Promise<Opening> {
  return waitFor<Opening>(
    'a dashboard page drawn',
    async () => {
      for (const f of vs.page.frames()) {
        if (f.isDetached()) continue;
        const d = await f
          .evaluate<(string | undefined)[] | null>(
            'document.body && [document.body.dataset.readyAt, document.body.dataset.firstDrawAt, document.body.dataset.loadTiming, document.body.dataset.firstSeriesMs, String((globalThis.runwatchDraws || []).find((d) => d.sentAt)?.sentAt)]',
          )
          .catch(() => undefined);
        if (d && d[0] && d[1] && Number(d[1]) >= since) {
          const t = JSON.parse(d[2] ?? '{}') as LoadTiming;
          // VS Code's frame around ours: when it started loading.
          const outer = (await f
            .parentFrame()
            ?.evaluate('performance.timeOrigin')
            .catch(() => undefined)) as number | undefined;
          const ms = (x: number | undefined) => (x ?? NaN) - since;
          return {
            outer: ms(outer),
            doc: t.documentStart - since,
            phWorker: ms(t.placeholderWorkerStart),
            phFetch: ms(t.placeholderFetchStart),
            phStart: ms(t.placeholderResponseStart),
            phEnd: ms(t.placeholderResponseEnd),
            phParsed: ms(t.placeholderParsed),
            ready: Number(d[0]) - since,
            drawn: Number(d[1]) - since,
            series: Number(d[0]) + Number(d[3] ?? NaN) - since,
            sent: Number(d[4] ?? NaN) - since,
            ...newWorker(vs, since),
          };
        }
      }
      return undefined;
    },
    300_000,
    20,
  );
}

/** Records, in the workbench page, the epoch ms of each pointerdown (the person's click). */
async function watchClicks(vs: VsCode): Promise<void> {
  await vs.page.evaluate(
    "window.__rwDown = 0; document.addEventListener('pointerdown', () => { window.__rwDown = Date.now(); }, true)",
  );
}

/** Clicks `target` and returns the epoch ms of its pointerdown in the workbench page. */
async function clickAt(vs: VsCode, target: ReturnType<VsCode['page']['locator']>): Promise<number> {
  await vs.page.evaluate('window.__rwDown = 0');
  const before = Date.now();
  await target.click();
  const down = (await vs.page.evaluate('window.__rwDown')) as number;
  return down || before;
}

function runRow(vs: VsCode, name: string) {
  return vs.page.locator('.part.sidebar .monaco-list-row', { hasText: name }).first();
}

async function clickRun(vs: VsCode, name: string): Promise<Opening> {
  await vs.runCommand('View: Close All Editors');
  const row = runRow(vs, name);
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  return drawnAfter(vs, await clickAt(vs, row));
}

/**
 * With the dashboard open on `openName`, `addName` clicked in the Runs tree: ms until the
 * live page has drawn the added run (no new webview).
 */
async function clickIntoOpen(vs: VsCode, openName: string, addName: string, addId: string): Promise<number> {
  await clickRun(vs, openName);
  await new Promise((r) => setTimeout(r, 500));
  const page = await vs.webviewFrame('#root .chart canvas', 10_000);
  const at = await clickAt(vs, runRow(vs, addName));
  const drawnAt = await waitFor(
    `${addName} drawn in the open dashboard`,
    async () =>
      (await page.evaluate(
        `(globalThis.runwatchDraws || []).find((d) => d.drawnAt >= ${at} && ${JSON.stringify(addId)} in d.lastStep)?.drawnAt`,
      )) as number | undefined,
    120_000,
    10,
  );
  if (!page.isDetached() && (await page.$('#root .chart canvas')) === null) throw new Error('the open page went away');
  return drawnAt - at;
}

async function reshow(vs: VsCode): Promise<Opening> {
  await vs.runCommand('File: New Untitled Text File');
  await new Promise((r) => setTimeout(r, 1000));
  // The dashboard's tab, clicked as a person would.
  const tab = vs.page.locator('.tabs-container .tab', { hasText: 'Runwatch Dashboard' }).first();
  return drawnAfter(vs, await clickAt(vs, tab));
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

/** A re-show of the kept page: when its frame was on screen, and what our page did meanwhile. */
interface Reshow {
  /** ms from the tab's pointerdown to the first workbench frame with the dashboard's iframe visible. */
  visible: number;
  /** ms to the workbench frame after that (the one that is surely on screen). */
  painted: number;
  /** Charts our page drew again after the click (nothing should need a redraw). */
  redraws: number;
  /** The previous method: ms from before Playwright's click until its polling saw the frame visible. */
  polled: number;
}

/** Tab click → the kept page on screen again (nothing reloads: the webview frame is shown). */
async function reshowRetained(vs: VsCode): Promise<Reshow> {
  await vs.runCommand('File: New Untitled Text File');
  const frame = vs.page.locator('iframe.webview').first();
  await waitFor('the dashboard hidden', async () => ((await frame.isVisible()) ? undefined : true), 30_000, 20);
  await new Promise((r) => setTimeout(r, 1000));
  const page = await vs.webviewFrame('#root .chart canvas', 10_000);
  // In the workbench page, from the pointerdown on: each animation frame checks the iframe.
  await vs.page.evaluate(`(() => {
    window.__rwShown = undefined;
    const seen = () => [...document.querySelectorAll('iframe.webview')].some((f) => {
      const r = f.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && f.checkVisibility({ visibilityProperty: true, opacityProperty: true });
    });
    document.addEventListener('pointerdown', () => {
      const tick = () => {
        if (!seen()) return requestAnimationFrame(tick);
        const visible = Date.now();
        requestAnimationFrame(() => { window.__rwShown = [visible, Date.now()]; });
      };
      requestAnimationFrame(tick);
    }, { capture: true, once: true });
  })()`);
  const tab = vs.page.locator('.tabs-container .tab', { hasText: 'Runwatch Dashboard' }).first();
  const before = Date.now();
  const at = await clickAt(vs, tab);
  // The previous method: from before Playwright's click until Playwright sees the frame visible.
  const frameEl = vs.page.locator('iframe.webview').first();
  await waitFor('the frame visible', async () => ((await frameEl.isVisible()) ? true : undefined), 30_000, 5);
  const polled = Date.now() - before;
  const [visible, painted] = await waitFor(
    'the dashboard shown',
    async () => (await vs.page.evaluate('window.__rwShown')) as [number, number] | undefined,
    30_000,
    10,
  );
  // The same page, still drawn (no reload): its charts are there.
  if (page.isDetached() || !(await page.$('.chart canvas'))) throw new Error('the kept dashboard lost its charts');
  await new Promise((r) => setTimeout(r, 300));
  const redraws = (await page.evaluate(
    `(globalThis.runwatchDraws || []).filter((d) => d.drawnAt >= ${at}).length`,
  )) as number;
  return { visible: visible - at, painted: painted - at, redraws, polled };
}

async function seeded(workspace: string): Promise<void> {
  const storeDir = path.join(workspace, '.runwatch');
  const cached = SEED_CACHE && path.join(SEED_CACHE, SIZES.join('-'));
  if (cached && fs.existsSync(cached)) {
    fs.cpSync(cached, storeDir, { recursive: true });
    return;
  }
  process.stderr.write(`seeding runs of ${SIZES.join(', ')} points...\n`);
  await seed(storeDir);
  if (cached) fs.cpSync(storeDir, cached, { recursive: true });
}

async function started(name: string, workspace: string, settings?: Record<string, unknown>): Promise<VsCode> {
  const vs = await VsCode.start({ name, workspace, settings });
  await vs.page
    .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
    .first()
    .waitFor({ timeout: 180_000 });
  await vs.page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
  await watchClicks(vs);
  await watchServiceWorkers(vs);
  return vs;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

const sizeName = (n: number) => `ux-${n / 1e6}M`;

async function main(): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-bench-ux-'));
  await seeded(workspace);
  const cold: Record<number, Opening[]> = {};
  const warm: Record<number, Opening[]> = {};
  const into: Record<number, number[]> = {};
  const reKept: Reshow[] = [];
  const reReload: Opening[] = [];
  const raw: Record<number, number[]> = {};
  // Cold is the first opening in a new VS Code: each size gets REPS of them, the first size's
  // first with the defaults, the others' with the page discarded when hidden (the re-show peer).
  const [first, ...others] = SIZES;
  try {
    const vs = await started('bench-ux', workspace);
    try {
      cold[first] = [await clickRun(vs, sizeName(first))];
      for (let r = 1; r < REPS; r++) for (const n of SIZES) (warm[n] ??= []).push(await clickRun(vs, sizeName(n)));
      // A run clicked while the dashboard shows another: added to the live page.
      for (let r = 0; r < REPS; r++)
        for (const n of SIZES) {
          const other = SIZES.find((m) => m !== n) ?? n;
          (into[n] ??= []).push(await clickIntoOpen(vs, sizeName(other), sizeName(n), `ux-${n}`));
        }
      await clickRun(vs, sizeName(first));
      for (let r = 0; r < REPS; r++) reKept.push(await reshowRetained(vs));
      for (let r = 0; r < REPS; r++) for (const n of SIZES) (raw[n] ??= []).push(await rawUplot(vs, n));
    } catch (err) {
      await vs.screenshot('bench-dashboard-ux-failed');
      throw err;
    } finally {
      await vs.stop();
    }
    const off = await started('bench-ux-reload', workspace, { 'runwatch.dashboard.retainWhenHidden': false });
    try {
      // Cold for the other sizes: the first opening in this VS Code.
      for (const n of others) cold[n] = [await clickRun(off, sizeName(n))];
      await clickRun(off, sizeName(first));
      for (let r = 0; r < REPS; r++) reReload.push(await reshow(off));
    } catch (err) {
      await off.screenshot('bench-dashboard-ux-reload-failed');
      throw err;
    } finally {
      await off.stop();
    }
    for (let r = 1; r < REPS; r++)
      for (const n of SIZES) {
        const fresh = await started('bench-ux-cold', workspace);
        try {
          cold[n].push(await clickRun(fresh, sizeName(n)));
        } finally {
          await fresh.stop();
        }
      }
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  process.stderr.write(
    JSON.stringify({ cold, warm, into, reKept, reReload, raw, loadavg: os.loadavg() }, (_k, v: unknown) =>
      typeof v === 'number' ? Math.round(v) : v,
    ) + '\n',
  );
  process.stdout.write(report({ cold, warm, into, reKept, reReload, raw }).join('\n') + '\n');
}

interface Results {
  cold: Record<number, Opening[]>;
  warm: Record<number, Opening[]>;
  into: Record<number, number[]>;
  reKept: Reshow[];
  reReload: Opening[];
  raw: Record<number, number[]>;
}

function report({ cold, warm, into, reKept, reReload, raw }: Results): string[] {
  // VS Code's part: from the click until the placeholder page it loads into the frame is
  // parsed (ours is written into it then); ours: from then to the first chart drawn.
  const vsPart = (o: Opening) => o.phParsed;
  const ours = (o: Opening) => o.drawn - o.phParsed;
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
  const out: string[] = [
    '## Dashboard: click → drawn, tab re-show → drawn',
    '',
    '`npm run bench -- dashboard-ux` (bench/dashboard-ux.bench.ts: code-server with the packaged .vsix, Chromium)',
    '',
    'Times start at the pointerdown the workbench page saw. **No dashboard open**: a stored run clicked in the Runs tree, ' +
      "so VS Code creates the webview. Split where the page's probes can see it: *VS Code* is from the click until the " +
      "empty placeholder page VS Code loads into the webview's frame has been parsed (our page is written into it then); " +
      '*Runwatch* is from then to the first chart drawn (our page runs and posts `ready`, the series the host read while ' +
      'VS Code created the panel arrive, uPlot draws). Cold: the first opening in a new VS Code (so a new extension host), ' +
      `median of ${REPS} per size; warm: median of ${REPS - 1} later openings in the first VS Code (each a new webview: ` +
      'the editors were closed in between). **Dashboard open**: the ' +
      'run clicked while the dashboard shows the other run, until the live page has drawn it (no new webview; the ' +
      `host's series cache warm), median of ${REPS}. Peer: raw uPlot drawing all the points in the same Chromium (data ` +
      'already in memory). The previous run of this bench (timed from before Playwright began its click, and its 10M ' +
      '"cold" was the second webview of its VS Code): 825 ms (1M) and 1,517 ms (10M) cold, 1,354 and 1,685 ms warm.',
    '',
    '| series | no dashboard: cold (ms) | VS Code / Runwatch | no dashboard: warm (ms) | VS Code / Runwatch | ' +
      'dashboard open (ms) | raw uPlot (ms) | cold ÷ raw uPlot | target (≤ 300 cold) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const med = (list: Opening[], f: (o: Opening) => number) => median(list.map(f));
  for (const n of SIZES) {
    const c = med(cold[n], (o) => o.drawn);
    out.push(
      `| ${n / 1e6}M points | ${f0(c)} | ${f0(med(cold[n], vsPart))} / ${f0(med(cold[n], ours))} | ` +
        `${f0(med(warm[n], (o) => o.drawn))} | ${f0(med(warm[n], vsPart))} / ${f0(med(warm[n], ours))} | ` +
        `${f0(median(into[n]))} | ${f0(median(raw[n]))} | ${(c / median(raw[n])).toFixed(1)}× | ` +
        `${c <= 300 ? 'met' : 'NOT met'} |`,
    );
  }
  // Where the time goes: the first webview of a VS Code, and every later one (the re-shows
  // with the page discarded are new webviews too).
  const later = [...SIZES.flatMap((n) => warm[n]), ...reReload];
  const m = (list: Opening[], f: (o: Opening) => number) => median(list.map(f));
  const stages = (list: Opening[]) =>
    [
      (o: Opening) => o.outer,
      (o: Opening) => o.doc - o.outer,
      (o: Opening) => o.phParsed - o.doc,
      (o: Opening) => o.ready - o.phParsed,
      (o: Opening) => o.series - o.ready,
      (o: Opening) => o.drawn - o.series,
      (o: Opening) => o.drawn,
      (o: Opening) => o.swActivated - o.swInstalled,
      (o: Opening) => o.sent,
    ]
      .map((f) => f0(m(list, f)))
      .join(' | ');
  const waiting = m(later, (o) => o.swActivated - o.swInstalled);
  out.push(
    '',
    "Where the time goes from click to drawn (medians, ms; from the navigation timing of VS Code's webview frame and " +
      "of the placeholder page; the worker's wait from Chromium's service worker states over the DevTools protocol, " +
      "which arrive some tens of ms late, so only their difference is used; the host's post time from the `sentAt` it " +
      'writes into each series message):',
    '',
    "| openings | click → VS Code's webview frame starts | → placeholder navigation starts | " +
      '→ placeholder fetched through the worker and parsed | → our `ready` posted | → first series in the page | ' +
      '→ first chart drawn | total | of which the new worker waited, installed → activated | the host posted the ' +
      'first series (ms from click) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...SIZES.map((n) => `| first webview of a VS Code, ${n / 1e6}M (${cold[n].length}) | ${stages(cold[n])} |`),
    `| later webviews (${later.length}) | ${stages(later)} |`,
    '',
    "Where VS Code's second goes: VS Code for the web registers a service worker for every new webview " +
      "(`service-worker.js?…&id=<webview id>`, a new script URL). code-server sets VS Code's `webviewEndpoint` to a " +
      "path on its own origin, so every webview's worker has the same scope and this is an update of one registration: " +
      'the new worker is installed quickly, then Chromium keeps it ' +
      `waiting (median ${f0(waiting)} ms on the later webviews here, although it calls \`skipWaiting()\`) before it ` +
      "activates it in place of the closed webview's worker; the webview's inner frame loads an empty placeholder page " +
      'through the worker, and that navigation waits for the activation. Our page is written into the placeholder ' +
      "once it is parsed, so nothing in the extension can start earlier: the webview's id, its worker and its " +
      "placeholder are VS Code's. The first webview of a VS Code has no earlier worker to replace, so it is not kept " +
      'waiting (each VS Code here runs in a new browser profile; a browser that kept the registration of an earlier ' +
      'session was not measured). Opening a dashboard ahead of time would hide the wait, but only by opening an editor tab the person ' +
      'did not ask for, so Runwatch does not. What is ours is done: the bundle and stylesheet are inlined (no resource ' +
      'fetch through the worker), the host reads the series while VS Code creates the panel and posts them with ' +
      "`init` without waiting for the page's `ready` (VS Code holds them until the page has loaded), a dashboard already " +
      'open takes a clicked run into its live page, and a hidden dashboard keeps its page (the default).',
  );
  const reDrawn = median(reReload.map((r) => r.drawn));
  const kept = median(reKept.map((r) => r.painted));
  out.push(
    '',
    'Tab re-show: the dashboard hidden behind another editor, then its tab clicked. By default ' +
      '(`runwatch.dashboard.retainWhenHidden` on) the page stays alive while hidden: the time is until the workbench ' +
      "has painted a frame with the dashboard's iframe visible (a frame after the first one that shows it), and our " +
      'page draws nothing again. With the setting off VS Code discards the page while hidden and reloads it on show; ' +
      'the host then posts the series it sent last from its cache (no store read). The previous run of this bench: ' +
      "1,809 ms by default (the page reloaded then) and 324 ms with the page kept, timed from before Playwright's click " +
      'until its polling saw the frame visible (that method is the last column, measured again here).',
    '',
    '| re-show | tab click → on screen, drawn (ms) | VS Code / Runwatch | charts redrawn | target (≤ 300) | ' +
      "previous method: Playwright's click → it sees the frame (ms) |",
    '|---|---:|---:|---:|---|---:|',
    `| default: page kept (${REPS}) | ${f0(kept)} | ${f0(kept)} / 0 | ${median(reKept.map((r) => r.redraws))} | ` +
      `${kept <= 300 ? 'met' : 'NOT met'} | ${f0(median(reKept.map((r) => r.polled)))} |`,
    `| retainWhenHidden off: page reloads (${REPS}) | ${f0(reDrawn)} | ${f0(median(reReload.map(vsPart)))} / ` +
      `${f0(median(reReload.map(ours)))} | all | ${reDrawn <= 300 ? 'met' : 'NOT met'} | – |`,
  );
  out.push('', `_Load average at the end: ${load}._`);
  return out;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
