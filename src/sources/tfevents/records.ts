// TFRecord framing, as TensorBoard event files use it: each record is
//   u64 length (LE) | u32 masked CRC-32C of those 8 bytes | data | u32 masked CRC-32C of data.
// Both CRCs are checked. Bytes that end before a whole record are a torn tail: "not yet",
// so a file that is still being written can be read again later from the same offset.
// A record whose CRC fails is reported once and skipped; after a bad length header the
// reader resyncs by scanning forward for the next header whose CRC holds.
import { maskedCrc32c } from '../../backends/tensorboard/crc32c';

const HEADER = 12;
const FOOTER = 4;
/** Larger than any event TensorBoard writes; a "valid" header claiming more is taken as corruption. */
const MAX_RECORD = 1 << 30;

/** Where reading a file stopped: the byte offset of the next record and how many records came before. */
export interface RecordCursor {
  offset: number;
  records: number;
  /** True while skipping corrupt bytes, so one corrupt stretch is reported once across reads. */
  resyncing?: boolean;
}

export interface RecordProblem {
  kind: 'corrupt' | 'truncated';
  /** Index of the record that is bad or missing (good records before it in the file). */
  record: number;
  offset: number;
  message: string;
}

export interface RecordBatch {
  /** Each good record: its index in the file, its byte offset, where its data lies in the chunk read. */
  records: { index: number; offset: number; start: number; end: number }[];
  problems: RecordProblem[];
  cursor: RecordCursor;
}

function headerOk(buf: Buffer, p: number): boolean {
  return maskedCrc32c(buf, p, p + 8) === buf.readUInt32LE(p + 8);
}

/** The record's data length; beyond MAX_RECORD (as corruption) when the high word is set. */
function recordLength(buf: Buffer, p: number): number {
  return buf.readUInt32LE(p + 4) === 0 ? buf.readUInt32LE(p) : Number.MAX_SAFE_INTEGER;
}

/**
 * Splits `buf` (the file's bytes from `cursor.offset` on) into records. With `final`, bytes left
 * over at the end are reported as a truncated record; without it they wait for the next read.
 */
export function splitRecords(buf: Buffer, cursor: RecordCursor, final = false): RecordBatch {
  const records: RecordBatch['records'] = [];
  const problems: RecordProblem[] = [];
  let p = 0;
  let index = cursor.records;
  let resyncing = cursor.resyncing === true;
  const at = (q: number) => cursor.offset + q;
  while (p + HEADER <= buf.length) {
    const len = recordLength(buf, p);
    if (len > MAX_RECORD || !headerOk(buf, p)) {
      if (!resyncing) {
        problems.push({
          kind: 'corrupt',
          record: index,
          offset: at(p),
          message: `record ${index} at byte ${at(p)}: length header fails its CRC; skipping to the next valid record`,
        });
        resyncing = true;
      }
      p++;
      continue;
    }
    const end = p + HEADER + len + FOOTER;
    if (end > buf.length) break; // torn tail: the rest has not been written yet
    if (maskedCrc32c(buf, p + HEADER, p + HEADER + len) !== buf.readUInt32LE(p + HEADER + len)) {
      // A valid header found while resyncing may sit inside corrupt bytes; only trust it if its data checks.
      if (resyncing) {
        p++;
        continue;
      }
      problems.push({
        kind: 'corrupt',
        record: index,
        offset: at(p),
        message: `record ${index} at byte ${at(p)}: data (${len} bytes) fails its CRC; record skipped`,
      });
      index++;
      p = end;
      continue;
    }
    resyncing = false;
    records.push({ index, offset: at(p), start: p + HEADER, end: p + HEADER + len });
    index++;
    p = end;
  }
  // Leftover bytes of a stretch already reported as corrupt are not reported again.
  if (final && p < buf.length && !resyncing) {
    problems.push({
      kind: 'truncated',
      record: index,
      offset: at(p),
      message: `record ${index} at byte ${at(p)}: file ends inside it (${buf.length - p} bytes); record skipped`,
    });
  }
  if (final) p = buf.length;
  const next: RecordCursor = { offset: at(p), records: index };
  if (resyncing) next.resyncing = true;
  return { records, problems, cursor: next };
}
