// A reader of another process's store keeps its series cache (the charts' columnar
// data) in a folder of its own: the cache lives beside each run's log in the writer's
// store, and a reader must never write there. The cache is derivable from the log, so
// a private copy costs only disk; it is caught up from the reader's store like any cache.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { RunStore } from '../store/runStore';
import type { SeriesSource } from '../store/series';

/** `<cacheRoot>/<hash of the store's path>/<runId>/series/…` instead of `<store>/runs/<runId>/series/…`. */
export function readerSeriesSource(store: RunStore, cacheRoot: string): SeriesSource {
  const root = path.join(cacheRoot, crypto.createHash('sha256').update(store.dir).digest('hex').slice(0, 16));
  return {
    runDir: (runId) => {
      const dir = path.join(root, runId);
      // The cache code wants the run's folder to exist; mirror the store's (a deleted run's must not come back).
      if (fs.existsSync(store.runDir(runId))) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    listRuns: () => store.listRuns(),
    read: (runId, from, max) => store.read(runId, from, max),
    recordCount: (runId) => store.recordCount(runId),
    onDidAppend: (l) => store.onDidAppend(l),
    onDidDeleteRun: (l) => store.onDidDeleteRun(l),
  };
}
