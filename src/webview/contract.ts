// The one contract between the extension host and the Runwatch webviews (dashboard
// and compare). Both sides import this file; nothing here touches `vscode` or the DOM.
// Every message has a `type`; `is*` guards check what arrives before it is trusted.
import type { ParamValue, RunStatus } from '../api/types';

export type XMode = 'step' | 'time' | 'relative';

/** What the dashboard remembers across reloads (webview `setState`, handed to the serializer). */
export interface DashboardState {
  /** Run ids shown; empty means "nothing chosen yet" and the host picks. */
  runIds: string[];
  /** Add runs that start while the panel is open. */
  follow: boolean;
  xMode: XMode;
  /** EMA weight in [0, 1); 0 turns smoothing off. */
  smoothing: number;
  logScale: boolean;
}

export const defaultDashboardState: DashboardState = {
  runIds: [],
  follow: true,
  xMode: 'step',
  smoothing: 0.6,
  logScale: false,
};

/** A run as the webview needs it: enough to label, color and offset its lines. */
export interface RunInfo {
  runId: string;
  name: string;
  project: string;
  status: RunStatus;
  startTime: number;
  lastStep?: number;
  color: string;
}

/** Kinds of non-finite values, as `SeriesStore` reports them. */
export const enum NonFiniteKind {
  NaN = 0,
  PosInf = 1,
  NegInf = 2,
}

/**
 * One run's series for one key, already min/max-decimated by the store. Typed
 * arrays travel as binary through `postMessage` (VS Code ≥ 1.57).
 */
export interface SeriesData {
  runId: string;
  key: string;
  xMode: XMode;
  x: Float64Array;
  y: Float64Array;
  nonFiniteX: Float64Array;
  nonFiniteKind: Uint8Array;
  /** Points stored for this series (before decimation). */
  total: number;
  decimated: boolean;
  /** Latest stored point (raw, not decimated): shown in the legend. Non-finite values as text, since JSON has no NaN. */
  latest?: { step: number; value: number | 'NaN' | 'Infinity' | '-Infinity' };
}

// ---------------------------------------------------------------------------
// Host → webview

export type HostMessage =
  | {
      type: 'init';
      state: DashboardState;
      runs: RunInfo[];
      /** All runs in the store, for the run picker. */
      allRuns: RunInfo[];
    }
  /** Runs were added, changed status or were renamed. */
  | { type: 'runs'; runs: RunInfo[]; allRuns: RunInfo[]; runIds: string[] }
  /**
   * Replaces the listed series wholesale (they are decimated, so a "partial"
   * update is a fresh, bounded slice per changed key, never the whole history).
   * `requestId` echoes a `query` when this answers one.
   */
  | { type: 'series'; series: SeriesData[]; requestId?: number; /** Host wall clock (ms) at posting: splits latency into host and webview parts. */ sentAt?: number }
  | { type: 'compare'; table: CompareTable };

export interface CompareTable {
  runs: RunInfo[];
  /** One row per param or metric; `values[i]` belongs to `runs[i]`. */
  params: CompareRow[];
  metrics: CompareRow[];
}

export interface CompareRow {
  name: string;
  values: (ParamValue | undefined)[];
  /** True when not every run has the same value. */
  differs: boolean;
}

// ---------------------------------------------------------------------------
// Webview → host

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'state'; state: DashboardState }
  /** Ask for a range at full resolution after a zoom; `from`/`to` in the x mode's units. */
  | { type: 'query'; requestId: number; key: string; xMode: XMode; from?: number; to?: number; maxPoints: number };

const xModes: readonly string[] = ['step', 'time', 'relative'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function isDashboardState(v: unknown): v is DashboardState {
  return (
    isObject(v) &&
    Array.isArray(v.runIds) &&
    v.runIds.every((r) => typeof r === 'string') &&
    typeof v.follow === 'boolean' &&
    typeof v.xMode === 'string' &&
    xModes.includes(v.xMode) &&
    typeof v.smoothing === 'number' &&
    v.smoothing >= 0 &&
    v.smoothing < 1 &&
    typeof v.logScale === 'boolean'
  );
}

export function isWebviewMessage(v: unknown): v is WebviewMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
      return true;
    case 'state':
      return isDashboardState(v.state);
    case 'query':
      return (
        typeof v.requestId === 'number' &&
        typeof v.key === 'string' &&
        typeof v.xMode === 'string' &&
        xModes.includes(v.xMode) &&
        (v.from === undefined || typeof v.from === 'number') &&
        (v.to === undefined || typeof v.to === 'number') &&
        typeof v.maxPoints === 'number'
      );
    default:
      return false;
  }
}

export function isHostMessage(v: unknown): v is HostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'init':
      return isDashboardState(v.state) && Array.isArray(v.runs) && Array.isArray(v.allRuns);
    case 'runs':
      return Array.isArray(v.runs) && Array.isArray(v.allRuns) && Array.isArray(v.runIds);
    case 'series':
      return Array.isArray(v.series);
    case 'compare':
      return isObject(v.table);
    default:
      return false;
  }
}

/** Stable color per run id: a hash picks a hue, so a run keeps its color in every view. */
export function runColor(runId: string): string {
  let h = 2166136261;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  return `hsl(${hue}, 70%, 55%)`;
}

export function encodeNumber(v: number): number | 'NaN' | 'Infinity' | '-Infinity' {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

export function decodeNumber(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Metric keys grouped by the prefix before the first '/', e.g. `train/`, `val/`. */
export function groupOf(key: string): string {
  const i = key.indexOf('/');
  return i > 0 ? key.slice(0, i) : '';
}
