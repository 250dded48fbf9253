// The run store's public types: what an append carries, how a store is opened, its errors.
import type { RunEvent } from '../api/types';
import type { Logger } from '../common/logger';
import type { StoreLock } from './storeLock';

export interface AppendItem {
  /** The client's per-run sequence number; items at or below the run's last accepted seq are duplicates. */
  seq?: number;
  event: RunEvent;
  /**
   * For `metrics` only: the JSON text of an already validated wire message whose points are exactly
   * `event.points` (NaN/±Infinity as strings), in either the object (`points`) or the columnar (`cols`)
   * form. It is stored as the record's event instead of serialising the points again, which at a million
   * points a second is most of the cost; reading normalises it back.
   */
  wireJson?: string;
}

export interface RunStoreOptions {
  logger?: Logger;
  /** 'writer' (default): takes the store lock; 'reader': never writes, follows the writer. */
  mode?: 'writer' | 'reader';
  /** Who the writer is, as a refused second writer is told (e.g. "runwatch collector (VS Code)"). */
  owner?: string;
  /** A lock already taken (e.g. by waitForStoreLock); the store releases it on close. */
  lock?: StoreLock;
  /** Reader mode: how often to look for new runs and records besides fs.watch (default 500 ms). */
  pollMs?: number;
  /** fdatasync each group commit (default true). Only benchmarks turn this off. */
  sync?: boolean;
  /** Told how long each group commit (write + fdatasync) took, for benchmarks and diagnostics. */
  onFlush?: (ms: number, bytes: number) => void;
}

/** Thrown by `append` for data about a run that was never started. */
export class UnknownRunError extends Error {
  constructor(readonly runId: string) {
    super(`run "${runId}" was never started: send run.start for it first`);
    this.name = 'UnknownRunError';
  }
}
