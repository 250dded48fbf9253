// A group of runs as one line with a band: per x cell, the mean or median of the runs' values with
// their min–max or ±1 standard deviation. Computed where the series live (the extension host), from
// the series cache's decimated queries, so a page gets a few hundred numbers per group instead of
// every run's points. NaN-aware throughout: NaN/±Inf points never enter (the cache keeps them out of
// `y`), and a run with no value in a cell (it had stopped, or had not got there yet) is left out of
// that cell rather than counted as zero.
import type { SeriesQuery, SeriesSlice } from './types';

export type BandCenter = 'mean' | 'median';
export type BandSpread = 'minmax' | 'std';

export interface BandRequest {
  runIds: readonly string[];
  key: string;
  /** Cells along x (default 200). */
  cells?: number;
  center?: BandCenter;
  spread?: BandSpread;
}

export interface Band {
  /** Cell midpoints (steps). */
  x: Float64Array;
  center: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  /** Runs contributing to each cell. */
  n: Uint32Array;
  /** Runs of the group that had any finite point of the key. */
  runs: number;
}

export interface BandSource {
  query(q: SeriesQuery): Promise<Pick<SeriesSlice, 'x' | 'y'>>;
}

const DEFAULT_CELLS = 200;
const CONCURRENCY = 32;
const RAW_UP_TO = 2048;

export interface CellStats {
  center: number;
  lo: number;
  hi: number;
  n: number;
}

/** Mean of the finite values (NaN when none). */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/** Median of the finite values (NaN when none); the mean of the middle two for an even count. */
export function median(values: ArrayLike<number>): number {
  const f = finite(values).sort((a, b) => a - b);
  if (f.length === 0) return NaN;
  const m = f.length >> 1;
  return f.length % 2 ? f[m] : (f[m - 1] + f[m]) / 2;
}

/** Population standard deviation of the finite values (NaN when none, 0 for one). */
export function std(values: ArrayLike<number>): number {
  const mu = mean(values);
  if (Number.isNaN(mu)) return NaN;
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      s += (v - mu) * (v - mu);
      n++;
    }
  }
  return Math.sqrt(s / n);
}

function finite(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out.push(values[i]);
  return out;
}

/** One cell's line value and band edges over the runs' values in it. */
export function cellStats(values: ArrayLike<number>, center: BandCenter, spread: BandSpread): CellStats {
  const f = finite(values);
  if (f.length === 0) return { center: NaN, lo: NaN, hi: NaN, n: 0 };
  const c = center === 'median' ? median(f) : mean(f);
  if (spread === 'std') {
    const sd = std(f);
    const mu = center === 'mean' ? c : mean(f);
    return { center: c, lo: mu - sd, hi: mu + sd, n: f.length };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of f) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { center: c, lo, hi, n: f.length };
}

/**
 * A run's series resampled onto the cells: the mean of its points in each cell, cells between
 * two of its points linearly interpolated, cells outside its own x range NaN.
 */
export function resample(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  x0: number,
  width: number,
  cells: number,
): Float64Array {
  const sum = new Float64Array(cells);
  const cnt = new Uint32Array(cells);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(y[i])) continue;
    const c = Math.min(cells - 1, Math.max(0, Math.floor((x[i] - x0) / width)));
    sum[c] += y[i];
    cnt[c]++;
  }
  const out = new Float64Array(cells).fill(NaN);
  let prev = -1;
  for (let c = 0; c < cells; c++) {
    if (cnt[c] === 0) continue;
    out[c] = sum[c] / cnt[c];
    if (prev >= 0 && c - prev > 1) {
      for (let k = prev + 1; k < c; k++) out[k] = out[prev] + ((out[c] - out[prev]) * (k - prev)) / (c - prev);
    }
    prev = c;
  }
  return out;
}

/** The group's band for one metric key over steps. */
export async function groupBand(source: BandSource, req: BandRequest): Promise<Band> {
  const cells = Math.max(2, Math.min(5000, Math.floor(req.cells ?? DEFAULT_CELLS)));
  const center = req.center ?? 'mean';
  const spread = req.spread ?? 'minmax';
  // Twice the cells: a min/max-decimated slice gives two points per bucket. A short series is read
  // raw instead (one read of its rows, no pyramid built): its cells then hold its true mean.
  const slices: Pick<SeriesSlice, 'x' | 'y'>[] = new Array(req.runIds.length);
  let next = 0;
  const worker = async () => {
    while (next < req.runIds.length) {
      const i = next++;
      slices[i] = await source.query({
        runId: req.runIds[i],
        key: req.key,
        x: 'step',
        maxPoints: Math.max(cells * 2, RAW_UP_TO),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, req.runIds.length) }, worker));
  let xMin = Infinity;
  let xMax = -Infinity;
  let runs = 0;
  for (const s of slices) {
    if (s.x.length === 0) continue;
    runs++;
    if (s.x[0] < xMin) xMin = s.x[0];
    if (s.x[s.x.length - 1] > xMax) xMax = s.x[s.x.length - 1];
  }
  const empty: Band = {
    x: new Float64Array(0),
    center: new Float64Array(0),
    lo: new Float64Array(0),
    hi: new Float64Array(0),
    n: new Uint32Array(0),
    runs: 0,
  };
  if (runs === 0) return empty;
  // Steps are integers: a cell's x is a step (a readout says "step 1,234", never 1,234.5); with no
  // more steps than cells, a cell per step.
  const integral = Number.isInteger(xMin) && Number.isInteger(xMax);
  const perStep = integral && xMax - xMin + 1 <= cells;
  const n = xMax > xMin ? (perStep ? xMax - xMin + 1 : cells) : 1;
  const width = xMax > xMin ? (perStep ? 1 : (xMax - xMin) / n) : 1;
  const x0 = perStep ? xMin - 0.5 : xMin;
  const grid = slices.filter((s) => s.x.length > 0).map((s) => resample(s.x, s.y, x0, width, n));
  const band: Band = {
    x: new Float64Array(n),
    center: new Float64Array(n),
    lo: new Float64Array(n),
    hi: new Float64Array(n),
    n: new Uint32Array(n),
    runs,
  };
  const column = new Float64Array(grid.length);
  for (let c = 0; c < n; c++) {
    for (let r = 0; r < grid.length; r++) column[r] = grid[r][c];
    const st = cellStats(column, center, spread);
    // Cells at least a step wide: rounded centres stay distinct and in order.
    const mid = x0 + (c + 0.5) * width;
    band.x[c] = n === 1 ? xMin : integral ? Math.round(mid) : mid;
    band.center[c] = st.center;
    band.lo[c] = st.lo;
    band.hi[c] = st.hi;
    band.n[c] = st.n;
  }
  return band;
}
