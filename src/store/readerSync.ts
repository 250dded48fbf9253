// Reader mode of RunStore: follows what the writer (another process) adds to the store, never writing.
// fs.watch on runs/ says something changed; a light poll covers platforms and file systems where watch
// events are missed. Each round: new run folders are loaded, vanished ones are dropped, and every open
// log is scanned on from where the last round stopped (a record still being written is "not yet").
// New records fire the store's usual events, so live views work the same as in the writer.
import * as fs from 'fs';
import * as path from 'path';
import { errorText } from '../common/errors';
import { readMeta } from './meta';
import { LOG_FILE, META_FILE, runsDir } from './paths';
import { decodePayload } from './records';
import type { RunEntry } from './runEntry';
import type { RunStore } from './runStore';

const READ_BATCH = 1024;

export class ReaderSync {
  private readonly poll: NodeJS.Timeout;
  private watcher: fs.FSWatcher | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;
  /** meta.json mtime last looked at, per run. */
  private readonly metaSeen = new Map<string, number>();

  constructor(
    private readonly store: RunStore,
    pollMs: number,
  ) {
    this.poll = setInterval(() => void this.refresh(), pollMs);
    this.poll.unref?.();
    this.watch();
  }

  private watch(): void {
    if (this.watcher) return;
    try {
      // Folder events (a new run) and, where supported, events from inside it (a growing log).
      this.watcher = fs.watch(runsDir(this.store.dir), { recursive: process.platform !== 'linux' }, () => {
        void this.refresh();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
      this.watcher.unref?.();
    } catch {
      this.watcher = undefined; // no runs/ yet: the poll finds it and watches then
    }
  }

  /** One round; a call during a round makes one more round after it. */
  refresh(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.round();
        } catch (err) {
          this.store.logger.warn(`store reader: ${errorText(err)} (retrying)`);
        }
      } while (this.again && !this.disposed);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    this.watch();
    const names = new Set(await this.store.loader.runNames());
    for (const runId of names) {
      if (this.disposed) return;
      const known = this.store.runs.get(runId);
      if (known) {
        await this.follow(known);
        await this.followRename(known);
        continue;
      }
      const entry = await this.store.loader.loadRun(runId);
      if (!entry || this.disposed || this.store.runs.has(runId)) continue;
      this.store.runs.set(runId, entry);
      this.store.fireChanged(entry.summary);
      // A run that appeared since the last round: announce all of its records, as the writer did, so a
      // series cache (which only catches up on open) folds them; the summary already holds them.
      await this.follow(entry, 0);
    }
    for (const [runId, e] of this.store.runs) {
      if (names.has(runId)) continue;
      e.deleted = true;
      this.store.runs.delete(runId);
      this.metaSeen.delete(runId);
      const log = e.log ? await e.log.catch(() => undefined) : undefined;
      await log?.close();
      this.store.fireDeleted(runId);
    }
  }

  /** A name given in the writer's UI is only in meta.json: pick it up when that file changes. */
  private async followRename(e: RunEntry): Promise<void> {
    const dir = this.store.runDir(e.runId);
    let mtime: number;
    try {
      mtime = (await fs.promises.stat(path.join(dir, META_FILE))).mtimeMs;
    } catch {
      return;
    }
    if (this.metaSeen.get(e.runId) === mtime) return;
    this.metaSeen.set(e.runId, mtime);
    const meta = await readMeta(dir);
    if (meta?.renamed === undefined || meta.renamed === e.renamed) return;
    e.renamed = meta.renamed;
    e.summary = { ...e.summary, name: meta.renamed };
    this.store.fireChanged(e.summary);
  }

  /** Reads the records the writer added to one run since the last round. */
  private async follow(e: RunEntry, announceFrom?: number): Promise<void> {
    const known = e.recordCount;
    if (announceFrom !== undefined) e.recordCount = announceFrom;
    if (!e.log && announceFrom === undefined) {
      let size: number;
      try {
        size = (await fs.promises.stat(path.join(this.store.runDir(e.runId), LOG_FILE))).size;
      } catch {
        return;
      }
      if (size <= e.logBytes) return; // nothing new: leave the log closed
    }
    const log = await this.store.loader.logOf(e);
    await log.refresh();
    while (e.recordCount < log.count && !this.disposed && !e.deleted) {
      const entries = await log.read(e.recordCount, READ_BATCH);
      const upTo = entries.length > 0 ? entries[entries.length - 1].index + 1 : log.count;
      const records = entries.map((x) => {
        const { seq, event } = decodePayload(x.payload);
        if (seq !== undefined && seq > e.durableSeq) e.durableSeq = e.acceptedSeq = seq;
        return { runId: e.runId, offset: x.index, event };
      });
      e.recordCount = upTo;
      e.logBytes = log.bytes;
      if (records.length > 0) this.store.announce(e, records, known);
    }
    e.logBytes = log.bytes;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.poll);
    this.watcher?.close();
    await this.running;
  }
}
