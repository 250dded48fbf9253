// Runwatch and its many-runs peers in one run, on the same runs (10 params, 5 metrics × 1,000
// points; bench/runsBench.ts and bench/runs_peers_helper.py write the same values), in headless
// Chromium (playwright-core), printed as one Markdown section:
// - Runwatch at 250 and 1,000 runs: its store written and opened, the runs table's first draw and
//   the dashboard with every run shown, on the built pages (bench/runsBench.ts);
// - `tensorboard --logdir` over the runs written as event files (tensorboardX, 1,000 points a
//   metric), at 250 and 1,000 runs: from navigating to its scalars dashboard until the run
//   selector lists every run and the first chart has drawn a line for every run;
// - the MLflow UI of a real `mlflow server` (SQLite store) holding the same runs: from navigating
//   to the experiment's runs page until its table shows rows and its count, then until every run is
//   loaded (clicking "Load more" as a person would).
// Then one table of ratios. Runwatch at 10,000 runs: bench/runsTable.bench.ts.
//
// Rerun: npm run bench -- runs-peers
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { RunStore } from '../src/store/runStore';
import { SeriesStore } from '../src/store/series';
import { runColors } from '../src/ui/dashboard/runColors';
import { MetricExtremes, wireRun } from '../src/ui/runsTable/rows';
import { type DashboardDraw, dashboardDraw, drawnSummary, tableFirstDraw, writeRuns } from './runsBench';
import { freePort } from './freePort';

const ROOT = path.resolve(__dirname, '..');
const BIN = process.env.RUNWATCH_BENCH_BIN ?? path.join(ROOT, '.vscode-test/venv-test/bin');
const CHROMIUM = process.env.RUNWATCH_CHROMIUM ?? '/usr/bin/chromium';
const HELPER = path.join(__dirname, 'runs_peers_helper.py');
const SIZES = (process.env.RUNS_PEERS_SIZES ?? '250,1000').split(',').map(Number);
const REPS = Number(process.env.RUNS_PEERS_REPS ?? 3);
const TB_POINTS = 1000;
const METRIC_COUNT = 5;
// Logging 5M points through MLflow's store took ~0.3 s a run here; its runs table shows only the
// latest values, so fewer points a metric change nothing it draws.
const MLFLOW_POINTS = Number(process.env.RUNS_PEERS_MLFLOW_POINTS ?? 100);
/** Past this a page counts as not having shown the runs. */
const PAGE_LIMIT_MS = Number(process.env.RUNS_PEERS_PAGE_LIMIT_MS ?? 60_000);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sec = (ms: number): string =>
  ms >= PAGE_LIMIT_MS ? `> ${PAGE_LIMIT_MS / 1000} s` : `${(ms / 1000).toFixed(2)} s`;
const fmtN = (n: number): string => n.toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(body) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(10_000, () => req.destroy());
  });
}

