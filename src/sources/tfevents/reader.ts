// Reads one event file from a cursor: records (records.ts) decoded into summary items
// (events.ts). Never throws for bad contents: bad framing and undecodable records come back
// as problems naming the file, the record and its byte offset, and reading goes on past them.
import * as fs from 'node:fs';
import { errorText } from '../../common/errors';
import { decodeEvent, type SummaryItem } from './events';
import { fastScalars } from './fastScalars';
import { splitRecords, type RecordCursor, type RecordProblem } from './records';

export type { RecordCursor } from './records';

export interface FileProblem extends RecordProblem {
  file: string;
}

export interface FileRead {
  items: SummaryItem[];
  problems: FileProblem[];
  cursor: RecordCursor;
}

const CHUNK = 16 << 20;

export interface ReadOptions {
  /** The file is done (not being written): bytes after the last whole record are reported as truncated. */
  final?: boolean;
  /** Called per chunk, so a big file need not be held as items all at once. Default: collect them. */
  onItems?: (items: SummaryItem[]) => void;
  /**
   * Read no further than this byte offset (a record boundary reached before), so reading the same
   * stretch again gives the same records even if the file has grown since.
   */
  until?: number;
}

/**
 * The steps of reading `file` from `cursor` (the start when omitted) to its current end: one
 * chunk a step, the result filled into `out`. The same records come out whatever the chunk size
 * (a record cut by a chunk's end is read again whole with the next), so a caller that yields to
 * the event loop between steps gets the same items as one that does not.
 */
export function* readEventFileSteps(
  file: string,
  cursor: RecordCursor | undefined,
  opts: ReadOptions,
  out: FileRead,
  chunkBytes = CHUNK,
): Generator<void, void> {
  let cur: RecordCursor = cursor ?? { offset: 0, records: 0 };
  out.cursor = cur;
  const { items, problems } = out;
  const emit = opts.onItems ?? ((xs: SummaryItem[]) => void items.push(...xs));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    problems.push({ file, kind: 'corrupt', record: cur.records, offset: cur.offset, message: errorText(e) });
    return;
  }
  try {
    const onDisk = fs.fstatSync(fd).size;
    const size = opts.until === undefined ? onDisk : Math.min(onDisk, opts.until);
    if (onDisk < cur.offset) {
      // Shorter than where we were: rewritten or truncated in place; our cursor no longer means anything.
      problems.push({
        file,
        kind: 'truncated',
        record: cur.records,
        offset: cur.offset,
        message: `file shrank to ${onDisk} bytes below the read position ${cur.offset}; read again from the start`,
      });
      cur = out.cursor = { offset: 0, records: 0 };
    }
    let chunk = chunkBytes;
    while (cur.offset < size) {
      const want = Math.min(chunk, size - cur.offset);
      const buf = Buffer.allocUnsafe(want);
      const got = fs.readSync(fd, buf, 0, want, cur.offset);
      const last = cur.offset + got >= size;
      const data = buf.subarray(0, got);
      const batch = splitRecords(data, cur, (opts.final ?? false) && last);
      const chunkItems: SummaryItem[] = [];
      for (const r of batch.records) {
        try {
          if (!fastScalars(data, r.start, r.end, chunkItems))
            for (const it of decodeEvent(data.subarray(r.start, r.end))) chunkItems.push(it);
        } catch (e) {
          problems.push({
            file,
            kind: 'corrupt',
            record: r.index,
            offset: r.offset,
            message: `record ${r.index} at byte ${r.offset}: not an Event (${errorText(e)}); skipped`,
          });
        }
      }
      for (const p of batch.problems) problems.push({ file, ...p });
      emit(chunkItems);
      const progressed = batch.cursor.offset > cur.offset;
      cur = out.cursor = batch.cursor;
      if (progressed) chunk = chunkBytes;
      else if (!last && got === want)
        chunk *= 2; // one record bigger than the chunk: read more at once
      else break; // torn tail: the rest is not written yet
      if (cur.offset < size) yield;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `file` from `cursor` (the start when omitted) to its current end. */
export function readEventFile(file: string, cursor?: RecordCursor, opts: ReadOptions = {}): FileRead {
  const out: FileRead = { items: [], problems: [], cursor: cursor ?? { offset: 0, records: 0 } };
  drain(readEventFileSteps(file, cursor, opts, out));
  return out;
}

/** Runs `steps` to their end at once. */
export function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs `steps` to their end, pausing `pauseMs` whenever `sliceMs` of work have passed since the
 * last pause. A big read then never holds the extension host for long, so it goes on answering
 * the Runs tree and a dashboard opening, and leaves some CPU to the window itself: on a 2-core
 * machine, importing a 1M-scalar log without the pauses put the run's row on screen 0.9 s after
 * Enter instead of 0.3 s, for about the same time to the last point.
 */
export async function drainYielding<T>(steps: Generator<void, T>, sliceMs = 15, pauseMs = 8): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await new Promise<void>((resolve) => setTimeout(resolve, pauseMs));
      since = performance.now();
    }
  }
}
