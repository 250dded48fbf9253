// Which columns the table has (every field the runs have: the run's own, each param, each
// metric's last/min/max), in what order and how wide. Pure (no DOM): the chooser that changes
// them is in controls.ts.
import { type FieldRef, METRIC_AGGS, type TableRun, fieldLabel, fieldOf } from './fields';

export interface TableColumn {
  id: string;
  field: FieldRef;
  label: string;
  width: number;
  numeric: boolean;
}

const BASE = ['name', 'project', 'status', 'start', 'duration', 'tags'];

/** Every column id the runs have, in their natural order. */
export function allColumnIds(runs: Iterable<TableRun>): string[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tagKeys = new Set<string>();
  for (const r of runs) {
    for (const p of Object.keys(r.params)) params.add(p);
    for (const m of Object.keys(r.metrics)) metrics.add(m);
    for (const [k, v] of Object.entries(r.tags)) if (v !== '' && !k.startsWith('runwatch.')) tagKeys.add(k);
  }
  return [
    ...BASE,
    ...[...params].sort().map((p) => `params.${p}`),
    ...[...metrics].sort().flatMap((m) => METRIC_AGGS.map((a) => `metrics.${m}.${a}`)),
    ...[...tagKeys].sort().map((t) => `tags.${t}`),
  ];
}

/** `order` first (those still there), then the rest in natural order. */
export function orderedIds(all: readonly string[], order: readonly string[]): string[] {
  const set = new Set(all);
  const first = order.filter((id) => set.has(id));
  const seen = new Set(first);
  return [...first, ...all.filter((id) => !seen.has(id))];
}

/** Moves `id` one place left (-1) or right (+1) within `ids`; returns the new order. */
export function move(ids: readonly string[], id: string, dir: -1 | 1): string[] {
  const out = [...ids];
  const i = out.indexOf(id);
  const j = i + dir;
  if (i < 0 || j < 0 || j >= out.length) return out;
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

function isNumeric(f: FieldRef): boolean {
  return f.kind === 'metric' || f.kind === 'start' || f.kind === 'duration' || f.kind === 'step' || f.kind === 'end';
}

export function tableColumn(id: string, numericParams: ReadonlySet<string>): TableColumn | undefined {
  const field = fieldOf(id);
  if (!field) return undefined;
  const width = field.kind === 'name' ? 220 : field.kind === 'tags' ? 150 : field.kind === 'start' ? 130 : 110;
  return { id, field, label: fieldLabel(field), width, numeric: isNumeric(field) || numericParams.has(id) };
}

/** Param columns whose every value is a number (right-aligned, averaged in group rows). */
export function numericParamIds(runs: Iterable<TableRun>): Set<string> {
  const numeric = new Set<string>();
  const not = new Set<string>();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.params)) {
      if (typeof v === 'number') numeric.add(`params.${k}`);
      else if (v !== null) not.add(`params.${k}`);
    }
  }
  for (const id of not) numeric.delete(id);
  return numeric;
}
