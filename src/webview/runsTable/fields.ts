// A run's fields as the runs table's columns, sort keys and filter language name them: `name`,
// `project`, `id`, `status`, `start`, `end`, `duration`, `step`, `tags`, `tags.<name>`,
// `params.<name>`, `metrics.<key>.last|min|max`. One id per column, the same text the filter takes.
import type { ParamValue } from '../../api/types';
import type { WireRun } from '../protocol/runsTable';

export type MetricAgg = 'last' | 'min' | 'max';
export const METRIC_AGGS: readonly MetricAgg[] = ['last', 'min', 'max'];

export type FieldRef =
  | { kind: 'name' | 'project' | 'id' | 'status' | 'start' | 'end' | 'duration' | 'step' | 'tags' }
  | { kind: 'param'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'metric'; key: string; agg: MetricAgg };

export type FieldValue = ParamValue | undefined;

/** Last, min and max of one metric of one run (min/max over finite points; absent while unknown or none). */
export interface MetricStats {
  last?: number;
  min?: number;
  max?: number;
}

/** A run as the page holds it: the wire row with its metrics' numbers decoded. */
export type TableRun = Omit<WireRun, 'metrics'> & { metrics: Record<string, MetricStats> };

const SIMPLE = ['name', 'project', 'id', 'status', 'start', 'end', 'duration', 'step', 'tags'] as const;
const SIMPLE_SET = new Set<string>(SIMPLE);

/** Parses a field name; returns an error message (string) saying what is wrong. */
export function parseField(text: string): FieldRef | string {
  const lower = text.toLowerCase();
  if (SIMPLE_SET.has(lower)) return { kind: lower as (typeof SIMPLE)[number] };
  const dot = text.indexOf('.');
  const head = dot < 0 ? lower : lower.slice(0, dot);
  const rest = dot < 0 ? '' : text.slice(dot + 1);
  if ((head === 'params' || head === 'param') && rest) return { kind: 'param', name: rest };
  if ((head === 'tags' || head === 'tag') && rest) return { kind: 'tag', name: rest };
  if ((head === 'metrics' || head === 'metric') && rest) {
    const m = /^(.*)\.(last|min|max)$/i.exec(rest);
    if (m && m[1]) return { kind: 'metric', key: m[1], agg: m[2].toLowerCase() as MetricAgg };
    return { kind: 'metric', key: rest, agg: 'last' };
  }
  if (head === 'params' || head === 'metrics' || head === 'tags') {
    const example = head === 'params' ? 'params.lr' : head === 'tags' ? 'tags.team' : 'metrics.val/loss.min';
    return `"${text}" needs a name after the dot, e.g. ${example}`;
  }
  return (
    `unknown field "${text}": use ${SIMPLE.join(', ')}, params.<name>, tags.<name> or ` +
    'metrics.<key>[.last|.min|.max] (a plain word without an operator searches names and tags)'
  );
}

export function fieldId(f: FieldRef): string {
  switch (f.kind) {
    case 'param':
      return `params.${f.name}`;
    case 'tag':
      return `tags.${f.name}`;
    case 'metric':
      return `metrics.${f.key}.${f.agg}`;
    default:
      return f.kind;
  }
}

/** A column id back to its field (ids come from fieldId, so this never fails on them). */
export function fieldOf(id: string): FieldRef | undefined {
  const f = parseField(id);
  return typeof f === 'string' ? undefined : f;
}

export function fieldValue(run: TableRun, f: FieldRef, nowSec = Date.now() / 1000): FieldValue {
  switch (f.kind) {
    case 'name':
      return run.name;
    case 'project':
      return run.project;
    case 'id':
      return run.runId;
    case 'status':
      return run.status;
    case 'start':
      return run.startTime;
    case 'end':
      return run.endTime;
    case 'duration':
      return (run.endTime ?? (run.status === 'running' ? nowSec : run.startTime)) - run.startTime;
    case 'step':
      return run.lastStep;
    case 'tags':
      return visibleTags(run).join(', ');
    case 'param':
      return run.params[f.name];
    case 'tag':
      return run.tags[f.name];
    case 'metric': {
      const s = run.metrics[f.key];
      return s === undefined ? undefined : s[f.agg];
    }
  }
}

/** Tag names as a person reads them ("team=vision", "baseline"), internal runwatch.* tags left out. */
export function visibleTags(run: Pick<TableRun, 'tags'>): string[] {
  return Object.entries(run.tags)
    .filter(([k]) => !k.startsWith('runwatch.'))
    .map(([k, v]) => (v ? `${k}=${v}` : k))
    .sort();
}

/** Column header text: the field id without the family prefix for params and metrics. */
export function fieldLabel(f: FieldRef): string {
  switch (f.kind) {
    case 'param':
      return f.name;
    case 'tag':
      return `tag ${f.name}`;
    case 'metric':
      return `${f.key} (${f.agg})`;
    default:
      return f.kind;
  }
}

/** Sort order for two values of one column: missing last, numbers before text, NaN after numbers. */
export function compareValues(a: FieldValue, b: FieldValue): number {
  const ma = a === undefined || a === null;
  const mb = b === undefined || b === null;
  if (ma || mb) return ma === mb ? 0 : ma ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') {
    const na = Number.isNaN(a);
    const nb = Number.isNaN(b);
    if (na || nb) return na === nb ? 0 : na ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
