// SeriesStore: the store's read side for charts. Per-(run, key) columnar series with a min/max pyramid,
// answering "at most N points of this series between x0 and x1" without loading a whole series into
// memory. Kept as a cache beside each run's log (format.ts): derivable from the log, rebuilt or caught
// up from index.json's folded offset when missing or behind. Never imports `vscode`.
import * as fs from 'fs';
import * as path from 'path';
import type { RunRecord } from '../../api/types';
import type { Disposable } from '../../common/disposable';
import { Emitter } from '../../common/emitter';
import { errorText } from '../../common/errors';
import { DEFAULT_MAX_LOADED_BYTES, memoryBytes, trimLoaded } from './budget';
import { RunSeries, SERIES_DIR, type Series } from './format';
import { foldRecords, loadIndex, resetRun, saveIndex } from './ingest';
import { emptySlice, querySmall, querySorted, queryUnsorted } from './query';
import { SNAPSHOT_MIN_ROWS, loadPyramid, writeSnapshot } from './snapshot';
import type { LatestPoint, SeriesQuery, SeriesSlice, SeriesSource, SeriesStoreOptions } from './types';

const READ_BATCH = 2048;
const INDEX_SAVE_DELAY_MS = 1000;
/** A full budget pass at least this often (pyramids also grow as points arrive, unseen by the count below). */
const TRIM_EVERY_QUERIES = 256;

export class SeriesStore {
  private readonly runs = new Map<string, RunSeries>();
  private readonly changed: Emitter<{ runId: string; keys: string[] }>;
  private readonly subscriptions: Disposable[] = [];
  private catchingUp: Promise<void> = Promise.resolve();
  private disposed = false;
  private warned = false;
  private clock = 0;
  /**
   * Loaded bytes as of the last budget pass, and the pyramids loaded since: a pass walks every series
   * of every run, so it runs only when these say the budget may be exceeded (or every
   * TRIM_EVERY_QUERIES queries), not on each query (at 10,000 runs that walk made a query cost ~10 ms).
   */
  private trimmedTotal = 0;
  private loadedSinceTrim = 0;
  private queriesSinceTrim = 0;
  /** Budget for loaded pyramids and markers; see DEFAULT_MAX_LOADED_BYTES. */
  maxLoadedBytes = DEFAULT_MAX_LOADED_BYTES;

  private constructor(
    private readonly source: SeriesSource,
    private readonly options: SeriesStoreOptions,
  ) {
    if (options.maxLoadedBytes !== undefined) this.maxLoadedBytes = options.maxLoadedBytes;
    // A throwing listener (a view) is reported as itself by the shared emitter policy, never as a cache
    // fault: it must not use up the cache's one warning.
    this.changed = new Emitter({ name: 'series.onDidChange' });
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

  /** Smallest and largest finite value of the series ([NaN, NaN]: none); undefined when not known without a query. */
  extremes(runId: string, key: string): [number, number] | undefined {
    const s = this.run(runId)?.series.get(key);
    if (!s || s.count === 0 || !s.valuesKnown) return undefined;
    return s.minValue <= s.maxValue ? [s.minValue, s.maxValue] : [NaN, NaN];
  }

  /** Min/max-decimated slice of one series; reads from disk only the raw range it needs. */
  async query(q: SeriesQuery): Promise<SeriesSlice> {
    const run = this.run(q.runId);
    const s = run?.series.get(q.key);
    if (!run || !s || s.count === 0) return emptySlice();
    s.lastUsed = ++this.clock;
    const maxPoints = Number.isFinite(q.maxPoints) ? Math.max(2, Math.floor(q.maxPoints)) : 2;
    // A series that fits in maxPoints is sent raw: one read of its rows answers it, without building
    // (and holding) a pyramid first (a dashboard of 100 runs × 5 keys of 1,000 points read every
    // file twice and queued each build behind its run's other keys).
    if (!s.pyramid && s.count <= maxPoints && (q.x === 'step' ? s.sortedStep : s.sortedTime)) {
      return querySmall(s.file, s.count, q.x, q.from ?? -Infinity, q.to ?? Infinity);
    }
    await this.ensureLoaded(run, s);
    const pyr = s.pyramid;
    const nf = s.nonFinite;
    if (!pyr || !nf) return emptySlice();
    if (!s.budgeted) {
      s.budgeted = true;
      this.loadedSinceTrim += pyr.bytes() + nf.bytes();
    }
    if (
      this.trimmedTotal + this.loadedSinceTrim > this.maxLoadedBytes ||
      ++this.queriesSinceTrim >= TRIM_EVERY_QUERIES
    ) {
      this.trimmedTotal = trimLoaded(this.runs.values(), s, this.maxLoadedBytes);
      this.loadedSinceTrim = 0;
      this.queriesSinceTrim = 0;
    }
    // Rows below this count are immutable, so later appends can't disturb the reads below.
    const count = pyr.count;
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
      if (sorted) return await querySorted(fd, pyr, nf, count, q.x, from, to, maxPoints);
      const lo = Math.max(from, q.x === 'step' ? s.minStep : s.minTime);
      const hi = Math.min(to, q.x === 'step' ? s.maxStep : s.maxTime);
      return await queryUnsorted(fd, nf, count, q.x, lo, hi, maxPoints);
    } finally {
      await fd.close();
    }
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
    return this.changed.event(({ runId, keys }) => listener(runId, keys));
  }

