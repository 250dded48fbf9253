// The compare table, built from the store's summaries and the series cache: one row per param
// and per metric the chosen runs have, a `null` cell where a run lacks it, each final metric
// with its step, and whether the row differs across runs. No `vscode`: unit-tested in Node.
import type { RunSummary } from '../../api/types';
import { encodeWireNumber } from '../../common/wireNumber';
import {
  type CompareRow,
  type CompareTable,
  type MetricCell,
  type ParamCell,
  compareTitle,
} from '../../webview/protocol/compare';
import type { RunInfo } from '../../webview/protocol/runs';
import type { SeriesLike, ViewsDeps } from '../deps';

export type CompareDeps = Pick<ViewsDeps, 'store'> & { series: Pick<SeriesLike, 'keys' | 'latest'> };

export function buildCompareTable(
  deps: CompareDeps,
  runIds: readonly string[],
  info: (r: RunSummary) => RunInfo,
): CompareTable {
  const runs = runIds.map((id) => deps.store.getRun(id)).filter((r): r is RunSummary => !!r);
  const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const params = paramNames.map((name) =>
    row<NonNullable<ParamCell>>(
      name,
      runs.map((r) => (name in r.params ? { value: r.params[name] } : null)),
      (c) => JSON.stringify(c.value),
    ),
  );
  const keys = [...new Set(runs.flatMap((r) => keysOf(deps, r.runId)))].sort(metricOrder);
  const metrics = keys.map((key) =>
    row<NonNullable<MetricCell>>(
      key,
      runs.map((r) => {
        const p = safe(() => deps.series.latest(r.runId, key), undefined);
        // Non-finite finals travel as text ("NaN"), since JSON has no NaN.
        return p === undefined ? null : { value: encodeWireNumber(p.value), step: p.step };
      }),
      (c) => String(c.value),
    ),
  );
  return { runs: runs.map(info), params, metrics, title: compareTitle(runs.map((r) => r.name)) };
}

/** The metrics at least two of the runs logged (all of one run's, when it is alone), in table order. */
export function sharedKeys(deps: CompareDeps, runIds: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const id of runIds) for (const k of keysOf(deps, id)) count.set(k, (count.get(k) ?? 0) + 1);
  const need = Math.min(2, runIds.length);
  return [...count]
    .filter(([, n]) => n >= need)
    .map(([k]) => k)
    .sort(metricOrder);
}

/** The person's metrics first, system metrics (`sys/…`) after them; each part by name. */
function metricOrder(a: string, b: string): number {
  const sa = a.startsWith('sys/') ? 1 : 0;
  const sb = b.startsWith('sys/') ? 1 : 0;
  return sa - sb || (a < b ? -1 : a > b ? 1 : 0);
}

function row<C>(name: string, cells: (C | null)[], key: (c: C) => string): CompareRow<C | null> {
  const texts = cells.map((c) => (c === null ? '\u0000missing' : key(c)));
  return { name, cells, differs: texts.some((t) => t !== texts[0]) };
}

function keysOf(deps: CompareDeps, runId: string): string[] {
  return safe(() => deps.series.keys(runId), []);
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
