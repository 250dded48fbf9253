// The compare page's contract: its host (src/ui/compare/) sends the chosen runs' params and
// final metrics (each with its step) as a table after the page's `ready`, then one small
// overlaid chart per metric the runs share. Both sides import this file.
//
// Webview messages go through JSON: an `undefined` inside an array would arrive as `null`, so a
// missing value is a `null` cell, never an undefined one, and a present value is wrapped.
import type { ParamValue } from '../../api/types';
import type { WireNumber } from '../../common/wireNumber';
import { type Message, type ReadyMessage, isObject, isReady } from './base';
import type { RunInfo } from './runs';

/** What the compare page remembers across reloads (handed to the serializer). */
export interface CompareState {
  runIds: string[];
}

export function isCompareState(v: unknown): v is CompareState {
  return isObject(v) && Array.isArray(v.runIds) && v.runIds.every((r) => typeof r === 'string');
}

/** A param's value in one run; `null`: the run has no such param. */
export type ParamCell = { value: ParamValue } | null;

/** A metric's last value in one run (non-finite as its wire text) and its step; `null`: never logged. */
export type MetricCell = { value: WireNumber; step: number } | null;

export interface CompareRow<C> {
  name: string;
  /** `cells[i]` belongs to `runs[i]`. */
  cells: C[];
  /** True when not every run has the same value (a missing value differs from any). */
  differs: boolean;
}

export interface CompareTable {
  runs: RunInfo[];
  params: CompareRow<ParamCell>[];
  metrics: CompareRow<MetricCell>[];
  /** The panel's title, naming the runs ("Compare: a vs b"). */
  title: string;
}

/** One run's line in a compare chart: steps and values, already decimated by the store. */
export interface CompareLine {
  runId: string;
  x: number[];
  /** Finite values only (non-finite ones are left out of the line). */
  y: number[];
}

export interface CompareChart {
  key: string;
  lines: CompareLine[];
}

/** Host → page: the table. */
export interface CompareMessage extends Message<'compare'> {
  table: CompareTable;
}

/** Host → page: the charts of the metrics the runs share (after the table: they need store reads). */
export interface CompareChartsMessage extends Message<'charts'> {
  charts: CompareChart[];
  /** Shared metrics left out of the charts (there are more than the page draws). */
  omitted: number;
}

export type CompareHostMessage = CompareMessage | CompareChartsMessage;
export type CompareWebviewMessage = ReadyMessage;

export function isCompareHostMessage(v: unknown): v is CompareHostMessage {
  if (!isObject(v)) return false;
  if (v.type === 'charts') return Array.isArray(v.charts) && typeof v.omitted === 'number';
  return (
    v.type === 'compare' &&
    isObject(v.table) &&
    Array.isArray(v.table.runs) &&
    Array.isArray(v.table.params) &&
    Array.isArray(v.table.metrics)
  );
}

export function isCompareWebviewMessage(v: unknown): v is CompareWebviewMessage {
  return isReady(v);
}

/**
 * The panel title naming the runs: "Compare: a vs b", "Compare: a, b, c", "Compare: a, b +3 more".
 * Long names are shortened so a tab stays readable; the page's header has them whole.
 */
export function compareTitle(names: readonly string[]): string {
  const short = names.map((n) => (n.length > 24 ? `${n.slice(0, 23)}…` : n));
  if (short.length === 0) return 'Compare Runs';
  if (short.length === 2) return `Compare: ${short[0]} vs ${short[1]}`;
  if (short.length <= 3) return `Compare: ${short.join(', ')}`;
  return `Compare: ${short.slice(0, 2).join(', ')} +${short.length - 2} more`;
}
