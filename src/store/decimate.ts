// Min/max decimation: a range of a series becomes at most maxPoints (x, y)
// pairs, each bucket contributing its finite min and max at their own x, so a
// single-point spike or dip always survives. NaN/±Inf never enter y.
import { Extremes, MinMaxPyramid, RawRows, RawWindows } from './pyramid';

export type Axis = 'step' | 'time';

export interface XY {
  x: Float64Array;
  y: Float64Array;
  decimated: boolean;
}

export type DecimationPlan =
  | { kind: 'raw' }
  /** Groups of `groupSize` raw points, aligned to multiples of it, each answered from pyramid buckets. */
  | { kind: 'pyramid'; groupSize: number };

function isFinite64(v: number): boolean {
  return v === v && v !== Infinity && v !== -Infinity;
}

/** Buckets (each yields a min and a max) that fit in maxPoints. */
export function bucketBudget(maxPoints: number): number {
  return Math.max(1, Math.floor(maxPoints / 2));
}

/**
 * Chooses between reading the raw range (small, or too fine for level 1 to give
 * enough buckets) and answering from the coarsest pyramid level that still
 * gives at least the bucket budget; several buckets of that level make a group.
 */
export function planDecimation(pyr: MinMaxPyramid, i0: number, i1: number, maxPoints: number): DecimationPlan {
  const n = i1 - i0;
  if (n <= maxPoints) return { kind: 'raw' };
  const K = bucketBudget(maxPoints);
  for (let L = pyr.levels.length; L >= 1; L--) {
    const B = pyr.bucketSize(L);
    const nb = Math.ceil(i1 / B) - Math.floor(i0 / B);
    if (nb < K) continue;
    let g = Math.ceil(nb / K);
    // Aligned groups may straddle one more boundary than nb / g suggests.
    while (Math.ceil(i1 / (g * B)) - Math.floor(i0 / (g * B)) > K) g++;
    return { kind: 'pyramid', groupSize: g * B };
  }
  return { kind: 'raw' };
}

class XYBuilder {
  readonly x: Float64Array;
  readonly y: Float64Array;
  n = 0;
  constructor(capacity: number) {
    this.x = new Float64Array(capacity);
    this.y = new Float64Array(capacity);
  }
  push(x: number, y: number): void {
    this.x[this.n] = x;
    this.y[this.n++] = y;
  }
  /** Emits a bucket's min and max in x order (once when they are the same point). */
  pushExtremes(acc: Extremes, axis: Axis): void {
    if (!acc.hasFinite) return;
    const xMin = axis === 'step' ? acc.stepAtMin : acc.timeAtMin;
    const xMax = axis === 'step' ? acc.stepAtMax : acc.timeAtMax;
    if (xMax < xMin) {
      this.push(xMax, acc.max);
      this.push(xMin, acc.min);
    } else {
      this.push(xMin, acc.min);
      if (xMax !== xMin || acc.max !== acc.min) this.push(xMax, acc.max);
    }
  }
  finish(decimated: boolean): XY {
    // slice, not subarray: don't keep the oversized buffers alive in the caller.
    return { x: this.x.slice(0, this.n), y: this.y.slice(0, this.n), decimated };
  }
}

/** Answers a 'pyramid' plan; `raw` must hold `pyr.rawRangesFor(i0, i1)`. */
export function decimateWithPyramid(
  pyr: MinMaxPyramid,
  i0: number,
  i1: number,
  groupSize: number,
  raw: RawWindows,
  axis: Axis,
): XY {
  const g0 = Math.floor(i0 / groupSize);
  const g1 = Math.ceil(i1 / groupSize);
  const out = new XYBuilder(2 * (g1 - g0));
  const acc = new Extremes();
  for (let g = g0; g < g1; g++) {
    acc.reset();
    pyr.aggregate(Math.max(i0, g * groupSize), Math.min(i1, (g + 1) * groupSize), raw, acc);
    out.pushExtremes(acc, axis);
  }
  return out.finish(true);
}

