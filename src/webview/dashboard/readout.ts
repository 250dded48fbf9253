// The hover readout: at the cursor's x, every shown run's nearest point (value, smoothed
// value, step or time) in one box beside the cursor, a non-finite value named (NaN, +Inf,
// -Inf) where one is nearer than any finite point. The lookup is pure (`pointsAt`); the box
// is a plain element over the plot, so tests read what a person reads.
import { NonFiniteKind } from '../../common/wireNumber';
import { formatStep, formatValue, formatWallTime } from '../protocol/format';
import type { RunInfo, SeriesData, XMode } from '../protocol/dashboard';
import { formatDuration } from './chartOptions';
import { el, swatch, text } from './dom';

export interface ReadoutRow {
  runId: string;
  /** The point's x (step, or seconds of wall/relative time). */
  x: number;
  value: number;
  /** The smoothed line's value there; undefined without smoothing or at a non-finite point. */
  smoothed?: number;
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

export class Readout {
  readonly box = el('div', 'readout');

  constructor(parent: HTMLElement) {
    this.box.hidden = true;
    parent.append(this.box);
  }

  hide(): void {
    this.box.hidden = true;
  }

  /** Shows `rows` beside the cursor at (`left`, `top`) px in the plot; flips left near the right edge. */
  show(rows: readonly ReadoutRow[], runs: ReadonlyMap<string, RunInfo>, xMode: XMode, left: number, top: number): void {
    if (rows.length === 0) return this.hide();
    const box = this.box;
    box.replaceChildren();
    const sameX = rows.every((r) => r.x === rows[0].x);
    if (sameX) box.append(text(formatX(rows[0].x, xMode), 'readout-x'));
    for (const r of rows) {
      const run = runs.get(r.runId);
      const row = el('div', 'readout-row');
      row.dataset.runId = r.runId;
      row.dataset.x = String(r.x);
      row.dataset.value = Number.isFinite(r.value) ? String(r.value) : formatValue(r.value);
      const value = text(
        formatValue(r.value),
        Number.isFinite(r.value) ? 'readout-value' : 'readout-value legend-warn',
      );
      row.append(swatch(run?.color ?? '#888'), text(run?.name ?? r.runId, 'readout-name'), value);
      if (r.smoothed !== undefined) row.append(text(`smoothed ${formatValue(r.smoothed)}`, 'readout-smoothed'));
      if (!sameX) row.append(text(formatX(r.x, xMode), 'readout-rx'));
      box.append(row);
    }
    box.hidden = false;
    const parentWidth = (box.parentElement as HTMLElement).clientWidth;
    const w = box.offsetWidth;
    box.style.left = `${left + 16 + w > parentWidth ? Math.max(0, left - 16 - w) : left + 16}px`;
    box.style.top = `${Math.max(0, top - 8)}px`;
  }
}