  /** Bytes held by loaded pyramids and markers (diagnostics, benchmarks). */
  memoryBytes(): number {
    return memoryBytes(this.runs.values());
  }

  /** Stops listening; resolves once index files are flushed. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.subscriptions) d.dispose();
    this.changed.dispose();
    await this.catchingUp;
    await Promise.all(
      [...this.runs.values()].map((r) => {
        if (r.saveTimer) clearTimeout(r.saveTimer);
        r.saveTimer = undefined;
        return this.enqueue(r, async () => {
          await saveIndex(r);
          for (const s of r.series.values())
            if (s.pyramid && s.pyramid.count >= SNAPSHOT_MIN_ROWS && s.pyramid.count > s.snapshotCount) {
              await writeSnapshot(s);
            }
        });
      }),
    );
  }

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
    loadIndex(r);
    this.runs.set(runId, r);
    return r;
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
    const msg = `series cache of run ${r.runId}: ${errorText(err)} (charts may lag; the run log is unaffected)`;
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
    // The log is shorter than what we folded (replaced, or cut without fsync): this cache isn't its copy.
    if (r.folded > total) await resetRun(r);
    while (r.folded < total && !r.deleted && !this.disposed) {
      const recs = await this.source.read(r.runId, r.folded, READ_BATCH);
      if (recs.length === 0) break;
      await this.fold(r, recs);
    }
  }

  private async fold(r: RunSeries, records: RunRecord[]): Promise<void> {
    const keys = await foldRecords(r, records);
    this.markDirty(r);
    if (keys.length > 0) this.changed.fire({ runId: r.runId, keys });
  }

  private markDirty(r: RunSeries): void {
    r.dirty = true;
    if (r.saveTimer || this.disposed) return;
    r.saveTimer = setTimeout(() => {
      r.saveTimer = undefined;
      void this.enqueue(r, () => saveIndex(r));
    }, INDEX_SAVE_DELAY_MS);
    r.saveTimer.unref?.();
  }

  /** Builds the pyramid from the series file, once; in the run's queue so no append interleaves. */
  private ensureLoaded(r: RunSeries, s: Series): Promise<void> {
    if (s.pyramid) return Promise.resolve();
    s.loading ??= this.enqueue(r, () => loadPyramid(s)).finally(() => {
      s.loading = undefined;
    });
    return s.loading;
  }
}
