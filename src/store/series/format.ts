// The series cache on disk, per run: `<runDir>/series/index.json` and one `sN.col` per key (keys map to
// short generated names: keys can be long or differ only in case), plus `sN.pyr` pyramid snapshots.
// A .col file is fixed 24-byte rows (step, time, value as native-endian f64, little-endian on every
// platform VS Code runs on) in arrival order.
// index.json is the commit point: it names the log offset folded so far and each file's row count at
// that offset. Rows past that count (written before a crash, after the last index save) are cut on open
// and folded again from the log; a file shorter than its count, or a bad index, means rebuilding the run.
// All of it is derivable from the log and may be deleted at any time.
//
// Out-of-order x (a resumed run logging earlier steps again) keeps arrival order on disk; each series
// remembers per axis whether x never decreased. Sorted axes (the usual case) are answered from the
// pyramid by index ranges; an unsorted axis falls back to a chunked scan (see query.ts).
import * as fs from 'fs';
import * as path from 'path';
import { decodeWireNumber, encodeWireNumber, type WireNumber } from '../../common/wireNumber';
import type { MinMaxPyramid, RawRows } from '../pyramid';
import type { NonFiniteList } from './nonFinite';

export const SERIES_DIR = 'series';
export const INDEX_FILE = 'index.json';
export const ROW_BYTES = 24;

export interface StoredSeries {
  file: string;
  count: number;
  sortedStep: boolean;
  sortedTime: boolean;
  /** Last point in arrival order: step, time, value. */
  last: [number, number, WireNumber] | null;
  /** [minStep, maxStep, minTime, maxTime] of all points; null when empty. */
  bounds: [number, number, number, number] | null;
  /** [min, max] of the finite values (null: none); absent in indexes written before it was kept. */
  values?: [number, number] | null;
}

export interface StoredIndex {
  version: 1;
  /** Log offset of the first record not folded in yet. */
  folded: number;
  nextFile: number;
  series: Record<string, StoredSeries>;
}

/** One (run, key) series: bookkeeping always, its pyramid only while loaded. */
export class Series {
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
  /** Smallest and largest finite value (±Infinity while none); unknown for an index that did not keep them. */
  minValue = Infinity;
  maxValue = -Infinity;
  valuesKnown = true;
  /** In memory only after the first query; covers all `count` rows while set. */
  pyramid: MinMaxPyramid | undefined;
  nonFinite: NonFiniteList | undefined;
  loading: Promise<void> | undefined;
  /** Rows covered by the snapshot on disk (0: none known). */
  snapshotCount = 0;
  /** When it was last queried, for dropping the least recently used pyramids. */
  lastUsed = 0;
  /** Its loaded pyramid is in the store's last budget total (or was added to it since). */
  budgeted = false;

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
    if (Number.isFinite(value)) {
      if (value < this.minValue) this.minValue = value;
      if (value > this.maxValue) this.maxValue = value;
    }
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
      last: this.count ? [this.lastStep, this.lastTime, encodeWireNumber(this.lastValue)] : null,
      bounds: this.count ? [this.minStep, this.maxStep, this.minTime, this.maxTime] : null,
      ...(this.valuesKnown ? { values: this.minValue <= this.maxValue ? [this.minValue, this.maxValue] : null } : {}),
    };
  }

  static fromStored(key: string, dir: string, s: StoredSeries): Series {
    const r = new Series(key, s.file, path.join(dir, s.file));
    r.count = s.count;
    r.sortedStep = s.sortedStep;
    r.sortedTime = s.sortedTime;
    if (s.last) [r.lastStep, r.lastTime, r.lastValue] = [s.last[0], s.last[1], decodeWireNumber(s.last[2]) ?? NaN];
    if (s.bounds) [r.minStep, r.maxStep, r.minTime, r.maxTime] = s.bounds;
    if (s.values) [r.minValue, r.maxValue] = s.values;
    else if (s.values === undefined && s.count > 0) r.valuesKnown = false;
    return r;
  }
}

/** One run's series state. */
export class RunSeries {
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

export function snapshotName(colFile: string): string {
  return colFile.replace(/\.col$/, '.pyr');
}

/** Rows [a, b) of a .col file. */
export async function readRows(fd: fs.promises.FileHandle, a: number, b: number): Promise<RawRows> {
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
export async function makeSeriesDir(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
