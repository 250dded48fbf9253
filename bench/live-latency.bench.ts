// Live latency and first draw of the dashboard, in a real VS Code (code-server with
// the packaged .vsix) driven by Chromium, printed as one Markdown section.
//
// 1. Latency: a Python script (the bundled stdlib client) logs 10,000 points/s, each
//    point's value being its wall time at `run.log`. The webview records, for every
//    draw, its wall time and the last step drawn (window.runwatchDraws); a step's
//    latency is the first draw holding it minus its log time. Same machine, same
//    clock. Measured at the default 10 updates/s and, as the peer in the same run,
//    at 60 updates/s (the setting changed live).
// 2. First draw: runs of 1M and 10M points written into the store before VS Code
//    starts; the dashboard is opened on each (click in the Runs tree) and the webview
//    reports the time from its `ready` message to the first chart drawn. The peer is
//    uPlot itself drawing the same number of raw points (no decimation) in the same
//    Chromium.
//
// Rerun: npm run bench -- live-latency   (needs scripts/setup-vscode.sh and npm run package)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { RunStore } from '../src/store/runStore';
import { SeriesStore } from '../src/store/series';
import type { DashboardProbeGlobals } from '../src/webview/dashboard/probeContract';
import { ROOT, VsCode, waitFor } from '../test/e2e/harness';

const RATE = 10_000;
const SECONDS = Number(process.env.LATENCY_SECONDS ?? 8);
const BIG = [1_000_000, 10_000_000];
const REPS = Number(process.env.FIRST_DRAW_REPS ?? 3);
const PYTHON = fs.existsSync(path.join(ROOT, '.vscode-test/venv-test/bin/python'))
  ? path.join(ROOT, '.vscode-test/venv-test/bin/python')
  : 'python3';

const LOGGER_SCRIPT = `
import json, sys, time
import runwatch
rate, seconds, name, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
run = runwatch.init(project="bench", name=name)
sent = []
t0 = time.time()
n = int(rate * seconds)
chunk = max(1, rate // 200)  # log in 5 ms slices to keep the rate smooth
for i in range(n):
    t = time.time()
    run.log({"latency/sent": t}, step=i)
    sent.append(t)
    if i % chunk == chunk - 1:
        ahead = t0 + (i + 1) / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
run.finish()
with open(out, "w") as f:
    json.dump({"runId": run.id, "sent": sent, "elapsed": time.time() - t0}, f)
`;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function seedBigRuns(storeDir: string): Promise<Record<number, string>> {
  const store = await RunStore.open(storeDir, { sync: false });
  const ids: Record<number, string> = {};
  const t0 = Date.now() / 1000 - 3600;
  for (const n of BIG) {
    const runId = `bench-${n}`;
    ids[n] = runId;
    await store.append(runId, [
      {
        event: {
          type: 'run.start',
          project: 'bench',
          name: `points-${n / 1e6}M`,
          time: t0,
          params: {},
          tags: {},
          context: {},
        },
      },
    ]);
    const batch = 50_000;
    for (let i = 0; i < n; i += batch) {
      const points = [];
      for (let j = i; j < Math.min(n, i + batch); j++) {
        // A noisy decaying curve with rare spikes, so decimation has something to keep.
        const v = Math.exp(-j / (n / 4)) + 0.05 * Math.sin(j / 50) + (j % 99_991 === 0 ? 5 : 0);
        points.push({ key: 'big/value', value: v, step: j, time: t0 + j / 1000 });
      }
      await store.append(runId, [{ event: { type: 'metrics', points } }]);
    }
    await store.append(runId, [{ event: { type: 'run.end', status: 'finished', time: t0 + n / 1000 } }]);
  }
  // Build the series cache now, as VS Code would have while the runs were live.
  const series = SeriesStore.open(store);
  await series.whenIdle();
  await series.dispose();
  await store.close();
  return ids;
}

async function setSetting(vs: VsCode, key: string, value: unknown): Promise<void> {
  const file = path.join(vs.tmpDir, 'data', 'User', 'settings.json');
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  s[key] = value;
  fs.writeFileSync(file, JSON.stringify(s, null, 2));
}

async function dashboardFrame(vs: VsCode) {
  return vs.webviewFrame('#root .toolbar', 120_000);
}

