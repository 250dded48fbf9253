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
import { readEventFile, type FileProblem, type RecordCursor } from './reader';

/** Points per `metrics` event: big enough to be cheap, small enough for one append. */
export const POINTS_PER_EVENT = 1000;
const EVENT_FILE = /^events\.out\.tfevents\./;

export interface LogDirState {
  runId: string;
  /** Whether run.start was emitted. */
  started: boolean;
  /** Per event file (its name in the directory): where reading stopped. */
  files: Record<string, RecordCursor>;
  /** Summaries not shown yet, by kind (image, histogram, audio, plugin name). */
  notShown: Record<string, number>;
}

export interface RunIdentity {
  runId: string;
  /** The workspace-relative parent folder ("." at the root), POSIX separators. */
  project: string;
  name: string;
}

/** The run a log directory is: stable for the same workspace-relative path. */
export function runIdentity(workspaceRoot: string, logDir: string): RunIdentity {
  const rel = path.relative(workspaceRoot, logDir).split(path.sep).join('/') || '.';
  const hash = crypto.createHash('sha256').update(`tfevents:${rel}`).digest('hex');
  // UUID-shaped (version 8, "custom"), as run ids are best.
  const h = (a: number, b: number) => hash.slice(a, b);
  const runId = `${h(0, 8)}-${h(8, 12)}-8${h(13, 16)}-a${h(17, 20)}-${h(20, 32)}`;
  const parent = path.posix.dirname(rel);
  return {
    runId,
    project: rel === '.' ? '.' : parent,
    name: rel === '.' ? path.basename(workspaceRoot) : path.posix.basename(rel),
  };
}

export interface PollResult {
  events: RunEvent[];
  problems: FileProblem[];
  /** The state after this poll; persist it only once `events` are stored. */
  state: LogDirState;
}

export function eventFiles(logDir: string): string[] {
  try {
    return fs
      .readdirSync(logDir)
      .filter((f) => EVENT_FILE.test(f))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Reads what is new in `logDir` since `prev` and turns it into run events. With `final`, a
 * file's unfinished last record is reported as truncated (for folders nothing writes any more).
 */
export function pollLogDir(
  workspaceRoot: string,
  logDir: string,
  prev?: LogDirState,
  opts: { final?: boolean } = {},
): PollResult {
  const id = runIdentity(workspaceRoot, logDir);
  const state: LogDirState = prev
    ? { ...prev, files: { ...prev.files }, notShown: { ...prev.notShown } }
    : { runId: id.runId, started: false, files: {}, notShown: {} };
  const events: RunEvent[] = [];
  const problems: FileProblem[] = [];
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
    const r = readEventFile(path.join(logDir, f), state.files[f], { final: opts.final, onItems: take });
    state.files[f] = r.cursor;
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
  return { events, problems, state };
}
