// The store's read side for charts: per-(run, key) columnar series with a
// min/max pyramid, answering "give me at most N points of this series between
// x0 and x1" without ever loading a whole series into memory.
// Never imports `vscode`: it runs headless in Node tests and benchmarks.
import * as fs from 'fs';
import * as path from 'path';
import type { RunRecord, RunSummary } from '../api/types';
import { XBucketDecimator, XY, decimateRows, decimateWithPyramid, planDecimation } from './decimate';
import { MinMaxPyramid, RawRows, RawWindows } from './pyramid';

export type SeriesAxis = 'step' | 'time';

/** Kinds of non-finite values, as stored in `SeriesSlice.nonFinite.kind`. */
export const NON_FINITE_NAN = 0;
export const NON_FINITE_POS_INF = 1;
export const NON_FINITE_NEG_INF = 2;

export interface SeriesQuery {
  runId: string;
  key: string;
  /** 'time' is wall time in seconds since the epoch; relative time is `x - run.startTime`, done by the UI. */
  x: SeriesAxis;
  /** Inclusive bounds on x; omitted means the whole series. */
  from?: number;
  to?: number;
  /** Upper bound on `x.length` (2 at least); each decimation bucket contributes its min and its max. */
  maxPoints: number;
}

export interface SeriesSlice {
  /** Sorted by x (non-decreasing). */
  x: Float64Array;
  /** Finite values only: NaN and ±Infinity are in `nonFinite`, never here. */
  y: Float64Array;
  /** Where the series held NaN / +Inf / -Inf (kind 0 / 1 / 2), within the range. Thinned to at most maxPoints. */
  nonFinite: { x: Float64Array; kind: Uint8Array };
  /** Stored points (finite or not) within the range. */
  total: number;
  /** False when `x`/`y` are exactly the stored points of the range. */
  decimated: boolean;
  /** Smallest and largest x of stored points within the range; [NaN, NaN] when empty. */
  xRange: [number, number];
}

export interface LatestPoint {
  step: number;
  value: number;
  time: number;
}

export interface Disposable {
  dispose(): void;
}

export interface SeriesStoreOptions {
  /** Where cache trouble (a full disk, an unreadable file) is reported, once. Default: console. */
  logger?: { warn(message: string): void };
  /** Budget for pyramids held in memory, in bytes (default 64 MB). */
  maxLoadedBytes?: number;
}

/**
 * What SeriesStore needs from the run store (`RunStore` in ./runStore.ts fits).
 * Kept structural so the series code and its tests don't depend on the write
 * side's internals.
 */
export interface SeriesSource {
  runDir(runId: string): string;
  listRuns(): RunSummary[];
  /** Records from `fromOffset` on, at most `max` of them, in log order. */
  read(runId: string, fromOffset: number, max: number): Promise<RunRecord[]>;
  recordCount(runId: string): number | Promise<number>;
  /** Fired after the records are durable. */
  onDidAppend(listener: (runId: string, records: RunRecord[]) => void): Disposable;
  /** Fired after a run's folder is gone: its series cache goes with it. */
  onDidDeleteRun?(listener: (runId: string) => void): Disposable;
}

// On disk, per run: `<runDir>/series/index.json` and one `sN.col` per key
// (keys map to short generated names: keys can be long or differ only in case).
// A .col file is fixed 24-byte rows (step, time, value as native-endian f64,
// little-endian on every platform VS Code runs on) in arrival order.
// index.json is the commit point: it names the log offset folded so far and
// each file's row count at that offset. Rows past that count (written before a
// crash, after the last index save) are cut on open and folded again from the
// log; a file shorter than its count, or a bad index, means rebuilding the run.
//
// Out-of-order x (a resumed run logging earlier steps again) keeps arrival
// order on disk; each series remembers per axis whether x never decreased.
// Sorted axes (the usual case) are answered from the pyramid by index ranges;
// an unsorted axis falls back to a chunked scan that buckets by x value
// (O(n) reads, bounded memory) and returns points sorted by x.

