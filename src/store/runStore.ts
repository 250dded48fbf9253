// The embedded run store: one folder per run under `<dir>/runs/<runId>/` holding the append-only log
// (`log.rwl`, the source of truth), a summary (`meta.json`, derivable from the log) and `artifacts/`.
// Format and guarantees: docs/store-format.md.
//
// One writer per store, held by the OS-level lock of ./storeLock.ts: `open(dir)` takes it or throws
// StoreLockedError. `open(dir, { mode: 'reader' })` never writes anything and follows the writer's
// appends (./readerSync.ts), firing the same events, so a second window shows the runs live.
//
// Opening is cheap: it reads each run's meta.json and checks that the log's size matches; only a run
// whose meta is missing, unreadable or stale is replayed. Runs still `running` when a store opens are
// left as they are: the collector gives them one heartbeat timeout to resume, then marks them crashed.
import * as fs from 'fs';
import * as path from 'path';
import type { RunEvent, RunRecord, RunSummary } from '../api/types';
import type { Disposable } from '../common/disposable';
import { Emitter } from '../common/emitter';
import { errorText } from '../common/errors';
import { silentLogger, type Logger } from '../common/logger';
import { persistMeta } from './meta';
import { ARTIFACTS_DIR, LOG_FILE, isSafeRunId, runDir, runsDir } from './paths';
import { RunLoader } from './runLoader';
import { ReaderSync } from './readerSync';
import { decodePayload, encodePayload, encodeWirePayload, reduce } from './records';
import { newEntry, type RunEntry } from './runEntry';
import { StoreLockedError, acquireStoreLock, readStoreLockOwner, type StoreLock } from './storeLock';

export { decodePayload, reduce } from './records';
export { StoreLockedError } from './storeLock';
export { UnknownRunError, type AppendItem, type RunStoreOptions } from './storeTypes';
import { UnknownRunError, type AppendItem, type RunStoreOptions } from './storeTypes';

const META_DEBOUNCE_MS = 1000;
const CHANGE_COALESCE_MS = 250;
const OPEN_CONCURRENCY = 32;
/** Runs read synchronously between two turns of the event loop (about 10 ms). */
const OPEN_SLICE = 500;

export class RunStore {
  /** @internal shared with ReaderSync */
  readonly runs = new Map<string, RunEntry>();
  private readonly appended: Emitter<{ runId: string; records: RunRecord[] }>;
  private readonly changed: Emitter<RunSummary>;
  private readonly deleted: Emitter<string>;
  private closed = false;
  readonly logger: Logger;
  readonly mode: 'writer' | 'reader';
  private readonly sync: boolean;
  private readonly onFlush?: (ms: number, bytes: number) => void;
  private lock: StoreLock | undefined;
  private reader: ReaderSync | undefined;
  /** @internal shared with ReaderSync */
  readonly loader: RunLoader;

  private constructor(
    readonly dir: string,
    private readonly options: RunStoreOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.mode = options.mode ?? 'writer';
    this.sync = options.sync ?? true;
    this.onFlush = options.onFlush;
    this.loader = new RunLoader({
      dir: this.dir,
      mode: this.mode,
      sync: this.sync,
      onFlush: this.onFlush,
      logger: this.logger,
    });
    const onListenerError = (err: unknown, name: string) =>
      this.logger.error(`a listener of ${name} failed: ${errorText(err)}`);
    this.appended = new Emitter({ name: 'store.onDidAppend', onListenerError });
    this.changed = new Emitter({ name: 'store.onDidChangeRun', onListenerError });
    this.deleted = new Emitter({ name: 'store.onDidDeleteRun', onListenerError });
  }

