// Getting points into the cache: loading (and repairing) a run's index, folding log records into the
// .col files, saving the index. Callers run these inside the run's queue, one at a time.
import * as fs from 'fs';
import * as path from 'path';
import type { RunRecord } from '../../api/types';
import { writeFileAtomic } from '../../common/atomicWrite';
import { MinMaxPyramid } from '../pyramid';
import { INDEX_FILE, ROW_BYTES, RunSeries, Series, makeSeriesDir, snapshotName, type StoredIndex } from './format';
import { NonFiniteList } from './nonFinite';
import { SNAPSHOT_MIN_ROWS, writeSnapshot } from './snapshot';

/** Reads index.json and cuts files back to it; anything inconsistent means starting over from offset 0. */
export function loadIndex(r: RunSeries): void {
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
      for (const f of fs.readdirSync(r.dir)) {
        if (!known.has(f)) fs.rmSync(path.join(r.dir, f), { force: true, recursive: true });
      }
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

/** Forgets everything cached for the run (its log is not what was folded any more). */
export async function resetRun(r: RunSeries): Promise<void> {
  for (const s of r.series.values()) [s.pyramid, s.nonFinite] = [undefined, undefined];
  r.series.clear();
  await fs.promises.rm(r.dir, { recursive: true, force: true });
  r.folded = 0;
  r.nextFile = 0;
  r.dirty = true;
}

/**
 * Appends the metrics of `records` (in log order, from r.folded on) to their series files; returns the
 * keys that got points. A failed write leaves every file exactly as long as its count.
 */
export async function foldRecords(r: RunSeries, records: RunRecord[]): Promise<string[]> {
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
  return touched.map(([s]) => s.key);
}

/**
 * Writes index.json (not durable: the cache is derivable from the log, and an index lost in a power cut
 * only means folding again from an older offset), then snapshots of pyramids that grew by half.
 */
export async function saveIndex(r: RunSeries): Promise<void> {
  if (!r.dirty || r.deleted) return;
  r.dirty = false;
  const idx: StoredIndex = { version: 1, folded: r.folded, nextFile: r.nextFile, series: {} };
  for (const [key, s] of r.series) idx.series[key] = s.toStored();
  await makeSeriesDir(r.dir);
  await writeFileAtomic(path.join(r.dir, INDEX_FILE), JSON.stringify(idx), { durable: false });
  // Snapshots each time a pyramid grows by half: O(n) writes in all, and after a crash the first draw
  // reads the snapshot plus at most a third of the rows.
  for (const s of r.series.values()) {
    const n = s.pyramid?.count ?? 0;
    if (n >= SNAPSHOT_MIN_ROWS && n - s.snapshotCount >= Math.max(SNAPSHOT_MIN_ROWS, s.snapshotCount / 2)) {
      await writeSnapshot(s);
    }
  }
}
