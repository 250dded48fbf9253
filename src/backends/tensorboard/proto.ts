// A minimal protobuf encoder for the few TensorFlow messages an event file needs
// (Event, Summary, Summary.Value, SummaryMetadata, TensorProto), plus TFRecord
// framing. Hand-written rather than generated: four messages do not justify a
// protobuf runtime in the extension bundle, and the hot path (one scalar) can be
// encoded from cached per-tag bytes with a single buffer write.
import { maskedCrc32c } from './crc32c';

// Field keys, (field number << 3) | wire type.
const EVENT_WALL_TIME = (1 << 3) | 1; // double
const EVENT_STEP = (2 << 3) | 0; // int64
const EVENT_FILE_VERSION = (3 << 3) | 2; // string
const EVENT_SUMMARY = (5 << 3) | 2; // Summary
const SUMMARY_VALUE = (1 << 3) | 2; // repeated Summary.Value
const VALUE_TAG = (1 << 3) | 2; // string
const VALUE_TENSOR = (8 << 3) | 2; // TensorProto
const VALUE_METADATA = (9 << 3) | 2; // SummaryMetadata
const METADATA_PLUGIN_DATA = (1 << 3) | 2; // PluginData
const METADATA_DATA_CLASS = (4 << 3) | 0; // enum DataClass
const PLUGIN_DATA_NAME = (1 << 3) | 2; // string
const TENSOR_DTYPE = (1 << 3) | 0; // enum DataType
const TENSOR_SHAPE = (2 << 3) | 2; // TensorShapeProto (empty: a scalar)
const TENSOR_FLOAT_VAL = (5 << 3) | 2; // packed repeated float
const TENSOR_DOUBLE_VAL = (6 << 3) | 2; // packed repeated double

export const DT_FLOAT = 1;
export const DT_DOUBLE = 2;
export const DATA_CLASS_SCALAR = 1;
export const FILE_VERSION = 'brain.Event:2';

