// One run's append-only log file: the store's source of truth (format: docs/store-format.md).
//
// A sequence of records, each [u32 LE payload length][u32 LE CRC-32 of the payload][payload]. A record's
// index (its "offset" in RunRecord) is its position in this sequence.
//
// Durability: appends are group-committed. Every append waits in a queue; one flush writes everything
// queued with a single positional write, then one fdatasync, then resolves all of them.
//
// Damage: a record whose header is impossible or whose CRC does not match is a bad region. The scan
// resyncs on the next position that holds a valid frame; the bad region keeps ONE index (a hole) so the
// records after it keep theirs (cursors of backends and of the series cache stay valid), reads skip it,
// and `onBadRecord` reports it. A bad region with no valid frame after it is a torn tail (a crash during
// the last, never-acknowledged write): the writer cuts it on open; a reader treats it as "not written yet".
// Except when it starts inside bytes known to be durable (`durableBytes`, from meta.json): then it is
// damage to acknowledged records and is kept as a hole like any other.
// Nothing else ever changes the file's existing bytes, and a read never does.
import * as fs from 'fs';
import { crc32 } from './crc32';

const HEADER = 8;
/** No record is this large; a header claiming more is garbage, not a big record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export interface BadRecord {
  /** The index the damaged region occupies; later records keep their own indices. */
  index: number;
  /** Byte offset of the damaged region in the file, and its length. */
  offset: number;
  bytes: number;
  reason: string;
}

export interface LogEntry {
  index: number;
  payload: Buffer;
}

export interface LogFileOptions {
  /** 'writer' (default) may append and cuts a torn tail on open; 'reader' opens read-only and never writes. */
  mode?: 'writer' | 'reader';
  /** Called for every good record during a scan, in order (used to rebuild metadata). */
  onScanRecord?: (payload: Buffer, index: number) => void;
  /**
   * Bytes known to have been durable (meta.json's logBytes): a bad region at the end that starts before
   * this is damage to acknowledged records, not a torn write, so it is kept as a hole, never cut.
   */
  durableBytes?: number;
  /** Called for every damaged region found (at a scan or a read). */
  onBadRecord?: (bad: BadRecord) => void;
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

export class LogFile {
  /** Bytes cut from a torn tail when the log was opened (writer only). */
  readonly truncatedBytes: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private flushes = 0;
  /** Byte position where each record (or hole) starts; `holes` marks the damaged ones. */
  private readonly positions: number[] = [];
  private readonly holes = new Set<number>();
  /** End of the last whole record known (the durable size for a writer, the scanned end for a reader). */
  private size = 0;
  private refreshing: Promise<number> | undefined;

  private constructor(
    readonly file: string,
    private readonly fh: fs.promises.FileHandle,
    private readonly options: LogFileOptions,
    truncatedBytes: number,
  ) {
    this.truncatedBytes = truncatedBytes;
  }

  get isReader(): boolean {
    return this.options.mode === 'reader';
  }

