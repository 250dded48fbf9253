// Pure data shaping for the dashboard charts (no DOM): overlaying runs whose x values
// differ into uPlot's aligned layout, EMA smoothing and log-scale masking. Number
// formatting, shared with the host's tree, is in ../protocol/format.ts.

export interface RunLine {
  x: Float64Array;
  y: Float64Array;
}

/**
 * Merges several runs' sorted x arrays into one shared x column; each run's y column
 * holds its value on its own rows and null elsewhere (drawn with `spanGaps`). Every
 * point keeps its own row, so min/max pairs sharing an x survive intact.
 */
export function alignRuns(lines: readonly RunLine[]): { x: Float64Array; ys: (number | null)[][] } {
  let total = 0;
  for (const l of lines) total += l.x.length;
  const x = new Float64Array(total);
  const ys: (number | null)[][] = lines.map(() => new Array<number | null>(total).fill(null));
  const pos = new Array<number>(lines.length).fill(0);
  for (let row = 0; row < total; row++) {
    // k is small (a handful of runs): a linear scan for the smallest head is cheapest.
    let best = -1;
    let bestX = Infinity;
    for (let k = 0; k < lines.length; k++) {
      const p = pos[k];
      if (p < lines[k].x.length && (best < 0 || lines[k].x[p] < bestX)) {
        best = k;
        bestX = lines[k].x[p];
      }
    }
    x[row] = bestX;
    ys[best][row] = lines[best].y[pos[best]];
    pos[best]++;
  }
  return { x, ys };
}

/**
 * Exponential moving average with TensorBoard's debiasing, so the smoothed line
 * starts at the first value instead of climbing from zero. Nulls pass through.
 */
export function ema(values: readonly (number | null)[], weight: number): (number | null)[] {
  const out = new Array<number | null>(values.length);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    acc = acc * weight + (1 - weight) * v;
    n++;
    out[i] = weight === 0 ? v : acc / (1 - Math.pow(weight, n));
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
