// One TensorBoard log directory as one Runwatch run. The run id comes from the directory's
// workspace-relative path, so importing the same folder again names the same run; each event
// file's cursor (byte offset and record count) is kept in the state, so a later poll reads
// only what was appended since. Scalars become metrics, hparams params, text log lines;
// images, histograms and the like are counted in `notShown` until there are views for them.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricPoint, ParamValue, RunEvent } from '../../api/types';
import type { SummaryItem } from './events';
import { drain, readEventFileSteps, type FileProblem, type FileRead, type RecordCursor } from './reader';

/** Points per `metrics` event: big enough to be cheap, small enough for one append. */
export const POINTS_PER_EVENT = 1000;
const EVENT_FILE = /^events\.out\.tfevents\./;
/** Files the TensorBoard backend writes end so: Runwatch's own exports are never read back in. */
const OWN_EXPORT = /\.runwatch$/;

/** What kind of log a run is read from. */
export type LogKind = 'tfevents' | 'csv' | 'hf';

/** A file's cursor: the record cursor, plus what CSV and trainer_state.json readers keep. */
export interface FileCursor extends RecordCursor {
  /** CSV: the header line the rows were read against (a changed header means the file was rewritten). */
  header?: string;
  /** A torn tail in a file nothing writes any more was reported (once). */
  tailReported?: boolean;
  /** Why the file is not read (reported once while it stays so). */
  rejected?: string;
}

export interface LogDirState {
  runId: string;
  /** Whether run.start was emitted. */
  started: boolean;
  /** Per file (its name in the directory): where reading stopped. */
  files: Record<string, FileCursor>;
  /** Summaries not shown yet, by kind (image, histogram, audio, plugin name). */
  notShown: Record<string, number>;
  /** Absent in states written before there were other kinds: tfevents. */
  kind?: LogKind;
  /** The log directory (tfevents, hf) or file (csv), absolute. */
  path?: string;
  /** The seq of the last event appended for this run (the store skips seqs it holds). */
  seq?: number;
  /** The latest wall time among the events appended (seconds), for run.end's time. */
  lastTime?: number;
  /** run.end was appended (the log went quiet); more data starts the run again. */
  ended?: boolean;
  /**
   * Set, durably, before events are appended: per file, the offset the read went up to, and whether
   * a run.start (again) and a run.end (with their times) go around the events. After a crash before
   * the cursor moved, the same stretch is read again, giving the same events with the same seqs.
   */
  pending?: { files: Record<string, number>; restart?: number; end?: number };
}

export interface RunIdentity {
  runId: string;
  /** The workspace-relative parent folder ("." at the root), POSIX separators. */
  project: string;
  name: string;
}

/** The run a log directory is: stable for the same workspace-relative path. */
export function runIdentity(workspaceRoot: string, logDir: string): RunIdentity {
  return identityOf(path.relative(workspaceRoot, logDir).split(path.sep).join('/') || '.', 'tfevents', workspaceRoot);
}

/**
 * The run a log is, from its key (its workspace-relative path, or its absolute path when it is
 * outside the workspace); `rootName` names a log at the root itself.
 */
export function identityOf(rel: string, kind: LogKind, root: string, label = rel): RunIdentity {
  const hash = crypto.createHash('sha256').update(`${kind}:${rel}`).digest('hex');
  // UUID-shaped (version 8, "custom"), as run ids are best.
  const h = (a: number, b: number) => hash.slice(a, b);
  const runId = `${h(0, 8)}-${h(8, 12)}-8${h(13, 16)}-a${h(17, 20)}-${h(20, 32)}`;
  const shown = label.split(path.sep).join('/');
  const parent = path.posix.dirname(shown);
  return {
    runId,
    project: shown === '.' ? '.' : parent,
    name: shown === '.' ? path.basename(root) : path.posix.basename(shown),
  };
}

export interface PollResult {
  events: RunEvent[];
  problems: FileProblem[];
  /** The state after this poll; persist it only once `events` are stored. */
  state: LogDirState;
  /** A file was read only up to `maxBytes` past its cursor: poll again for the rest. */
  more?: boolean;
}

export function eventFiles(logDir: string): string[] {
  try {
    return fs
      .readdirSync(logDir)
      .filter((f) => EVENT_FILE.test(f) && !OWN_EXPORT.test(f))
      .sort();
  } catch {
    return [];
  }
}

export interface PollOptions {
  /** A file's unfinished last record is reported as truncated and skipped (nothing writes the folder). */
  final?: boolean;
  /** Read each file only up to this offset (a file not named: not at all); see LogDirState.pending. */
  bounds?: Record<string, number>;
  /** Read at most about this many bytes of each file (a big log is imported in stretches). */
  maxBytes?: number;
  /**
   * A file unchanged for this long whose last record is unfinished: reported once as truncated,
   * and still waited for (nothing is skipped, in case its writer comes back).
   */
  staleMs?: number;
  /** The run's identity; default: from the path relative to `workspaceRoot`. */
  identity?: RunIdentity;
}