const SERIES_DIR = 'series';
const INDEX_FILE = 'index.json';
const ROW_BYTES = 24;
const READ_BATCH = 2048;
const SCAN_ROWS = 65536;
const INDEX_SAVE_DELAY_MS = 1000;
/** Series at least this long get a pyramid snapshot (`sN.pyr`), so the first draw after a restart needn't rescan them. */
const SNAPSHOT_MIN_ROWS = 100_000;
/** Loaded pyramids beyond this many bytes are dropped, least recently queried first (they reload from snapshot + rows). */
const DEFAULT_MAX_LOADED_BYTES = 64 * 1024 * 1024;

type StoredNumber = number | 'NaN' | 'Infinity' | '-Infinity';

interface StoredSeries {
  file: string;
  count: number;
  sortedStep: boolean;
  sortedTime: boolean;
  /** Last point in arrival order: step, time, value. */
  last: [number, number, StoredNumber] | null;
  /** [minStep, maxStep, minTime, maxTime] of all points; null when empty. */
  bounds: [number, number, number, number] | null;
}

interface StoredIndex {
  version: 1;
  /** Log offset of the first record not folded in yet. */
  folded: number;
  nextFile: number;
  series: Record<string, StoredSeries>;
}

function toStored(v: number): StoredNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function fromStored(v: StoredNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
}

function nonFiniteKind(v: number): number {
  return v !== v ? NON_FINITE_NAN : v > 0 ? NON_FINITE_POS_INF : NON_FINITE_NEG_INF;
}

/** NaN/±Inf points of a loaded series, in arrival order. Usually a handful. */
class NonFiniteList {
  n = 0;
  idx = new Float64Array(8);
  step = new Float64Array(8);
  time = new Float64Array(8);
  kind = new Uint8Array(8);

  push(i: number, step: number, time: number, value: number): void {
    if (this.n === this.idx.length) {
      const cap = this.n * 2;
      const g = (a: Float64Array) => {
        const b = new Float64Array(cap);
        b.set(a);
        return b;
      };
      this.idx = g(this.idx);
      this.step = g(this.step);
      this.time = g(this.time);
      const k = new Uint8Array(cap);
      k.set(this.kind);
      this.kind = k;
    }
    this.idx[this.n] = i;
    this.step[this.n] = step;
    this.time[this.n] = time;
    this.kind[this.n++] = nonFiniteKind(value);
  }

