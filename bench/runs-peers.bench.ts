// The many-runs peers of bench/runsTable.bench.ts, on the same runs (10 params, 5 metrics), in
// headless Chromium (playwright-core), printed as one Markdown section:
// - `tensorboard --logdir` over the runs written as event files (tensorboardX, 1,000 points a
//   metric), at 250 and 1,000 runs: from navigating to its scalars dashboard until the run
//   selector lists every run and the first chart has drawn a line for every run;
// - the MLflow UI of a real `mlflow server` (SQLite store) holding the same runs: from navigating
//   to the experiment's runs page until its table shows rows and its count, then until every run is
//   loaded (clicking "Load more" as a person would).
// Runwatch's own figures come from bench/results/runsTable.md (a different run), quoted alongside.
//
// Rerun: npm run bench -- runs-peers
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '..');
const BIN = process.env.RUNWATCH_BENCH_BIN ?? path.join(ROOT, '.vscode-test/venv-test/bin');
const CHROMIUM = process.env.RUNWATCH_CHROMIUM ?? '/usr/bin/chromium';
const HELPER = path.join(__dirname, 'runs_peers_helper.py');
const SIZES = (process.env.RUNS_PEERS_SIZES ?? '250,1000').split(',').map(Number);
const REPS = Number(process.env.RUNS_PEERS_REPS ?? 3);
const TB_POINTS = 1000;
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

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

/** The rows of bench/results/runsTable.md quoted as context (a different run). */
function runwatchRows(): string[] {
  const file = path.join(__dirname, 'results', 'runsTable.md');
  if (!fs.existsSync(file)) return ['(bench/results/runsTable.md not found: run `npm run bench -- runsTable`)'];
  const text = fs.readFileSync(file, 'utf8');
  const wanted = [/^\| Store open/, /^\| Page: message → first rows drawn/, /^\| Group band over/];
  const rows = text.split('\n').filter((l) => wanted.some((w) => w.test(l)));
  const when = /_Measured ([^_]+?)\.?_/.exec(text)?.[1] ?? 'at an unknown date';
  return [
    `Runwatch on the same machine, **from a different run** (bench/results/runsTable.md, measured ${when}, ` +
      '10,000 runs, page timings on the built page without VS Code around it):',
    '',
    '| What | Median | Target |',
    '| --- | ---: | ---: |',
    ...rows,
  ];
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
    const out = [
      '## Many runs: TensorBoard and the MLflow UI on the same runs',
      '',
      '`npm run bench -- runs-peers` (bench/runs-peers.bench.ts; writer: bench/runs_peers_helper.py). ' +
        `The runs of bench/runsTable.bench.ts (10 params, 5 metrics) at ${SIZES.map(fmtN).join(' and ')} runs, ` +
        `each page opened ${REPS} times in a fresh headless Chromium context (playwright-core); medians, ` +
        `and a page that has not shown the runs after ${PAGE_LIMIT_MS / 1000} s counts as that limit.`,
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
      ...runwatchRows(),
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
