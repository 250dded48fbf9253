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
  /** Zoom one chart's x range and every chart follows (on by default). */
  syncZoom?: boolean;
  /** The y range leaves out the extreme 1% at each end, so one spike does not flatten the rest. */
  ignoreOutliers?: boolean;
  /** Only keys matching this regular expression (case-insensitive) are charted; empty: all. */
  metricFilter?: string;
  /** Key groups folded away. */
  collapsed?: string[];
  /** The key of the chart expanded to the whole panel, if any. */
  expanded?: string;
  /**
   * Group the shown runs by a field (`params.<name>` or `tags.<name>`): each chart then draws one
   * line per group with a band, computed in the host; none or empty: a line per run.
   */
  groupBy?: string;
  groupCenter?: BandCenter;
  groupSpread?: BandSpread;
}

export type BandCenter = 'mean' | 'median';
export type BandSpread = 'minmax' | 'std';
export const BAND_CENTERS: readonly BandCenter[] = ['mean', 'median'];
export const BAND_SPREADS: readonly BandSpread[] = ['minmax', 'std'];

/** Cells along x per group band (the host's groupBand resolution; 4 numbers a cell). */
export const BAND_CELLS = 1000;

/** What a set of bands was computed for: a page drops bands of another grouping. */
export function groupSpec(state: Pick<DashboardState, 'groupBy' | 'groupCenter' | 'groupSpread'>): string {
  return state.groupBy ? `${state.groupBy}|${state.groupCenter ?? 'mean'}|${state.groupSpread ?? 'minmax'}` : '';
}

export const defaultDashboardState: DashboardState = {
  runIds: [],
  follow: true,
  xMode: 'step',
  smoothing: 0.6,
  logScale: false,
  syncZoom: true,
  ignoreOutliers: false,
  metricFilter: '',
  collapsed: [],
};

/** When the mouse wheel over a chart zooms it (else it scrolls the page). */
export type WheelZoom = 'modifier' | 'focused' | 'always';
export const WHEEL_ZOOMS: readonly WheelZoom[] = ['modifier', 'focused', 'always'];

/** What the page takes from the settings (runwatch.dashboard.*). */
export interface PageSettings {
  wheelZoom: WheelZoom;
}

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
  settings: PageSettings;
  runs: RunInfo[];
  /** All runs in the store, for the run picker. */
  allRuns: RunInfo[];
  /** Fields the shown runs can be grouped by (`params.<name>`, `tags.<name>`), sorted. */
  groupFields?: string[];
}

/** Runs were added, changed status or were renamed. */
export interface RunsMessage extends Message<'runs'> {
  runs: RunInfo[];
  allRuns: RunInfo[];
  runIds: string[];
  groupFields?: string[];
}

/** One group's line and band for one key; cells where no run had a value are NaN. */
export interface GroupBandData {
  /** e.g. `lr=0.01` (`(none)` for runs without the field). */
  label: string;
  color: string;
  /** Runs in the group. */
  members: number;
  /** Runs of the group with a finite point of this key. */
  runs: number;
  x: Float64Array;
  center: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
}

