// The dashboard's contract: what its page and its host (src/ui/dashboard/) say to each
// other, over the shared base. Both sides import this file; no DOM, no `vscode`.
import type { WireNumber } from '../../common/wireNumber';
import type { Message, ReadyMessage, Reply, Request } from './base';
import { isObject, isOneOf, isOptionalNumber, isReady, isRequestId } from './base';
import type { RunInfo } from './runs';

export type { RunInfo } from './runs';

/** Points per series the host sends at most (min/max-decimated beyond that). */
export const MAX_POINTS = 2000;

export type XMode = 'step' | 'time' | 'relative';
export const X_MODES: readonly XMode[] = ['step', 'time', 'relative'];

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

/**
 * One run's series for one key, already min/max-decimated by the store. Typed arrays
 * travel as binary through `postMessage`. `nonFiniteKind[i]` is a `NonFiniteKind`
 * (src/common/wireNumber.ts) for the point at `nonFiniteX[i]`.
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
  /** Latest stored point (raw, not decimated): shown in the legend. */
  latest?: { step: number; value: WireNumber };
  /**
   * The `query` whose x range this slice was cut to; absent when the key was never
   * queried (the full range). The page applies a slice only when this is its latest
   * query for the key, so neither a late reply nor a live update cut to an older range
   * overwrites a newer one.
   */
  rangeRequestId?: number;
}

// ---------------------------------------------------------------------------
// Host → page

export interface InitMessage extends Message<'init'> {
  state: DashboardState;
  runs: RunInfo[];
  /** All runs in the store, for the run picker. */
  allRuns: RunInfo[];
}

/** Runs were added, changed status or were renamed. */
export interface RunsMessage extends Message<'runs'> {
  runs: RunInfo[];
  allRuns: RunInfo[];
  runIds: string[];
}

/**
 * Replaces the listed series wholesale (they are decimated, so a "partial" update is a
 * fresh, bounded slice per changed key, never the whole history). `requestId` is set
 * when this answers a `query`.
 */
export interface SeriesMessage extends Message<'series'>, Reply {
  series: SeriesData[];
  /** Host wall clock (ms) at posting: splits latency into host and page parts. */
  sentAt?: number;
}

export type DashboardHostMessage = InitMessage | RunsMessage | SeriesMessage;

// ---------------------------------------------------------------------------
// Page → host

export interface StateMessage extends Message<'state'> {
  state: DashboardState;
}

/** Ask for a key's range at full resolution after a zoom; `from`/`to` in the x mode's units, none to reset. */
export interface QueryMessage extends Message<'query'>, Request {
  key: string;
  xMode: XMode;
  from?: number;
  to?: number;
  maxPoints: number;
}

export type DashboardWebviewMessage = ReadyMessage | StateMessage | QueryMessage;

// ---------------------------------------------------------------------------
// Guards

export function isDashboardState(v: unknown): v is DashboardState {
  return (
    isObject(v) &&
    Array.isArray(v.runIds) &&
    v.runIds.every((r) => typeof r === 'string') &&
    typeof v.follow === 'boolean' &&
    isOneOf(X_MODES, v.xMode) &&
    typeof v.smoothing === 'number' &&
    v.smoothing >= 0 &&
    v.smoothing < 1 &&
    typeof v.logScale === 'boolean'
  );
}

export function isDashboardWebviewMessage(v: unknown): v is DashboardWebviewMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
      return isReady(v);
    case 'state':
      return isDashboardState(v.state);
    case 'query':
      return (
        isRequestId(v.requestId) &&
        typeof v.key === 'string' &&
        isOneOf(X_MODES, v.xMode) &&
        isOptionalNumber(v.from) &&
        isOptionalNumber(v.to) &&
        typeof v.maxPoints === 'number'
      );
    default:
      return false;
  }
}

export function isDashboardHostMessage(v: unknown): v is DashboardHostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'init':
      return isDashboardState(v.state) && Array.isArray(v.runs) && Array.isArray(v.allRuns);
    case 'runs':
      return Array.isArray(v.runs) && Array.isArray(v.allRuns) && Array.isArray(v.runIds);
    case 'series':
      return Array.isArray(v.series) && (v.requestId === undefined || isRequestId(v.requestId));
    default:
      return false;
  }
}
