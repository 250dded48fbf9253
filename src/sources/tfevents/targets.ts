// What the log-folder source reads, each as one run: a TensorBoard log directory, a CSV training
// log (Lightning, Keras), or a Hugging Face Trainer output folder. Found by the globs in the
// workspace folders, or named by the person ("Import TensorBoard Logs…" on a folder elsewhere).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pollCsvLog } from '../csvlogs/csvLog';
import { pollTrainerState, TRAINER_STATE, trainerOutputDir, trainerStateFiles } from '../csvlogs/trainerState';
import { findLogFiles } from './find';
import { drainYielding } from './reader';
import {
  eventFiles,
  identityOf,
  pollLogDir,
  pollLogDirSteps,
  type LogDirState,
  type LogKind,
  type PollOptions,
  type PollResult,
  type RunIdentity,
} from './logDirRun';

export interface LogTarget {
  /** Where its state is kept: the workspace-relative path (prefixed by kind unless tfevents), or absolute. */
  key: string;
  kind: LogKind;
  /** The log directory (tfevents, hf) or the file (csv). */
  path: string;
  identity: RunIdentity;
}

function kindOf(file: string): LogKind {
  const name = path.basename(file);
  if (name.startsWith('events.out.tfevents.')) return 'tfevents';
  if (name === TRAINER_STATE) return 'hf';
  return 'csv';
}

/**
 * A target for `p` (a folder for tfevents and hf, a file for csv). Under the first root the key is
 * the relative path (so states saved before several roots keep their runs); under another root it is
 * prefixed with that folder's name; outside every root it is the absolute path.
 */
export function targetFor(roots: string[], kind: LogKind, p: string): LogTarget {
  let rel = path.resolve(p);
  let root = path.dirname(rel);
  for (const [i, r] of roots.entries()) {
    const x = path.relative(r, p);
    if (!x.startsWith('..') && !path.isAbsolute(x)) {
      const posix = x.split(path.sep).join('/') || '.';
      rel = i === 0 ? posix : `${path.basename(r)}:${posix}`;
      root = r;
      break;
    }
  }
  const key = kind === 'tfevents' ? rel : `${kind}:${rel}`;
  const label = rel.includes(':') && !path.isAbsolute(rel) ? rel.slice(rel.indexOf(':') + 1) : rel;
  // A CSV's run is named for its folder (Lightning's version_N), unless the file has its own name.
  const shown = kind === 'csv' && path.basename(p) === 'metrics.csv' ? path.dirname(label) : label;
  return { key, kind, path: path.resolve(p), identity: identityOf(rel, kind, root, shown) };
}

/** Every target under `roots` the globs find (one per log directory, CSV file, Trainer output folder). */
export function findTargets(roots: string[], globs: string[], exclude: string[]): LogTarget[] {
  const out = new Map<string, LogTarget>();
  for (const root of roots) {
    for (const f of findLogFiles(root, globs, exclude)) {
      const kind = kindOf(f);
      if (kind === 'tfevents' && f.endsWith('.runwatch')) continue; // the TensorBoard backend's own output
      const p = kind === 'tfevents' ? path.dirname(f) : kind === 'hf' ? trainerOutputDir(f) : f;
      const t = targetFor(roots, kind, p);
      out.set(t.key, t);
    }
  }
  return [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** What a folder someone picked holds: its event files, else a Trainer's state, else a metrics.csv. */
export function targetsIn(roots: string[], dir: string): LogTarget[] {
  const out: LogTarget[] = [];
  if (eventFiles(dir).length) out.push(targetFor(roots, 'tfevents', dir));
  if (trainerStateFiles(dir).length) out.push(targetFor(roots, 'hf', dir));
  const csv = path.join(dir, 'metrics.csv');
  if (fs.existsSync(csv)) out.push(targetFor(roots, 'csv', csv));
  return out;
}

/** The files a target reads. */
function filesOf(t: LogTarget): string[] {
  if (t.kind === 'tfevents') return eventFiles(t.path).map((f) => path.join(t.path, f));
  if (t.kind === 'hf') return trainerStateFiles(t.path);
  return [t.path];
}

/** When the target's newest file last changed (ms since the epoch; 0 when it has none). */
export function newestChange(t: LogTarget): number {
  let newest = 0;
  for (const f of filesOf(t)) {
    try {
      newest = Math.max(newest, fs.statSync(f).mtimeMs);
    } catch {
      // gone since listed
    }
  }
  return newest;
}

/** Reads what is new in the target since `prev`. */
export function pollTarget(t: LogTarget, prev: LogDirState | undefined, opts: PollOptions): PollResult {
  const o = { ...opts, identity: t.identity };
  if (t.kind === 'tfevents') return pollLogDir(path.dirname(t.path), t.path, prev, o);
  if (t.kind === 'hf') return pollTrainerState(t.path, t.identity, prev, o);
  return pollCsvLog(t.path, t.identity, prev, o);
}

/** Bytes one step of a yielding read takes (a pause may follow any step: see drainYielding). */
const YIELD_CHUNK = 256 << 10;

/**
 * pollTarget, pausing every few milliseconds of a big event file's reading (same events, same
 * state): the extension host keeps answering the Runs tree and a dashboard while a big log is
 * imported. CSV and Trainer state files are read at once, as before.
 */
export function pollTargetYielding(
  t: LogTarget,
  prev: LogDirState | undefined,
  opts: PollOptions,
): Promise<PollResult> {
  if (t.kind !== 'tfevents') return Promise.resolve(pollTarget(t, prev, opts));
  const o = { ...opts, identity: t.identity };
  return drainYielding(pollLogDirSteps(path.dirname(t.path), t.path, prev, o, YIELD_CHUNK));
}

/** A target from its saved state (tailed even when the globs no longer find it, or it is outside). */
export function targetOfState(roots: string[], key: string, s: LogDirState): LogTarget {
  const kind = s.kind ?? 'tfevents';
  const p = s.path ?? path.join(roots[0] ?? '.', key);
  return { ...targetFor(roots, kind, p), key, identity: { ...targetFor(roots, kind, p).identity, runId: s.runId } };
}
