// The embedded run store: one folder per run under `<dir>/runs/<runId>/` holding
// the append-only log (`log.rwl`, the source of truth), a summary (`meta.json`,
// derivable from the log) and an `artifacts/` folder.
//
// Opening is cheap: it reads each run's meta.json and checks that the log's size
// matches what the meta says; only a run whose meta is missing, unreadable or
// stale (the process died between a log write and the meta write) is replayed.
//
// Runs still `running` when a store opens are left as they are: the collector
// gives them one heartbeat timeout to be resumed by their client, then appends a
// `run.end` with status `crashed` (see Collector).
import * as fs from 'fs';
import * as path from 'path';
import type { MetricPoint, RunEvent, RunRecord, RunSummary } from '../api/types';
import { RunLog } from './runLog';
import { ARTIFACTS_DIR, LOG_FILE, META_FILE, isSafeRunId, runDir, runsDir } from './paths';

export interface AppendItem {
  /** The client's per-run sequence number; items at or below the run's last accepted seq are duplicates. */
  seq?: number;
  event: RunEvent;
  /**
   * For `metrics` only: the JSON text of an already validated wire message whose
   * points are exactly `event.points` (NaN/±Infinity as strings), in either the
   * object (`points`) or the columnar (`cols`) form. It is stored as
   * the record's event instead of serialising the points again, which at a
   * million points a second is most of the cost; reading normalises it back.
   */
  wireJson?: string;
}

export interface StoreLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface RunStoreOptions {
  logger?: StoreLogger;
  /** fdatasync each group commit (default true). Only benchmarks turn this off. */
  sync?: boolean;
  /** Told how long each group commit (write + fdatasync) took, for benchmarks and diagnostics. */
  onFlush?: (ms: number, bytes: number) => void;
}

export interface Disposable {
  dispose(): void;
}

/** Thrown by `append` for data about a run that was never started. */
export class UnknownRunError extends Error {
  constructor(readonly runId: string) {
    super(`run "${runId}" was never started: send run.start for it first`);
    this.name = 'UnknownRunError';
  }
}

interface MetaFile {
  version: 1;
  summary: RunSummary;
  /** Highest durable client seq. */
  lastSeq: number;
  recordCount: number;
  /** Log size covered by this summary and lastSeq; a log of another size means the meta is stale. */
  logBytes: number;
  /** A name given by renameRun, which the log does not record. */
  renamed?: string;
}

interface RunEntry {
  runId: string;
  summary: RunSummary;
  acceptedSeq: number;
  durableSeq: number;
  recordCount: number;
  logBytes: number;
  renamed?: string;
  log?: Promise<RunLog>;
  /** Serialises meta writes so two never race on the temp file. */
  metaWrite: Promise<void>;
  metaTimer?: NodeJS.Timeout;
  changeTimer?: NodeJS.Timeout;
  deleted: boolean;
  /** Appends not yet landed; close() waits for them so meta.json matches the log. */
  inflight: Set<Promise<unknown>>;
}

const META_DEBOUNCE_MS = 1000;
const CHANGE_COALESCE_MS = 250;
const OPEN_CONCURRENCY = 32;