  /**
   * Opens the store in `dir`. As a writer (default) it creates the folder, takes the store lock, or
   * throws StoreLockedError naming the holder. As a reader it writes nothing and follows the writer.
   */
  static async open(dir: string, options: RunStoreOptions = {}): Promise<RunStore> {
    const store = new RunStore(path.resolve(dir), options);
    if (store.mode === 'writer') {
      await fs.promises.mkdir(runsDir(store.dir), { recursive: true, mode: 0o700 });
      store.lock = options.lock ?? (await acquireStoreLock(store.dir, options.owner));
      if (!store.lock) throw new StoreLockedError(store.dir, await readStoreLockOwner(store.dir));
    }
    try {
      await store.load();
    } catch (err) {
      await store.lock?.release();
      throw err;
    }
    if (store.mode === 'reader') store.reader = new ReaderSync(store, options.pollMs ?? 500);
    return store;
  }

  private async load(): Promise<void> {
    if (this.mode === 'writer') {
      // The store is local data, never something to commit.
      const gitignore = path.join(this.dir, '.gitignore');
      if (!fs.existsSync(gitignore)) await fs.promises.writeFile(gitignore, '*\n').catch(() => undefined);
    }
    const names = await this.loader.runNames();
    // Runs whose meta.json is current are read synchronously, a slice at a time so the extension
    // host still answers between slices; the rest are rebuilt from their logs, several at once.
    const slow: string[] = [];
    for (let i = 0; i < names.length; i += OPEN_SLICE) {
      for (const runId of names.slice(i, i + OPEN_SLICE)) {
        const entry = this.loader.loadRunFast(runId);
        if (entry) this.runs.set(runId, entry);
        else slow.push(runId);
      }
      if (i + OPEN_SLICE < names.length) await new Promise<void>((r) => setImmediate(r));
    }
    let next = 0;
    const worker = async () => {
      while (next < slow.length) {
        const runId = slow[next++];
        const entry = await this.loader.loadRun(runId);
        if (entry) this.runs.set(runId, entry);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, slow.length) }, worker));
  }

  runDir(runId: string): string {
    return runDir(this.dir, runId);
  }

  /** Every run, newest first. */
  listRuns(): RunSummary[] {
    return [...this.runs.values()].map((e) => ({ ...e.summary })).sort((a, b) => b.startTime - a.startTime);
  }

  getRun(runId: string): RunSummary | undefined {
    const e = this.runs.get(runId);
    return e ? { ...e.summary } : undefined;
  }

  /** True once a run.start for the run was accepted (even before it is durable). */
  hasRun(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Highest durable client seq of the run (0 if none). */
  lastSeq(runId: string): number {
    return this.runs.get(runId)?.durableSeq ?? 0;
  }

  /** Number of record indices in the run's log (a damaged record keeps its index but reads skip it). */
  recordCount(runId: string): number {
    return this.runs.get(runId)?.recordCount ?? 0;
  }

  /**
   * Appends events to a run's log; resolves with the new records once they are durable. Items whose
   * `seq` is at or below the highest seq already accepted for the run are duplicates (a client resending
   * after a reconnect) and are dropped; the promise still waits until the originals are durable. A
   * `run.start` for an unknown run creates it; anything else for an unknown run rejects with
   * UnknownRunError. Items are taken in call order, synchronously, so callers may fire several appends
   * without awaiting each.
   */
  append(runId: string, items: AppendItem[]): Promise<RunRecord[]> {
    if (this.closed) return Promise.reject(new Error('the run store is closed'));
    if (this.mode === 'reader') return Promise.reject(this.readOnlyError('append to'));
    if (!isSafeRunId(runId)) {
      return Promise.reject(new Error(`run id "${runId}" is not allowed: use letters, digits, ".", "_" and "-"`));
    }
    let e = this.runs.get(runId);
    const events: RunEvent[] = [];
    const payloads: Buffer[] = [];
    let maxSeq = 0;
    for (const item of items) {
      if (item.seq !== undefined && e && item.seq <= e.acceptedSeq) continue;
      if (!e) {
        if (item.event.type !== 'run.start') return Promise.reject(new UnknownRunError(runId));
        e = this.createRun(runId, item.event);
      }
      if (item.seq !== undefined) {
        e.acceptedSeq = item.seq;
        if (item.seq > maxSeq) maxSeq = item.seq;
      }
      events.push(item.event);
      payloads.push(
        item.wireJson !== undefined && item.event.type === 'metrics'
          ? encodeWirePayload(item.seq, item.wireJson)
          : encodePayload(item.seq, item.event),
      );
    }
    if (!e) return Promise.resolve([]);
    const entry = e;
    let bytes = 0;
    for (const p of payloads) bytes += 8 + p.length;
    const done = this.loader
      .logOf(entry)
      .then((l) => l.append(payloads))
      .then(
        (first) => this.landed(entry, first, events, maxSeq, bytes),
        (err: unknown) => {
          // Nothing of this call is durable: let a resend of these seqs be accepted.
          entry.acceptedSeq = entry.durableSeq;
          throw err instanceof Error ? err : new Error(String(err));
        },
      );
    entry.inflight.add(done);
    const untrack = () => void entry.inflight.delete(done);
    done.then(untrack, untrack);
    return done;
  }

  private readOnlyError(what: string): Error {
    return new Error(
      `the run store ${this.dir} is open as a reader: cannot ${what} it (another process owns it; ` +
        'open it as the writer once that process is gone)',
    );
  }

  private createRun(runId: string, start: Extract<RunEvent, { type: 'run.start' }>): RunEntry {
    const entry = newEntry(runId, reduce(undefined, runId, start), 0, 0, 0);
    this.runs.set(runId, entry);
    const dir = this.runDir(runId);
    entry.log = (async () => {
      await fs.promises.mkdir(path.join(dir, ARTIFACTS_DIR), { recursive: true });
      const log = await this.loader.openLog(runId, path.join(dir, LOG_FILE));
      // Make the new folder's entry durable too, or a crash could lose the whole run.
      if (this.sync) await fsyncDir(runsDir(this.dir));
      return log;
    })();
    entry.log.catch(() => (entry.log = undefined));
    return entry;
  }

  /** After a group commit: update the summary, notify, persist meta. */
  private landed(e: RunEntry, first: number, events: RunEvent[], maxSeq: number, bytes: number): RunRecord[] {
    const records: RunRecord[] = events.map((event, i) => ({ runId: e.runId, offset: first + i, event }));
    if (events.length === 0) return records;
    // Bytes, seq and summary move together here, so a meta.json written at any moment is consistent.
    e.logBytes += bytes;
    e.recordCount = Math.max(e.recordCount, first + events.length);
    if (maxSeq > e.durableSeq) e.durableSeq = maxSeq;
    this.announce(e, records);
    return records;
  }

  /** @internal Folds landed (or, for a reader, newly seen) records into the summary and fires the events. */
  announce(e: RunEntry, records: RunRecord[], foldFrom = 0): void {
    const before = e.summary.status;
    let summary = e.summary;
    // Records below foldFrom are in the summary already (a reader announcing a run it just loaded).
    for (const r of records) if (r.offset >= foldFrom) summary = reduce(summary, e.runId, r.event);
    if (e.renamed !== undefined) summary.name = e.renamed;
    e.summary = summary;
    if (e.deleted) return;
    this.appended.fire({ runId: e.runId, records });
    const important =
      before !== summary.status || records.some((r) => r.event.type !== 'metrics' && r.event.type !== 'log');
    this.scheduleChange(e, important);
    if (this.mode === 'writer') this.scheduleMeta(e, important);
  }

  /** @internal */
  fireChanged(summary: RunSummary): void {
    this.changed.fire({ ...summary });
  }

  /** @internal */
  fireDeleted(runId: string): void {
    this.deleted.fire(runId);
  }

  private scheduleChange(e: RunEntry, now: boolean): void {
    if (now) {
      if (e.changeTimer) clearTimeout(e.changeTimer);
      e.changeTimer = undefined;
      this.changed.fire({ ...e.summary });
      return;
    }
    if (e.changeTimer) return;
    e.changeTimer = setTimeout(() => {
      e.changeTimer = undefined;
      if (!e.deleted) this.changed.fire({ ...e.summary });
    }, CHANGE_COALESCE_MS);
  }

  private scheduleMeta(e: RunEntry, now: boolean): void {
    if (now) {
      if (e.metaTimer) clearTimeout(e.metaTimer);
      e.metaTimer = undefined;
      void this.writeMeta(e);
      return;
    }
    if (e.metaTimer) return;
    e.metaTimer = setTimeout(() => {
      e.metaTimer = undefined;
      void this.writeMeta(e);
    }, META_DEBOUNCE_MS);
  }

  private writeMeta(e: RunEntry): Promise<void> {
    return this.mode === 'writer' ? persistMeta(this.dir, e, this.logger) : Promise.resolve();
  }

  /**
   * Reads up to `maxRecords` records from `fromOffset` on. A damaged record is skipped (and reported
   * once), so offsets may jump; the next read starts at the last offset + 1.
   */
  async read(runId: string, fromOffset: number, maxRecords: number): Promise<RunRecord[]> {
    const e = this.runs.get(runId);
    if (!e) throw new UnknownRunError(runId);
    const log = await this.loader.logOf(e);
    const entries = await log.read(fromOffset, maxRecords);
    return entries.map((x) => ({ runId, offset: x.index, event: decodePayload(x.payload).event }));
  }

  onDidAppend(listener: (runId: string, records: RunRecord[]) => void): Disposable {
    return this.appended.event(({ runId, records }) => listener(runId, records));
  }

  onDidChangeRun(listener: (run: RunSummary) => void): Disposable {
    return this.changed.event(listener);
  }

  onDidDeleteRun(listener: (runId: string) => void): Disposable {
    return this.deleted.event(listener);
  }

  /** Deletes a run and its folder. Returns false if there was no such run. */
  async deleteRun(runId: string): Promise<boolean> {
    if (this.mode === 'reader') throw this.readOnlyError('delete runs of');
    const e = this.runs.get(runId);
    if (!e) return false;
    e.deleted = true;
    this.runs.delete(runId);
    if (e.metaTimer) clearTimeout(e.metaTimer);
    if (e.changeTimer) clearTimeout(e.changeTimer);
    const log = e.log ? await e.log.catch(() => undefined) : undefined;
    await log?.close();
    await e.metaWrite;
    await fs.promises.rm(this.runDir(runId), { recursive: true, force: true });
    this.deleted.fire(runId);
    return true;
  }

  /** Gives a run a new display name (kept in meta.json; the log is not changed). */
  async renameRun(runId: string, name: string): Promise<void> {
    if (this.mode === 'reader') throw this.readOnlyError('rename runs of');
    const e = this.runs.get(runId);
    if (!e) throw new UnknownRunError(runId);
    e.renamed = name;
    e.summary = { ...e.summary, name };
    await this.writeMeta(e);
    this.changed.fire({ ...e.summary });
  }

  /** Reader mode: looks for new runs and records now (tests; the watcher and poll do it anyway). */
  async refresh(): Promise<void> {
    await this.reader?.refresh();
  }

  /** Waits for pending appends, writes every meta file, closes the logs and frees the store lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reader?.dispose();
    await Promise.all(
      [...this.runs.values()].map(async (e) => {
        if (e.metaTimer) clearTimeout(e.metaTimer);
        if (e.changeTimer) clearTimeout(e.changeTimer);
        e.metaTimer = e.changeTimer = undefined;
        while (e.inflight.size > 0) await Promise.allSettled([...e.inflight]);
        const log = e.log ? await e.log.catch(() => undefined) : undefined;
        if (log) {
          await log.close();
          await this.writeMeta(e);
        }
      }),
    );
    await this.lock?.release();
    this.appended.dispose();
    this.changed.dispose();
    this.deleted.dispose();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // Some file systems cannot sync a directory; the data itself is still synced.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