/** Raw rows in index order: exact when they fit in maxPoints, else min/max per index group. */
export function decimateRows(rows: RawRows, axis: Axis, maxPoints: number): XY {
  const xs = axis === 'step' ? rows.step : rows.time;
  const n = rows.value.length;
  if (n <= maxPoints) {
    const out = new XYBuilder(n);
    for (let i = 0; i < n; i++) if (isFinite64(rows.value[i])) out.push(xs[i], rows.value[i]);
    return out.finish(false);
  }
  const K = bucketBudget(maxPoints);
  const size = Math.ceil(n / K);
  const out = new XYBuilder(2 * Math.ceil(n / size));
  const acc = new Extremes();
  for (let s = 0; s < n; s += size) {
    acc.reset();
    const e = Math.min(n, s + size);
    for (let i = s; i < e; i++) acc.addPoint(rows.step[i], rows.time[i], rows.value[i]);
    out.pushExtremes(acc, axis);
  }
  return out.finish(true);
}

/**
 * Decimation by x value for an axis whose x isn't sorted in arrival order
 * (e.g. a resumed run logging steps again): fed in chunks, bounded memory.
 * Keeps the exact points while they fit in maxPoints, then sorts them by x.
 */
export class XBucketDecimator {
  private readonly K: number;
  private readonly mins: Float64Array;
  private readonly maxs: Float64Array;
  private readonly xAtMin: Float64Array;
  private readonly xAtMax: Float64Array;
  private readonly exactX: Float64Array;
  private readonly exactY: Float64Array;
  private exactN = 0;
  /** Points (finite or not) with x in range. */
  total = 0;
  lo = Infinity;
  hi = -Infinity;

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly maxPoints: number,
  ) {
    this.K = bucketBudget(maxPoints);
    this.mins = new Float64Array(this.K).fill(Infinity);
    this.maxs = new Float64Array(this.K).fill(-Infinity);
    this.xAtMin = new Float64Array(this.K);
    this.xAtMax = new Float64Array(this.K);
    this.exactX = new Float64Array(maxPoints);
    this.exactY = new Float64Array(maxPoints);
  }

  add(x: number, v: number): void {
    if (!(x >= this.from && x <= this.to)) return;
    this.total++;
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
    if (!isFinite64(v)) return;
    if (this.exactN < this.maxPoints) {
      this.exactX[this.exactN] = x;
      this.exactY[this.exactN] = v;
    }
    this.exactN++;
    const span = this.to - this.from;
    const b = span > 0 ? Math.min(this.K - 1, Math.floor(((x - this.from) / span) * this.K)) : 0;
    if (v < this.mins[b] || (v === this.mins[b] && x < this.xAtMin[b])) {
      this.mins[b] = v;
      this.xAtMin[b] = x;
    }
    if (v > this.maxs[b] || (v === this.maxs[b] && x < this.xAtMax[b])) {
      this.maxs[b] = v;
      this.xAtMax[b] = x;
    }
  }

  finish(): XY {
    if (this.exactN <= this.maxPoints) {
      const idx = Array.from({ length: this.exactN }, (_, i) => i);
      // Stable: equal x keep arrival order.
      idx.sort((a, b) => this.exactX[a] - this.exactX[b] || a - b);
      const out = new XYBuilder(this.exactN);
      for (const i of idx) out.push(this.exactX[i], this.exactY[i]);
      return out.finish(false);
    }
    const out = new XYBuilder(2 * this.K);
    for (let b = 0; b < this.K; b++) {
      if (!(this.mins[b] <= this.maxs[b])) continue;
      const [xa, ya, xb, yb] =
        this.xAtMax[b] < this.xAtMin[b]
          ? [this.xAtMax[b], this.maxs[b], this.xAtMin[b], this.mins[b]]
          : [this.xAtMin[b], this.mins[b], this.xAtMax[b], this.maxs[b]];
      out.push(xa, ya);
      if (xa !== xb || ya !== yb) out.push(xb, yb);
    }
    return out.finish(true);
  }
}
