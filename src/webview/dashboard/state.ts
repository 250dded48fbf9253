// What the dashboard page knows: its UI state (saved across reloads), the runs shown
// and the series per key as the host last sent them. Pure (no DOM), so unit-tested in
// Node; main.ts feeds it the host's messages and renders what it reports as changed.
import { Emitter } from '../../common/emitter';
import { LatestRequests } from '../protocol/base';
import type { AxisPairs } from './pointer';
import {
  type AxesMessage,
  type BandsMessage,
  type GroupBandData,
  type DashboardState,
  type QueryMessage,
  type RunInfo,
  type SeriesData,
  type SeriesMessage,
  MAX_POINTS,
  defaultDashboardState,
  groupSpec,
  isDashboardState,
} from '../protocol/dashboard';

/** An x range the user zoomed to, in the x mode's units. */
export interface XRange {
  min: number;
  max: number;
}

export class DashboardModel {
  state: DashboardState;
  /** The runs shown, by id. */
  runs = new Map<string, RunInfo>();
  /** Every run in the store, for the run picker. */
  allRuns: RunInfo[] = [];
  /** key → run id → series */
  readonly data = new Map<string, Map<string, SeriesData>>();
  private readonly seriesReceived = new Emitter<SeriesMessage>({ name: 'dashboard.onDidReceiveSeries' });
  /** Fired for every series message, before it is applied (test probes time draws by it). */
  readonly onDidReceiveSeries = this.seriesReceived.event;
  private readonly queries = new LatestRequests<string>();
  /** key → run id → step/time pairs (the readout's other axis), as the host last sent them. */
  readonly axes = new Map<string, Map<string, AxisPairs>>();
  /** When each key's pairs were last asked for (ms), so hovering asks at most once a second. */
  private readonly axesAsked = new Map<string, number>();
  /** What the charts draw of the shown runs; a status or last-step change alone needs no redraw. */
  private chartedRuns = '';
  /** Fields the shown runs can be grouped by, as the host last sent them. */
  groupFields: string[] = [];
  /** key → group lines and bands for the current grouping (none while ungrouped). */
  readonly bands = new Map<string, GroupBandData[]>();

  constructor(saved: unknown) {
    this.state = isDashboardState(saved) ? saved : { ...defaultDashboardState };
  }

  /**
   * Stores the run list; forgets series of runs no longer shown. True when the charts
   * must redraw (a run shown, hidden, renamed or recolored).
   */
  setRuns(list: RunInfo[], all: RunInfo[]): boolean {
    this.runs = new Map(list.map((r) => [r.runId, r]));
    this.allRuns = all;
    for (const byRun of this.data.values())
      for (const id of [...byRun.keys()]) if (!this.runs.has(id)) byRun.delete(id);
    const charted = JSON.stringify(list.map((r) => [r.runId, r.name, r.color]));
    if (charted === this.chartedRuns) return false;
    this.chartedRuns = charted;
    return true;
  }

  /** Applies a state change made on this page; a new x axis drops every series and query. */
  patch(patch: Partial<DashboardState>): { xChanged: boolean } {
    const xChanged = patch.xMode !== undefined && patch.xMode !== this.state.xMode;
    const before = groupSpec(this.state);
    this.state = { ...this.state, ...patch };
    if (groupSpec(this.state) !== before) this.bands.clear();
    if (xChanged) {
      this.data.clear();
      this.queries.clear();
    }
    return { xChanged };
  }

  /**
   * Stores the series of a host message and returns the keys that changed. Dropped:
   * slices cut for another x mode, and slices cut to a range older than this page's
   * latest query for their key (a late reply, or a live update the host cut before it
   * saw the query), so they never overwrite what the newer query asked for.
   */
  applySeries(msg: SeriesMessage): Set<string> {
    this.seriesReceived.fire(msg);
    const changed = new Set<string>();
    for (const s of msg.series) {
      if (s.xMode !== this.state.xMode) continue; // an answer from before the x mode changed
      if (!this.queries.isCurrent(s.key, s.rangeRequestId)) continue;
      let byRun = this.data.get(s.key);
      if (!byRun) this.data.set(s.key, (byRun = new Map()));
      byRun.set(s.runId, s);
      changed.add(s.key);
    }
    return changed;
  }

  /** Stores a key's group bands if they answer the current grouping; true when they do. */
  applyBands(msg: BandsMessage): boolean {
    if (!msg.spec || msg.spec !== groupSpec(this.state)) return false;
    this.bands.set(msg.key, msg.groups);
    return true;
  }

  /** The group bands to draw for `key`: undefined while ungrouped (or before the host's answer). */
  bandsOf(key: string): GroupBandData[] | undefined {
    return groupSpec(this.state) ? this.bands.get(key) : undefined;
  }

  /** The query for `key` in `range` (none: the full range); it supersedes earlier ones for that key. */
  query(key: string, range: XRange | undefined): QueryMessage {
    return {
      type: 'query',
      requestId: this.queries.issue(key),
      key,
      xMode: this.state.xMode,
      from: range?.min,
      to: range?.max,
      maxPoints: MAX_POINTS,
    };
  }

  /** Whether to ask the host for `key`'s pairs now (none asked in the last second). */
  shouldAskAxes(key: string, now: number): boolean {
    if (now - (this.axesAsked.get(key) ?? -Infinity) < 1000) return false;
    this.axesAsked.set(key, now);
    return true;
  }

  setAxes(msg: AxesMessage): void {
    this.axes.set(msg.key, new Map(msg.runs.map((r) => [r.runId, { step: r.step, time: r.time }])));
  }

  /** Keys with series of at least one shown run (or, while grouped, with group bands), sorted. */
  shownKeys(): string[] {
    const keys = new Set([...this.data.entries()].filter(([, byRun]) => byRun.size > 0).map(([k]) => k));
    if (groupSpec(this.state)) for (const k of this.bands.keys()) keys.add(k);
    return [...keys].sort();
  }

  /** The series of `key` for runs shown. */
  seriesOf(key: string): SeriesData[] {
    return [...(this.data.get(key)?.values() ?? [])].filter((s) => this.runs.has(s.runId));
  }
}

/** Metric keys grouped by the prefix before the first '/', e.g. `train/`, `val/`. */
export function groupOf(key: string): string {
  const i = key.indexOf('/');
  return i > 0 ? key.slice(0, i) : '';
}

/** The keys a metric filter keeps: a case-insensitive regex, or the plain text when it is not one. */
export function filterKeys(keys: readonly string[], filter: string): { keys: string[]; error?: string } {
  const f = filter.trim();
  if (!f) return { keys: [...keys] };
  try {
    const re = new RegExp(f, 'i');
    return { keys: keys.filter((k) => re.test(k)) };
  } catch (err) {
    const lower = f.toLowerCase();
    return {
      keys: keys.filter((k) => k.toLowerCase().includes(lower)),
      error: `not a regular expression (${(err as Error).message}); matching it as text`,
    };
  }
}