  /** First position whose raw index is >= i. */
  lowerBound(i: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idx[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  bytes(): number {
    return this.idx.length * 25;
  }
}

class Series {
  count = 0;
  sortedStep = true;
  sortedTime = true;
  lastStep = NaN;
  lastTime = NaN;
  lastValue = NaN;
  minStep = Infinity;
  maxStep = -Infinity;
  minTime = Infinity;
  maxTime = -Infinity;
  /** In memory only after the first query; covers all `count` rows while set. */
  pyramid: MinMaxPyramid | undefined;
  nonFinite: NonFiniteList | undefined;
  loading: Promise<void> | undefined;
  /** Rows covered by the snapshot on disk (0: none known). */
  snapshotCount = 0;
  /** When it was last queried, for dropping the least recently used pyramids. */
  lastUsed = 0;

  constructor(
    readonly key: string,
    readonly fileName: string,
    readonly file: string,
  ) {}

  get snapshotFile(): string {
    return snapshotName(this.file);
  }

  /** Bookkeeping for a row already on disk at index `count`. */
  fold(step: number, time: number, value: number): void {
    if (this.count > 0) {
      if (step < this.lastStep) this.sortedStep = false;
      if (time < this.lastTime) this.sortedTime = false;
    }
    if (step < this.minStep) this.minStep = step;
    if (step > this.maxStep) this.maxStep = step;
    if (time < this.minTime) this.minTime = time;
    if (time > this.maxTime) this.maxTime = time;
    this.lastStep = step;
    this.lastTime = time;
    this.lastValue = value;
    if (this.pyramid) {
      if (!Number.isFinite(value)) this.nonFinite?.push(this.count, step, time, value);
      this.pyramid.push(step, time, value);
    }
    this.count++;
  }

  toStored(): StoredSeries {
    return {
      file: this.fileName,
      count: this.count,
      sortedStep: this.sortedStep,
      sortedTime: this.sortedTime,
      last: this.count ? [this.lastStep, this.lastTime, toStored(this.lastValue)] : null,
      bounds: this.count ? [this.minStep, this.maxStep, this.minTime, this.maxTime] : null,
    };
  }

  static fromStored(key: string, dir: string, s: StoredSeries): Series {
    const r = new Series(key, s.file, path.join(dir, s.file));
    r.count = s.count;
    r.sortedStep = s.sortedStep;
    r.sortedTime = s.sortedTime;
    if (s.last) [r.lastStep, r.lastTime, r.lastValue] = [s.last[0], s.last[1], fromStored(s.last[2])];
    if (s.bounds) [r.minStep, r.maxStep, r.minTime, r.maxTime] = s.bounds;
    return r;
  }
}

class RunSeries {
  folded = 0;
  nextFile = 0;
  readonly series = new Map<string, Series>();
  /** Every mutation of this run (folding, loading a pyramid, saving the index) runs in this chain, one at a time. */
  queue: Promise<void> = Promise.resolve();
  dirty = false;
  saveTimer: NodeJS.Timeout | undefined;
  deleted = false;

  constructor(
    readonly runId: string,
    readonly dir: string,
  ) {}
}

async function readRows(fd: fs.promises.FileHandle, a: number, b: number): Promise<RawRows> {
  const n = Math.max(0, b - a);
  const buf = new Float64Array(n * 3);
  const bytes = new Uint8Array(buf.buffer);
  let got = 0;
  while (got < bytes.length) {
    const { bytesRead } = await fd.read(bytes, got, bytes.length - got, a * ROW_BYTES + got);
    if (bytesRead === 0) throw new Error(`series file ended at row ${a + Math.floor(got / ROW_BYTES)}, expected ${b}`);
    got += bytesRead;
  }
  const rows: RawRows = { start: a, step: new Float64Array(n), time: new Float64Array(n), value: new Float64Array(n) };
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    rows.step[i] = buf[j];
    rows.time[i] = buf[j + 1];
    rows.value[i] = buf[j + 2];
  }
  return rows;
}

/** Creates `<runDir>/series` but never the run folder itself: a run deleted meanwhile must stay deleted. */
async function makeSeriesDir(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function snapshotName(colFile: string): string {
  return colFile.replace(/\.col$/, '.pyr');
}

/** A snapshot file: [pyramid length, pyramid..., marker count n, n indices, n steps, n times, n kinds], all f64. */
function encodeSnapshot(pyr: MinMaxPyramid, nf: NonFiniteList): Float64Array {
  const p = pyr.serialize();
  const n = nf.n;
  const out = new Float64Array(2 + p.length + 4 * n);
  out[0] = p.length;
  out.set(p, 1);
  let o = 1 + p.length;
  out[o++] = n;
  for (const a of [nf.idx, nf.step, nf.time, Float64Array.from(nf.kind.subarray(0, n))]) {
    out.set(a.subarray(0, n), o);
    o += n;
  }
  return out;
}

function decodeSnapshot(a: Float64Array): { pyr: MinMaxPyramid; nf: NonFiniteList } | undefined {
  const pl = a[0];
  if (!(pl >= 0) || a.length < pl + 2) return undefined;
  const pyr = MinMaxPyramid.deserialize(a.subarray(1, 1 + pl));
  const n = a[1 + pl];
  if (!pyr || !(n >= 0) || a.length !== 2 + pl + 4 * n) return undefined;
  const nf = new NonFiniteList();
  let o = 2 + pl;
  const take = () => a.slice(o, (o += n));
  [nf.idx, nf.step, nf.time] = [take(), take(), take()];
  nf.kind = Uint8Array.from(take());
  nf.n = n;
  if (n === 0) [nf.idx, nf.step, nf.time, nf.kind] = [new Float64Array(8), new Float64Array(8), new Float64Array(8), new Uint8Array(8)];
  return { pyr, nf };
}

async function readSnapshot(file: string): Promise<{ pyr: MinMaxPyramid; nf: NonFiniteList } | undefined> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch {
    return undefined;
  }
  if (buf.byteLength % 8 !== 0) return undefined;
  // Float64Array needs 8-byte alignment; copy when the buffer doesn't have it.
  const a = buf.byteOffset % 8 === 0 ? new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8) : new Float64Array(new Uint8Array(buf).buffer);
  return decodeSnapshot(a);
}

