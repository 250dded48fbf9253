// The bridge wire: each frame is a 4-byte big-endian length and that many bytes of a
// UTF-8 JSON object. Metric values that JSON cannot hold (NaN, ±Infinity) go as the
// strings "NaN", "Infinity" and "-Infinity" (src/common/wireNumber.ts).
import { encodeWireNumber } from '../../common/wireNumber';

export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export type BridgeMessage = Record<string, unknown>;

export function encodeFrame(msg: BridgeMessage): Buffer {
  // A replacer costs a call per value (a third of a batch's encoding); most batches hold no
  // value JSON cannot, and a walk finds that out for less.
  const json = hasNonFinite(msg)
    ? JSON.stringify(msg, (_k, v: unknown) => (typeof v === 'number' ? encodeWireNumber(v) : v))
    : JSON.stringify(msg);
  const body = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasNonFinite(x)) return true;
    return false;
  }
  for (const k in v) if (hasNonFinite((v as Record<string, unknown>)[k])) return true;
  return false;
}

/** Collects stdout chunks and hands out whole frames; throws on a frame that cannot be one. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): BridgeMessage[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: BridgeMessage[] = [];
    while (this.buf.length >= 4) {
      const size = this.buf.readUInt32BE(0);
      if (size > MAX_FRAME_BYTES) throw new Error(`bridge sent a frame of ${size} bytes (over the limit)`);
      if (this.buf.length < 4 + size) break;
      const body = this.buf.subarray(4, 4 + size).toString('utf8');
      this.buf = this.buf.subarray(4 + size);
      const msg: unknown = JSON.parse(body);
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
        throw new Error('bridge frame is not an object');
      out.push(msg as BridgeMessage);
    }
    return out;
  }
}
