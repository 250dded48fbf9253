// The compare page's contract: its host (src/ui/compare/) sends one table of the chosen
// runs' params and final metrics after the page's `ready`. Both sides import this file.
import type { ParamValue } from '../../api/types';
import { type Message, type ReadyMessage, isObject, isReady } from './base';
import type { RunInfo } from './runs';

/** What the compare page remembers across reloads (handed to the serializer). */
export interface CompareState {
  runIds: string[];
}

export function isCompareState(v: unknown): v is CompareState {
  return isObject(v) && Array.isArray(v.runIds) && v.runIds.every((r) => typeof r === 'string');
}

export interface CompareTable {
  runs: RunInfo[];
  /** One row per param or metric; `values[i]` belongs to `runs[i]`. */
  params: CompareRow[];
  metrics: CompareRow[];
}

export interface CompareRow {
  name: string;
  /** Non-finite metric values travel as their wire text ("NaN"), since JSON has none. */
  values: (ParamValue | undefined)[];
  /** True when not every run has the same value. */
  differs: boolean;
}

/** Host → page. */
export interface CompareMessage extends Message<'compare'> {
  table: CompareTable;
}

export type CompareHostMessage = CompareMessage;
export type CompareWebviewMessage = ReadyMessage;

export function isCompareHostMessage(v: unknown): v is CompareHostMessage {
  return (
    isObject(v) &&
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
