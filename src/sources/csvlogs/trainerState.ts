// A Hugging Face Trainer output folder as one run, from its trainer_state.json `log_history`
// (a list of dicts, each with step and epoch: training logs, evaluations, the final summary).
// The Trainer writes the file whole at each checkpoint (output/checkpoint-N/trainer_state.json)
// and at the end (output/trainer_state.json), each a longer copy of the same history; the newest
// is read and the entries past the count already imported are taken. Keys are named as the
// Trainer's own TensorBoard callback names them: eval_* as eval/*, test_* as test/*, the rest train/*.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricPoint, ParamValue, RunEvent } from '../../api/types';
import type { LogDirState, PollOptions, PollResult, RunIdentity } from '../tfevents/logDirRun';
import { POINTS_PER_EVENT } from '../tfevents/logDirRun';
import type { FileProblem } from '../tfevents/reader';

export const TRAINER_STATE = 'trainer_state.json';
/** The key the cursor is kept under (the file read changes as checkpoints come and go). */
const CURSOR = 'log_history';
const CHECKPOINT = /^checkpoint-\d+$/;

/** The run folder a trainer_state.json belongs to: a checkpoint's belongs to the output folder above it. */
export function trainerOutputDir(file: string): string {
  const dir = path.dirname(file);
  return CHECKPOINT.test(path.basename(dir)) ? path.dirname(dir) : dir;
}

/** The trainer_state.json files of an output folder, newest first. */
export function trainerStateFiles(outputDir: string): string[] {
  const out: { f: string; t: number }[] = [];
  const add = (f: string) => {
    try {
      out.push({ f, t: fs.statSync(f).mtimeMs });
    } catch {
      // not there
    }
  };
  add(path.join(outputDir, TRAINER_STATE));
  let names: string[] = [];
  try {
    names = fs.readdirSync(outputDir);
  } catch {
    // gone
  }
  for (const n of names) if (CHECKPOINT.test(n)) add(path.join(outputDir, n, TRAINER_STATE));
  return out.sort((a, b) => b.t - a.t).map((x) => x.f);
}

export function hfKey(k: string): string {
  if (k.startsWith('eval_')) return `eval/${k.slice(5)}`;
  if (k.startsWith('test_')) return `test/${k.slice(5)}`;
  return `train/${k}`;
}

interface TrainerState {
  log_history?: unknown;
  [k: string]: unknown;
}

const PARAM_KEYS = ['max_steps', 'num_train_epochs', 'logging_steps', 'eval_steps', 'save_steps', 'train_batch_size'];

/** Reads the entries of the output folder's newest log_history past those already imported. */
export function pollTrainerState(
  outputDir: string,
  id: RunIdentity,
  prev?: LogDirState,
  opts: PollOptions = {},
): PollResult {
  const state: LogDirState = prev
    ? { ...prev, files: { ...prev.files }, notShown: { ...prev.notShown } }
    : { runId: id.runId, started: false, files: {}, notShown: {} };
  const events: RunEvent[] = [];
  const problems: FileProblem[] = [];
  const cur = state.files[CURSOR] ?? { offset: 0, records: 0 };
  const file = trainerStateFiles(outputDir)[0];
  if (!file) return { events, problems, state };
  let parsed: TrainerState;
  let mtime: number;
  try {
    const text = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtimeMs;
    parsed = JSON.parse(text) as TrainerState;
  } catch (e) {
    // The Trainer writes it in place: a half-written file is "not yet", unless it stays so.
    const stale = opts.staleMs !== undefined && Date.now() - statMs(file) > opts.staleMs;
    const why = `${file} is not JSON (${e instanceof Error ? e.message : String(e)})`;
    if (stale && cur.rejected !== why) {
      problems.push({ file, kind: 'corrupt', record: cur.records, offset: 0, message: `${why}; not read` });
      state.files[CURSOR] = { ...cur, rejected: why };
    }
    return { events, problems, state };
  }
  const history = Array.isArray(parsed.log_history) ? (parsed.log_history as unknown[]) : [];
  const until = opts.bounds ? (opts.bounds[CURSOR] ?? 0) : history.length;
  const time = mtime / 1000;
  let points: MetricPoint[] = [];
  let last = cur.records;
  for (let i = cur.records; i < Math.min(history.length, until); i++) {
    last = i + 1;
    const entry = history[i];
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      const msg = `log_history entry ${i}: not an object; skipped`;
      problems.push({ file, kind: 'corrupt', record: i, offset: 0, message: msg });
      continue;
    }
    const e = entry as Record<string, unknown>;
    const step = typeof e.step === 'number' && Number.isFinite(e.step) && e.step >= 0 ? Math.floor(e.step) : undefined;
    if (step === undefined) {
      const msg = `log_history entry ${i}: no step (${JSON.stringify(e.step)}); skipped`;
      problems.push({ file, kind: 'corrupt', record: i, offset: 0, message: msg });
      continue;
    }
    for (const [k, v] of Object.entries(e)) {
      if (k === 'step' || typeof v !== 'number') continue;
      points.push({ key: k === 'epoch' ? 'epoch' : hfKey(k), value: v, step, time });
    }
    if (points.length >= POINTS_PER_EVENT) {
      events.push({ type: 'metrics', points });
      points = [];
    }
  }
  if (points.length) events.push({ type: 'metrics', points });
  state.files[CURSOR] = { offset: last, records: last };
  if (!state.started && events.length) {
    state.started = true;
    const params: Record<string, ParamValue> = {};
    for (const k of PARAM_KEYS) {
      const v = parsed[k];
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') params[k] = v;
    }
    events.unshift({
      type: 'run.start',
      project: id.project,
      name: id.name,
      time,
      params,
      tags: { source: 'hf-trainer-state' },
      context: { logDir: outputDir },
    });
  }
  return { events, problems, state };
}

function statMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}
