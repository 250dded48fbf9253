// The store's read side for charts: per-(run, key) columnar series with a
// min/max pyramid, answering "give me at most N points of this series between
// x0 and x1" without ever loading a whole series into memory.
// Never imports `vscode`: it runs headless in Node tests and benchmarks.
import type { RunRecord, RunSummary } from '../api/types';

export type SeriesAxis = 'step' | 'time';

/** Kinds of non-finite values, as stored in `SeriesSlice.nonFinite.kind`. */
export const NON_FINITE_NAN = 0;
export const NON_FINITE_POS_INF = 1;
export const NON_FINITE_NEG_INF = 2;

export interface SeriesQuery {
  runId: string;
  key: string;
  /** 'time' is wall time in seconds since the epoch; relative time is `x - run.startTime`, done by the UI. */
  x: SeriesAxis;
  /** Inclusive bounds on x; omitted means the whole series. */
  from?: number;
  to?: number;
  /** Upper bound on `x.length`; each decimation bucket contributes its min and its max. */
  maxPoints: number;
}

export interface SeriesSlice {
  /** Sorted by x (non-decreasing). */
  x: Float64Array;
  /** Finite values only: NaN and ±Infinity are in `nonFinite`, never here. */
  y: Float64Array;
  /** Where the series held NaN / +Inf / -Inf (kind 0 / 1 / 2), within the range. Thinned to at most maxPoints. */
  nonFinite: { x: Float64Array; kind: Uint8Array };
  /** Stored points (finite or not) within the range. */
  total: number;
  /** False when `x`/`y` are exactly the stored points of the range. */
  decimated: boolean;
  /** Smallest and largest x of stored points within the range; [NaN, NaN] when empty. */
  xRange: [number, number];
}

export interface LatestPoint {
  step: number;
  value: number;
  time: number;
}

export interface Disposable {
  dispose(): void;
}

/**
 * What SeriesStore needs from the run store (`RunStore` in ./runStore.ts fits).
 * Kept structural so the series code and its tests don't depend on the write
 * side's internals.
 */
export interface SeriesSource {
  runDir(runId: string): string;
  listRuns(): RunSummary[];
  /** Records from `fromOffset` on, at most `max` of them, in log order. */
  read(runId: string, fromOffset: number, max: number): Promise<RunRecord[]>;
  recordCount(runId: string): number | Promise<number>;
  /** Fired after the records are durable. */
  onDidAppend(listener: (runId: string, records: RunRecord[]) => void): Disposable;
  /** Fired when a run is created, changed, renamed or deleted (optional: used to drop caches of deleted runs). */
  onDidChangeRun?(listener: (runId: string) => void): Disposable;
}

/**
 * Columnar series for every run of a RunStore, kept as a cache beside each
 * run's log (`<runDir>/series/`): derivable from the log, rebuilt or caught up
 * from `series/index.json`'s folded offset when missing or behind.
 */
export class SeriesStore {
  /** Opens the series cache of `source`, subscribes to its appends and catches up in the background. */
  static open(source: SeriesSource): SeriesStore {
    void source;
    throw new Error('SeriesStore.open: not implemented yet');
  }

  /** Metric keys of the run known so far, sorted. */
  keys(runId: string): string[] {
    void runId;
    throw new Error('not implemented yet');
  }

  /** The last point stored (in arrival order) for the series. */
  latest(runId: string, key: string): LatestPoint | undefined {
    void runId;
    void key;
    throw new Error('not implemented yet');
  }

  /** Min/max-decimated slice of one series; reads from disk only the raw range it needs. */
  async query(q: SeriesQuery): Promise<SeriesSlice> {
    void q;
    throw new Error('not implemented yet');
  }

  /** Resolves when every run known at the call has caught up with its log (tests, benchmarks). */
  async whenIdle(): Promise<void> {
    throw new Error('not implemented yet');
  }

  /** Fires after new points of `keys` are queryable (appends and catch-up). */
  onDidChange(listener: (runId: string, keys: string[]) => void): Disposable {
    void listener;
    throw new Error('not implemented yet');
  }

  /** Stops listening; resolves once index files are flushed. */
  async dispose(): Promise<void> {
    throw new Error('not implemented yet');
  }
}