class Emitter<A extends unknown[]> {
  private listeners = new Set<(...args: A) => void>();
  constructor(private readonly onError: (err: unknown) => void) {}
  event(listener: (...args: A) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }
  fire(...args: A): void {
    for (const l of [...this.listeners]) {
      try {
        l(...args);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

export class RunStore {
  private readonly runs = new Map<string, RunEntry>();
  private readonly appended: Emitter<[string, RunRecord[]]>;
  private readonly changed: Emitter<[RunSummary]>;
  private readonly deleted: Emitter<[string]>;
  private closed = false;
  private readonly logger: StoreLogger;
  private readonly sync: boolean;
  private readonly onFlush?: (ms: number, bytes: number) => void;

  private constructor(readonly dir: string, options: RunStoreOptions) {
    this.logger = options.logger ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
    this.sync = options.sync ?? true;
    this.onFlush = options.onFlush;
    const onError = (err: unknown) => this.logger.error(`a run store listener failed: ${errText(err)}`);
    this.appended = new Emitter(onError);
    this.changed = new Emitter(onError);
    this.deleted = new Emitter(onError);
  }

  /** Opens (creating if needed) the store in `dir`. */
  static async open(dir: string, options: RunStoreOptions = {}): Promise<RunStore> {
    const store = new RunStore(path.resolve(dir), options);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    await fs.promises.mkdir(runsDir(this.dir), { recursive: true, mode: 0o700 });
    // The store is local data, never something to commit.
    const gitignore = path.join(this.dir, '.gitignore');
    if (!fs.existsSync(gitignore)) await fs.promises.writeFile(gitignore, '*\n').catch(() => undefined);
    const names = (await fs.promises.readdir(runsDir(this.dir), { withFileTypes: true }))
      .filter((d) => d.isDirectory() && isSafeRunId(d.name))
      .map((d) => d.name);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const runId = names[next++];
        try {
          const entry = await this.loadRun(runId);
          if (entry) this.runs.set(runId, entry);
        } catch (err) {
          this.logger.error(`run ${runId} could not be opened and is skipped: ${errText(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, names.length) }, worker));
  }

  private async loadRun(runId: string): Promise<RunEntry | undefined> {
    const dir = runDir(this.dir, runId);
    const logFile = path.join(dir, LOG_FILE);
    let size: number;
    try {
      size = (await fs.promises.stat(logFile)).size;
    } catch {
      this.logger.warn(`${dir} has no ${LOG_FILE}; skipped`);
      return undefined;
    }
    let meta: MetaFile | undefined;
    try {
      meta = JSON.parse(await fs.promises.readFile(path.join(dir, META_FILE), 'utf8')) as MetaFile;
    } catch {
      meta = undefined;
    }
    if (meta && meta.version === 1 && meta.logBytes === size && meta.summary?.runId === runId) {
      return this.newEntry(runId, meta.summary, meta.lastSeq, meta.recordCount, size, meta.renamed);
    }
    return this.rebuild(runId, logFile, meta?.renamed);
  }

  /** Replays a run's log into a fresh summary (and cuts a torn tail). */
  private async rebuild(runId: string, logFile: string, renamed: string | undefined): Promise<RunEntry> {
    let summary: RunSummary | undefined;
    let lastSeq = 0;
    const log = await RunLog.open(logFile, {
      sync: this.sync,
      onFlush: this.onFlush,
      onScanRecord: (payload) => {
        const { seq, event } = decodePayload(payload);
        if (seq !== undefined && seq > lastSeq) lastSeq = seq;
        summary = reduce(summary, runId, event);
      },
    });
    if (log.truncatedBytes > 0) this.logger.warn(`run ${runId}: cut ${log.truncatedBytes} bytes of torn or corrupt tail from its log`);
    if (!summary) {
      const mtime = (await fs.promises.stat(logFile)).mtimeMs / 1000;
      summary = { runId, project: 'unknown', name: runId, status: 'crashed', startTime: mtime, params: {}, tags: {}, context: {} };
    }
    if (renamed !== undefined) summary.name = renamed;
    const entry = this.newEntry(runId, summary, lastSeq, log.count, log.bytes, renamed);
    entry.log = Promise.resolve(log);
    this.logger.info(`run ${runId}: summary rebuilt from its log (${log.count} records)`);
    await this.writeMeta(entry);
    return entry;
  }

  private newEntry(runId: string, summary: RunSummary, lastSeq: number, recordCount: number, logBytes: number, renamed?: string): RunEntry {
    return { runId, summary, acceptedSeq: lastSeq, durableSeq: lastSeq, recordCount, logBytes, renamed, metaWrite: Promise.resolve(), deleted: false, inflight: new Set() };
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

  /** Number of durable records in the run's log. */
  recordCount(runId: string): number {
    return this.runs.get(runId)?.recordCount ?? 0;
  }

  /**
   * Appends events to a run's log; resolves with the new records once they are
   * durable. Items whose `seq` is at or below the highest seq already accepted for
   * the run are duplicates (a client resending after a reconnect) and are dropped;
   * the promise still waits until the originals are durable. A `run.start` for an
   * unknown run creates it; anything else for an unknown run rejects with
   * UnknownRunError. Items are taken in call order, synchronously, so callers may
   * fire several appends without awaiting each.
   */
  append(runId: string, items: AppendItem[]): Promise<RunRecord[]> {
    if (this.closed) return Promise.reject(new Error('the run store is closed'));
    if (!isSafeRunId(runId)) return Promise.reject(new Error(`run id "${runId}" is not allowed: use letters, digits, ".", "_" and "-"`));
    let e = this.runs.get(runId);
    const events: RunEvent[] = [];
    const payloads: Buffer[] = [];
    let maxSeq = 0;
    for (const item of items) {
      if (item.seq !== undefined) {
        if (e && item.seq <= e.acceptedSeq) continue;
      }
      if (!e) {
        if (item.event.type !== 'run.start') return Promise.reject(new UnknownRunError(runId));
        e = this.createRun(runId, item.event);
      }
      if (item.seq !== undefined) {
        e.acceptedSeq = item.seq;
        if (item.seq > maxSeq) maxSeq = item.seq;
      }
      events.push(item.event);
      payloads.push(item.wireJson !== undefined && item.event.type === 'metrics' ? encodeWirePayload(item.seq, item.wireJson) : encodePayload(item.seq, item.event));
    }
    if (!e) return Promise.resolve([]);
    const entry = e;
    let bytes = 0;
    for (const p of payloads) bytes += 8 + p.length;
    const log = this.logOf(entry);
    const done = log.then((l) => l.append(payloads)).then(
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

  private createRun(runId: string, start: Extract<RunEvent, { type: 'run.start' }>): RunEntry {
    const summary = reduce(undefined, runId, start);
    const entry = this.newEntry(runId, summary, 0, 0, 0);
    this.runs.set(runId, entry);
    const dir = this.runDir(runId);
    entry.log = (async () => {
      await fs.promises.mkdir(path.join(dir, ARTIFACTS_DIR), { recursive: true });
      const log = await RunLog.open(path.join(dir, LOG_FILE), { sync: this.sync, onFlush: this.onFlush });
      // Make the new folder's entry durable too, or a crash could lose the whole run.
      if (this.sync) await fsyncDir(runsDir(this.dir));
      return log;
    })();
    entry.log.catch(() => (entry.log = undefined));
    return entry;
  }

  private logOf(e: RunEntry): Promise<RunLog> {
    if (!e.log) {
      const metaSeq = e.durableSeq;
      const p = (async () => {
        const log = await RunLog.open(path.join(this.runDir(e.runId), LOG_FILE), { sync: this.sync, onFlush: this.onFlush });
        if (log.count !== e.recordCount || log.bytes !== e.logBytes) {
          // The file changed under a meta that looked fresh (a corrupt record was cut): re-derive from the log.
          this.logger.warn(`run ${e.runId}: log holds ${log.count} records, meta said ${e.recordCount}; rebuilding its summary from the log`);
          let summary: RunSummary | undefined;
          let lastSeq = 0;
          for (const payload of await log.read(0, log.count)) {
            const { seq, event } = decodePayload(payload);
            if (seq !== undefined && seq > lastSeq) lastSeq = seq;
            summary = reduce(summary, e.runId, event);
          }
          if (summary) e.summary = e.renamed !== undefined ? { ...summary, name: e.renamed } : summary;
          e.durableSeq = lastSeq;
          // Seqs the log lost may be resent; keep only what was accepted since (it is queued behind this open).
          if (e.acceptedSeq <= metaSeq) e.acceptedSeq = lastSeq;
          e.recordCount = log.count;
          e.logBytes = log.bytes;
        }
        return log;
      })();
      e.log = p;
      p.catch(() => {
        if (e.log === p) e.log = undefined;
      });
    }
    return e.log;
  }

  /** After a group commit: update the summary, notify, persist meta. */
  private landed(e: RunEntry, first: number, events: RunEvent[], maxSeq: number, bytes: number): RunRecord[] {
    const records: RunRecord[] = events.map((event, i) => ({ runId: e.runId, offset: first + i, event }));
    if (events.length === 0) return records;
    // Bytes, seq and summary move together here, so a meta.json written at any moment is consistent.
    e.logBytes += bytes;
    e.recordCount = Math.max(e.recordCount, first + events.length);
    if (maxSeq > e.durableSeq) e.durableSeq = maxSeq;
    const before = e.summary.status;
    let summary = e.summary;
    for (const ev of events) summary = reduce(summary, e.runId, ev);
    if (e.renamed !== undefined) summary.name = e.renamed;
    e.summary = summary;
    if (e.deleted) return records;
    this.appended.fire(e.runId, records);
    const important = before !== summary.status || events.some((ev) => ev.type !== 'metrics' && ev.type !== 'log');
    this.scheduleChange(e, important);
    this.scheduleMeta(e, important);
    return records;
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

  /** Writes meta.json atomically (temp file, rename); a failure only costs a replay on next open. */
  private writeMeta(e: RunEntry): Promise<void> {
    e.metaWrite = e.metaWrite.then(async () => {
      if (e.deleted) return;
      const meta: MetaFile = {
        version: 1,
        summary: e.summary,
        lastSeq: e.durableSeq,
        recordCount: e.recordCount,
        logBytes: e.logBytes,
        ...(e.renamed !== undefined ? { renamed: e.renamed } : {}),
      };
      const file = path.join(this.runDir(e.runId), META_FILE);
      const tmp = `${file}.tmp`;
      try {
        await fs.promises.writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
        await fs.promises.rename(tmp, file);
      } catch (err) {
        if (!e.deleted) this.logger.warn(`run ${e.runId}: could not write ${META_FILE} (${errText(err)}); it will be rebuilt from the log`);
      }
    });
    return e.metaWrite;
  }

  /** Reads up to `maxRecords` durable records from `fromOffset`. */
  async read(runId: string, fromOffset: number, maxRecords: number): Promise<RunRecord[]> {
    const e = this.runs.get(runId);
    if (!e) throw new UnknownRunError(runId);
    const log = await this.logOf(e);
    const payloads = await log.read(fromOffset, maxRecords);
    return payloads.map((p, i) => ({ runId, offset: fromOffset + i, event: decodePayload(p).event }));
  }

  onDidAppend(listener: (runId: string, records: RunRecord[]) => void): Disposable {
    return this.appended.event(listener);
  }

  onDidChangeRun(listener: (run: RunSummary) => void): Disposable {
    return this.changed.event(listener);
  }

  onDidDeleteRun(listener: (runId: string) => void): Disposable {
    return this.deleted.event(listener);
  }

  /** Deletes a run and its folder. Returns false if there was no such run. */
  async deleteRun(runId: string): Promise<boolean> {
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
    const e = this.runs.get(runId);
    if (!e) throw new UnknownRunError(runId);
    e.renamed = name;
    e.summary = { ...e.summary, name };
    await this.writeMeta(e);
    this.changed.fire({ ...e.summary });
  }

  /** Waits for pending appends, writes every meta file and closes the logs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
  }
}

// ---------------------------------------------------------------------------
// Records and summaries.

/** JSON cannot hold NaN/±Infinity; the log uses the wire protocol's strings for them. */
function encodePayload(seq: number | undefined, event: RunEvent): Buffer {
  let ev: RunEvent = event;
  if (event.type === 'metrics') {
    const pts = event.points;
    let finite = true;
    for (let i = 0; i < pts.length; i++) {
      if (!Number.isFinite(pts[i].value)) {
        finite = false;
        break;
      }
    }
    if (!finite) {
      ev = { type: 'metrics', points: pts.map((p) => (Number.isFinite(p.value) ? p : { ...p, value: encodeNonFinite(p.value) as unknown as number })) };
    }
  }
  return Buffer.from(JSON.stringify(seq === undefined ? { event: ev } : { seq, event: ev }));
}

function encodeWirePayload(seq: number | undefined, wireJson: string): Buffer {
  return Buffer.from(seq === undefined ? `{"event":${wireJson}}` : `{"seq":${seq},"event":${wireJson}}`);
}

function encodeNonFinite(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

export function decodePayload(payload: Buffer): { seq?: number; event: RunEvent } {
  const rec = JSON.parse(payload.toString('utf8')) as { seq?: number; event: RunEvent };
  if (rec.event.type === 'metrics') {
    // Rebuilt point by point: a stored wire message carries extra fields (runId, seq, unknown keys),
    // and may be in the columnar form (`cols`, protocol v1), which is read back as the same points.
    const stored = rec.event as { points?: StoredPoint[]; cols?: StoredColumns };
    const points = stored.cols !== undefined && stored.points === undefined ? columnsToPoints(stored.cols) : objectsToPoints(stored.points ?? []);
    return rec.seq === undefined ? { event: { type: 'metrics', points } } : { seq: rec.seq, event: { type: 'metrics', points } };
  }
  return rec;
}

type StoredPoint = Omit<MetricPoint, 'value'> & { value: number | string };
interface StoredColumns {
  keys: string[];
  k: number[];
  v: (number | string)[];
  s: number[];
  t: number[];
}

function storedNumber(v: number | string): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v);
}

function objectsToPoints(pts: StoredPoint[]): MetricPoint[] {
  const points = new Array<MetricPoint>(pts.length);
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    points[i] = { key: p.key, value: storedNumber(p.value), step: p.step, time: p.time };
  }
  return points;
}

function columnsToPoints(c: StoredColumns): MetricPoint[] {
  const { keys, k, v, s, t } = c;
  const points = new Array<MetricPoint>(k.length);
  for (let i = 0; i < k.length; i++) points[i] = { key: keys[k[i]], value: storedNumber(v[i]), step: s[i], time: t[i] };
  return points;
}

/** Folds one event into a run's summary (pure: returns a new object when anything changes). */
export function reduce(prev: RunSummary | undefined, runId: string, ev: RunEvent): RunSummary {
  const s: RunSummary = prev
    ? { ...prev }
    : { runId, project: 'unknown', name: runId, status: 'running', startTime: 'time' in ev ? ev.time : Date.now() / 1000, params: {}, tags: {}, context: {} };
  switch (ev.type) {
    case 'run.start':
      s.project = ev.project;
      s.name = ev.name || s.name;
      if (!prev) s.startTime = ev.time;
      s.params = { ...s.params, ...ev.params };
      s.tags = { ...s.tags, ...ev.tags };
      if (ev.parentRunId) s.parentRunId = ev.parentRunId;
      s.context = { ...s.context, ...ev.context };
      s.status = 'running';
      delete s.endTime;
      break;
    case 'metrics': {
      let last = s.lastStep ?? -1;
      for (const p of ev.points) if (p.step > last) last = p.step;
      if (last >= 0) s.lastStep = last;
      break;
    }
    case 'params':
      s.params = { ...s.params, ...ev.params };
      break;
    case 'tags':
      s.tags = { ...s.tags, ...ev.tags };
      break;
    case 'artifact':
    case 'log':
      break;
    case 'run.end':
      s.status = ev.status;
      s.endTime = ev.time;
      break;
  }
  // Data after a crash mark means the client came back: the run lives again.
  if (ev.type !== 'run.end' && s.status === 'crashed') {
    s.status = 'running';
    delete s.endTime;
  }
  return s;
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

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
