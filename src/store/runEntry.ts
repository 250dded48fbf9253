// A run's in-memory state inside RunStore, and replaying a log into a summary.
import type { RunSummary } from '../api/types';
import type { LogFile } from './logFile';
import { decodePayload, reduce } from './records';

export interface RunEntry {
  runId: string;
  summary: RunSummary;
  acceptedSeq: number;
  durableSeq: number;
  /** Record indices in the log (damaged records included). */
  recordCount: number;
  logBytes: number;
  renamed?: string;
  log?: Promise<LogFile>;
  /** Serialises meta writes so two never race. */
  metaWrite: Promise<void>;
  metaTimer?: NodeJS.Timeout;
  changeTimer?: NodeJS.Timeout;
  deleted: boolean;
  /** Appends not yet landed; close() waits for them so meta.json matches the log. */
  inflight: Set<Promise<unknown>>;
}

export function newEntry(
  runId: string,
  summary: RunSummary,
  lastSeq: number,
  recordCount: number,
  logBytes: number,
  renamed?: string,
): RunEntry {
  return {
    runId,
    summary,
    acceptedSeq: lastSeq,
    durableSeq: lastSeq,
    recordCount,
    logBytes,
    renamed,
    metaWrite: Promise.resolve(),
    deleted: false,
    inflight: new Set(),
  };
}

/** Folds payloads, in log order, into a summary and the highest seq. */
export function replayLog(runId: string): {
  onRecord: (payload: Buffer) => void;
  summary: () => RunSummary | undefined;
  lastSeq: () => number;
} {
  let summary: RunSummary | undefined;
  let lastSeq = 0;
  return {
    onRecord: (payload) => {
      const { seq, event } = decodePayload(payload);
      if (seq !== undefined && seq > lastSeq) lastSeq = seq;
      summary = reduce(summary, runId, event);
    },
    summary: () => summary,
    lastSeq: () => lastSeq,
  };
}
