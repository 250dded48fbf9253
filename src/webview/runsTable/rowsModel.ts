// From all runs to the rows the table shows: archived runs out (unless shown), the filter
// expression and parallel-coordinates brushes applied, sorted by one column, and grouped by
// fields into expandable group rows with aggregates. Pure (no DOM), so tests and benchmarks run it.
import type { Brush } from '../protocol/runsTable';
import type { FilterTarget } from './filterExpr';
import {
  type FieldRef,
  type FieldValue,
  type TableRun,
  compareValues,
  fieldOf,
  fieldValue,
  visibleTags,
} from './fields';

export const ARCHIVED_TAG = 'runwatch.archived';

export interface SortSpec {
  id: string;
  desc: boolean;
}

export interface ViewSpec {
  test: (t: FilterTarget) => boolean;
  showArchived: boolean;
  brushes: Record<string, Brush>;
  sort?: SortSpec;
  groupBy: string[];
  /** Group keys whose runs are listed under their header. */
  expanded: ReadonlySet<string>;
}

export interface GroupAggregate {
  n: number;
  mean: number;
  min: number;
  max: number;
}

export type DisplayItem =
  | { kind: 'run'; run: TableRun; inGroup?: string }
  | { kind: 'group'; key: string; label: string; runs: TableRun[]; expanded: boolean };

export interface ViewResult {
  items: DisplayItem[];
  /** Runs passing every filter, in sort order (groups' runs included, whether expanded or not). */
  runs: TableRun[];
  /** Archived runs hidden by the default. */
  hiddenArchived: number;
}

const textCache = new WeakMap<TableRun, string>();

/** A run as the filter language sees it. */
export function filterTarget(run: TableRun): FilterTarget {
  return {
    value: (f: FieldRef) => fieldValue(run, f),
    text: () => {
      let t = textCache.get(run);
      if (t === undefined) {
        t = [run.name, run.project, run.runId, ...visibleTags(run)].join('\n').toLowerCase();
        textCache.set(run, t);
      }
      return t;
    },
    hasTag: (name) => name in run.tags,
  };
}

export function isArchived(run: TableRun): boolean {
  return run.tags[ARCHIVED_TAG] === 'true';
}

export function passesBrush(v: FieldValue, b: Brush): boolean {
  if ('values' in b) return v !== undefined && v !== null && b.values.includes(String(v));
  return typeof v === 'number' && v >= b.min && v <= b.max;
}

export function buildView(all: readonly TableRun[], spec: ViewSpec): ViewResult {
  const brushes = Object.entries(spec.brushes)
    .map(([id, b]) => [fieldOf(id), b] as const)
    .filter((e): e is readonly [FieldRef, Brush] => e[0] !== undefined);
  let hiddenArchived = 0;
  const runs: TableRun[] = [];
  for (const r of all) {
    if (!spec.showArchived && isArchived(r)) {
      hiddenArchived++;
      continue;
    }
    if (!spec.test(filterTarget(r))) continue;
    if (!brushes.every(([f, b]) => passesBrush(fieldValue(r, f), b))) continue;
    runs.push(r);
  }
  if (spec.sort) sortRuns(runs, spec.sort);
  const groupFields = spec.groupBy.map(fieldOf).filter((f): f is FieldRef => f !== undefined);
  if (groupFields.length === 0) return { items: runs.map((run) => ({ kind: 'run', run })), runs, hiddenArchived };
  const groups = groupRuns(runs, groupFields, spec.groupBy);
  const items: DisplayItem[] = [];
  for (const g of groups) {
    const expanded = spec.expanded.has(g.key);
    items.push({ kind: 'group', key: g.key, label: g.label, runs: g.runs, expanded });
    if (expanded) for (const run of g.runs) items.push({ kind: 'run', run, inGroup: g.key });
  }
  return { items, runs, hiddenArchived };
}

export function sortRuns(runs: TableRun[], sort: SortSpec): void {
  const f = fieldOf(sort.id);
  if (!f) return;
  const now = Date.now() / 1000;
  // Decorate once: reading a field per comparison would cost n log n lookups.
  const keyed = runs.map((r, i) => ({ r, i, v: fieldValue(r, f, now) }));
  const sign = sort.desc ? -1 : 1;
  keyed.sort((a, b) => {
    // Missing values, then NaN, stay last whichever the direction.
    const ma = rank(a.v);
    const mb = rank(b.v);
    if (ma || mb) return ma === mb ? a.i - b.i : ma - mb;
    return sign * compareValues(a.v, b.v) || a.i - b.i;
  });
  for (let i = 0; i < keyed.length; i++) runs[i] = keyed[i].r;
}

/** 0 for a value, 1 for NaN, 2 for none: the order of the tail a sort keeps in either direction. */
function rank(v: FieldValue): number {
  if (v === undefined || v === null) return 2;
  return typeof v === 'number' && Number.isNaN(v) ? 1 : 0;
}

export interface Group {
  key: string;
  label: string;
  runs: TableRun[];
}

/** Groups in order of first appearance (so the sort decides their order too). */
export function groupRuns(runs: readonly TableRun[], fields: FieldRef[], ids: string[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const r of runs) {
    const values = fields.map((f) => fieldValue(r, f));
    const key = JSON.stringify(values.map((v) => (v === undefined ? null : v)));
    let g = byKey.get(key);
    if (!g) {
      const label = ids
        .map((id, i) => `${shortId(id)}=${values[i] === undefined ? '–' : String(values[i])}`)
        .join(' · ');
      g = { key, label, runs: [] };
      byKey.set(key, g);
    }
    g.runs.push(r);
  }
  return [...byKey.values()];
}

function shortId(id: string): string {
  return id.replace(/^params\./, '').replace(/^tags\./, 'tag ');
}

/** Mean, min and max over the group's finite numbers (NaN and missing values left out). */
export function aggregate(runs: readonly TableRun[], f: FieldRef): GroupAggregate | undefined {
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const r of runs) {
    const v = fieldValue(r, f);
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    n++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return n === 0 ? undefined : { n, mean: sum / n, min, max };
}

/** The distinct values a group holds in a text column (for "adam" or "3 values"). */
export function distinct(runs: readonly TableRun[], f: FieldRef): string[] {
  const s = new Set<string>();
  for (const r of runs) {
    const v = fieldValue(r, f);
    if (v !== undefined && v !== null && v !== '') s.add(String(v));
  }
  return [...s];
}

/** Columns whose value is not the same in every run (for "only columns that differ"). */
export function differingColumns(runs: readonly TableRun[], ids: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const id of ids) {
    const f = fieldOf(id);
    if (!f) continue;
    let first: string | undefined;
    for (let i = 0; i < runs.length; i++) {
      const v = JSON.stringify(fieldValue(runs[i], f) ?? null);
      if (i === 0) first = v;
      else if (v !== first) {
        out.add(id);
        break;
      }
    }
  }
  return out;
}