interface Latency {
  /** Every point: first draw holding it minus its log time. */
  p50: number;
  p99: number;
  /** Every draw: its time minus the log time of the newest point it holds (how far the chart lags training). */
  lag50: number;
  lag99: number;
  points: number;
  /** Medians over draws, for the last step of each draw: log → host posts, host posts → drawn. */
  upstream: number;
  webview: number;
  /** Draws of the chart per second while the script logged. */
  drawRate: number;
}

async function measureLatency(vs: VsCode, label: string): Promise<Latency> {
  const out = path.join(vs.tmpDir, `latency-${label}.json`);
  const py = spawn(PYTHON, ['-c', LOGGER_SCRIPT, String(RATE), String(SECONDS), `latency-${label}`, out], {
    cwd: vs.workspace,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients', 'python') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((r) => py.on('exit', r));
  if (code !== 0) throw new Error(`latency script exited with ${code}`);
  const { runId, sent } = JSON.parse(fs.readFileSync(out, 'utf8')) as { runId: string; sent: number[] };
  const last = sent.length - 1;
  // Wait until the last point has been drawn, then collect the draw log.
  const draws = await waitFor(
    `the last point of ${label} drawn`,
    async () => {
      const frame = await dashboardFrame(vs);
      const d = await frame.evaluate(
        (id) =>
          (globalThis as unknown as DashboardProbeGlobals).runwatchDraws
            .filter((x) => x.key === 'latency/sent' && id in x.lastStep)
            .map((x) => [x.drawnAt, x.lastStep[id], x.sentAt ?? NaN] as [number, number, number]),
        runId,
      );
      return d.length && d[d.length - 1][1] >= last ? d : undefined;
    },
    180_000,
    200,
  );
  const lat: number[] = [];
  const lag: number[] = [];
  const up: number[] = [];
  const web: number[] = [];
  let drawn = -1;
  for (const [at, step, sentAt] of draws) {
    if (step > drawn && step <= last) {
      lag.push(at - sent[step] * 1000);
      if (Number.isFinite(sentAt)) {
        up.push(sentAt - sent[step] * 1000);
        web.push(at - sentAt);
      }
    }
    for (let s = drawn + 1; s <= step && s <= last; s++) lat.push(at - sent[s] * 1000);
    drawn = Math.max(drawn, step);
  }
  lat.sort((a, b) => a - b);
  lag.sort((a, b) => a - b);
  const during = draws.filter(([at]) => at <= sent[last] * 1000 + 100);
  const drawRate =
    during.length > 1 ? (during.length - 1) / ((during[during.length - 1][0] - during[0][0]) / 1000) : NaN;
  return {
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    lag50: pct(lag, 50),
    lag99: pct(lag, 99),
    points: lat.length,
    upstream: median(up),
    webview: median(web),
    drawRate,
  };
}

interface FirstDraw {
  /** Webview `ready` → first chart drawn. */
  fromReady: number;
  /** Click in the Runs tree → first chart drawn (panel, page load, query, transfer, uPlot). */
  fromClick: number;
}

async function firstDraw(vs: VsCode, runName: string): Promise<FirstDraw> {
  await vs.runCommand('View: Close All Editors');
  const row = vs.page.locator('.part.sidebar .monaco-list-row', { hasText: runName }).first();
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  const clickedAt = Date.now();
  await row.click({ timeout: 60_000 });
  return waitFor(
    `first draw of ${runName}`,
    async () => {
      for (const f of vs.page.frames()) {
        if (f.isDetached()) continue;
        const d = await f
          .evaluate<(string | undefined)[] | null>(
            'document.body && [document.body.dataset.firstDrawMs, document.body.dataset.firstDrawAt]',
          )
          .catch(() => undefined);
        if (d && d[0] && d[1]) return { fromReady: Number(d[0]), fromClick: Number(d[1]) - clickedAt };
      }
      return undefined;
    },
    300_000,
    100,
  );
}

/** Resident memory of the (one) extension host of `vs`, in MB. */
function extensionHostRssMb(vs: VsCode): number {
  const pids = vs.extensionHostPids();
  if (pids.length !== 1) throw new Error(`expected one extension host, found ${pids.length}`);
  const status = fs.readFileSync(`/proc/${pids[0]}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

/** The memory peer: an extension host with an empty store, after showing the dashboard and settling. */
async function emptyStoreRssMb(): Promise<number> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-bench-empty-'));
  const vs = await VsCode.start({ name: 'bench-empty', workspace });
  try {
    await vs.page
      .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
      .first()
      .waitFor({ state: 'visible', timeout: 180_000 });
    await vs.runCommand('Runwatch: Show Dashboard');
    await dashboardFrame(vs);
    await new Promise((r) => setTimeout(r, 5000));
    return extensionHostRssMb(vs);
  } finally {
    await vs.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/** The peer: uPlot drawing n raw points (no decimation) in a blank page of the same Chromium. */
async function rawUplotDraw(vs: VsCode, n: number): Promise<number> {
  const page = await vs.page.context().newPage();
  try {
    await page.setContent('<div id="c" style="width:800px"></div>');
    await page.addScriptTag({ path: path.join(ROOT, 'node_modules/uplot/dist/uPlot.iife.min.js') });
    // Plain JS text: tsx would add helpers (__name) to a TS function that the page lacks.
    // Timed to the end of uPlot's first draw (its draw hook), as the dashboard's is.
    const code = `new Promise((resolve) => {
      const count = ${n};
      const x = new Float64Array(count), y = new Float64Array(count);
      for (let i = 0; i < count; i++) { x[i] = i; y[i] = Math.exp(-i / (count / 4)) + 0.05 * Math.sin(i / 50); }
      const t0 = performance.now();
      const opts = { width: 800, height: 220, series: [{}, { stroke: 'red' }], hooks: { draw: [() => resolve(performance.now() - t0)] } };
      new uPlot(opts, [x, y], document.getElementById('c'));
    })`;
    return (await page.evaluate(code)) as number;
  } finally {
    await page.close();
  }
}

async function main(): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-bench-live-'));
  process.stderr.write('seeding 1M and 10M point runs...\n');
  await seedBigRuns(path.join(workspace, '.runwatch'));
  const vs = await VsCode.start({ name: 'bench-live', workspace });
  let results: Results;
  try {
    await vs.page
      .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
      .first()
      .waitFor({ state: 'visible', timeout: 180_000 });
    await vs.page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();

    // First draw, alternating sizes; the first round is cold (nothing of the series loaded yet).
    const fd: Record<number, FirstDraw[]> = {};
    const raw: Record<number, number[]> = {};
    for (let r = 0; r < REPS; r++) {
      for (const n of BIG) {
        process.stderr.write(`first draw ${n} #${r + 1}\n`);
        (fd[n] ??= []).push(await firstDraw(vs, `points-${n / 1e6}M`));
      }
    }
    // The peer afterwards: a page drawing millions of raw points leaves Chromium busy (GC,
    // teardown), which would otherwise land on the next opening's click → drawn.
    for (let r = 0; r < REPS; r++) for (const n of BIG) (raw[n] ??= []).push(await rawUplotDraw(vs, n));
    await vs.page.bringToFront();

    // Memory with every big series loaded and drawn (the peer is measured after this session).
    await new Promise((r) => setTimeout(r, 5000));
    const bigRss = extensionHostRssMb(vs);

    // Live latency at the default and at 60 updates/s.
    await vs.runCommand('View: Close All Editors');
    await vs.runCommand('Runwatch: Show Dashboard');
    await dashboardFrame(vs);
    process.stderr.write('latency at 10 updates/s\n');
    const l10 = await measureLatency(vs, 'u10');
    await setSetting(vs, 'runwatch.dashboard.maxUpdatesPerSecond', 60);
    // A reload makes sure the new setting is read (code-server may not notice the file change).
    const navigated = vs.page.waitForEvent('framenavigated', {
      predicate: (fr) => fr === vs.page.mainFrame(),
      timeout: 180_000,
    });
    await vs.runCommand('Developer: Reload Window');
    await navigated;
    await vs.page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
    await vs.page
      .locator('.part.statusbar', { hasText: /Runwatch :\d+/ })
      .first()
      .waitFor({ state: 'visible', timeout: 180_000 });
    await vs.runCommand('View: Close All Editors');
    await vs.runCommand('Runwatch: Show Dashboard');
    await dashboardFrame(vs);
    process.stderr.write('latency at 60 updates/s\n');
    const l60 = await measureLatency(vs, 'u60');

    results = { l10, l60, fd, raw, bigRss };
  } finally {
    await vs.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  process.stderr.write('memory peer: an empty store\n');
  const emptyRss = await emptyStoreRssMb();
  report(results, emptyRss);
}

interface Results {
  l10: Latency;
  l60: Latency;
  fd: Record<number, FirstDraw[]>;
  raw: Record<number, number[]>;
  bigRss: number;
}

function report({ l10, l60, fd, raw, bigRss }: Results, emptyRss: number): void {
  const f = (v: number) => v.toFixed(0);
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const growth = bigRss - emptyRss;
  const lines = [
    '## Live dashboard: latency, first draw, extension host memory',
    '',
    '`npm run bench -- live-latency` (bench/live-latency.bench.ts: code-server with the packaged .vsix, Chromium, the Python client)',
    '',
    `Latency: Python \`run.log\` → point drawn in the webview (webview wall clock), ${RATE.toLocaleString()} points/s for ${SECONDS} s, one key. Two measures: *per point* is, for every point, the first draw holding it minus its log time; *lag* is, for every draw, the draw time minus the log time of the newest point drawn (how far the chart trails training). With at most N updates a second a point also waits for the next draw (on average half the interval: 50 ms at the default 10/s), which is in *per point* but not in *lag*. Peer: the same with \`runwatch.dashboard.maxUpdatesPerSecond\` = 60, same session.`,
    '',
    "Split of the lag (medians over draws): *log → host posts* covers the Python client's batching, the collector, the durable commit, the series index and the panel's coalescing; *host → drawn* covers postMessage and uPlot.",
    '',
    '| setting | points | per point p50 (ms) | per point p99 (ms) | lag p50 (ms) | lag p99 (ms) | log → host posts (ms) | host → drawn (ms) | draws/s | lag p50 vs peer |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| 10 updates/s (default) | ${l10.points} | ${f(l10.p50)} | ${f(l10.p99)} | ${f(l10.lag50)} | ${f(l10.lag99)} | ${f(l10.upstream)} | ${f(l10.webview)} | ${l10.drawRate.toFixed(1)} | ${(l10.lag50 / l60.lag50).toFixed(2)}× |`,
    `| 60 updates/s (peer) | ${l60.points} | ${f(l60.p50)} | ${f(l60.p99)} | ${f(l60.lag50)} | ${f(l60.lag99)} | ${f(l60.upstream)} | ${f(l60.webview)} | ${l60.drawRate.toFixed(1)} | 1.00× |`,
    '',
    `Targets (p50 ≤ 50 ms, p99 ≤ 250 ms) at the default 10 updates/s: lag p50 ${f(l10.lag50)} ms (${met(l10.lag50 <= 50)}), lag p99 ${f(l10.lag99)} ms (${met(l10.lag99 <= 250)}); per point p50 ${f(l10.p50)} ms (${met(l10.p50 <= 50)}), per point p99 ${f(l10.p99)} ms (${met(l10.p99 <= 250)}).`,
    '',
    `First draw of a stored series, opened from the Runs tree. *ready → drawn* is what Runwatch does once its page runs: the host's pyramid query, the transfer and uPlot; *click → drawn* adds VS Code creating the panel and loading the page. Cold is the first opening in this extension host (the series' pyramid is read from its snapshot on disk); then the median of ${REPS} openings. The target is judged on the cold *ready → drawn*. Peer: uPlot drawing the same number of raw points without decimation in the same Chromium (data already in memory).`,
    '',
    '| series | ready → drawn, cold (ms) | ready → drawn, median (ms) | click → drawn, cold (ms) | raw uPlot (ms) | target | cold ready → drawn / raw |',
    '|---|---:|---:|---:|---:|---|---:|',
    ...BIG.map((n) => {
      const cold = fd[n][0].fromReady;
      const target = n === 10_000_000 ? `≤ 300: ${met(cold <= 300)}` : '';
      return `| ${n / 1e6}M points | ${f(cold)} | ${f(median(fd[n].map((d) => d.fromReady)))} | ${f(fd[n][0].fromClick)} | ${f(median(raw[n]))} | ${target} | ${(cold / median(raw[n])).toFixed(2)}× |`;
    }),
    '',
    `Extension host memory (VmRSS of its process, 5 s after the last draw): ${f(bigRss)} MB with the 1M and 10M point runs stored, loaded and drawn, against ${f(emptyRss)} MB for an empty store with the dashboard open (the peer, a second code-server in the same run): growth ${f(growth)} MB (target ≤ 100 MB for ten million points: ${met(growth <= 100)}).`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
