// Inline values' CPU cost: a 2,000-line Python file whose lines logged 50 keys of a live run, all
// updated at 10 Hz (one series change event per key per update), redrawn through the same Coalescer
// (at most 4 redraws a second) and the same model code the extension uses (src/ui/editor/inlineModel.ts),
// building one decoration option per logged line, as src/ui/editor/inlineValues.ts does. Measured as
// the process's CPU time over wall time, against a peer that receives the same change events with
// inline values off. setDecorations' own IPC to the renderer is not in Node; the options it is given are.
// Prints one Markdown section. Rerun: npm run bench -- inline
import type { RunSummary } from '../src/api/types';
import { Coalescer } from '../src/ui/dashboard/coalescer';
import { buildIndex, renderFile, TrendMemory } from '../src/ui/editor/inlineModel';

const FILE = '/ws/train.py';
const LINES = 2000;
const KEYS = 50;
const HZ = 10;
const SECONDS = Number(process.env.RUNWATCH_BENCH_SECONDS ?? 8);
const REPEATS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(): RunSummary {
  const sources: NonNullable<RunSummary['sources']> = {};
  // Keys spread over the file, some sharing a line (one log call with several keys).
  for (let k = 0; k < KEYS; k++)
    sources[`group${k % 7}/metric${k}`] = { file: FILE, line: 1 + Math.floor((k * LINES) / KEYS / 2) * 2 };
  return {
    runId: 'live',
    project: 'p',
    name: 'live',
    status: 'running',
    startTime: 1,
    params: {},
    tags: {},
    context: {},
    sources,
  };
}

async function measure(on: boolean): Promise<{ cpuPct: number; redraws: number; usPerRedraw: number }> {
  const run = summary();
  const keys = Object.keys(run.sources ?? {});
  const latest = new Map<string, { step: number; value: number }>();
  const index = buildIndex([run], [], (f) => f);
  const lines = index.get(FILE)!;
  const trends = new TrendMemory();
  let redraws = 0;
  let redrawCpu = 0;
  let sink: unknown[] = [];
  const redraw = () => {
    const c0 = process.cpuUsage();
    redraws++;
    const options: { range: { line: number; character: number }; renderOptions: { after: { contentText: string } } }[] =
      [];
    for (const { line, text } of renderFile(lines, (r, k) => latest.get(k), trends)) {
      options.push({ range: { line, character: 80 }, renderOptions: { after: { contentText: text } } });
    }
    sink = options;
    const d = process.cpuUsage(c0);
    redrawCpu += d.user + d.system;
  };
  const coalescer = new Coalescer(() => 250, redraw);
  const shown = new Set(['live']);
  // What the series cache's change event costs the listener: a membership test, then schedule.
  const onChange = (runId: string) => {
    if (on && shown.has(runId)) coalescer.schedule();
  };
  let step = 0;
  const start = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      step++;
      for (const k of keys) {
        latest.set(k, { step, value: Math.exp(-step / 100) + Math.random() * 0.01 });
        onChange('live');
      }
      if (performance.now() - t0 >= SECONDS * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 1000 / HZ);
  });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(start);
  coalescer.dispose();
  if (!Array.isArray(sink)) throw new Error('unreachable');
  return {
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    redraws,
    usPerRedraw: redraws ? redrawCpu / redraws : 0,
  };
}

async function main(): Promise<void> {
  const off: number[] = [];
  const on: number[] = [];
  const per: number[] = [];
  const rate: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    off.push((await measure(false)).cpuPct);
    const m = await measure(true);
    on.push(m.cpuPct);
    per.push(m.usPerRedraw);
    rate.push(m.redraws / SECONDS);
  }
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log('## Inline values (editor)');
  console.log();
  console.log(
    '`npx tsx bench/inline.bench.ts`: a 2,000-line file with 50 logged keys of a live run, every key updated at',
  );
  console.log(
    `10 Hz for ${SECONDS} s, ${REPEATS} repeats; medians. CPU is the whole Node process's (timers, events, redraws) over wall time.`,
  );
  console.log();
  console.log('| case | CPU (% of one core) | redraws/s | CPU per redraw |');
  console.log('|---|---|---|---|');
  console.log(`| inline values off (peer: the same change events) | ${f(median(off))} % | 0 | – |`);
  console.log(`| inline values on | ${f(median(on))} % | ${f(median(rate), 1)} | ${f(median(per), 0)} µs |`);
  console.log();
  console.log(`On − off: ${f(median(on) - median(off))} percentage points of one core (budget: < 5 %).`);
}

void main();
