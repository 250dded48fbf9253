// Where things live inside a store folder. One place, so the store, the collector
// CLI, the spool importer and the extension agree.
import * as path from 'path';

export const RUNS_DIR = 'runs';
export const LOG_FILE = 'log.rwl';
export const META_FILE = 'meta.json';
export const ARTIFACTS_DIR = 'artifacts';
export const SPOOL_DIR = 'spool';
export const DISCOVERY_FILE = 'collector.json';

export function runsDir(storeDir: string): string {
  return path.join(storeDir, RUNS_DIR);
}

export function runDir(storeDir: string, runId: string): string {
  return path.join(storeDir, RUNS_DIR, runId);
}

export function spoolDir(storeDir: string): string {
  return path.join(storeDir, SPOOL_DIR);
}

/** Run ids become folder names, so they are held to the protocol's safe alphabet. */
export function isSafeRunId(runId: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(runId) && runId !== '.' && runId !== '..';
}

/**
 * The store folder: `configured` (runwatch.store.path; `~` is the home folder, a relative
 * path is taken from the workspace folder) if set; else `.runwatch/` in the workspace
 * folder; else the extension's global storage (no folder open).
 */
export function resolveStoreDir(opts: {
  workspaceFolder?: string;
  globalStorage: string;
  configured?: string;
  home?: string;
}): string {
  let configured = (opts.configured ?? '').trim();
  if (configured === '~' || configured.startsWith('~/') || configured.startsWith('~\\'))
    configured = path.join(opts.home ?? '', configured.slice(1));
  if (configured) return path.resolve(opts.workspaceFolder ?? opts.globalStorage, configured);
  if (opts.workspaceFolder) return path.join(opts.workspaceFolder, '.runwatch');
  return opts.globalStorage;
}