/** A growable byte buffer with the protobuf primitives. */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned or signed (int64, two's complement) varint; exact for integers within ±2^53. */
  varint(value: number): void {
    this.ensure(10);
    if (value >= 0 && value < 0x80000000) {
      let v = value >>> 0;
      while (v >= 0x80) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.pos++] = v;
      return;
    }
    if (value > 0) {
      let v = value;
      while (v >= 0x80) {
        this.buf[this.pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buf[this.pos++] = v;
      return;
    }
    // Negative int64: ten bytes of two's complement. Rare (steps are >= 0), so BigInt is fine.
    let b = BigInt.asUintN(64, BigInt(value));
    while (b >= 0x80n) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** A length-delimited field holding `data`. */
  field(key: number, data: Uint8Array): void {
    this.varint(key);
    this.varint(data.length);
    this.bytes(data);
  }

  take(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export function varintSize(value: number): number {
  if (value < 0) return 10;
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

function encode(fill: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(64);
  fill(w);
  return Buffer.from(w.take());
}

/** SummaryMetadata for a scalar: plugin "scalars", data class SCALAR. */
const SCALAR_METADATA = encode((w) => {
  w.field(
    METADATA_PLUGIN_DATA,
    encode((p) => p.field(PLUGIN_DATA_NAME, Buffer.from('scalars'))),
  );
  w.varint(METADATA_DATA_CLASS);
  w.varint(DATA_CLASS_SCALAR);
});

// TensorProto { dtype: DT_FLOAT, tensor_shape: {}, float_val: [v] } is 10 bytes; with its key and length, 12.
// TensorProto { dtype: DT_DOUBLE, double_val: [v] } is 12 bytes; with its key and length, 14.
const FLOAT_TENSOR_FIELD_SIZE = 12;
const DOUBLE_TENSOR_FIELD_SIZE = 14;

export interface ScalarEncoding {
  /**
   * Write DT_DOUBLE tensors (exact float64) instead of DT_FLOAT. TensorBoard's default
   * loader (the Rust tensorboard-data-server) reads only DT_FLOAT scalar tensors and
   * silently drops the tag otherwise; only `--load_fast=false` reads float64.
   */
  float64?: boolean;
}

interface TagBytes {
  head: Buffer; // the tag field
  tail: Buffer; // the metadata field
  valueSize: number; // size of the whole Summary.Value
}

/**
 * Encodes scalar events and frames them as TFRecords. Per-tag bytes are cached
 * because a run logs the same few tags over and over.
 */
export class ScalarEventEncoder {
  private readonly tags = new Map<string, TagBytes>();
  private readonly w = new ByteWriter(1 << 16);
  private readonly float64: boolean;
  private readonly tensorSize: number;

  constructor(encoding: ScalarEncoding = {}) {
    this.float64 = encoding.float64 === true;
    this.tensorSize = this.float64 ? DOUBLE_TENSOR_FIELD_SIZE : FLOAT_TENSOR_FIELD_SIZE;
  }

  private tagBytes(tag: string): TagBytes {
    let t = this.tags.get(tag);
    if (!t) {
      if (this.tags.size > 10_000) this.tags.clear(); // bound memory for pathological key sets
      const head = encode((w) => w.field(VALUE_TAG, Buffer.from(tag, 'utf8')));
      const tail = encode((w) => w.field(VALUE_METADATA, SCALAR_METADATA));
      t = { head, tail, valueSize: head.length + this.tensorSize + tail.length };
      this.tags.set(tag, t);
    }
    return t;
  }

  /** Starts a TFRecord: reserves the 12-byte header, returns where the data begins. */
  private beginRecord(): number {
    this.w.ensure(12);
    this.w.pos += 12;
    return this.w.pos;
  }

  /** Fills the header (u64 length, masked CRC of it) and appends the data's masked CRC. */
  private endRecord(dataStart: number): void {
    const w = this.w;
    const len = w.pos - dataStart;
    const h = dataStart - 12;
    w.buf.writeUInt32LE(len, h);
    w.buf.writeUInt32LE(0, h + 4);
    w.buf.writeUInt32LE(maskedCrc32c(w.buf, h, h + 8), h + 8);
    const crc = maskedCrc32c(w.buf, dataStart, w.pos);
    w.ensure(4);
    w.buf.writeUInt32LE(crc, w.pos);
    w.pos += 4;
  }

  /** The first record of every event file. */
  fileVersion(wallTime: number): void {
    const start = this.beginRecord();
    this.w.varint(EVENT_WALL_TIME);
    this.w.double(wallTime);
    this.w.field(EVENT_FILE_VERSION, Buffer.from(FILE_VERSION));
    this.endRecord(start);
  }

  /**
   * One Event holding several scalars that share a step and wall time
   * (TensorBoard reads each value with its event's step and time).
   */
  scalars(step: number, wallTime: number, values: ReadonlyArray<{ tag: string; value: number }>): void {
    const w = this.w;
    let summarySize = 0;
    const parts: TagBytes[] = [];
    for (const v of values) {
      const t = this.tagBytes(v.tag);
      parts.push(t);
      summarySize += 1 + varintSize(t.valueSize) + t.valueSize;
    }
    const start = this.beginRecord();
    w.ensure(32 + summarySize);
    w.varint(EVENT_WALL_TIME);
    w.double(wallTime);
    w.varint(EVENT_STEP);
    w.varint(step);
    w.varint(EVENT_SUMMARY);
    w.varint(summarySize);
    for (let i = 0; i < parts.length; i++) {
      const t = parts[i];
      w.varint(SUMMARY_VALUE);
      w.varint(t.valueSize);
      w.bytes(t.head);
      w.buf[w.pos++] = VALUE_TENSOR;
      w.buf[w.pos++] = this.tensorSize - 2;
      w.buf[w.pos++] = TENSOR_DTYPE;
      if (this.float64) {
        w.buf[w.pos++] = DT_DOUBLE;
        w.buf[w.pos++] = TENSOR_DOUBLE_VAL;
        w.buf[w.pos++] = 8;
        w.buf.writeDoubleLE(values[i].value, w.pos);
        w.pos += 8;
      } else {
        w.buf[w.pos++] = DT_FLOAT;
        w.buf[w.pos++] = TENSOR_SHAPE;
        w.buf[w.pos++] = 0;
        w.buf[w.pos++] = TENSOR_FLOAT_VAL;
        w.buf[w.pos++] = 4;
        w.buf.writeFloatLE(values[i].value, w.pos); // rounds to nearest; NaN and ±Infinity kept
        w.pos += 4;
      }
      w.bytes(t.tail);
    }
    this.endRecord(start);
  }

  /** Bytes encoded since the last `take`, and a reset. The buffer is reused: copy or write it before encoding more. */
  take(): Buffer {
    const out = this.w.take();
    this.w.pos = 0;
    return out;
  }
}

/** Reads TFRecords back (for tests and for finding a torn tail): returns each record's data, stops at the first bad one. */
export function readRecords(buf: Buffer): { records: Buffer[]; validBytes: number } {
  const records: Buffer[] = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const lenLo = buf.readUInt32LE(pos);
    const lenHi = buf.readUInt32LE(pos + 4);
    if (lenHi !== 0 || buf.readUInt32LE(pos + 8) !== maskedCrc32c(buf, pos, pos + 8)) break;
    const end = pos + 12 + lenLo + 4;
    if (end > buf.length) break;
    if (buf.readUInt32LE(end - 4) !== maskedCrc32c(buf, pos + 12, end - 4)) break;
    records.push(buf.subarray(pos + 12, end - 4));
    pos = end;
  }
  return { records, validBytes: pos };
}
