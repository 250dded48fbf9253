// What the pointer reads and does on a chart, without the DOM (unit-tested in Node): each
// run's point nearest the cursor for the hover readout, how its x is written, and whether
// a wheel event zooms the chart or scrolls the page.
import { NonFiniteKind } from '../../common/wireNumber';
import { formatDuration, formatStep, formatWallTime } from '../protocol/format';
import type { SeriesData, WheelZoom, XMode } from '../protocol/dashboard';

export interface ReadoutRow {
  runId: string;
  /** The point's x (step, or seconds of wall/relative time). */
  x: number;
  value: number;
  /** The smoothed line's value there; undefined without smoothing or at a non-finite point. */
  smoothed?: number;
  /** The other axis of the point, when known (axesOf): its wall time (s) in step mode, its step otherwise. */
  step?: number;
  time?: number;
}

/** Step and wall time (s) of the same stored points of one run (the host's `axes` reply). */
export interface AxisPairs {
  step: Float64Array;
  time: Float64Array;
}

/**
 * Fills in each row's other axis from `pairs` (run id → pairs): in step mode the wall time at
 * that exact step, in time modes the step at that exact time (`startTime` added for relative).
 * True when every finite row found one; false means the pairs are missing or older than the data.
 */
export function addOtherAxis(
  rows: ReadoutRow[],
  xMode: XMode,
  pairs: ReadonlyMap<string, AxisPairs> | undefined,
  startTime: (runId: string) => number,
): boolean {
  let all = true;
  for (const r of rows) {
    const p = pairs?.get(r.runId);
    const from = xMode === 'step' ? p?.step : p?.time;
    const x = xMode === 'relative' ? r.x + startTime(r.runId) : r.x;
    const i = from ? nearestIndex(from, x) : -1;
    if (p && i >= 0 && Math.abs(from![i] - x) <= 1e-9 * Math.max(1, Math.abs(x))) {
      if (xMode === 'step') r.time = p.time[i];
      else r.step = p.step[i];
    } else if (Number.isFinite(r.value)) {
      all = false;
    }
  }
  return all;
}

/** Index of the element of sorted `xs` nearest to `x` (-1 when empty). */
export function nearestIndex(xs: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) return lo - 1;
  return lo;
}

const KIND_VALUE: Record<number, number> = {
  [NonFiniteKind.NaN]: NaN,
  [NonFiniteKind.PosInf]: Infinity,
  [NonFiniteKind.NegInf]: -Infinity,
};

/**
 * Each series' point nearest to `x`: the nearest finite point, or a non-finite one when that
 * is at least as near (so hovering a NaN marker reads "NaN"). `smoothed[k]` is series k's
 * smoothed line, point for point, if smoothing is on.
 */
export function pointsAt(
  series: readonly SeriesData[],
  x: number,
  smoothed?: readonly (readonly (number | null)[])[],
): ReadoutRow[] {
  const rows: ReadoutRow[] = [];
  series.forEach((s, k) => {
    const i = nearestIndex(s.x, x);
    const j = nearestIndex(s.nonFiniteX, x);
    const di = i < 0 ? Infinity : Math.abs(s.x[i] - x);
    const dj = j < 0 ? Infinity : Math.abs(s.nonFiniteX[j] - x);
    if (j >= 0 && dj <= di) {
      rows.push({ runId: s.runId, x: s.nonFiniteX[j], value: KIND_VALUE[s.nonFiniteKind[j]] ?? NaN });
    } else if (i >= 0) {
      const sm = smoothed?.[k]?.[i];
      rows.push({ runId: s.runId, x: s.x[i], value: s.y[i], smoothed: sm ?? undefined });
    }
  });
  return rows;
}

/** The x of a point as the readout writes it: a step, a wall time, or a time since the start. */
export function formatX(x: number, xMode: XMode): string {
  if (xMode === 'step') return `step ${formatStep(x)}`;
  if (xMode === 'time') return formatWallTime(x * 1000);
  return `+${formatDuration(x)}`;
}

/** Whether a wheel event zooms the chart (true) or is left to scroll the page. */
export function wheelZooms(
  mode: WheelZoom,
  e: { ctrlKey: boolean; metaKey: boolean; altKey: boolean },
  focused: boolean,
): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey) return true;
  return mode === 'always' || (mode === 'focused' && focused);
}
