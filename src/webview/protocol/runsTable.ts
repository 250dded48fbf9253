// The runs table's contract: its host (src/ui/runsTable/) sends every run as a row (params, tags,
// and each metric's last/min/max) after the page's `ready`, then the rows that changed; the page
// asks for group bands and posts actions on selected runs. Both sides import this file.
import type { ParamValue, RunStatus } from '../../api/types';
import type { WireNumber } from '../../common/wireNumber';
import {
  type Message,
  type ReadyMessage,
  type Reply,
  type Request,
  isObject,
  isOneOf,
  isReady,
  isRequestId,
} from './base';

/** A brush on a parallel-coordinates axis: a numeric range, or the categories kept. */
export type Brush = { min: number; max: number } | { values: string[] };

export type BandCenter = 'mean' | 'median';
export type BandSpread = 'minmax' | 'std';

/** What the page remembers across reloads (webview state, handed to the serializer). */
export interface RunsTableState {
  filter: string;
  sort?: { id: string; desc: boolean };
  /** Column ids in the order shown; columns not named come after, in their natural order. */
  order: string[];
  hidden: string[];
  onlyDiffer: boolean;
  groupBy: string[];
  expanded: string[];
  showArchived: boolean;
  /** Parallel coordinates: the metric column on the last axis, and the brushes by column id. */
  pcMetric?: string;
  brushes: Record<string, Brush>;
  /** Group chart: the metric key whose bands are drawn. */
  bandKey?: string;
  bandCenter: BandCenter;
  bandSpread: BandSpread;
}

export function defaultRunsTableState(): RunsTableState {
  return {
    filter: '',
    order: [],
    hidden: [],
    onlyDiffer: false,
    groupBy: [],
    expanded: [],
    showArchived: false,
    brushes: {},
    bandCenter: 'mean',
    bandSpread: 'minmax',
  };
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function isBrush(v: unknown): v is Brush {
  return isObject(v) && ((typeof v.min === 'number' && typeof v.max === 'number') || strings(v.values));
}

/** A saved state, checked field by field: anything malformed falls back to its default. */
export function toRunsTableState(v: unknown): RunsTableState {
  const d = defaultRunsTableState();
  if (!isObject(v)) return d;
  const brushes: Record<string, Brush> = {};
  if (isObject(v.brushes)) for (const [k, b] of Object.entries(v.brushes)) if (isBrush(b)) brushes[k] = b;
  const sort =
    isObject(v.sort) && typeof v.sort.id === 'string' ? { id: v.sort.id, desc: v.sort.desc === true } : undefined;
  return {
    filter: typeof v.filter === 'string' ? v.filter : d.filter,
    ...(sort ? { sort } : {}),
    order: strings(v.order) ? v.order : d.order,
    hidden: strings(v.hidden) ? v.hidden : d.hidden,
    onlyDiffer: v.onlyDiffer === true,
    groupBy: strings(v.groupBy) ? v.groupBy : d.groupBy,
    expanded: strings(v.expanded) ? v.expanded : d.expanded,
    showArchived: v.showArchived === true,
    ...(typeof v.pcMetric === 'string' ? { pcMetric: v.pcMetric } : {}),
    brushes,
    ...(typeof v.bandKey === 'string' ? { bandKey: v.bandKey } : {}),
    bandCenter: isOneOf(['mean', 'median'] as const, v.bandCenter) ? v.bandCenter : d.bandCenter,
    bandSpread: isOneOf(['minmax', 'std'] as const, v.bandSpread) ? v.bandSpread : d.bandSpread,
  };
}

/** Last, min and max of a metric; null where the run has no such value (min/max: no finite point). */
export type WireStats = [last: WireNumber | null, min: WireNumber | null, max: WireNumber | null];

export interface WireRun {
  runId: string;
  name: string;
  project: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  lastStep?: number;
  tags: Record<string, string>;
  params: Record<string, ParamValue>;
  metrics: Record<string, WireStats>;
  color: string;
}

/** Host → page: `reset` replaces every row; otherwise `runs` are upserted and `removed` deleted. */
export interface RunsMessage extends Message<'runs'> {
  runs: WireRun[];
  reset: boolean;
  removed?: string[];
}

export interface BandGroupRequest {
  key: string;
  label: string;
  runIds: string[];
}

/** Page → host: the bands of these groups for one metric key. */
export interface BandsRequest extends Message<'bands'>, Request {
  key: string;
  groups: BandGroupRequest[];
  center: BandCenter;
  spread: BandSpread;
}

/** One group's band; NaN cells (no run had a value there) are null. */
export interface WireBand {
  key: string;
  label: string;
  runs: number;
  x: number[];
  center: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
}

export interface BandsReply extends Message<'bands'>, Reply {
  key: string;
  bands: WireBand[];
  /** Milliseconds the host took (shown in the probe, for benchmarks). */
  ms: number;
}

export const RUN_ACTIONS = ['plot', 'compare', 'tag', 'untag', 'archive', 'unarchive', 'delete'] as const;
export type RunAction = (typeof RUN_ACTIONS)[number];

export interface ActionMessage extends Message<'action'> {
  action: RunAction;
  runIds: string[];
}

/** Page → host: open the line that first logged `key` in that run (runwatch.goToSource). */
export interface GoToSourceMessage extends Message<'goToSource'> {
  runId: string;
  key: string;
}

export type RunsTableHostMessage = RunsMessage | BandsReply;
export type RunsTableWebviewMessage = ReadyMessage | BandsRequest | ActionMessage | GoToSourceMessage;

export function isRunsTableHostMessage(v: unknown): v is RunsTableHostMessage {
  if (!isObject(v)) return false;
  if (v.type === 'runs') return Array.isArray(v.runs) && typeof v.reset === 'boolean';
  if (v.type === 'bands') return typeof v.key === 'string' && Array.isArray(v.bands);
  return false;
}

export function isRunsTableWebviewMessage(v: unknown): v is RunsTableWebviewMessage {
  if (isReady(v)) return true;
  if (!isObject(v)) return false;
  if (v.type === 'action') return isOneOf(RUN_ACTIONS, v.action) && strings(v.runIds);
  if (v.type === 'goToSource') return typeof v.runId === 'string' && typeof v.key === 'string';
  if (v.type === 'bands') {
    return (
      isRequestId(v.requestId) &&
      typeof v.key === 'string' &&
      isOneOf(['mean', 'median'] as const, v.center) &&
      isOneOf(['minmax', 'std'] as const, v.spread) &&
      Array.isArray(v.groups) &&
      v.groups.every(
        (g) => isObject(g) && typeof g.key === 'string' && typeof g.label === 'string' && strings(g.runIds),
      )
    );
  }
  return false;
}