  /** Opens and scans a log file; a writer creates it if needed and cuts a torn tail. */
  static async open(file: string, options: LogFileOptions = {}): Promise<LogFile> {
    const reader = options.mode === 'reader';
    const fh = await fs.promises.open(
      file,
      reader ? fs.constants.O_RDONLY : fs.constants.O_RDWR | fs.constants.O_CREAT,
      0o600,
    );
    try {
      const { size } = await fh.stat();
      const log = new LogFile(file, fh, options, 0);
      await log.scanFrom(size);
      if (!reader && log.size < size) {
        await fh.truncate(log.size);
        await fh.datasync();
        (log as { truncatedBytes: number }).truncatedBytes = size - log.size;
      }
      return log;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Number of record indices (damaged ones included: they keep their index). */
  get count(): number {
    return this.positions.length;
  }

  /** Indices of damaged records. */
  get badIndices(): number[] {
    return [...this.holes].sort((a, b) => a - b);
  }

  /** Group writes done so far (each followed by one fdatasync); tests use it to see appends share a sync. */
  get flushCount(): number {
    return this.flushes;
  }

  /** Size in bytes of the whole records known. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Reader mode: scans what the writer added since the last scan; resolves with the number of new
   * indices. A record still being written is left for the next call.
   */
  refresh(): Promise<number> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const before = this.positions.length;
        const { size } = await this.fh.stat();
        if (size > this.size) await this.scanFrom(size);
        return this.positions.length - before;
      })().finally(() => (this.refreshing = undefined));
    }
    return this.refreshing;
  }

  /**
   * Appends records; resolves with the index of the first once all of them are on disk (after
   * fdatasync). An empty list resolves once everything queued before it is durable (a barrier).
   */
  append(payloads: Buffer[]): Promise<number> {
    if (this.isReader) return Promise.reject(new Error(`run log ${this.file} is open read-only (store reader mode)`));
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
          // One fstat per group commit: if the file is not the size we wrote it to, someone else
          // writes it (the store lock bypassed, e.g. across machines); writing at our position would
          // overwrite their records.
          const { size } = await this.fh.stat();
          if (size !== this.size) {
            throw new Error(
              `run log ${this.file} is ${size} bytes, this writer expected ${this.size}: another process ` +
                'writes it; nothing was written (reopen the store)',
            );
          }
          await writeAll(this.fh, buf, this.size);
          if (this.options.sync ?? true) await this.fh.datasync();
          this.flushes++;
          this.options.onFlush?.(performance.now() - t0, total);
        }
      } catch (err) {
        // Cut whatever part of the batch reached the file, so the next write starts clean.
        if (!/another process/.test(String(err))) await this.fh.truncate(this.size).catch(() => undefined);
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

  private endOf(i: number): number {
    return i + 1 < this.positions.length ? this.positions[i + 1] : this.size;
  }

  /**
   * Reads up to `max` good records from index `from` on, skipping damaged ones (reported once each).
   * Each comes with its index, which is not always the previous one + 1.
   */
  async read(from: number, max: number): Promise<LogEntry[]> {
    if (from < 0 || !Number.isInteger(from)) throw new Error(`read offset must be an integer >= 0, got ${from}`);
    const out: LogEntry[] = [];
    let i = from;
    while (out.length < max && i < this.positions.length) {
      // The next run of slots holding up to the records still wanted, in one read.
      let to = i;
      let good = 0;
      while (to < this.positions.length && good < max - out.length) {
        if (!this.holes.has(to)) good++;
        to++;
      }
      const start = this.positions[i];
      const buf = Buffer.allocUnsafe(this.endOf(to - 1) - start);
      await readExactly(this.fh, buf, start, this.file);
      for (let k = i; k < to; k++) {
        if (this.holes.has(k)) continue;
        const at = this.positions[k] - start;
        const len = buf.readUInt32LE(at);
        const payload = buf.subarray(at + HEADER, at + HEADER + len);
        if (len !== this.endOf(k) - this.positions[k] - HEADER || crc32(payload) !== buf.readUInt32LE(at + 4)) {
          // Damaged since it was scanned: a hole from now on, like one found by the scan.
          this.markBad(k, this.positions[k], this.endOf(k) - this.positions[k], 'CRC mismatch on read');
          continue;
        }
        out.push({ index: k, payload });
      }
      i = to;
    }
    return out;
  }

  private markBad(index: number, offset: number, bytes: number, reason: string): void {
    this.holes.add(index);
    this.options.onBadRecord?.({ index, offset, bytes, reason });
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.refreshing?.catch(() => undefined);
    await this.fh.close();
  }

  /** Walks the records from `this.size` to `fileSize`, resyncing past damage; stops before a torn tail. */
  private async scanFrom(fileSize: number): Promise<void> {
    const r = new ChunkReader(this.fh, fileSize);
    let pos = this.size;
    let badStart = -1;
    let badReason = '';
    while (pos + HEADER <= fileSize) {
      const frame = await r.frameAt(pos);
      if (frame.ok) {
        if (badStart >= 0) {
          this.positions.push(badStart);
          this.markBad(this.positions.length - 1, badStart, pos - badStart, badReason);
          badStart = -1;
        }
        this.options.onScanRecord?.(frame.payload, this.positions.length);
        this.positions.push(pos);
        pos += HEADER + frame.payload.length;
        this.size = pos;
        continue;
      }
      if (badStart < 0) {
        badStart = pos;
        badReason = frame.reason;
      }
      pos = await r.nextCandidate(pos + 1); // resync: the next byte that could start a frame
    }
    const tailStart = badStart >= 0 ? badStart : this.size;
    const durable = this.options.durableBytes ?? 0;
    // A file shorter than it was when durable lost its end (truncated): that is cut like a torn tail.
    if (tailStart < fileSize && tailStart < durable && fileSize >= durable) {
      this.positions.push(tailStart);
      this.markBad(this.positions.length - 1, tailStart, fileSize - tailStart, badStart >= 0 ? badReason : 'cut short');
      this.size = fileSize;
    }
  }
}

type Frame = { ok: true; payload: Buffer } | { ok: false; reason: string };

/** Reads a file in 1 MiB chunks so a scan (and a resync byte by byte) does not read per record. */
class ChunkReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly size: number,
  ) {}

  /** Bytes [pos, pos+n) or undefined when the file ends first. */
  private async bytes(pos: number, n: number): Promise<Buffer | undefined> {
    if (pos + n > this.size) return undefined;
    if (pos < this.bufStart || pos + n > this.bufStart + this.buf.length) {
      const next = Buffer.allocUnsafe(Math.min(Math.max(n, READ_CHUNK), this.size - pos));
      await readExactly(this.fh, next, pos, 'run log');
      this.buf = next;
      this.bufStart = pos;
    }
    return this.buf.subarray(pos - this.bufStart, pos - this.bufStart + n);
  }

  /**
   * The first position from `pos` whose header is plausible and whose payload starts with `{` (every
   * payload is a JSON object), checked synchronously within each chunk; `size` when there is none.
   */
  async nextCandidate(pos: number): Promise<number> {
    for (let q = pos; q + HEADER < this.size;) {
      if (!(await this.bytes(q, HEADER + 1))) return this.size;
      const b = this.buf;
      const end = this.bufStart + b.length - HEADER - 1;
      for (; q <= end; q++) {
        const at = q - this.bufStart;
        const len = b.readUInt32LE(at);
        if (len > 0 && len <= MAX_RECORD_BYTES && q + HEADER + len <= this.size && b[at + HEADER] === 0x7b) return q;
      }
    }
    return this.size;
  }

  async frameAt(pos: number): Promise<Frame> {
    const h = await this.bytes(pos, HEADER);
    if (!h) return { ok: false, reason: 'cut short' };
    const len = h.readUInt32LE(0);
    const crc = h.readUInt32LE(4);
    if (len === 0 || len > MAX_RECORD_BYTES) return { ok: false, reason: `impossible length ${len}` };
    const rec = await this.bytes(pos, HEADER + len);
    if (!rec) return { ok: false, reason: 'cut short' };
    const payload = rec.subarray(HEADER);
    if (crc32(payload) !== crc) return { ok: false, reason: 'CRC mismatch' };
    return { ok: true, payload };
  }
}

async function readExactly(fh: fs.promises.FileHandle, buf: Buffer, position: number, what: string): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) throw new Error(`${what} is shorter than expected (was it changed by another process?)`);
    got += bytesRead;
  }
}

async function writeAll(fh: fs.promises.FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}
