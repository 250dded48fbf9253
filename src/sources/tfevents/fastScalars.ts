// The common event, read without a protobuf library: an Event holding only wall_time, step and a
// Summary whose values are each a tag with a simple_value (what add_scalar writes, nearly every
// record of a training log), or a file_version. Anything else returns undefined and goes to the
// full decoder (events.ts), so both give the same items; the fast path only skips building
// protobufjs messages, which is most of the cost of reading a big log.
import type { SummaryItem } from './events';

let pos = 0;

/** A varint of up to 7 bytes (2^49, more than any step) at `pos`; -1 when longer or past `end`. */
function varint(buf: Buffer, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 7 && pos < end; i++) {
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
  return -1;
}

// Tags repeat on every record: decode each distinct byte string once.
const tagCache = new Map<string, string>();

function tagAt(buf: Buffer, start: number, end: number): string {
  const raw = buf.toString('latin1', start, end);
  let tag = tagCache.get(raw);
  if (tag === undefined) {
    tag = buf.toString('utf8', start, end);
    if (tagCache.size > 10_000) tagCache.clear();
    tagCache.set(raw, tag);
  }
  return tag;
}

/**
 * The items of the event in `buf[start, end)`, pushed onto `out`; false (nothing pushed) when the
 * event is not of the simple kind and needs the full decoder.
 */
export function fastScalars(buf: Buffer, start: number, end: number, out: SummaryItem[]): boolean {
  pos = start;
  let time = 0;
  let step = 0;
  let sumStart = -1;
  let sumEnd = -1;
  while (pos < end) {
    const key = buf[pos++];
    if (key === 0x09) {
      // 1: wall_time, double
      if (pos + 8 > end) return false;
      time = buf.readDoubleLE(pos);
      pos += 8;
    } else if (key === 0x10) {
      // 2: step, int64 (negative ones take 10 bytes: the full decoder's)
      step = varint(buf, end);
      if (step < 0) return false;
    } else if (key === 0x1a || key === 0x2a) {
      // 3: file_version (nothing to show), 5: summary
      const len = varint(buf, end);
      if (len < 0 || pos + len > end) return false;
      if (key === 0x2a) {
        if (sumStart >= 0) return false; // a repeated field merges: leave it to the full decoder
        sumStart = pos;
        sumEnd = pos + len;
      }
      pos += len;
    } else return false;
  }
  if (sumStart < 0) return true;
  const first = out.length;
  pos = sumStart;
  while (pos < sumEnd) {
    if (buf[pos++] !== 0x0a) return undo(out, first); // Summary.value, 1
    const len = varint(buf, sumEnd);
    if (len < 0 || pos + len > sumEnd) return undo(out, first);
    const vEnd = pos + len;
    let tagStart = -1;
    let tagEnd = -1;
    let value: number | undefined;
    while (pos < vEnd) {
      const key = buf[pos++];
      if (key === 0x15) {
        // 2: simple_value, float
        if (pos + 4 > vEnd) return undo(out, first);
        value = buf.readFloatLE(pos);
        pos += 4;
      } else if (key === 0x0a || key === 0x3a || key === 0x4a) {
        // 1: tag, 7: node_name, 9: metadata (beside a simple_value it changes nothing)
        const l = varint(buf, vEnd);
        if (l < 0 || pos + l > vEnd) return undo(out, first);
        if (key === 0x0a) {
          tagStart = pos;
          tagEnd = pos + l;
        }
        pos += l;
      } else return undo(out, first);
    }
    if (value === undefined) return undo(out, first);
    const tag = tagStart < 0 ? '' : tagAt(buf, tagStart, tagEnd);
    out.push({ kind: 'scalar', tag, step, time, value });
  }
  return true;
}

function undo(out: SummaryItem[], first: number): false {
  out.length = first;
  return false;
}
