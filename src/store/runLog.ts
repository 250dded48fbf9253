// One run's append-only log: the store's source of truth.
//
// File format: a sequence of records, each
//   [u32 LE payload length][u32 LE CRC-32 of the payload][payload bytes]
// where the payload is UTF-8 JSON (the store writes `{seq?, event}`). Nothing else
// is in the file, so a record's index (its "offset") is its position in this list.
//
// Durability: appends are group-committed. Every append waits in a queue; one
// flush writes everything queued with a single positional write, then one
// fdatasync, then resolves all of them. Appends that arrive during a flush go into
// the next one, so the cost of a sync is shared by everyone who waited for it.
//
// Recovery: on open the file is scanned; the first record whose header is
// impossible, whose bytes run past the end, or whose CRC does not match ends the
// log, and the file is truncated there (a torn write from a crash only ever
// affects the tail, because nothing is written past an unsynced record).
import * as fs from 'fs';
import { crc32 } from './crc32';

const HEADER = 8;
/** No record is this large; a header claiming more is garbage, not a big record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export interface RunLogOptions {
  /** Called for every good record during the open scan, in order (used to rebuild metadata). */
  onScanRecord?: (payload: Buffer, index: number) => void;
  /** fdatasync after each group write (default true; benchmarks may turn it off to measure its cost). */
  sync?: boolean;
  /** Told how long each group write + fdatasync took (benchmarks report it). */
  onFlush?: (ms: number, bytes: number) => void;
}

interface Pending {
  payloads: Buffer[];
  resolve: (firstIndex: number) => void;
  reject: (err: Error) => void;
}

export class RunLog {
  /** Bytes cut from a torn or corrupt tail when the log was opened. */
  readonly truncatedBytes: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private flushes = 0;

  private constructor(
    readonly file: string,
    private readonly fh: fs.promises.FileHandle,
    /** Byte position where each durable record starts. */
    private readonly positions: number[],
    private size: number,
    truncatedBytes: number,
    private readonly sync: boolean,
    private readonly onFlush?: (ms: number, bytes: number) => void,
  ) {
    this.truncatedBytes = truncatedBytes;
  }

