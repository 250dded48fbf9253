// Parallel coordinates' axes without a DOM: which columns become axes, linear, log (positive and
// spanning two decades or more) or categorical, where a value sits on one, and the brush a dragged
// span of an axis means.
import type { Brush } from '../protocol/runsTable';
import { type FieldRef, type TableRun, fieldLabel, fieldOf, fieldValue } from './fields';

export interface PcAxis {
  id: string;
  label: string;
  field: FieldRef;
  kind: 'linear' | 'log' | 'cat';
  min: number;
  max: number;
  cats: string[];
}

export function buildAxes(runs: readonly TableRun[], ids: readonly string[]): PcAxis[] {
  const axes: PcAxis[] = [];
  for (const id of ids) {
    const field = fieldOf(id);
    if (!field) continue;
    let min = Infinity;
    let max = -Infinity;
    const cats = new Set<string>();
    let any = false;
    for (const r of runs) {
      const v = fieldValue(r, field);
      if (v === undefined || v === null) continue;
      any = true;
      if (typeof v === 'number') {
        if (Number.isFinite(v)) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
      } else cats.add(String(v));
    }
    if (!any) continue;
    const numeric = cats.size === 0 && min <= max;
    const kind = numeric ? (min > 0 && max / min >= 100 ? 'log' : 'linear') : 'cat';
    axes.push({ id, label: fieldLabel(field), field, kind, min, max, cats: [...cats].sort() });
  }
  return axes;
}

/** Where a value sits on an axis, 0 (bottom) to 1 (top); undefined when it has no place. */
export function axisPosition(a: PcAxis, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (a.kind === 'cat') {
    const i = a.cats.indexOf(String(v));
    return i < 0 ? undefined : a.cats.length === 1 ? 0.5 : i / (a.cats.length - 1);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (a.max === a.min) return 0.5;
  if (a.kind === 'log') return (Math.log(v) - Math.log(a.min)) / (Math.log(a.max) - Math.log(a.min));
  return (v - a.min) / (a.max - a.min);
}

/** The brush for a span of positions (0..1) on an axis. */
export function brushFor(a: PcAxis, t0: number, t1: number): Brush {
  const lo = Math.max(0, Math.min(t0, t1));
  const hi = Math.min(1, Math.max(t0, t1));
  if (a.kind === 'cat')
    return { values: a.cats.filter((c) => (axisPosition(a, c) ?? -1) >= lo && (axisPosition(a, c) ?? 2) <= hi) };
  const at = (t: number) =>
    a.kind === 'log'
      ? Math.exp(Math.log(a.min) + t * (Math.log(a.max) - Math.log(a.min)))
      : a.min + t * (a.max - a.min);
  // Inclusive ends, widened by a hair so the run at an edge stays inside despite rounding.
  const eps = (a.max - a.min) * 1e-9;
  return { min: at(lo) - eps, max: at(hi) + eps };
}