function helper(args: string[]): { seconds: number; experiment?: string } {
  const r = spawnSync(path.join(BIN, 'python'), [HELPER, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`runs_peers_helper.py ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; experiment?: string };
}

interface Server {
  proc: ChildProcess;
  url: string;
  log: string;
}

async function startServer(exe: string, args: (port: number) => string[], cwd: string, name: string): Promise<Server> {
  const port = await freePort();
  const log = path.join(cwd, `${name}.log`);
  const proc = spawn(path.join(BIN, exe), args(port), {
    cwd,
    detached: true,
    stdio: ['ignore', fs.openSync(log, 'w'), fs.openSync(log, 'a')],
    env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
  });
  return { proc, url: `http://127.0.0.1:${port}`, log };
}

function stopServer(s: Server): void {
  // Started detached: its pid is its process group (uvicorn and gunicorn start workers).
  if (s.proc.pid && s.proc.exitCode === null) {
    try {
      process.kill(-s.proc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Polls `check` until it returns a value, or throws with the server's log after `limitMs`. */
async function until<T>(what: string, s: Server, limitMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline || s.proc.exitCode !== null)
      throw new Error(`${what} not reached: ${fs.readFileSync(s.log, 'utf8').slice(-2000)}`);
    await sleep(250);
  }
}

/** Polls a condition in the page; resolves to ms since `t0`, or PAGE_LIMIT_MS if never met. */
async function pageUntil(page: Page, t0: number, probe: () => Promise<boolean>): Promise<number> {
  while (performance.now() - t0 < PAGE_LIMIT_MS) {
    if (await probe().catch(() => false)) return performance.now() - t0;
    await sleep(50);
  }
  return PAGE_LIMIT_MS;
}

interface TbResult {
  runs: number;
  loadMs: number;
  /** Navigation → the run selector lists every run. */
  selector: number[];
  /** Lines the first chart had drawn then, without a click (TensorBoard selects no runs past 40). */
  drawnBefore: number;
  /** "Toggle all runs" clicked → the first chart has drawn a line for every run. */
  chart: number[];
  /** Navigation → every run drawn, the click included. */
  total: number[];
}

// Playwright's CSS selectors pierce TensorBoard's (open) shadow roots. A chart draws two paths a
// run (raw and smoothed, at its default smoothing); a path that has a `d` has been drawn.
const TB_RUN_BOXES = 'tf-multi-checkbox paper-checkbox';
type PathEl = { getAttribute(name: string): string | null };
const TB_DRAWN = (els: PathEl[]): number => els.filter((e) => (e.getAttribute('d') ?? '').length > 10).length;
const tbRunsDrawn = async (page: Page): Promise<number> =>
  (await page.locator('vz-line-chart2').first().locator('path.line').evaluateAll(TB_DRAWN)) / 2;

async function tensorboard(browser: Browser, logdir: string, runs: number, tmp: string): Promise<TbResult> {
  const t = performance.now();
  const s = await startServer(
    'tensorboard',
    (port) => ['--logdir', logdir, '--host', '127.0.0.1', '--port', String(port)],
    tmp,
    `tb-${runs}`,
  );
  try {
    // Its backend loads the folder in the background; wait until every run's tags are known.
    await until(`tensorboard listing ${runs} runs`, s, 600_000, async () => {
      const tags = (await getJson(`${s.url}/data/plugin/scalars/tags`)) as Record<string, unknown> | undefined;
      return tags && Object.keys(tags).length >= runs ? true : undefined;
    });
    const loadMs = performance.now() - t;
    const r: TbResult = { runs, loadMs, selector: [], drawnBefore: 0, chart: [], total: [] };
    for (let rep = 0; rep < REPS; rep++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${s.url}/#scalars`);
      const listed = await pageUntil(page, t0, async () => (await page.locator(TB_RUN_BOXES).count()) >= runs);
      r.selector.push(listed);
      // Let it settle as a person reading the page would, then see what it drew on its own.
      await page
        .locator('vz-line-chart2')
        .first()
        .waitFor({ timeout: PAGE_LIMIT_MS })
        .catch(() => undefined);
      await sleep(1000);
      r.drawnBefore = await tbRunsDrawn(page).catch(() => 0);
      if (r.drawnBefore < runs) {
        const t1 = performance.now();
        await page
          .getByText(/toggle all runs/i)
          .first()
          .click();
        r.chart.push(await pageUntil(page, t1, async () => (await tbRunsDrawn(page)) >= runs));
      } else r.chart.push(0);
      r.total.push(performance.now() - t0 - 1000);
      await context.close();
    }
    return r;
  } finally {
    stopServer(s);
  }
}

interface MlResult {
  runs: number;
  firstRows: number[];
  countText: string;
  all: number[];
}

async function mlflowUi(browser: Browser, s: Server, experiment: string, runs: number): Promise<MlResult> {
  const firstRows: number[] = [];
  const all: number[] = [];
  let countText = '';
  const newest = `run-${String(runs - 1).padStart(5, '0')}`;
  const oldest = 'run-00000';
  for (let rep = 0; rep < REPS; rep++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(`${s.url}/#/experiments/${experiment}/runs`);
    const count = page.getByText(/matching runs|runs? shown|of \d+/).first();
    firstRows.push(await pageUntil(page, t0, async () => (await page.getByText(newest, { exact: true }).count()) > 0));
    countText = ((await count.textContent({ timeout: 5000 }).catch(() => '')) ?? '').trim();
    // The table loads a page of runs at a time: what a person does to see them all.
    all.push(
      await pageUntil(page, t0, async () => {
        if ((await page.getByText(oldest, { exact: true }).count()) > 0) return true;
        const more = page.getByRole('button', { name: /load more/i });
        if (await more.count()) await more.first().click({ timeout: 2000 });
        else await page.mouse.wheel(0, 20_000);
        return false;
      }),
    );
    await context.close();
  }
  return { runs, firstRows, countText, all };
}

interface RwResult {
  runs: number;
  writeS: number;
  openMs: number;
  /** Table: page load; rows message → first rows drawn (ms, per opening). */
  tableLoad: number[];
  table: number[];
  /** Dashboard with every run shown, per opening (the first on a cold series cache). */
  dash: DashboardDraw[];
}

/** Runwatch on the same runs: a store of `runs` runs, its table and its dashboard of every run. */
async function runwatch(browser: Browser, tmp: string, runs: number): Promise<RwResult> {
  const dir = path.join(tmp, `rw-${runs}`);
  const w0 = performance.now();
  await writeRuns(dir, runs);
  const writeS = (performance.now() - w0) / 1000;
  const o0 = performance.now();
  const store = await RunStore.open(dir, { sync: false });
  const series = SeriesStore.open(store);
  await series.whenIdle();
  const openMs = performance.now() - o0;
  try {
    const all = store.listRuns();
    const extremes = new MetricExtremes(series);
    // The rows as the table panel sends them first (last values now, min/max filled in later).
    const rows = all.map((r) => wireRun(r, series, extremes, runColors.colorOf(r.runId)));
    const r: RwResult = { runs, writeS, openMs, tableLoad: [], table: [], dash: [] };
    for (let rep = 0; rep < REPS; rep++) {
      const t = await tableFirstDraw(browser, rows);
      r.tableLoad.push(t.loadMs);
      r.table.push(t.drawMs);
    }
    const ids = all.map((x) => x.runId);
    for (let rep = 0; rep < REPS; rep++) r.dash.push(await dashboardDraw(browser, store, series, ids));
    return r;
  } finally {
    await series.dispose();
    await store.close();
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bench-runs-peers-'));
  const maxRuns = Math.max(...SIZES);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-sync'],
  });
  let mlServer: Server | undefined;
  try {
    const rw: RwResult[] = [];
    for (const n of SIZES) rw.push(await runwatch(browser, tmp, n));

    const all = path.join(tmp, `tb-${maxRuns}`);
    const tbWrite = helper(['tb', all, String(maxRuns), String(TB_POINTS)]);
    const tb: TbResult[] = [];
    for (const n of SIZES) {
      let dir = all;
      if (n !== maxRuns) {
        // The first n runs of the same folder, hard-linked (no second write).
        dir = path.join(tmp, `tb-${n}`);
        fs.mkdirSync(dir);
        for (let r = 0; r < n; r++) {
          const name = `run-${String(r).padStart(5, '0')}`;
          fs.mkdirSync(path.join(dir, name));
          for (const f of fs.readdirSync(path.join(all, name)))
            fs.linkSync(path.join(all, name, f), path.join(dir, name, f));
        }
      }
      tb.push(await tensorboard(browser, dir, n, tmp));
    }

    const db = `sqlite:///${path.join(tmp, 'mlflow.db')}`;
    const mlWrite = SIZES.map((n) => ({ n, ...helper(['mlflow', db, String(n), String(MLFLOW_POINTS)]) }));
    const t = performance.now();
    mlServer = await startServer(
      'mlflow',
      (port) => [
        'server',
        '--backend-store-uri',
        db,
        '--artifacts-destination',
        path.join(tmp, 'artifacts'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        '1',
      ],
      tmp,
      'mlflow',
    );
    const mls = mlServer;
    await until('mlflow server healthy', mls, 300_000, async () =>
      (await new Promise<boolean>((resolve) => {
        const req = http.get(`${mls.url}/health`, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('error', () => resolve(false));
      }))
        ? true
        : undefined,
    );
    const mlStartMs = performance.now() - t;
    const ml: MlResult[] = [];
    for (const w of mlWrite) ml.push(await mlflowUi(browser, mls, w.experiment!, w.n));

    const load = os.loadavg()[0].toFixed(1);
    const rwMs = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
    const dashTotal = (d: DashboardDraw): number => d.loadMs + d.hostMs + d.pageMs;
    const ratio = (peer: number, ours: number): string =>
      peer >= PAGE_LIMIT_MS ? `> ${(peer / ours).toFixed(0)}×` : `${(peer / ours).toFixed(1)}×`;
    const byN = <T extends { runs: number }>(xs: T[], n: number): T => xs.find((x) => x.runs === n)!;
    const out = [
      '## Many runs: Runwatch, TensorBoard and the MLflow UI on the same runs',
      '',
      '`npm run bench -- runs-peers` (bench/runs-peers.bench.ts; writers: bench/runsBench.ts, bench/runs_peers_helper.py). ' +
        `The runs of bench/runsTable.bench.ts (10 params, 5 metrics) at ${SIZES.map(fmtN).join(' and ')} runs, ` +
        'Runwatch and both peers measured in this one run on this machine, ' +
        `each page opened ${REPS} times in a fresh headless Chromium page (playwright-core); medians, ` +
        `and a page that has not shown the runs after ${PAGE_LIMIT_MS / 1000} s counts as that limit.`,
      '',
      '| Runs | What a person waits for | Runwatch | TensorBoard | MLflow UI | TensorBoard / Runwatch | MLflow UI / Runwatch |',
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
      ...SIZES.flatMap((n) => {
        const r = byN(rw, n);
        const t = byN(tb, n);
        const m = byN(ml, n);
        const table = median(r.tableLoad.map((l, i) => l + r.table[i]));
        const dash = median(r.dash.map(dashTotal));
        return [
          `| ${fmtN(n)} | the runs listed (Runwatch: table page load + first rows; TensorBoard: run selector lists all; ` +
            `MLflow: first rows) | ${rwMs(table)} | ${sec(median(t.selector))} | ${sec(median(m.firstRows))} ` +
            `| ${ratio(median(t.selector), table)} | ${ratio(median(m.firstRows), table)} |`,
          `| ${fmtN(n)} | every run in the list (Runwatch's table holds all at its first draw; MLflow: all loaded) ` +
            `| ${rwMs(table)} | | ${sec(median(m.all))} | | ${ratio(median(m.all), table)} |`,
          `| ${fmtN(n)} | charts drawing every run (Runwatch: dashboard, all ${METRIC_COUNT} charts; TensorBoard: ` +
            `navigation → first chart draws all) | ${rwMs(dash)} | ${sec(median(t.total))} | | ${ratio(median(t.total), dash)} | |`,
        ];
      }),
      '',
      'Runwatch: its store written with RunStore (1,000 points a metric) and opened, then the built pages with a ' +
        "stand-in for VS Code's messaging (bench/runsBench.ts): the runs table (page load, then the host's rows " +
        'message → first rows drawn) and the dashboard with every run shown (page load → `ready`; the host reading ' +
        "every run's series through the real SeriesFeed and building init as the panel does, a fresh feed each time, " +
        'the first on a cold series cache; init and series messages → every chart drawn with every run and the next ' +
        "frame painted). VS Code's own panel creation and IPC are not in these (the peers' figures include their HTTP). " +
        'Plain uPlot: the floor, uPlot alone constructing the same charts (a raw and a smoothed line per run) from ' +
        'prepared columns in the same page. Canvas is software-drawn here (headless, no GPU).',
      '',
      '| Runs | Store written | Store and series cache open | Table: page load | Table: rows → first rows drawn ' +
        '| Dashboard: page load | host read (first / median) | page draw (first / median) | total (median) ' +
        '| Plain uPlot, same lines | Drawn |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rw.map(
        (r) =>
          `| ${fmtN(r.runs)} | ${r.writeS.toFixed(1)} s | ${rwMs(r.openMs)} | ${rwMs(median(r.tableLoad))} ` +
          `| ${rwMs(median(r.table))} | ${rwMs(median(r.dash.map((d) => d.loadMs)))} ` +
          `| ${rwMs(r.dash[0].hostMs)} / ${rwMs(median(r.dash.map((d) => d.hostMs)))} ` +
          `| ${rwMs(r.dash[0].pageMs)} / ${rwMs(median(r.dash.map((d) => d.pageMs)))} ` +
          `| ${rwMs(median(r.dash.map(dashTotal)))} | ${rwMs(median(r.dash.map((d) => d.uplotMs)))} ` +
          `| ${drawnSummary(r.dash[r.dash.length - 1])} |`,
      ),
      '',
      `TensorBoard ${'2.21'}: \`tensorboard --logdir\` over event files written with tensorboardX ` +
        `(${fmtN(TB_POINTS)} points a metric; ${fmtN(maxRuns)} runs written in ${tbWrite.seconds.toFixed(0)} s). ` +
        '"Backend loaded": from starting the server until its scalars tags name every run. Then, from navigating ' +
        'to `#scalars`: the run selector lists every run. Past 40 runs TensorBoard selects none, so its charts ' +
        'draw nothing until a person clicks "Toggle all runs" (runs drawn before the click are in the table); ' +
        'then: from that click until the first chart has drawn a line for every run, and from navigating until ' +
        'then (less a 1 s pause before the click).',
      '',
      '| Runs | Points | Backend loaded | Page: run selector lists all runs | Runs drawn before a click ' +
        '| "Toggle all runs" → first chart draws all | Page: navigation → all runs drawn |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...tb.map(
        (r) =>
          `| ${fmtN(r.runs)} | ${fmtN(r.runs * 5 * TB_POINTS)} | ${sec(r.loadMs)} | ${sec(median(r.selector))} ` +
          `| ${fmtN(r.drawnBefore)} | ${sec(median(r.chart))} | ${sec(median(r.total))} |`,
      ),
      '',
      `MLflow ${'3.17'}: one \`mlflow server\` (SQLite store, 1 worker) holding the same runs, logged with ` +
        `\`MlflowClient.log_batch\` straight into its store, **${fmtN(MLFLOW_POINTS)} points a metric** ` +
        `(every ${1000 / MLFLOW_POINTS}th step: 1,000 took about 0.3 s a run to log; the runs table shows only ` +
        `each metric's latest value) in ${mlWrite.map((w) => `${w.seconds.toFixed(0)} s`).join(' and ')}; ` +
        `server started in ${sec(mlStartMs)}. From navigating to the experiment's runs page: the newest run's ` +
        'row shows; the oldest run\'s row shows (every run loaded, clicking "Load more" as a person would).',
      '',
      '| Runs | Page: first rows shown | Count it shows then | Page: all runs loaded |',
      '| ---: | ---: | --- | ---: |',
      ...ml.map(
        (r) => `| ${fmtN(r.runs)} | ${sec(median(r.firstRows))} | ${r.countText || '(none)'} | ${sec(median(r.all))} |`,
      ),
      '',
      `Load average at the end: ${load} on ${os.cpus().length} cores (shared with other work).`,
    ];
    console.log(out.join('\n'));
  } finally {
    if (mlServer) stopServer(mlServer);
    await browser.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
