// Imports runs that Python clients spooled to disk while no collector was
// reachable. A spool file is `<spoolDir>/<runId>.jsonl`: one protocol v1 message
// per line, exactly the JSON the client would have sent, seqs included. The
// client fsyncs after each batch; a torn last line (no newline yet) is left for
// the next read.
//
// Files are imported incrementally as they grow (so a spooling run shows up
// live), and moved to `<spoolDir>/imported/` once everything in them is durable
// in the store and the run is over: it has a `run.end`, or the file has not
// been touched for `staleMs` (the client touches it while alive), in which case
// the run is ended as `crashed`. The store drops seqs it already holds, so a
// file read twice, or a run that reached the collector in part, imports cleanly.
//
// A file the client is still writing is named `<runId>.<pid>.jsonl.part`: it is
// left alone while that pid lives (importing a later part of a run before the
// collector has an earlier one would make the store drop the earlier one as
// already held). When the pid is gone and the file has been quiet for
// `partQuietMs`, its writer died (kill -9): the file is imported and its run,
// if it has no run.end, is ended as `crashed`. A client that ends normally
// renames its file to `<runId>.jsonl`.
import * as fs from 'fs';
import * as path from 'path';
import { watch, type FSWatcher } from 'chokidar';
import type { RunEvent } from '../api/types';
import { errorText } from '../common/errors';
import { parseFrame } from '../collector/frames';
import { UnknownRunError, type AppendItem, type RunStore } from '../store/runStore';

export interface SpoolLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface SpoolImporterOptions {
  logger?: SpoolLogger;
  /** A file without run.end untouched for this long is from a client that died (default 60 s). */
  staleMs?: number;
  /** How often files that are not finished yet are looked at again (default 10 s). */
  recheckMs?: number;
  /** Watch with polling (network file systems, some containers). */
  usePolling?: boolean;
  /** Create the spool folder when it is missing (default true); when false, a missing folder is not watched. */
  create?: boolean;
  /** A `.part` file whose writer is gone is imported once it has been untouched this long (default 15 s). */
  partQuietMs?: number;
  /** Whether a process lives (tests replace it). */
  isAlive?: (pid: number) => boolean;
}

export const IMPORTED_DIR = 'imported';
const SPOOL_EXT = '.jsonl';
const PART_EXT = '.jsonl.part';
const PART_NAME = /^[A-Za-z0-9._-]+\.(\d+)\.jsonl\.part$/;