/** Reads what is new in `logDir` since `prev` and turns it into run events. */
export function pollLogDir(
  workspaceRoot: string,
  logDir: string,
  prev?: LogDirState,
  opts: PollOptions = {},
): PollResult {
  return drain(pollLogDirSteps(workspaceRoot, logDir, prev, opts));
}

/**
 * pollLogDir in steps of `chunkBytes` read (see readEventFileSteps): the same events, the same
 * state, whether the steps run at once or with turns of the event loop between them.
 */
export function* pollLogDirSteps(
  workspaceRoot: string,
  logDir: string,
  prev?: LogDirState,
  opts: PollOptions = {},
  chunkBytes?: number,
): Generator<void, PollResult> {
  const id = opts.identity ?? runIdentity(workspaceRoot, logDir);
  const state: LogDirState = prev
    ? { ...prev, files: { ...prev.files }, notShown: { ...prev.notShown } }
    : { runId: id.runId, started: false, files: {}, notShown: {} };
  const events: RunEvent[] = [];
  const problems: FileProblem[] = [];
  let more = false;
  let points: MetricPoint[] = [];
  let params: Record<string, ParamValue> | undefined;
  let firstTime: number | undefined;
  const flush = () => {
    if (points.length) events.push({ type: 'metrics', points });
    points = [];
  };
  const take = (items: SummaryItem[]) => {
    for (const it of items) {
      if (it.kind !== 'hparams' && firstTime === undefined) firstTime = it.time;
      switch (it.kind) {
        case 'scalar':
          points.push({ key: it.tag, value: it.value, step: Math.max(0, it.step), time: it.time });
          if (points.length >= POINTS_PER_EVENT) flush();
          break;
        case 'hparams':
          params = { ...params, ...it.params };
          break;
        case 'text':
          flush();
          events.push({
            type: 'log',
            stream: 'stdout',
            lines: it.text.split('\n').map((l) => `[${it.tag} step ${it.step}] ${l}`),
            time: it.time,
          });
          break;
        case 'other':
          state.notShown[it.what] = (state.notShown[it.what] ?? 0) + 1;
          break;
      }
    }
  };
  for (const f of eventFiles(logDir)) {
    const file = path.join(logDir, f);
    const before = state.files[f];
    const from = before?.offset ?? 0;
    const size = statOf(file)?.size ?? 0;
    let until = opts.bounds ? (opts.bounds[f] ?? 0) : opts.maxBytes ? from + opts.maxBytes : undefined;
    const read = function* (upTo: number | undefined): Generator<void, FileRead> {
      const out: FileRead = { items: [], problems: [], cursor: before ?? { offset: 0, records: 0 } };
      yield* readEventFileSteps(file, before, { final: opts.final, onItems: take, until: upTo }, out, chunkBytes);
      return out;
    };
    let r = yield* read(until);
    if (!opts.bounds && until !== undefined && until < size && r.cursor.offset === from) {
      // One record bigger than a stretch: read it whole.
      until = undefined;
      r = yield* read(undefined);
    }
    if (!opts.bounds && until !== undefined && until < size) more = true;
    const cursor: FileCursor = { ...r.cursor };
    if (before?.tailReported && cursor.offset === before.offset) cursor.tailReported = true;
    const toEnd = !opts.bounds && (until === undefined || until >= size);
    if (opts.staleMs !== undefined && toEnd && !cursor.tailReported) {
      const st = statOf(file);
      if (st && st.size > cursor.offset && Date.now() - st.mtimeMs > opts.staleMs && !cursor.resyncing) {
        cursor.tailReported = true;
        problems.push({
          file,
          kind: 'truncated',
          record: cursor.records,
          offset: cursor.offset,
          message:
            `record ${cursor.records} at byte ${cursor.offset}: the file ends inside it ` +
            `(${st.size - cursor.offset} bytes) and has not changed for a while; waiting for the rest`,
        });
      }
    }
    state.files[f] = cursor;
    problems.push(...r.problems);
  }
  flush();
  if (!state.started && (events.length || params)) {
    state.started = true;
    events.unshift({
      type: 'run.start',
      project: id.project,
      name: id.name,
      time: firstTime ?? Date.now() / 1000,
      params: params ?? {},
      tags: { source: 'tensorboard' },
      context: { logDir },
    });
  } else if (params) {
    events.unshift({ type: 'params', params });
  }
  return { events, problems, state, more };
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
