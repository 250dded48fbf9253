// What the inline values show, without vscode (unit-tested, and benchmarked in bench/inline.bench.ts):
// which lines of which file logged which keys of the runs on show (live runs and the runs selected in
// the Runs tree), and the text drawn after each such line, e.g. `train/loss 0.4312 · step 1,200 ↓`.
import type { RunSummary } from '../../api/types';
import { formatValue } from '../../webview/protocol/format';

export interface LineEntry {
  runId: string;
  runName: string;
  key: string;
}

/** Local file path -> 0-based line -> the (run, key)s logged there, in priority order (selected, then newest). */
export type LineIndex = Map<string, Map<number, LineEntry[]>>;

export interface Latest {
  step: number;
  value: number;
}

/**
 * The runs on show: those selected (in selection order), then the live ones, newest first. A run's
 * recorded paths go through `resolve` (a path from another checkout found in the workspace, or
 * undefined: not drawn).
 */
export function buildIndex(
  runs: readonly RunSummary[],
  selected: readonly string[],
  resolve: (file: string, run: RunSummary) => string | undefined,
): LineIndex {
  const byId = new Map(runs.map((r) => [r.runId, r]));
  const order: RunSummary[] = [];
  const taken = new Set<string>();
  for (const id of selected) {
    const r = byId.get(id);
    if (r && !taken.has(id)) {
      order.push(r);
      taken.add(id);
    }
  }
  const live = runs.filter((r) => r.status === 'running' && !taken.has(r.runId));
  live.sort((a, b) => b.startTime - a.startTime);
  order.push(...live);
  const index: LineIndex = new Map();
  for (const run of order) {
    if (!run.sources) continue;
    for (const [key, loc] of Object.entries(run.sources)) {
      const file = resolve(loc.file, run);
      if (file === undefined) continue;
      let lines = index.get(file);
      if (!lines) index.set(file, (lines = new Map()));
      const line = Math.max(0, loc.line - 1);
      let entries = lines.get(line);
      if (!entries) lines.set(line, (entries = []));
      entries.push({ runId: run.runId, runName: run.name, key });
    }
  }
  return index;
}

/** The line's text: the first run on show there, each of its keys, its step and trend of the first key. */
export function lineText(
  entries: readonly LineEntry[],
  latest: (runId: string, key: string) => Latest | undefined,
  previous: (runId: string, key: string) => number | undefined,
): string | undefined {
  const runId = entries[0]?.runId;
  const parts: string[] = [];
  let step: number | undefined;
  let arrow = '';
  for (const e of entries) {
    if (e.runId !== runId) continue;
    const l = latest(e.runId, e.key);
    if (!l) continue;
    if (!parts.length) arrow = trendArrow(previous(e.runId, e.key), l.value);
    parts.push(`${e.key} ${formatValue(l.value)}`);
    step = step === undefined ? l.step : Math.max(step, l.step);
  }
  if (!parts.length || step === undefined) return undefined;
  return `${parts.join(' · ')} · step ${step.toLocaleString('en-US')}${arrow ? ` ${arrow}` : ''}`;
}

export function trendArrow(prev: number | undefined, now: number): string {
  if (prev === undefined || !Number.isFinite(prev) || !Number.isFinite(now)) return '';
  return now > prev ? '↑' : now < prev ? '↓' : '→';
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** A Unicode sparkline of the finite values (non-finite ones as a space), `width` cells at most. */
export function sparkline(values: ArrayLike<number>, width = 32): string {
  const n = values.length;
  if (!n) return '';
  const cells = Math.min(width, n);
  const picked: number[] = [];
  for (let c = 0; c < cells; c++) picked.push(values[Math.min(n - 1, Math.floor(((c + 1) * n) / cells) - 1)]);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of picked) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return picked
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      if (hi === lo) return BLOCKS[3];
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor(((v - lo) / (hi - lo)) * BLOCKS.length))];
    })
    .join('');
}

/**
 * Remembers each shown (run, key)'s value at the step before its latest, for the trend arrow: `observe`
 * is called when a line is drawn, and a new step moves the old latest value into `previous`.
 */
export class TrendMemory {
  private readonly seen = new Map<string, { step: number; value: number; prev?: number }>();

  observe(runId: string, key: string, l: Latest | undefined): void {
    if (!l) return;
    const id = `${runId}\u0000${key}`;
    const s = this.seen.get(id);
    if (!s) this.seen.set(id, { step: l.step, value: l.value });
    else if (s.step !== l.step) this.seen.set(id, { step: l.step, value: l.value, prev: s.value });
  }

  previous(runId: string, key: string): number | undefined {
    return this.seen.get(`${runId}\u0000${key}`)?.prev;
  }

  forgetRun(runId: string): void {
    for (const id of this.seen.keys()) if (id.startsWith(`${runId}\u0000`)) this.seen.delete(id);
  }
}

/** For one file: each logged line's text, observing trends on the way. */
export function renderFile(
  lines: ReadonlyMap<number, readonly LineEntry[]>,
  latest: (runId: string, key: string) => Latest | undefined,
  trends: TrendMemory,
): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  for (const [line, entries] of lines) {
    const first = entries[0];
    for (const e of entries) if (e.runId === first.runId) trends.observe(e.runId, e.key, latest(e.runId, e.key));
    const text = lineText(entries, latest, (r, k) => trends.previous(r, k));
    if (text !== undefined) out.push({ line, text });
  }
  return out;
}
