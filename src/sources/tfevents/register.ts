// The log-folder source as the runtime starts it: one source over every workspace folder, its
// cursors in the store's folder, the TensorBoard backend's default output folder left out, and
// the log directories that captured runs stream (a run's context `tensorboard.logdir`) skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunSummary } from '../../api/types';
import { defaultLogDir } from '../../backends/tensorboard/backend';
import { TfeventsSource } from './source';

export interface LogFolderHost {
  registerPlugin(plugin: TfeventsSource, origin: 'builtin'): unknown;
}

/** Where the source keeps its cursors, inside the store folder. */
export function logFolderStateFile(storeDir: string): string {
  return path.join(storeDir, 'sources', 'log-folders.json');
}

function resolved(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** Tag keys naming a log directory a live run streams: `tensorboard.logdir`, `tensorboard.logdir.<prefix>`. */
const LOGDIR_TAG = /^tensorboard\.logdir(\.|$)/;

/**
 * The log directories live runs stream: a run capture started names its own in its context
 * (contract: `{"tensorboard": {"logdir": ...}}`); a `runwatch.init` run whose script also writes
 * TensorBoard files is tagged with them instead (its context was sent before the first writer).
 */
export function capturedLogDirs(runs: RunSummary[]): string[] {
  const out: string[] = [];
  const add = (dir: unknown): void => {
    if (typeof dir === 'string' && dir) out.push(path.resolve(dir), resolved(dir));
  };
  for (const r of runs) {
    const tb = r.context.tensorboard;
    add(tb && typeof tb === 'object' ? (tb as { logdir?: unknown }).logdir : undefined);
    for (const [key, value] of Object.entries(r.tags)) if (LOGDIR_TAG.test(key)) add(value);
  }
  return out;
}

export function registerLogFolderSource(
  hub: LogFolderHost,
  store: { dir: string; listRuns(): RunSummary[] },
  roots: string[],
): TfeventsSource {
  const source = new TfeventsSource({
    roots,
    stateFile: logFolderStateFile(store.dir),
    excludeDirs: () => [store.dir, defaultLogDir({ storeDir: store.dir }) ?? store.dir],
    capturedDirs: () => capturedLogDirs(store.listRuns()),
  });
  hub.registerPlugin(source, 'builtin');
  return source;
}
