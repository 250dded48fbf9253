// What the views need from the rest of the extension, stated structurally so the
// views are tested against a real RunStore/SeriesStore but never depend on their
// internals (and a collector can be absent, e.g. when its port is taken).
import type { RunSummary } from '../api/types';
import type { ExportSource } from '../store/export';

export interface Disposable {
  dispose(): unknown;
}

export interface RunStoreLike {
  readonly dir: string;
  runDir(runId: string): string;
  listRuns(): RunSummary[];
  getRun(runId: string): RunSummary | undefined;
  onDidChangeRun(listener: (run: RunSummary) => void): Disposable;
  onDidDeleteRun?(listener: (runId: string) => void): Disposable;
  deleteRun(runId: string): Promise<unknown>;
  renameRun(runId: string, name: string): Promise<void>;
}

export interface SeriesSliceLike {
  x: Float64Array;
  y: Float64Array;
  nonFinite: { x: Float64Array; kind: Uint8Array };
  total: number;
  decimated: boolean;
}

export interface SeriesLike {
  keys(runId: string): string[];
  latest(runId: string, key: string): { step: number; value: number; time: number } | undefined;
  query(q: {
    runId: string;
    key: string;
    x: 'step' | 'time';
    from?: number;
    to?: number;
    maxPoints: number;
  }): Promise<SeriesSliceLike>;
  onDidChange(listener: (runId: string, keys: string[]) => void): Disposable;
}

export interface CollectorStateLike {
  port?: number;
  clients: number;
  liveRuns: number;
}

export interface CollectorLike {
  /** The state now (port 0 until listening). */
  readonly state?: CollectorStateLike;
  onDidChangeState(listener: (state: CollectorStateLike) => void): Disposable;
}

/** Where clients connect; undefined while the collector is not listening. */
export interface ConnectionInfo {
  url: string;
  token: string;
  port: number;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string | Error): void;
}

export interface ViewsDeps {
  store: RunStoreLike;
  series: SeriesLike;
  collector?: CollectorLike;
  /** Current collector address and token (for the connection snippet). */
  connection?: () => ConnectionInfo | undefined;
  /** Where the discovery file lives, mentioned in the snippet. */
  discoveryFile?: string;
  /** The store as Export Run… reads it (records too); undefined while no store is open. */
  exportSource?: () => ExportSource | undefined;
  log: Logger;
}
