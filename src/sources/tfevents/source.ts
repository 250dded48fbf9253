// The built-in log-folder source: TensorBoard log directories, CSV training logs and Hugging Face
// Trainer output folders in the workspace, each shown as a run.
// - Growing ones (a file changed within `liveWindowSeconds`) are imported and then tailed live.
// - Historic ones wait to be imported on demand ("Runwatch: Import TensorBoard Logs…"); once
//   imported they are tailed like the others.
// - A log directory that a run captured live already streams (its run.start context names it under
//   `tensorboard.logdir`) is never imported. A folder never seen before whose files changed seconds
//   ago is looked at again `settleMs` later, so a capture's run.start has time to arrive first.
// Cursors move only once the store holds the events (SourceSink.append), and the stretch about to be
// appended is written down first, so a crash in between reads the same stretch again into the same
// seqs, which the store skips: nothing twice, nothing lost. Problems are logged once each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HealthStatus, PluginContext, PluginMetadata, RunEvent, SourcePlugin, SourceSink } from '../../api/types';
import { errorText } from '../../common/errors';
import { DEFAULT_GLOBS } from './find';
import type { LogDirState } from './logDirRun';
import { TfeventsStateFile } from './stateFile';
import { findTargets, newestChange, pollTargetYielding, targetOfState, targetsIn, type LogTarget } from './targets';

export const TFEVENTS_SOURCE_ID = 'runwatch.tensorboard-logs';

/** The latest wall time an event carries (0 when none). */
function lastTimeOf(e: RunEvent): number {
  if (e.type === 'metrics') {
    let t = 0;
    for (const p of e.points) if (p.time > t) t = p.time;
    return t;
  }
  return 'time' in e ? e.time : 0;
}

/** Whether a captured run streams this log directory (compared as given and with links resolved). */
function isCaptured(t: LogTarget, captured: Set<string>): boolean {
  if (t.kind !== 'tfevents' || !captured.size) return false;
  if (captured.has(t.path)) return true;
  try {
    return captured.has(fs.realpathSync(t.path));
  } catch {
    return false;
  }
}

export interface TfeventsSourceOptions {
  /** The workspace folders. */
  roots: string[];
  /** Where the cursors are kept (a JSON file, e.g. under the store's folder). */
  stateFile: string;
  /** Folders never read, asked on every walk: e.g. the TensorBoard backend's own log folder. */
  excludeDirs?: () => string[];
  /** Log directories that captured runs already stream (resolved), asked before each import. */
  capturedDirs?: () => Iterable<string>;
  /** How long a newly seen, just-changed folder waits for a capture to claim it (default 3 s). */
  settleMs?: number;
  /** How often the workspace is walked for new logs (default 10 s; logs already found are read every poll). */
  walkMs?: number;
  /** Bytes of a file read per stretch (default 8 MiB): each stretch is stored before the next is read. */
  stretchBytes?: number;
  /**
   * Bytes of the first stretch (default 32 KiB, at most stretchBytes); each next one is twice the last,
   * up to stretchBytes. A big log's run and first points are stored (and shown) at once, and the
   * extension host is not blocked reading 8 MiB before the Runs tree or a dashboard can answer.
   */
  firstStretchBytes?: number;
  /** Events a stretch is appended in at most (default 16: 16,000 points of a big log), one append after another. */
  appendEvents?: number;
}

/** A log not imported yet, as the import command lists it. */
export interface LogCandidate {
  key: string;
  kind: LogDirState['kind'] & string;
  path: string;
  name: string;
  project: string;
  /** When its newest file changed (ms since the epoch). */
  changed: number;
}

export interface ImportResult {
  path: string;
  runId?: string;
  points: number;
  problems: number;
  /** Why it was not imported. */
  skipped?: string;
}

export class TfeventsSource implements SourcePlugin {
  readonly metadata: PluginMetadata & { kind: 'source' } = {
    id: TFEVENTS_SOURCE_ID,
    displayName: 'Log folders (TensorBoard, CSV, Trainer state)',
    version: '1.1.0',
    kind: 'source',
    description:
      'Shows each TensorBoard log folder, Lightning/Keras CSV log and Hugging Face trainer_state.json in ' +
      'the workspace as a run: growing ones tailed live, older ones through "Import TensorBoard Logs…".',
    capabilities: ['metrics', 'params', 'live'],
    configSchema: {
      type: 'object',
      properties: {
        globs: {
          type: 'array',
          items: { type: 'string' },
          default: DEFAULT_GLOBS,
          description: 'Workspace-relative globs of the log files to look for.',
        },
        pollMs: { type: 'integer', minimum: 200, default: 2000, description: 'How often growing logs are read.' },
        liveWindowSeconds: {
          type: 'number',
          minimum: 0,
          default: 300,
          description:
            'A log whose files changed this recently is imported and tailed by itself; older ones on demand.',
        },
      },
    },
  };
  private ctx?: PluginContext;
  private sink?: SourceSink;
  private timer?: NodeJS.Timeout;
  /** One poll or import at a time: both move the same cursors. */
  private queue: Promise<unknown> = Promise.resolve();
  private polling = false;
  private states?: TfeventsStateFile;
  private found: LogTarget[] = [];
  private lastWalk = 0;
  private readonly firstSeen = new Map<string, number>();
  private lastError?: string;

