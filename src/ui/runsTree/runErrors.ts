// What went wrong in a failed or crashed run, read back from its log: the run.end reason (the
// error, and a traceback when the client sent one), the traceback printed to stderr, and the
// last lines of console output. Pure over a record reader (the store's `read`), so unit-tested.
import type { RunRecord, RunSummary } from '../../api/types';
import { formatWallTime } from '../../webview/protocol/format';

export type RecordReader = (runId: string, fromOffset: number, maxRecords: number) => Promise<RunRecord[]>;

export interface RunErrorDetails {
  /** The error in one line ("RuntimeError: CUDA error: …"), if the run said why it ended. */
  error?: string;
  /** The traceback's lines, from "Traceback (most recent call last):" on; empty when none was sent. */
  traceback: string[];
  /** The last console lines the run sent (stdout and stderr, in order). */
  lastLines: string[];
}

const TRACEBACK_START = 'Traceback (most recent call last):';
const CHUNK = 2000;

/** Reads the run's log once through; keeps the last `maxLines` console lines. */
export async function readRunErrorDetails(read: RecordReader, runId: string, maxLines = 20): Promise<RunErrorDetails> {
  let reason: string | undefined;
  // The console lines, bounded: the last traceback may be far back in a long log, so it is kept apart.
  let tail: string[] = [];
  let lastTraceback: string[] = [];
  let inTraceback = false;
  for (let offset = 0; ;) {
    const records = await read(runId, offset, CHUNK);
    if (records.length === 0) break;
    for (const r of records) {
      const ev = r.event;
      if (ev.type === 'run.end') reason = ev.reason;
      if (ev.type !== 'log') continue;
      for (const raw of ev.lines) {
        const line = raw.replace(/\r?\n$/, '');
        if (line.startsWith(TRACEBACK_START)) {
          lastTraceback = [line];
          inTraceback = true;
        } else if (inTraceback) {
          lastTraceback.push(line);
          // The exception line ("ValueError: …") ends a traceback: it is not indented.
          if (line && !/^\s/.test(line)) inTraceback = false;
        }
        tail.push(line);
        if (tail.length > 4 * maxLines) tail = tail.slice(-maxLines);
      }
    }
    offset = records[records.length - 1].offset + 1;
  }
  const reasonLines = (reason ?? '').split(/\r?\n/).filter((l, i) => i === 0 || l !== '');
  const tbAt = reasonLines.findIndex((l) => l.startsWith(TRACEBACK_START));
  const traceback = tbAt >= 0 ? reasonLines.slice(tbAt) : lastTraceback;
  let error = reason !== undefined ? (tbAt === 0 ? reasonLines[reasonLines.length - 1] : reasonLines[0]) : undefined;
  if (!error && traceback.length) error = traceback[traceback.length - 1];
  return { error: error || undefined, traceback, lastLines: tail.slice(-maxLines) };
}

/** True for the runs whose error is worth showing. */
export function hasError(run: Pick<RunSummary, 'status'>): boolean {
  return run.status === 'failed' || run.status === 'crashed';
}

/** The read-only document "Show Error" opens: the run, its error, the traceback and the last lines. */
export function errorDocument(run: RunSummary, d: RunErrorDetails): string {
  const out = [
    `Run "${run.name}" (${run.runId}) in project ${run.project}: ${run.status}`,
    `Started ${formatWallTime(run.startTime * 1000)}` +
      (run.endTime !== undefined ? `, ended ${formatWallTime(run.endTime * 1000)}` : ''),
    '',
    `Error: ${d.error ?? '(the run did not say why it ended)'}`,
    '',
  ];
  if (d.traceback.length) out.push(...d.traceback, '');
  else out.push('(no traceback was sent with this run)', '');
  out.push(`Last ${d.lastLines.length} console lines:`);
  out.push(...(d.lastLines.length ? d.lastLines : ['(none were sent)']));
  return out.join('\n') + '\n';
}