async function writeSnapshot(s: Series): Promise<void> {
  if (!s.pyramid || !s.nonFinite) return;
  const data = encodeSnapshot(s.pyramid, s.nonFinite);
  const count = s.pyramid.count;
  await fs.promises.writeFile(s.snapshotFile + '.tmp', new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  await fs.promises.rename(s.snapshotFile + '.tmp', s.snapshotFile);
  s.snapshotCount = count;
}

function emptySlice(): SeriesSlice {
  return {
    x: new Float64Array(0),
    y: new Float64Array(0),
    nonFinite: { x: new Float64Array(0), kind: new Uint8Array(0) },
    total: 0,
    decimated: false,
    xRange: [NaN, NaN],
  };
}

/** Keeps at most `max` markers, evenly spread, so a NaN-only series can't flood the chart. */
function thinMarkers(x: number[], kind: number[], max: number): SeriesSlice['nonFinite'] {
  const n = x.length;
  const take = Math.min(n, Math.max(0, max));
  const out = { x: new Float64Array(take), kind: new Uint8Array(take) };
  for (let j = 0; j < take; j++) {
    const i = take === n ? j : Math.floor((j * n) / take);
    out.x[j] = x[i];
    out.kind[j] = kind[i];
  }
  return out;
}

/**
 * Columnar series for every run of a RunStore, kept as a cache beside each
 * run's log (`<runDir>/series/`): derivable from the log, rebuilt or caught up
 * from `series/index.json`'s folded offset when missing or behind.
 */
export class SeriesStore {
  private readonly runs = new Map<string, RunSeries>();
  private readonly listeners = new Set<(runId: string, keys: string[]) => void>();
  private readonly subscriptions: Disposable[] = [];
  private catchingUp: Promise<void> = Promise.resolve();
  private disposed = false;
  private warned = false;
  private clock = 0;
  /** Budget for loaded pyramids and markers; see DEFAULT_MAX_LOADED_BYTES. */
  maxLoadedBytes = DEFAULT_MAX_LOADED_BYTES;

  private constructor(
    private readonly source: SeriesSource,
    private readonly options: SeriesStoreOptions,
  ) {
    if (options.maxLoadedBytes !== undefined) this.maxLoadedBytes = options.maxLoadedBytes;
  }

  /** Opens the series cache of `source`, subscribes to its appends and catches up in the background. */
  static open(source: SeriesSource, options: SeriesStoreOptions = {}): SeriesStore {
    const s = new SeriesStore(source, options);
    s.subscriptions.push(source.onDidAppend((runId, records) => s.onAppend(runId, records)));
    if (source.onDidDeleteRun) s.subscriptions.push(source.onDidDeleteRun((runId) => s.forget(runId)));
    s.catchingUp = s.catchUpAll();
    return s;
  }

  /** Metric keys of the run known so far, sorted. */
  keys(runId: string): string[] {
    const run = this.run(runId);
    return run ? [...run.series.keys()].sort() : [];
  }

  /** The last point stored (in arrival order) for the series. */
  latest(runId: string, key: string): LatestPoint | undefined {
    const s = this.run(runId)?.series.get(key);
    if (!s || s.count === 0) return undefined;
    return { step: s.lastStep, value: s.lastValue, time: s.lastTime };
  }

  /** Min/max-decimated slice of one series; reads from disk only the raw range it needs. */
  async query(q: SeriesQuery): Promise<SeriesSlice> {
    const run = this.run(q.runId);
    const s = run?.series.get(q.key);
    if (!run || !s || s.count === 0) return emptySlice();
    s.lastUsed = ++this.clock;
    await this.ensureLoaded(run, s);
    const pyr = s.pyramid;
    const nf = s.nonFinite;
    if (!pyr || !nf) return emptySlice();
    this.trimLoaded(s);
    // Rows below this count are immutable, so later appends can't disturb the reads below.
    const count = pyr.count;
    const maxPoints = Number.isFinite(q.maxPoints) ? Math.max(2, Math.floor(q.maxPoints)) : 2;
    const from = q.from ?? -Infinity;
    const to = q.to ?? Infinity;
    let fd: fs.promises.FileHandle;
    try {
      fd = await fs.promises.open(s.file, 'r');
    } catch {
      return emptySlice(); // deleted meanwhile
    }
    try {
      const sorted = q.x === 'step' ? s.sortedStep : s.sortedTime;
      if (sorted) return await this.querySorted(fd, pyr, nf, count, q.x, from, to, maxPoints);
      const lo = Math.max(from, q.x === 'step' ? s.minStep : s.minTime);
      const hi = Math.min(to, q.x === 'step' ? s.maxStep : s.maxTime);
      return await this.queryUnsorted(fd, nf, count, q.x, lo, hi, maxPoints);
    } finally {
      await fd.close();
    }
  }

  private async querySorted(
    fd: fs.promises.FileHandle,
    pyr: MinMaxPyramid,
    nf: NonFiniteList,
    count: number,
    axis: SeriesAxis,
    from: number,
    to: number,
    maxPoints: number,
  ): Promise<SeriesSlice> {
    const i0 = from === -Infinity ? 0 : await this.firstIndex(fd, pyr, count, axis, from, false);
    const i1 = to === Infinity ? count : await this.firstIndex(fd, pyr, count, axis, to, true);
    if (i1 <= i0) return emptySlice();
    const plan = planDecimation(pyr, i0, i1, maxPoints);
    let xy: XY;
    if (plan.kind === 'raw') {
      xy = decimateRows(await readRows(fd, i0, i1), axis, maxPoints);
    } else {
      const windows = await Promise.all(pyr.rawRangesFor(i0, i1).map(([a, b]) => readRows(fd, a, b)));
      xy = decimateWithPyramid(pyr, i0, i1, plan.groupSize, new RawWindows(windows), axis);
    }
    const ends = await Promise.all([readRows(fd, i0, i0 + 1), readRows(fd, i1 - 1, i1)]);
    const xOf = (r: RawRows) => (axis === 'step' ? r.step[0] : r.time[0]);
    const mx: number[] = [];
    const mk: number[] = [];
    const xs = axis === 'step' ? nf.step : nf.time;
    for (let j = nf.lowerBound(i0); j < nf.n && nf.idx[j] < i1; j++) {
      mx.push(xs[j]);
      mk.push(nf.kind[j]);
    }
    return {
      x: xy.x,
      y: xy.y,
      nonFinite: thinMarkers(mx, mk, maxPoints),
      total: i1 - i0,
      decimated: xy.decimated,
      xRange: [xOf(ends[0]), xOf(ends[1])],
    };
  }

  /** First raw index whose x is >= x0 (or > x0 when strict), on a sorted axis. */
  private async firstIndex(
    fd: fs.promises.FileHandle,
    pyr: MinMaxPyramid,
    count: number,
    axis: SeriesAxis,
    x0: number,
    strict: boolean,
  ): Promise<number> {
    const b = pyr.bucketFor(axis, x0, strict);
    if (b < 0) return 0;
    const a = b * pyr.fanout;
    const rows = await readRows(fd, a, Math.min(count, a + pyr.fanout));
    const xs = axis === 'step' ? rows.step : rows.time;
    for (let i = 0; i < xs.length; i++) if (strict ? xs[i] > x0 : xs[i] >= x0) return a + i;
    return a + xs.length;
  }

  private async queryUnsorted(
    fd: fs.promises.FileHandle,
    nf: NonFiniteList,
    count: number,
    axis: SeriesAxis,
    from: number,
    to: number,
    maxPoints: number,
  ): Promise<SeriesSlice> {
    const dec = new XBucketDecimator(from, to, maxPoints);
    for (let a = 0; a < count; a += SCAN_ROWS) {
      const rows = await readRows(fd, a, Math.min(count, a + SCAN_ROWS));
      const xs = axis === 'step' ? rows.step : rows.time;
      for (let i = 0; i < xs.length; i++) dec.add(xs[i], rows.value[i]);
    }
    if (dec.total === 0) return emptySlice();
    const xy = dec.finish();
    const xs = axis === 'step' ? nf.step : nf.time;
    const order: number[] = [];
    for (let j = 0; j < nf.n; j++) if (xs[j] >= from && xs[j] <= to) order.push(j);
    order.sort((p, r) => xs[p] - xs[r] || p - r);
    return {
      x: xy.x,
      y: xy.y,
      nonFinite: thinMarkers(
        order.map((j) => xs[j]),
        order.map((j) => nf.kind[j]),
        maxPoints,
      ),
      total: dec.total,
      decimated: xy.decimated,
      xRange: [dec.lo, dec.hi],
    };
  }

  /** Resolves when every run known at the call has caught up with its log (tests, benchmarks). */
  async whenIdle(): Promise<void> {
    await this.catchingUp;
    for (;;) {
      const queues = [...this.runs.values()].map((r) => r.queue);
      await Promise.all(queues);
      if ([...this.runs.values()].every((r, i) => r.queue === queues[i])) return;
    }
  }

  /** Fires after new points of `keys` are queryable (appends and catch-up). */
  onDidChange(listener: (runId: string, keys: string[]) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }

  /** Bytes held by loaded pyramids and markers (diagnostics, benchmarks). */
  memoryBytes(): number {
    let n = 0;
    for (const r of this.runs.values())
      for (const s of r.series.values()) n += (s.pyramid?.bytes() ?? 0) + (s.nonFinite?.bytes() ?? 0);
    return n;
  }

  /**
   * Drops the least recently queried pyramids while over budget. Safe at any
   * time: a query holds its own references, and a series without a pyramid
   * just appends rows until the next query loads it again.
   */
  private trimLoaded(keep: Series): void {
    const loaded: Series[] = [];
    let total = 0;
    for (const r of this.runs.values())
      for (const s of r.series.values())
        if (s.pyramid && s.nonFinite) {
          total += s.pyramid.bytes() + s.nonFinite.bytes();
          if (s !== keep && !s.loading) loaded.push(s);
        }
    if (total <= this.maxLoadedBytes) return;
    loaded.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of loaded) {
      if (total <= this.maxLoadedBytes) break;
      total -= (s.pyramid?.bytes() ?? 0) + (s.nonFinite?.bytes() ?? 0);
      s.pyramid = undefined;
      s.nonFinite = undefined;
    }
  }

  /** Stops listening; resolves once index files are flushed. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.subscriptions) d.dispose();
    this.listeners.clear();
    await this.catchingUp;
    await Promise.all(
      [...this.runs.values()].map((r) => {
        if (r.saveTimer) clearTimeout(r.saveTimer);
        r.saveTimer = undefined;
        return this.enqueue(r, async () => {
          await this.saveIndex(r);
          for (const s of r.series.values())
            if (s.pyramid && s.pyramid.count >= SNAPSHOT_MIN_ROWS && s.pyramid.count > s.snapshotCount) await writeSnapshot(s);
        });
      }),
    );
  }

  // --- run state -------------------------------------------------------------

  /** The run's series state, loading (and repairing) its index on first use. */
  private run(runId: string): RunSeries | undefined {
    let r = this.runs.get(runId);
    if (r) return r;
    let runDir: string;
    try {
      runDir = this.source.runDir(runId);
    } catch {
      return undefined; // not a valid run id
    }
    if (!fs.existsSync(runDir)) return undefined;
    r = new RunSeries(runId, path.join(runDir, SERIES_DIR));
    this.loadIndex(r);
    this.runs.set(runId, r);
    return r;
  }

  /** Reads index.json and cuts files back to it; anything inconsistent means starting over from offset 0. */
  private loadIndex(r: RunSeries): void {
    let idx: StoredIndex | undefined;
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(r.dir, INDEX_FILE), 'utf8')) as StoredIndex;
      if (parsed.version === 1 && Number.isInteger(parsed.folded) && parsed.series) idx = parsed;
    } catch {
      idx = undefined;
    }
    try {
      if (idx) {
        const known = new Set<string>([INDEX_FILE]);
        for (const [key, st] of Object.entries(idx.series)) {
          const s = Series.fromStored(key, r.dir, st);
          const size = fs.existsSync(s.file) ? fs.statSync(s.file).size : -1;
          if (size < s.count * ROW_BYTES) throw new Error(`${s.file} is shorter than its index says`);
          if (size > s.count * ROW_BYTES) fs.truncateSync(s.file, s.count * ROW_BYTES);
          r.series.set(key, s);
          known.add(st.file);
          known.add(snapshotName(st.file));
        }
        // Files created after the last index save: their rows come back from the log.
        for (const f of fs.readdirSync(r.dir)) if (!known.has(f)) fs.rmSync(path.join(r.dir, f), { force: true, recursive: true });
        r.folded = idx.folded;
        r.nextFile = idx.nextFile;
        return;
      }
    } catch {
      r.series.clear();
    }
    fs.rmSync(r.dir, { recursive: true, force: true });
    r.folded = 0;
    r.nextFile = 0;
  }

  private forget(runId: string): void {
    const r = this.runs.get(runId);
    if (!r) return;
    r.deleted = true;
    if (r.saveTimer) clearTimeout(r.saveTimer);
    this.runs.delete(runId);
  }

  private enqueue(r: RunSeries, task: () => Promise<void>): Promise<void> {
    const next = r.queue.then(() => (r.deleted ? undefined : task()));
    r.queue = next.catch((err: unknown) => this.warn(r, err));
    return r.queue;
  }

  private warn(r: RunSeries, err: unknown): void {
    if (r.deleted || this.warned) return;
    this.warned = true; // once: a full disk would otherwise log on every batch
    const msg = `series cache of run ${r.runId}: ${err instanceof Error ? err.message : String(err)} (charts may lag; the run log is unaffected)`;
    if (this.options.logger) this.options.logger.warn(msg);
    else console.warn(`runwatch: ${msg}`);
  }

  private async catchUpAll(): Promise<void> {
    // One run at a time: on a 1,000-run store this stays in the background.
    for (const summary of this.source.listRuns()) {
      if (this.disposed) return;
      const r = this.run(summary.runId);
      if (r) await this.enqueue(r, () => this.catchUp(r));
    }
  }

  private onAppend(runId: string, records: RunRecord[]): void {
    if (this.disposed || records.length === 0) return;
    const r = this.run(runId);
    if (!r) return;
    void this.enqueue(r, async () => {
      const fresh = records.filter((rec) => rec.offset >= r.folded);
      const contiguous = fresh.length > 0 && fresh.every((rec, i) => rec.offset === r.folded + i);
      if (contiguous) await this.fold(r, fresh);
      else if (fresh.length > 0) await this.catchUp(r); // a gap: read what we missed from the log
    });
  }

  private async catchUp(r: RunSeries): Promise<void> {
    const total = await this.source.recordCount(r.runId);
    if (r.folded > total) {
      // The log is shorter than what we folded (replaced, or cut without fsync): this cache isn't its copy any more.
      for (const s of r.series.values()) [s.pyramid, s.nonFinite] = [undefined, undefined];
      r.series.clear();
      await fs.promises.rm(r.dir, { recursive: true, force: true });
      r.folded = 0;
      r.nextFile = 0;
      r.dirty = true;
    }
    while (r.folded < total && !r.deleted && !this.disposed) {
      const recs = await this.source.read(r.runId, r.folded, READ_BATCH);
      if (recs.length === 0) break;
      await this.fold(r, recs);
    }
  }

  /** Appends the metrics of `records` (contiguous from r.folded) to their series files. */
  private async fold(r: RunSeries, records: RunRecord[]): Promise<void> {
    const byKey = new Map<string, number[]>();
    for (const rec of records) {
      if (rec.event.type !== 'metrics') continue;
      for (const p of rec.event.points) {
        let rows = byKey.get(p.key);
        if (!rows) byKey.set(p.key, (rows = []));
        rows.push(p.step, p.time, p.value);
      }
    }
    const touched: [Series, Float64Array][] = [];
    if (byKey.size > 0) {
      await makeSeriesDir(r.dir);
      for (const [key, rows] of byKey) {
        let s = r.series.get(key);
        if (!s) {
          const fileName = `s${r.nextFile++}.col`;
          s = new Series(key, fileName, path.join(r.dir, fileName));
          r.series.set(key, s);
        }
        // A series that starts now (a live run) keeps its pyramid from the first point: its first draw needn't scan.
        if (s.count === 0 && !s.pyramid) {
          s.pyramid = new MinMaxPyramid();
          s.nonFinite = new NonFiniteList();
        }
        touched.push([s, Float64Array.from(rows)]);
      }
      try {
        await Promise.all(touched.map(([s, rows]) => fs.promises.appendFile(s.file, new Uint8Array(rows.buffer))));
      } catch (err) {
        // Keep every file exactly `count` rows long, or later rows would land at the wrong index.
        await Promise.all(touched.map(([s]) => fs.promises.truncate(s.file, s.count * ROW_BYTES).catch(() => undefined)));
        throw err;
      }
      for (const [s, rows] of touched) for (let j = 0; j < rows.length; j += 3) s.fold(rows[j], rows[j + 1], rows[j + 2]);
    }
    r.folded = records[records.length - 1].offset + 1;
    this.markDirty(r);
    if (touched.length > 0) {
      const keys = touched.map(([s]) => s.key);
      for (const l of this.listeners) l(r.runId, keys);
    }
  }

  private markDirty(r: RunSeries): void {
    r.dirty = true;
    if (r.saveTimer || this.disposed) return;
    r.saveTimer = setTimeout(() => {
      r.saveTimer = undefined;
      void this.enqueue(r, () => this.saveIndex(r));
    }, INDEX_SAVE_DELAY_MS);
    r.saveTimer.unref?.();
  }

  private async saveIndex(r: RunSeries): Promise<void> {
    if (!r.dirty || r.deleted) return;
    r.dirty = false;
    const idx: StoredIndex = { version: 1, folded: r.folded, nextFile: r.nextFile, series: {} };
    for (const [key, s] of r.series) idx.series[key] = s.toStored();
    await makeSeriesDir(r.dir);
    const file = path.join(r.dir, INDEX_FILE);
    await fs.promises.writeFile(file + '.tmp', JSON.stringify(idx));
    await fs.promises.rename(file + '.tmp', file);
    // Snapshots of growing pyramids each time they grow by half: O(n) writes in all, and
    // after a crash the first draw reads the snapshot plus at most a third of the rows.
    for (const s of r.series.values()) {
      const n = s.pyramid?.count ?? 0;
      if (n >= SNAPSHOT_MIN_ROWS && n - s.snapshotCount >= Math.max(SNAPSHOT_MIN_ROWS, s.snapshotCount / 2)) await writeSnapshot(s);
    }
  }

  /** Builds the pyramid from the series file, once; in the run's queue so no append interleaves. */
  private ensureLoaded(r: RunSeries, s: Series): Promise<void> {
    if (s.pyramid) return Promise.resolve();
    if (!s.loading) {
      s.loading = this.enqueue(r, async () => {
        if (s.pyramid) return;
        let pyr = new MinMaxPyramid();
        let nf = new NonFiniteList();
        const snap = s.count >= SNAPSHOT_MIN_ROWS ? await readSnapshot(s.snapshotFile) : undefined;
        // A snapshot longer than the file comes from rows cut on open: unusable.
        if (snap && snap.pyr.count <= s.count && snap.pyr.fanout === pyr.fanout) {
          ({ pyr, nf } = snap);
          s.snapshotCount = pyr.count;
        }
        if (s.count > pyr.count) {
          const fd = await fs.promises.open(s.file, 'r');
          try {
            for (let a = pyr.count; a < s.count; a += SCAN_ROWS) {
              const rows = await readRows(fd, a, Math.min(s.count, a + SCAN_ROWS));
              for (let i = 0; i < rows.value.length; i++) {
                const v = rows.value[i];
                if (!(v === v && v !== Infinity && v !== -Infinity)) nf.push(a + i, rows.step[i], rows.time[i], v);
              }
              pyr.pushRows(rows.step, rows.time, rows.value);
            }
          } finally {
            await fd.close();
          }
        }
        s.nonFinite = nf;
        s.pyramid = pyr;
        if (pyr.count >= SNAPSHOT_MIN_ROWS && pyr.count - s.snapshotCount >= SNAPSHOT_MIN_ROWS) await writeSnapshot(s);
      }).finally(() => {
        s.loading = undefined;
      });
    }
    return s.loading;
  }
}