function isSpoolName(p: string): boolean {
  return p.endsWith(SPOOL_EXT) || p.endsWith(PART_EXT);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** The writer's pid of a `.part` spool file, or undefined for a finished file. */
export function partWriter(file: string): number | undefined {
  const m = PART_NAME.exec(path.basename(file));
  return m ? Number(m[1]) : undefined;
}

interface FileState {
  /** Bytes consumed: always just after a newline. */
  offset: number;
  lineNo: number;
  /** Runs this file has data for, and whether each ended. */
  runs: Map<string, boolean>;
  /** Serialises work on one file. */
  work: Promise<void>;
  done: boolean;
}

export interface ImportResult {
  file: string;
  /** Set when the file was left alone: its writer (a live process) is still appending to it. */
  live?: boolean;
  /** Messages appended in this pass (duplicates dropped by the store included). */
  messages: number;
  badLines: number;
  /** True when the file was moved to imported/. */
  moved: boolean;
}

export class SpoolImporter {
  private readonly files = new Map<string, FileState>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly logger: SpoolLogger;
  private readonly staleMs: number;
  private readonly importedDir: string;

  constructor(
    private readonly store: RunStore,
    readonly spoolDir: string,
    private readonly options: SpoolImporterOptions = {},
  ) {
    this.logger = options.logger ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
    this.staleMs = options.staleMs ?? 60_000;
    this.importedDir = path.join(spoolDir, IMPORTED_DIR);
  }

  /** Starts watching the spool folder (creating it if needed); existing files are imported first. */
  async start(): Promise<void> {
    if (this.options.create === false && !fs.existsSync(this.spoolDir)) return;
    await fs.promises.mkdir(this.spoolDir, { recursive: true, mode: 0o700 });
    const watcher = watch(this.spoolDir, {
      depth: 0,
      ignoreInitial: false,
      usePolling: this.options.usePolling ?? false,
      interval: 500,
      ignored: (p: string, stats?: fs.Stats) =>
        p !== this.spoolDir &&
        (path.dirname(p) !== this.spoolDir ||
          (stats !== undefined && !stats.isFile()) ||
          (stats?.isFile() === true && !isSpoolName(p))),
    });
    this.watcher = watcher;
    const onFile = (p: string) => {
      if (isSpoolName(p)) void this.importFile(p);
    };
    watcher.on('add', onFile);
    watcher.on('change', onFile);
    watcher.on('error', (err: unknown) => this.logger.warn(`spool watcher: ${errorText(err)}`));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    // Growing files that stop growing must still be finished (stale: crashed).
    this.timer = setInterval(() => {
      for (const [file, st] of this.files) if (!st.done) void this.importFile(file);
    }, this.options.recheckMs ?? 10_000);
    this.timer.unref?.();
  }

  /** Imports what is new in one spool file; safe to call at any time, calls on a file run one after another. */
  importFile(file: string): Promise<ImportResult> {
    let st = this.files.get(file);
    if (!st) {
      st = { offset: 0, lineNo: 0, runs: new Map(), work: Promise.resolve(), done: false };
      this.files.set(file, st);
    }
    const state = st;
    const result = state.work.then(() => this.importNow(file, state));
    state.work = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async importNow(file: string, st: FileState): Promise<ImportResult> {
    const res: ImportResult = { file, messages: 0, badLines: 0, moved: false };
    if (st.done || this.disposed) return res;
    const writer = partWriter(file);
    if (writer !== undefined && (await this.writerLives(file, writer))) {
      res.live = true;
      return res;
    }
    let data: Buffer;
    let mtimeMs: number;
    try {
      const fh = await fs.promises.open(file, 'r');
      try {
        const stat = await fh.stat();
        mtimeMs = stat.mtimeMs;
        const len = Math.max(0, stat.size - st.offset);
        data = Buffer.alloc(len);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(data, got, len - got, st.offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        data = data.subarray(0, got);
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        st.done = true;
        this.files.delete(file);
      } else {
        this.logger.warn(`spool ${file}: cannot read it (${errorText(err)}); will retry`);
      }
      return res;
    }

    // Only whole lines; a torn tail waits for its newline (or is dropped when the file is finished).
    const end = data.lastIndexOf(0x0a);
    const whole = end >= 0 ? data.subarray(0, end + 1) : Buffer.alloc(0);
    const byRun = new Map<string, AppendItem[]>();
    const lines = whole.length === 0 ? [] : whole.toString('utf8').split('\n').slice(0, -1);
    lines.forEach((line, i) => {
      const lineNo = st.lineNo + i + 1;
      if (line.trim() === '') return;
      const parsed = parseFrame(line, { maxBatchPoints: Number.MAX_SAFE_INTEGER });
      if (parsed.kind === 'error') {
        res.badLines++;
        this.logger.warn(
          `spool ${path.basename(file)} line ${lineNo}: ${parsed.error.code}: ${parsed.error.message}; the line is skipped`,
        );
        return;
      }
      if (parsed.kind !== 'run') return; // heartbeats and hellos carry no run data
      let items = byRun.get(parsed.runId);
      if (!items) byRun.set(parsed.runId, (items = []));
      items.push({ seq: parsed.seq, event: parsed.event });
      if (!st.runs.has(parsed.runId)) st.runs.set(parsed.runId, false);
      if (parsed.event.type === 'run.end') st.runs.set(parsed.runId, true);
    });

    for (const [runId, items] of byRun) {
      try {
        await this.store.append(runId, items);
        res.messages += items.length;
      } catch (err) {
        if (err instanceof UnknownRunError) {
          res.badLines += items.length;
          this.logger.warn(
            `spool ${path.basename(file)}: ${items.length} messages for run ${runId}, whose run.start is neither in the file nor in the store; skipped`,
          );
          continue;
        }
        // Storage trouble: consume nothing, try the whole chunk again later (the store drops what it already has).
        this.logger.error(`spool ${path.basename(file)}: could not store run ${runId} (${errorText(err)}); will retry`);
        return res;
      }
    }
    st.offset += whole.length;
    st.lineNo += lines.length;

    const allEnded = st.runs.size > 0 && [...st.runs.values()].every((ended) => ended);
    const stale = writer !== undefined || Date.now() - mtimeMs > this.staleMs;
    if (!allEnded && !stale) return res;
    if (data.length > whole.length) {
      this.logger.warn(
        `spool ${path.basename(file)}: ignoring a torn last line (${data.length - whole.length} bytes, the client stopped mid-write)`,
      );
    }
    if (!allEnded) {
      for (const [runId, ended] of st.runs) {
        if (ended || this.store.getRun(runId)?.status !== 'running') continue;
        const crashed: RunEvent = {
          type: 'run.end',
          status: 'crashed',
          time: mtimeMs / 1000,
          reason: `the spooling client stopped without ending the run (spool file untouched for ${Math.round(this.staleMs / 1000)} s)`,
        };
        try {
          await this.store.append(runId, [{ event: crashed }]);
        } catch (err) {
          this.logger.error(
            `spool ${path.basename(file)}: could not mark run ${runId} crashed (${errorText(err)}); will retry`,
          );
          return res;
        }
      }
    }
    try {
      await fs.promises.mkdir(this.importedDir, { recursive: true, mode: 0o700 });
      const base = writer !== undefined ? path.basename(file).slice(0, -'.part'.length) : path.basename(file);
      await fs.promises.rename(file, path.join(this.importedDir, base));
      st.done = true;
      this.files.delete(file);
      res.moved = true;
      const runs = [...st.runs.keys()].join(', ') || 'no runs';
      this.logger.info(`spool ${path.basename(file)} imported (${runs}) and moved to ${IMPORTED_DIR}/`);
    } catch (err) {
      this.logger.warn(
        `spool ${file}: imported, but could not move it to ${IMPORTED_DIR}/ (${errorText(err)}); will retry`,
      );
    }
    return res;
  }

  /** A `.part` file's writer still appends while its pid lives, or while the file is fresh (a pid from
   * another pid namespace, a container, may look dead from here). */
  private async writerLives(file: string, pid: number): Promise<boolean> {
    if ((this.options.isAlive ?? pidAlive)(pid)) return true;
    try {
      const stat = await fs.promises.stat(file);
      return Date.now() - stat.mtimeMs < (this.options.partQuietMs ?? 15_000);
    } catch {
      return false; // gone: the read below says so
    }
  }

  /** Stops watching; waits for imports under way. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    await this.watcher?.close();
    await Promise.all([...this.files.values()].map((s) => s.work));
  }
}
