// What the series cache answers and what it needs from the run store.
import type { RunRecord, RunSummary } from '../../api/types';
import type { Disposable } from '../../common/disposable';
import type { Logger } from '../../common/logger';

export type SeriesAxis = 'step' | 'time';

export interface SeriesQuery {
  runId: string;
  key: string;
  /** 'time' is wall time in seconds since the epoch; relative time is `x - run.startTime`, done by the UI. */
  x: SeriesAxis;
  /** Inclusive bounds on x; omitted means the whole series. */
  from?: number;
  to?: number;
  /** Upper bound on `x.length` (2 at least); each decimation bucket contributes its min and its max. */
  maxPoints: number;
}

export interface SeriesSlice {
  /** Sorted by x (non-decreasing). */
  x: Float64Array;
  /** Finite values only: NaN and ±Infinity are in `nonFinite`, never here. */
  y: Float64Array;
  /** Where the series held NaN / +Inf / -Inf (NonFiniteKind), within the range. Thinned to at most maxPoints. */
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

export interface SeriesStoreOptions {
  /** Where cache trouble (a full disk, an unreadable file) is reported, once. Default: console. */
  logger?: Pick<Logger, 'warn'>;
  /** Budget for pyramids held in memory, in bytes (default 64 MB). */
  maxLoadedBytes?: number;
}

/**
 * What SeriesStore needs from the run store (`RunStore` fits). Kept structural so the series code and
 * its tests don't depend on the write side's internals.
 */
export interface SeriesSource {
  runDir(runId: string): string;
  listRuns(): RunSummary[];
  /** Records from `fromOffset` on, at most `max` of them, in log order (offsets may skip damaged records). */
  read(runId: string, fromOffset: number, max: number): Promise<RunRecord[]>;
  recordCount(runId: string): number | Promise<number>;
  /** Fired after the records are durable. */
  onDidAppend(listener: (runId: string, records: RunRecord[]) => void): Disposable;
  /** Fired after a run's folder is gone: its series cache goes with it. */
  onDidDeleteRun?(listener: (runId: string) => void): Disposable;
}
