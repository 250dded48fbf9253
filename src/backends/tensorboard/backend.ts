// The built-in TensorBoard backend: writes each run as TensorBoard event files,
// one folder per run under the log directory (by default `tensorboard/` in the run
// store, so it needs no setting to start), appended after every batch so a
// TensorBoard pointed at the folder shows the run live.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type {
  BackendPlugin,
  HealthStatus,
  MetricPoint,
  PluginContext,
  PluginMetadata,
  RunBatch,
  RunSummary,
} from '../../api/types';
import { writeFileAtomicSync } from '../../common/atomicWrite';
import { ScalarEventEncoder, readRecords } from './proto';

export const TENSORBOARD_BACKEND_ID = 'runwatch.tensorboard';

/** What survives a restart, per run: where its file is and how far it got. */
interface RunState {
  logDir: string;
  file: string;
  /** Highest record offset written (-1: none yet). */
  offset: number;
  /** File size after that record; anything past it on restart is an unacknowledged tail. */
  bytes: number;
}

interface OpenRun {
  state: RunState;
  fd: number | undefined;
}

/** Folder and file names from user text: no separators, no control characters, bounded length. */
export function safeName(text: string, fallback = '_'): string {
  const s = text
    // Control characters are exactly what this must replace.
    // eslint-disable-next-line no-control-regex
    .replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_')
    .trim()
    .slice(0, 100);
  return s === '' || s === '.' || s === '..' ? fallback : s;
}

export function runFolder(logDir: string, run: Pick<RunSummary, 'project' | 'name' | 'runId'>): string {
  const short = run.runId.replace(/-/g, '').slice(0, 8);
  return path.join(logDir, safeName(run.project, 'default'), `${safeName(run.name, 'run')}-${short}`);
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

/** Written by rename so a crash leaves the old state or the new one, never half of one. */
function saveJson(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value), { durable: false });
}

export interface TensorBoardOptions {
  /** The run store's folder: the default log directory is `<storeDir>/tensorboard`. */
  storeDir?: string;
  /** What a relative `logDir` is relative to (the workspace folder); else the store's parent. */
  baseDir?: string;
}

/** The folder written to when `logDir` is not set. */
export function defaultLogDir(opts: TensorBoardOptions): string | undefined {
  return opts.storeDir ? path.join(opts.storeDir, 'tensorboard') : undefined;
}

/** A `logDir` setting as a folder: `~` is the home folder, a relative path is under `base`. */
export function resolveLogDir(text: string, base: string): string {
  const t = text.trim();
  if (t === '~' || t.startsWith('~/') || t.startsWith('~\\')) return path.join(os.homedir(), t.slice(1));
  return path.resolve(base, t);
}

function loadJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class TensorBoardBackend implements BackendPlugin {
  readonly metadata: PluginMetadata & { kind: 'backend' };

  private ctx: PluginContext | undefined;
  private logDir = '';
  private stateDir = '';
  private readonly runs = new Map<string, OpenRun>();
  private encoder = new ScalarEventEncoder();

  constructor(private readonly opts: TensorBoardOptions = {}) {
    const fallback = defaultLogDir(opts);
    this.metadata = {
      id: TENSORBOARD_BACKEND_ID,
      displayName: 'TensorBoard',
      version: '1.0.0',
      kind: 'backend',
      description:
        'Writes every run as TensorBoard event files, one folder per run, read live by `tensorboard --logdir`.',
      capabilities: ['metrics', 'live'],
      configSchema: {
        type: 'object',
        properties: {
          logDir: {
            type: 'string',
            format: 'folder',
            ...(fallback ? { default: fallback } : {}),
            description:
              'Folder to write into; each run goes to <logDir>/<project>/<run name>-<short id>/. ' +
              'Point `tensorboard --logdir` at it. Empty: the tensorboard folder in the run store.',
          },
          float64: {
            type: 'boolean',
            default: false,
            description:
              'Write scalars as float64 (exact) instead of float32. TensorBoard reads float64 only with ' +
              '--load_fast=false; its default loader shows no float64 scalars.',
          },
        },
      },
    };
  }

  async initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    const dir = context.config.logDir;
    const base = this.opts.baseDir ?? (this.opts.storeDir ? path.dirname(this.opts.storeDir) : context.storageDir);
    // Without a store folder (a host that passes none), a folder of the plugin's own storage.
    const fallback = defaultLogDir(this.opts) ?? path.join(context.storageDir, 'event-files');
    this.logDir = typeof dir === 'string' && dir.trim() !== '' ? resolveLogDir(dir, base) : fallback;
    this.encoder = new ScalarEventEncoder({ float64: context.config.float64 === true });
    this.stateDir = path.join(context.storageDir, 'tensorboard-runs');
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  async healthCheck(): Promise<HealthStatus> {
    try {
      fs.mkdirSync(this.logDir, { recursive: true });
      fs.accessSync(this.logDir, fs.constants.W_OK);
      return { healthy: true, details: `writing event files under ${this.logDir}` };
    } catch (err) {
      return { healthy: false, details: `cannot write to ${this.logDir}: ${(err as Error).message}` };
    }
  }

  private stateFile(runId: string): string {
    return path.join(this.stateDir, `${safeName(runId)}.json`);
  }

  /** Opens (or creates) a run's event file, cutting any tail written after the last saved state. */
  private open(run: RunSummary): OpenRun {
    let open = this.runs.get(run.runId);
    if (open && open.fd !== undefined) return open;
    let state = open?.state ?? loadJson<RunState>(this.stateFile(run.runId));
    if (state && state.logDir !== this.logDir) state = undefined; // logDir changed: write the run afresh there
    if (state && fs.existsSync(state.file)) {
      const fd = fs.openSync(state.file, 'a'); // O_APPEND: writes land at the end, after any cut
      const size = fs.fstatSync(fd).size;
      if (size > state.bytes) {
        // Records past the saved state were never acknowledged; they come again, so cut them.
        fs.ftruncateSync(fd, state.bytes);
      } else if (size < state.bytes) {
        // Someone cut the file: keep only what still reads as whole records.
        const valid = readRecords(fs.readFileSync(state.file)).validBytes;
        fs.ftruncateSync(fd, valid);
        state.bytes = valid;
        this.ctx?.logger.warn(
          `TensorBoard: ${state.file} was shorter than written; continuing after its last whole record.`,
        );
      }
      open = { state, fd };
    } else {
      const folder = runFolder(this.logDir, run);
      fs.mkdirSync(folder, { recursive: true });
      const stamp = Math.floor(run.startTime || Date.now() / 1000);
      const file = path.join(folder, `events.out.tfevents.${stamp}.${safeName(os.hostname())}.${process.pid}.runwatch`);
      const fd = fs.openSync(file, 'w');
      this.encoder.fileVersion(run.startTime || Date.now() / 1000);
      const head = this.encoder.take();
      writeAll(fd, head);
      const fresh: RunState = { logDir: this.logDir, file, offset: state?.offset ?? -1, bytes: head.length };
      if (state) {
        this.ctx?.logger.warn(`TensorBoard: the event file of run ${run.runId} is gone; new data goes to ${file}.`);
      }
      saveJson(this.stateFile(run.runId), fresh);
      open = { state: fresh, fd };
    }
    this.runs.set(run.runId, open);
    return open;
  }

  async write(batch: RunBatch): Promise<void> {
    const open = this.open(batch.run);
    const { state } = open;
    const fresh = batch.records.filter((r) => r.offset > state.offset);
    if (fresh.length === 0) return;
    let ended = false;
    for (const rec of fresh) {
      const ev = rec.event;
      if (ev.type === 'metrics') this.encodePoints(ev.points);
      else if (ev.type === 'run.end') ended = true;
    }
    const data = this.encoder.take();
    if (data.length > 0) writeAll(open.fd!, data);
    state.offset = fresh[fresh.length - 1].offset;
    state.bytes += data.length;
    saveJson(this.stateFile(batch.run.runId), state);
    if (ended) this.close(batch.run.runId);
  }

  /** Consecutive points sharing step and wall time become one Event, as TensorBoard's own writers do per `add_scalars`. */
  private encodePoints(points: MetricPoint[]): void {
    let i = 0;
    while (i < points.length) {
      const { step, time } = points[i];
      let j = i + 1;
      while (j < points.length && points[j].step === step && points[j].time === time) j++;
      this.encoder.scalars(
        Math.trunc(step),
        time,
        points.slice(i, j).map((p) => ({ tag: p.key, value: p.value })),
      );
      i = j;
    }
  }

  private close(runId: string): void {
    const open = this.runs.get(runId);
    if (open?.fd !== undefined) fs.closeSync(open.fd);
    this.runs.delete(runId);
  }

  dispose(): void {
    for (const id of [...this.runs.keys()]) this.close(id);
  }
}
