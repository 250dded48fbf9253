// Pure data shaping for the dashboard charts (no DOM): overlaying runs whose x values
// differ into uPlot's aligned layout, EMA smoothing and log-scale masking. Number
// formatting, shared with the host's tree, is in ../protocol/format.ts.

export interface RunLine {
  x: Float64Array;
  y: Float64Array;
}

/**
 * Merges several runs' sorted x arrays into one shared x column; each run's y column
 * holds its value on its own rows and null elsewhere (drawn with `spanGaps`). Runs share a
 * row where their x values are equal (runs logged at the same steps make as many rows as one
 * run, not one per run's point: the columns uPlot walks stay short with many runs overlaid);
 * a run's repeated x (a min/max pair) takes as many rows, so every point keeps its own.
 */
export function alignRuns(lines: readonly RunLine[]): { x: Float64Array; ys: (number | null)[][] } {
  // Runs logged at the same steps (a sweep): the merge below would give their x column as it is.
  if (lines.length > 0 && lines.every((l) => sameX(l.x, lines[0].x))) {
    return { x: Float64Array.from(lines[0].x), ys: lines.map((l) => Array.from(l.y)) };
  }
  const k = lines.length;
  const pos = new Array<number>(k).fill(0);
  // Each row's x and which runs fill it, in one pass; the columns are filled afterwards.
  const rowX: number[] = [];
  const filled: number[] = [];
  const rowEnd: number[] = [];
  for (;;) {
    let bestX = Infinity;
    let any = false;
    for (let j = 0; j < k; j++) {
      const p = pos[j];
      if (p < lines[j].x.length && (!any || lines[j].x[p] < bestX)) {
        bestX = lines[j].x[p];
        any = true;
      }
    }
    if (!any) break;
    for (let j = 0; j < k; j++) {
      const p = pos[j];
      // Same-x test that also matches a NaN head with a NaN row (never skips a point).
      if (p < lines[j].x.length && (lines[j].x[p] === bestX || (bestX !== bestX && lines[j].x[p] !== lines[j].x[p]))) {
        filled.push(j);
        pos[j]++;
      }
    }
    rowX.push(bestX);
    rowEnd.push(filled.length);
  }
  const total = rowX.length;
  const x = Float64Array.from(rowX);
  const ys: (number | null)[][] = lines.map(() => new Array<number | null>(total).fill(null));
  pos.fill(0);
  let f = 0;
  for (let row = 0; row < total; row++) {
    for (; f < rowEnd[row]; f++) {
      const j = filled[f];
      ys[j][row] = lines[j].y[pos[j]++];
    }
  }
  return { x, ys };
}

/** A chart's y column: typed when every cell holds a value (no gaps), else with nulls for gaps. */
export type YColumn = Float64Array | (number | null)[];

/**
 * The columns a chart draws: the shared x column, then per run its raw line (masked for a log
 * axis) and, when smoothing, its smoothed line. Runs logged at the same steps with only finite
 * values (a sweep; what the host sends unless a run has gaps) keep their typed arrays as they
 * are, and their smoothed lines are typed too: no boxed copy of every point (100 runs × 1,000
 * points made a tenth of a chart's draw in copies and garbage). Otherwise alignRuns' rows.
 */
export function lineColumns(
  lines: readonly RunLine[],
  smoothing: number,
  logScale: boolean,
): { x: Float64Array; cols: YColumn[] } {
  const cols: YColumn[] = [];
  if (lines.length > 0 && lines.every((l) => sameX(l.x, lines[0].x) && allFinite(l.y, logScale))) {
    for (const l of lines) {
      cols.push(l.y);
      if (smoothing > 0) cols.push(emaFinite(l.y, smoothing));
    }
    return { x: lines[0].x, cols };
  }
  const { x, ys } = alignRuns(lines);
  for (const y of ys) {
    // A non-finite value is a gap (its marker is drawn apart): NaN in a column would spoil uPlot's y range.
    const raw = logScale ? maskNonPositive(y) : y.map((v) => (v !== null && Number.isFinite(v) ? v : null));
    cols.push(raw);
    if (smoothing > 0) cols.push(ema(raw, smoothing));
  }
  return { x, cols };
}

/** Every value finite (and > 0 for a log axis): none would be a gap. */
function allFinite(y: Float64Array, positive: boolean): boolean {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v) || (positive && v <= 0)) return false;
  }
  return true;
}

/** ema() of finite values only, into a typed array (no gaps to pass through). */
export function emaFinite(values: Float64Array, weight: number): Float64Array {
  const out = new Float64Array(values.length);
  if (weight === 0) {
    out.set(values);
    return out;
  }
  let acc = 0;
  let wn = 1;
  for (let i = 0; i < values.length; i++) {
    acc = acc * weight + (1 - weight) * values[i];
    wn *= weight;
    out[i] = acc / (1 - wn);
  }
  return out;
}

function sameX(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Exponential moving average with TensorBoard's debiasing, so the smoothed line
 * starts at the first value instead of climbing from zero. Nulls pass through.
 */
export function ema(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out = new Array<number | null>(values.length);
  let acc = 0;
  // weight^n for the n values seen, kept as a product (a pow per point showed in the profile).
  let wn = 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    acc = acc * weight + (1 - weight) * v;
    wn *= weight;
    out[i] = weight === 0 ? v : acc / (1 - wn);
  }
  return out;
}

/** A log axis cannot show values ≤ 0: they become gaps rather than breaking the scale. */
export function maskNonPositive(values: readonly (number | null)[]): (number | null)[] {
  return values.map((v) => (v !== null && v > 0 ? v : null));
}

/**
 * The y range without the extreme `tail` share of finite values at each end ("ignore
 * outliers"), widened by 5% so the kept lines do not touch the frame. Undefined when there
 * are too few values to leave any out.
 */
export function robustRange(columns: readonly ArrayLike<number>[], tail = 0.01): [number, number] | undefined {
  const all: number[] = [];
  for (const c of columns) for (let i = 0; i < c.length; i++) if (Number.isFinite(c[i])) all.push(c[i]);
  if (all.length < 10) return undefined;
  all.sort((a, b) => a - b);
  const lo = all[Math.floor(tail * (all.length - 1))];
  const hi = all[Math.ceil((1 - tail) * (all.length - 1))];
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  return [lo - pad, hi + pad];
}