  constructor(private readonly o: TfeventsSourceOptions) {}

  initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    return Promise.resolve();
  }

  private get pollMs(): number {
    return typeof this.ctx?.config.pollMs === 'number' ? this.ctx.config.pollMs : 2000;
  }

  private get liveWindowMs(): number {
    const s = this.ctx?.config.liveWindowSeconds;
    return (typeof s === 'number' ? s : 300) * 1000;
  }

  private get globs(): string[] {
    const g = this.ctx?.config.globs;
    return Array.isArray(g) && g.every((x) => typeof x === 'string') ? g : DEFAULT_GLOBS;
  }

  private stateFile(): TfeventsStateFile {
    return (this.states ??= new TfeventsStateFile(this.o.stateFile));
  }

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    this.states = new TfeventsStateFile(this.o.stateFile);
    await this.pollOnce(sink);
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      void this.pollOnce(sink).finally(() => (this.polling = false));
    }, this.pollMs);
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Walks the workspace folders again, when `walkMs` has passed since the last walk (or forced). */
  private walk(force = false): LogTarget[] {
    const now = Date.now();
    if (force || !this.lastWalk || now - this.lastWalk >= (this.o.walkMs ?? 10_000)) {
      this.found = findTargets(this.o.roots, this.globs, this.o.excludeDirs?.() ?? []);
      this.lastWalk = now;
    }
    return this.found;
  }

  private captured(): Set<string> {
    return new Set([...(this.o.capturedDirs?.() ?? [])].map((d) => path.resolve(d)));
  }

  /** One pass: new growing logs imported, imported ones read on from their cursors. */
  pollOnce(sink: SourceSink | undefined = this.sink): Promise<void> {
    if (!sink) return Promise.resolve();
    return this.serial(async () => {
      const states = this.stateFile();
      const now = Date.now();
      const captured = this.captured();
      const targets = new Map<string, LogTarget>();
      for (const [key, s] of states.entries()) targets.set(key, targetOfState(this.o.roots, key, s));
      for (const t of this.walk()) if (!targets.has(t.key)) targets.set(t.key, t);
      let failed: string | undefined;
      for (const t of targets.values()) {
        // A log a capture streams is that run's; reading it too would show it twice.
        if (isCaptured(t, captured)) continue;
        if (!states.get(t.key)) {
          const changed = newestChange(t);
          if (now - changed > this.liveWindowMs) continue; // historic: imported on demand
          const seen = this.firstSeen.get(t.key);
          if (seen === undefined) this.firstSeen.set(t.key, now);
          const settle = this.o.settleMs ?? 3000;
          if (now - changed < settle && (seen === undefined || now - seen < settle)) continue;
        }
        // One log's failure (unreadable, state not writable, the store refusing) must not hold up the others.
        try {
          await this.read(t, sink);
        } catch (e) {
          failed = `${t.path}: ${errorText(e)}`;
          this.ctx?.logger.error(`log folders: ${failed}`);
        }
      }
      this.lastError = failed;
    });
  }

  /** Reads a target on from its cursor; returns the points appended. */
  private async read(t: LogTarget, sink: SourceSink, force = false): Promise<{ points: number; problems: number }> {
    const states = this.stateFile();
    let prev = states.get(t.key);
    let points = 0;
    if (prev?.pending) {
      // A crash (or a refused append) after the stretch was written down: read it again, the same way.
      const { files, ...around } = prev.pending;
      const again = await pollTargetYielding(t, prev, { bounds: files });
      prev = await this.deliver(t, prev, again.state, again.events, around, sink);
    }
    let problems = 0;
    // A big log goes in stretches: the first points are stored (and charted) while the rest is read.
    const maxStretch = this.o.stretchBytes ?? 8 << 20;
    let stretch = Math.min(this.o.firstStretchBytes ?? 32 << 10, maxStretch);
    for (; ; stretch = Math.min(stretch * 2, maxStretch)) {
      const r = await pollTargetYielding(t, prev, {
        staleMs: force ? 0 : this.liveWindowMs,
        maxBytes: stretch,
      });
      for (const p of r.problems) this.ctx?.logger.warn(`${p.file}: ${p.message}`);
      problems += r.problems.length;
      for (const e of r.events) if (e.type === 'metrics') points += e.points.length;
      const next: LogDirState = { ...r.state, kind: t.kind, path: t.path };
      // A log that went quiet is finished; one that grows again after that is running again.
      const newest = newestChange(t);
      const restart = prev?.ended && r.events.length ? Date.now() / 1000 : undefined;
      const open = next.started && (!prev?.ended || restart !== undefined);
      next.lastTime = r.events.reduce((x, e) => Math.max(x, lastTimeOf(e)), prev?.lastTime ?? 0);
      // Ends when its last file changed, or at its last event's wall time if that is later (copied files).
      const endTime = Math.max(newest / 1000, next.lastTime);
      const end = !r.more && open && Date.now() - newest > this.liveWindowMs ? endTime : undefined;
      if (!r.events.length && end === undefined) {
        if (!prev || JSON.stringify(prev) !== JSON.stringify(next)) await states.set(t.key, next);
        prev = next;
      } else prev = await this.deliver(t, prev, next, r.events, { restart, end }, sink);
      if (!r.more) return { points, problems };
    }
  }

  /** Writes the stretch down, appends its events with their seqs, then moves the cursor. */
  private async deliver(
    t: LogTarget,
    prev: LogDirState | undefined,
    next: LogDirState,
    read: RunEvent[],
    around: { restart?: number; end?: number },
    sink: SourceSink,
  ): Promise<LogDirState> {
    const states = this.stateFile();
    const seq0 = prev?.seq ?? 0;
    const files: Record<string, number> = {};
    for (const [f, c] of Object.entries(next.files)) files[f] = c.offset;
    const base: LogDirState = prev ?? { runId: next.runId, started: false, files: {}, notShown: {} };
    await states.set(t.key, { ...base, kind: t.kind, path: t.path, seq: seq0, pending: { files, ...around } });
    const { project, name } = t.identity;
    const events: RunEvent[] = [
      ...(around.restart === undefined
        ? []
        : [{ type: 'run.start' as const, project, name, time: around.restart, params: {}, tags: {}, context: {} }]),
      ...read,
      ...(around.end === undefined
        ? []
        : [{ type: 'run.end' as const, status: 'finished' as const, time: around.end }]),
    ];
    // In pieces: the store encodes an append at once and the series cache folds it at once, so a
    // big stretch in one append would hold the extension host for a tenth of a second or more.
    // A crash between pieces reads the stretch again into the same seqs, which the store skips.
    const items = events.map((event, i) => ({ seq: seq0 + i + 1, event }));
    const piece = Math.max(1, this.o.appendEvents ?? 16);
    let i = 0;
    do {
      await sink.append(next.runId, items.slice(i, i + piece));
      i += piece;
    } while (i < items.length);
    const done: LogDirState = { ...next, kind: t.kind, path: t.path, seq: seq0 + events.length };
    if (around.end !== undefined) done.ended = true;
    else if (around.restart !== undefined) done.ended = false;
    delete done.pending;
    await states.set(t.key, done);
    return done;
  }

  /** Logs found and not imported yet (historic ones), newest first; walks the workspace again. */
  async candidates(): Promise<LogCandidate[]> {
    return this.serial(() => {
      const states = this.stateFile();
      const captured = this.captured();
      const out: LogCandidate[] = [];
      for (const t of this.walk(true)) {
        if (states.get(t.key) || isCaptured(t, captured)) continue;
        out.push({ key: t.key, kind: t.kind, path: t.path, ...t.identity, changed: newestChange(t) });
      }
      return Promise.resolve(out.sort((a, b) => b.changed - a.changed));
    });
  }

  /**
   * Imports the named logs now (each a candidate's path, or any folder: its event files, Trainer
   * state or metrics.csv), and tails them from then on.
   */
  async importPaths(paths: string[]): Promise<ImportResult[]> {
    const sink = this.sink;
    if (!sink) throw new Error('the log-folder source is not running (turned off in runwatch.sources?)');
    const found = new Map(this.walk(true).map((t) => [t.path, t]));
    const results: ImportResult[] = [];
    for (const p of paths) {
      const abs = path.resolve(p);
      const targets = found.has(abs) ? [found.get(abs) as LogTarget] : targetsIn(this.o.roots, abs);
      if (!targets.length) {
        results.push({
          path: abs,
          points: 0,
          problems: 0,
          skipped: 'no event files, metrics.csv or trainer_state.json',
        });
        continue;
      }
      for (const t of targets) {
        if (isCaptured(t, this.captured())) {
          results.push({ path: t.path, points: 0, problems: 0, skipped: 'a captured run already streams it' });
          continue;
        }
        const r = await this.serial(() => this.read(t, sink, true));
        results.push({ path: t.path, runId: t.identity.runId, ...r });
      }
    }
    return results;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  healthCheck(): Promise<HealthStatus> {
    return Promise.resolve(
      this.lastError ? { healthy: false, details: this.lastError } : { healthy: true, details: 'reading' },
    );
  }

  dispose(): Promise<void> {
    return this.stop();
  }
}
