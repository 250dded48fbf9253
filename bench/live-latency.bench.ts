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
import { ROOT, VsCode, waitFor } from '../test/e2e/harness';

const RATE = 10_000;
const SECONDS = Number(process.env.LATENCY_SECONDS ?? 8);
const BIG = [1_000_000, 10_000_000];
const REPS = Number(process.env.FIRST_DRAW_REPS ?? 3);
const PYTHON = fs.existsSync(path.join(ROOT, '.vscode-test/venv-bench/bin/python')) ? path.join(ROOT, '.vscode-test/venv-bench/bin/python') : 'python3';

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
      { event: { type: 'run.start', project: 'bench', name: `points-${n / 1e6}M`, time: t0, params: {}, tags: {}, context: {} } },
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
  p50: number;
  p99: number;
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
        (id) => window.runwatchDraws.filter((x) => x.key === 'latency/sent' && id in x.lastStep).map((x) => [x.drawnAt, x.lastStep[id], x.sentAt ?? NaN] as [number, number, number]),
        runId,
      );
      return d.length && d[d.length - 1][1] >= last ? d : undefined;
    },
    180_000,
    200,
  );
  const lat: number[] = [];
  const up: number[] = [];
  const web: number[] = [];
  let drawn = -1;
  for (const [at, step, sentAt] of draws) {
    if (step > drawn && step <= last && Number.isFinite(sentAt)) {
      up.push(sentAt - sent[step] * 1000);
      web.push(at - sentAt);
    }
    for (let s = drawn + 1; s <= step && s <= last; s++) lat.push(at - sent[s] * 1000);
    drawn = Math.max(drawn, step);
  }
  lat.sort((a, b) => a - b);
  const during = draws.filter(([at]) => at <= sent[last] * 1000 + 100);
  const drawRate = during.length > 1 ? (during.length - 1) / ((during[during.length - 1][0] - during[0][0]) / 1000) : NaN;
  return { p50: pct(lat, 50), p99: pct(lat, 99), points: lat.length, upstream: median(up), webview: median(web), drawRate };
}

async function firstDraw(vs: VsCode, runName: string): Promise<number> {
  await vs.runCommand('View: Close All Editors');
  await vs.page.locator('.part.sidebar .monaco-list-row', { hasText: runName }).first().click({ timeout: 60_000 });
  return waitFor(
    `first draw of ${runName}`,
    async () => {
      for (const f of vs.page.frames()) {
        if (f.isDetached()) continue;
        const ms = await f.evaluate(() => document.body?.dataset.firstDrawMs).catch(() => undefined);
        if (ms) return Number(ms);
      }
      return undefined;
    },
    300_000,
    100,
  );
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
  try {
    await vs.page.locator('.part.statusbar', { hasText: /Runwatch :\d+/ }).first().waitFor({ state: 'visible', timeout: 180_000 });
    await vs.page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();

    // First draw, alternating sizes.
    const fd: Record<number, number[]> = {};
    const raw: Record<number, number[]> = {};
    for (let r = 0; r < REPS; r++) {
      for (const n of BIG) {
        process.stderr.write(`first draw ${n} #${r + 1}\n`);
        (fd[n] ??= []).push(await firstDraw(vs, `points-${n / 1e6}M`));
        (raw[n] ??= []).push(await rawUplotDraw(vs, n));
      }
    }

    // Live latency at the default and at 60 updates/s.
    await vs.runCommand('View: Close All Editors');
    await vs.runCommand('Runwatch: Show Dashboard');
    await dashboardFrame(vs);
    process.stderr.write('latency at 10 updates/s\n');
    const l10 = await measureLatency(vs, 'u10');
    await setSetting(vs, 'runwatch.dashboard.maxUpdatesPerSecond', 60);
    process.stderr.write('latency at 60 updates/s\n');
    const l60 = await measureLatency(vs, 'u60');

    const f = (v: number) => v.toFixed(0);
    const lines = [
      '## Live dashboard: latency and first draw',
      '',
      '`npm run bench -- live-latency` (bench/live-latency.bench.ts: code-server with the packaged .vsix, Chromium, the Python client)',
      '',
      `Latency: Python \`run.log\` → point drawn in the webview (webview wall clock), ${RATE.toLocaleString()} points/s for ${SECONDS} s, one key. Peer: the same with \`runwatch.dashboard.maxUpdatesPerSecond\` = 60 (default 10), same session.`,
      '',
      'Split (medians over draws, newest point of each draw): *log → host posts* covers the Python client\'s batching, the collector, the durable commit, the series index and the panel\'s coalescing; *host → drawn* covers postMessage and uPlot.',
      '',
      '| setting | points | p50 (ms) | p99 (ms) | log → host posts (ms) | host → drawn (ms) | draws/s | target | p50 ratio vs peer |',
      '|---|---:|---:|---:|---:|---:|---:|---|---:|',
      `| 10 updates/s (default) | ${l10.points} | ${f(l10.p50)} | ${f(l10.p99)} | ${f(l10.upstream)} | ${f(l10.webview)} | ${l10.drawRate.toFixed(1)} | p50 ≤ 50, p99 ≤ 250 | ${(l10.p50 / l60.p50).toFixed(2)}× |`,
      `| 60 updates/s (peer) | ${l60.points} | ${f(l60.p50)} | ${f(l60.p99)} | ${f(l60.upstream)} | ${f(l60.webview)} | ${l60.drawRate.toFixed(1)} | | 1.00× |`,
      '',
      `First draw: webview \`ready\` → first chart drawn (host query of the min/max pyramid, transfer, uPlot), median of ${REPS}. Peer: uPlot drawing the same number of raw points without decimation in the same Chromium (data already in memory).`,
      '',
      '| series | Runwatch first draw (ms) | raw uPlot (ms) | target | ratio Runwatch / raw |',
      '|---|---:|---:|---|---:|',
      ...BIG.map((n) => `| ${n / 1e6}M points | ${f(median(fd[n]))} | ${f(median(raw[n]))} | ${n === 10_000_000 ? '≤ 300' : ''} | ${(median(fd[n]) / median(raw[n])).toFixed(2)}× |`),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await vs.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