/** The group bands of one key, for the grouping `spec` (groupSpec of the state they answer). */
export interface BandsMessage extends Message<'bands'> {
  spec: string;
  key: string;
  groups: GroupBandData[];
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

/** A setting changed (runwatch.dashboard.*). */
export interface SettingsMessage extends Message<'settings'> {
  settings: PageSettings;
}

export type ExportKind = 'png' | 'svg' | 'csv' | 'json';
export const EXPORT_KINDS: readonly ExportKind[] = ['png', 'svg', 'csv', 'json'];

/** The host asks the page for a chart's picture or drawn data (a command or the chart's context menu). */
export interface RenderRequestMessage extends Message<'render'>, Request {
  key: string;
  kind: ExportKind;
}

/**
 * Step and wall time (seconds) of the same stored points, per run, for one key: the store's
 * full-range slices on both axes (the same rows when both axes are sorted), so the hover
 * readout can name a point's wall time in step mode and its step in time modes.
 */
export interface AxesMessage extends Message<'axes'>, Reply {
  key: string;
  runs: { runId: string; step: Float64Array; time: Float64Array }[];
}

/** Bring one metric's chart forward (a metric clicked in the Runs tree). */
export interface FocusMessage extends Message<'focus'> {
  key: string;
}

export type DashboardHostMessage =
  | InitMessage
  | RunsMessage
  | SeriesMessage
  | SettingsMessage
  | RenderRequestMessage
  | AxesMessage
  | FocusMessage
  | BandsMessage;

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

/**
 * Export one chart. `data` is what the page made: a PNG as a data URL, SVG text, or the points as
 * drawn (CSV/JSON text); absent for `full` CSV/JSON, which the host reads from the store.
 * `requestId` answers a `render` request; absent when a chart's button asked.
 */
export interface ExportMessage extends Message<'export'> {
  key: string;
  kind: ExportKind;
  resolution: 'full' | 'drawn';
  data?: string;
  requestId?: number;
}

/** A person picked a colour for a run (none: back to the palette's). */
export interface SetColorMessage extends Message<'setColor'> {
  runId: string;
  color?: string;
}

/** Ask for the step ↔ time pairs of a key's shown runs (the readout, on hover). */
export interface AxesRequestMessage extends Message<'axes'>, Request {
  key: string;
}

export type DashboardWebviewMessage =
  ReadyMessage | StateMessage | QueryMessage | ExportMessage | SetColorMessage | AxesRequestMessage;

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
    typeof v.logScale === 'boolean' &&
    isOptionalBoolean(v.syncZoom) &&
    isOptionalBoolean(v.ignoreOutliers) &&
    (v.metricFilter === undefined || typeof v.metricFilter === 'string') &&
    (v.collapsed === undefined || (Array.isArray(v.collapsed) && v.collapsed.every((g) => typeof g === 'string'))) &&
    (v.expanded === undefined || typeof v.expanded === 'string') &&
    (v.groupBy === undefined || typeof v.groupBy === 'string') &&
    (v.groupCenter === undefined || isOneOf(BAND_CENTERS, v.groupCenter)) &&
    (v.groupSpread === undefined || isOneOf(BAND_SPREADS, v.groupSpread))
  );
}

function isOptionalBoolean(v: unknown): boolean {
  return v === undefined || typeof v === 'boolean';
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
    case 'export':
      return (
        typeof v.key === 'string' &&
        isOneOf(EXPORT_KINDS, v.kind) &&
        (v.resolution === 'full' || v.resolution === 'drawn') &&
        (v.data === undefined || typeof v.data === 'string') &&
        (v.requestId === undefined || isRequestId(v.requestId))
      );
    case 'setColor':
      return typeof v.runId === 'string' && (v.color === undefined || typeof v.color === 'string');
    case 'axes':
      return isRequestId(v.requestId) && typeof v.key === 'string';
    default:
      return false;
  }
}

export function isDashboardHostMessage(v: unknown): v is DashboardHostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'init':
      return isDashboardState(v.state) && Array.isArray(v.runs) && Array.isArray(v.allRuns) && isObject(v.settings);
    case 'settings':
      return isObject(v.settings);
    case 'render':
      return isRequestId(v.requestId) && typeof v.key === 'string' && isOneOf(EXPORT_KINDS, v.kind);
    case 'axes':
      return typeof v.key === 'string' && Array.isArray(v.runs);
    case 'focus':
      return typeof v.key === 'string';
    case 'runs':
      return Array.isArray(v.runs) && Array.isArray(v.allRuns) && Array.isArray(v.runIds);
    case 'series':
      return Array.isArray(v.series) && (v.requestId === undefined || isRequestId(v.requestId));
    case 'bands':
      return typeof v.spec === 'string' && typeof v.key === 'string' && Array.isArray(v.groups);
    default:
      return false;
  }
}