  /** Opens (creating if needed) and recovers a log file. */
  static async open(file: string, options: RunLogOptions = {}): Promise<RunLog> {
    const fh = await fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      const { size } = await fh.stat();
      const { positions, goodBytes } = await scan(fh, size, options.onScanRecord);
      if (goodBytes < size) {
        await fh.truncate(goodBytes);
        await fh.datasync();
      }
      return new RunLog(file, fh, positions, goodBytes, size - goodBytes, options.sync ?? true, options.onFlush);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Number of durable records. */
  get count(): number {
    return this.positions.length;
  }

  /** Group writes done so far (each followed by one fdatasync); tests use it to see appends share a sync. */
  get flushCount(): number {
    return this.flushes;
  }

  /** Size in bytes of the durable log. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Appends records; resolves with the index of the first once all of them are on
   * disk (after fdatasync). An empty list resolves once everything queued before it
   * is durable, which makes it a barrier.
   */
  append(payloads: Buffer[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error(`run log ${this.file} is closed`));
    for (const p of payloads) {
      if (p.length === 0 || p.length > MAX_RECORD_BYTES) {
        return Promise.reject(new Error(`record of ${p.length} bytes cannot be logged (1..${MAX_RECORD_BYTES})`));
      }
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ payloads, resolve, reject });
      // setImmediate, not a microtask: frames that arrive in the same I/O phase join this flush.
      if (!this.flushing) this.flushing = new Promise<void>((done) => setImmediate(() => this.flushLoop().then(done)));
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let total = 0;
      for (const p of batch) for (const b of p.payloads) total += HEADER + b.length;
      const buf = Buffer.allocUnsafe(total);
      const starts: number[] = [];
      let at = 0;
      for (const p of batch) {
        for (const b of p.payloads) {
          starts.push(this.size + at);
          buf.writeUInt32LE(b.length, at);
          buf.writeUInt32LE(crc32(b), at + 4);
          b.copy(buf, at + HEADER);
          at += HEADER + b.length;
        }
      }
      try {
        if (total > 0) {
          const t0 = performance.now();
          await writeAll(this.fh, buf, this.size);
          if (this.sync) await this.fh.datasync();
          this.flushes++;
          this.onFlush?.(performance.now() - t0, total);
        }
      } catch (err) {
        // Cut whatever part of the batch reached the file, so the next write starts clean.
        await this.fh.truncate(this.size).catch(() => undefined);
        const e = err instanceof Error ? err : new Error(String(err));
        for (const p of batch) p.reject(e);
        continue;
      }
      let index = this.positions.length;
      for (const s of starts) this.positions.push(s);
      this.size += total;
      for (const p of batch) {
        p.resolve(index);
        index += p.payloads.length;
      }
    }
    this.flushing = undefined;
  }

  /** Reads up to `max` durable records from index `from` and returns their payloads. */
  async read(from: number, max: number): Promise<Buffer[]> {
    const n = this.positions.length;
    if (from < 0 || !Number.isInteger(from)) throw new Error(`read offset must be an integer >= 0, got ${from}`);
    if (from >= n || max <= 0) return [];
    const to = Math.min(n, from + max);
    const start = this.positions[from];
    const end = to < n ? this.positions[to] : this.size;
    const buf = Buffer.allocUnsafe(end - start);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) throw new Error(`run log ${this.file} is shorter than expected (was it changed by another process?)`);
      got += bytesRead;
    }
    const out: Buffer[] = [];
    let at = 0;
    for (let i = from; i < to; i++) {
      const len = buf.readUInt32LE(at);
      const payload = buf.subarray(at + HEADER, at + HEADER + len);
      if (crc32(payload) !== buf.readUInt32LE(at + 4)) {
        throw new Error(`run log ${this.file}: record ${i} is corrupt on disk (CRC mismatch); reopen the store to cut the log at the last good record`);
      }
      out.push(payload);
      at += HEADER + len;
    }
    return out;
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.fh.close();
  }
}

async function writeAll(fh: fs.promises.FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Walks the records; stops at the first bad one. */
async function scan(
  fh: fs.promises.FileHandle,
  size: number,
  onRecord?: (payload: Buffer, index: number) => void,
): Promise<{ positions: number[]; goodBytes: number }> {
  const positions: number[] = [];
  let buf = Buffer.alloc(0);
  let bufStart = 0; // file position of buf[0]
  let pos = 0;
  // Makes buf hold at least n bytes from pos; false when the file ends first.
  const ensure = async (n: number): Promise<boolean> => {
    if (pos + n > size) return false;
    if (pos + n <= bufStart + buf.length) return true;
    const keep = buf.subarray(pos - bufStart);
    const want = Math.max(n, READ_CHUNK);
    const next = Buffer.allocUnsafe(Math.min(want, size - pos));
    keep.copy(next, 0);
    let filled = keep.length;
    while (filled < next.length) {
      const { bytesRead } = await fh.read(next, filled, next.length - filled, pos + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    buf = next.subarray(0, filled);
    bufStart = pos;
    return filled >= n;
  };
  for (;;) {
    if (!(await ensure(HEADER))) break;
    const h = pos - bufStart;
    const len = buf.readUInt32LE(h);
    const crc = buf.readUInt32LE(h + 4);
    if (len === 0 || len > MAX_RECORD_BYTES) break;
    if (!(await ensure(HEADER + len))) break;
    const p = pos - bufStart + HEADER;
    const payload = buf.subarray(p, p + len);
    if (crc32(payload) !== crc) break;
    onRecord?.(payload, positions.length);
    positions.push(pos);
    pos += HEADER + len;
  }
  return { positions, goodBytes: pos };
}
