// meta.json: a run's summary, derivable from its log, so the store opens without replaying every log.
import * as fs from 'fs';
import * as path from 'path';
import type { RunSummary } from '../api/types';
import { writeFileAtomic } from '../common/atomicWrite';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import { META_FILE, runDir } from './paths';
import type { RunEntry } from './runEntry';

export interface MetaFile {
  version: 1;
  summary: RunSummary;
  /** Highest durable client seq. */
  lastSeq: number;
  /** Record indices in the log (a damaged record keeps its index). */
  recordCount: number;
  /** Log size covered by this summary and lastSeq; a log of another size means the meta is stale. */
  logBytes: number;
  /** A name given by renameRun, which the log does not record. */
  renamed?: string;
}

/** The run's meta.json, or undefined when it is missing or unreadable (then the log is replayed). */
export async function readMeta(runDir: string): Promise<MetaFile | undefined> {
  try {
    return parseMeta(await fs.promises.readFile(path.join(runDir, META_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

/** readMeta without the thread pool: opening thousands of runs, a promise per file costs 4× the reads. */
export function readMetaSync(runDir: string): MetaFile | undefined {
  try {
    return parseMeta(fs.readFileSync(path.join(runDir, META_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

function parseMeta(text: string): MetaFile | undefined {
  const meta = JSON.parse(text) as MetaFile;
  return meta && meta.version === 1 && meta.summary ? meta : undefined;
}

/**
 * Not durable (no fsync): a meta.json lost in a power cut is only stale, and a stale one is noticed by
 * its logBytes and rebuilt from the log; an fsync per summary write would cost the writer for nothing.
 * The rename still keeps readers from ever seeing half a file.
 */
export function writeMeta(runDir: string, meta: MetaFile): Promise<void> {
  return writeFileAtomic(path.join(runDir, META_FILE), JSON.stringify(meta), { durable: false, mode: 0o600 });
}

/** Writes the entry's meta.json, serialised per run; a failure only costs a replay on next open. */
export function persistMeta(storeDir: string, e: RunEntry, logger: Logger): Promise<void> {
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
    try {
      await writeMeta(runDir(storeDir, e.runId), meta);
    } catch (err) {
      if (!e.deleted) {
        logger.warn(`run ${e.runId}: could not write meta.json (${errorText(err)}); it will be rebuilt from the log`);
      }
    }
  });
  return e.metaWrite;
}
