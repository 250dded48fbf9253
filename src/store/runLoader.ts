// Finding a store's runs on disk and opening their logs: a run's entry comes from its meta.json when
// that matches the log's size, else from replaying the log; a log is opened (and scanned to its true end)
// on first use, in the store's mode, with damaged records reported.
import * as fs from 'fs';
import * as path from 'path';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import { LogFile, type BadRecord } from './logFile';
import { persistMeta, readMeta, readMetaSync } from './meta';
import { LOG_FILE, isSafeRunId, runDir, runsDir } from './paths';
import { newEntry, replayLog, type RunEntry } from './runEntry';

export interface RunLoaderOptions {
  dir: string;
  mode: 'writer' | 'reader';
  sync: boolean;
  onFlush?: (ms: number, bytes: number) => void;
  logger: Logger;
}

export class RunLoader {
  constructor(private readonly o: RunLoaderOptions) {}

  /** Run folders on disk (empty when there is no runs/ folder yet). */
  async runNames(): Promise<string[]> {
    try {
      return (await fs.promises.readdir(runsDir(this.o.dir), { withFileTypes: true }))
        .filter((d) => d.isDirectory() && isSafeRunId(d.name))
        .map((d) => d.name);
    } catch (err) {
      // No runs/ folder yet is an empty store; anything else (EMFILE, EACCES) must not read as "every run
      // was deleted" to a reader.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * A run's entry from its meta.json when that matches its log, read synchronously (a few µs);
   * undefined when loadRun must look further (no log, no or a stale meta.json, an error).
   */
  loadRunFast(runId: string): RunEntry | undefined {
    const dir = runDir(this.o.dir, runId);
    try {
      const size = fs.statSync(path.join(dir, LOG_FILE)).size;
      const meta = readMetaSync(dir);
      if (meta && meta.logBytes === size && meta.summary.runId === runId)
        return newEntry(runId, meta.summary, meta.lastSeq, meta.recordCount, size, meta.renamed);
    } catch {
      // loadRun reports it.
    }
    return undefined;
  }

  /** A run's entry from its meta.json, or by replaying its log; undefined when unusable. */
  async loadRun(runId: string): Promise<RunEntry | undefined> {
    const dir = runDir(this.o.dir, runId);
    const logFile = path.join(dir, LOG_FILE);
    try {
      let size: number;
      try {
        size = (await fs.promises.stat(logFile)).size;
      } catch {
        if (this.o.mode === 'writer') this.o.logger.warn(`${dir} has no ${LOG_FILE}; skipped`);
        return undefined;
      }
      const meta = await readMeta(dir);
      if (meta && meta.logBytes === size && meta.summary.runId === runId) {
        return newEntry(runId, meta.summary, meta.lastSeq, meta.recordCount, size, meta.renamed);
      }
      return await this.rebuild(runId, logFile, meta?.renamed, meta?.logBytes);
    } catch (err) {
      this.o.logger.error(`run ${runId} could not be opened and is skipped: ${errorText(err)}`);
      return undefined;
    }
  }

  /** Replays a run's log into a fresh summary (a writer also cuts a torn tail and writes meta.json). */
  private async rebuild(
    runId: string,
    logFile: string,
    renamed: string | undefined,
    durableBytes: number | undefined,
  ): Promise<RunEntry> {
    const replay = replayLog(runId);
    const log = await this.openLog(runId, logFile, replay.onRecord, durableBytes);
    if (log.truncatedBytes > 0)
      this.o.logger.warn(`run ${runId}: cut ${log.truncatedBytes} bytes of torn tail from its log`);
    let summary = replay.summary();
    if (!summary) {
      const mtime = (await fs.promises.stat(logFile)).mtimeMs / 1000;
      summary = {
        runId,
        project: 'unknown',
        name: runId,
        status: 'crashed',
        startTime: mtime,
        params: {},
        tags: {},
        context: {},
      };
    }
    if (renamed !== undefined) summary.name = renamed;
    const entry = newEntry(runId, summary, replay.lastSeq(), log.count, log.bytes, renamed);
    entry.log = Promise.resolve(log);
    this.o.logger.info(`run ${runId}: summary rebuilt from its log (${log.count} records)`);
    if (this.o.mode === 'writer') await persistMeta(this.o.dir, entry, this.o.logger);
    return entry;
  }

  /** Opens a run's log in this store's mode, reporting damaged records. */
  openLog(
    runId: string,
    file: string,
    onScanRecord?: (payload: Buffer) => void,
    durableBytes?: number,
  ): Promise<LogFile> {
    return LogFile.open(file, {
      mode: this.o.mode,
      durableBytes,
      sync: this.o.sync,
      onFlush: this.o.onFlush,
      onScanRecord,
      onBadRecord: (bad) => this.reportBad(runId, bad),
    });
  }

  private reportBad(runId: string, bad: BadRecord): void {
    this.o.logger.warn(
      `run ${runId}: record ${bad.index} of its log (byte ${bad.offset}, ${bad.bytes} bytes) is damaged ` +
        `(${bad.reason}); it is skipped and the records after it are kept`,
    );
  }

  /** The run's open log; opening it scans it to its true end. */
  logOf(e: RunEntry): Promise<LogFile> {
    if (!e.log) {
      const metaSeq = e.durableSeq;
      const p = (async () => {
        const file = path.join(runDir(this.o.dir, e.runId), LOG_FILE);
        const log = await this.openLog(e.runId, file, undefined, e.logBytes);
        // A reader leaves records the writer added since the meta to ReaderSync, which announces them.
        const grew = this.o.mode === 'reader' && log.count >= e.recordCount;
        if (!grew && (log.count !== e.recordCount || log.bytes !== e.logBytes)) {
          // The file is not what the meta described (a torn tail was cut, or a writer appended since):
          // re-derive the summary from the log, in batches.
          if (this.o.mode === 'writer') {
            this.o.logger.warn(
              `run ${e.runId}: log holds ${log.count} records, meta said ${e.recordCount}; rebuilding its summary from the log`,
            );
          }
          const replay = replayLog(e.runId);
          for (let from = 0; ;) {
            const batch = await log.read(from, 1024);
            if (batch.length === 0) break;
            for (const b of batch) replay.onRecord(b.payload);
            from = batch[batch.length - 1].index + 1;
          }
          const summary = replay.summary();
          if (summary) e.summary = e.renamed !== undefined ? { ...summary, name: e.renamed } : summary;
          e.durableSeq = replay.lastSeq();
          // Seqs the log lost may be resent; keep only what was accepted since (it is queued behind this open).
          if (e.acceptedSeq <= metaSeq) e.acceptedSeq = e.durableSeq;
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
}
