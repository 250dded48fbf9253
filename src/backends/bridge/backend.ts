// The bridge backend kind: a backend whose writes go to a tracker's own Python SDK in a
// child process (src/backends/bridge/process.ts, clients/python/runwatch/bridge/). The
// sink runner's queue, retries, breaker and health apply as for any backend; the cursor
// moves only when `write` resolves, and `write` resolves only when the bridge answers that
// the SDK holds the batch (the bridge saves how far each run got, so a batch sent again
// after a crash or a restart is skipped where the tracker already has it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendPlugin, HealthStatus, PluginContext, PluginMetadata, RunBatch } from '../../api/types';
import { errorText } from '../../common/errors';
import { BridgeProcess, BridgeSetupError, type BridgeSpawn } from './process';
import type { TrackerSpec } from './trackers';

export interface BridgeOptions {
  /** The interpreter to run bridges in (the extension passes resolvePythonInterpreter). */
  interpreter?: () => Promise<string>;
  /** The folder holding `runwatch/bridge/` (default: the bundled clients/python). */
  clientDir?: string;
}

/** `runwatch.python.interpreter`'s stand-in outside VS Code: RUNWATCH_PYTHON, else python3. */
export const defaultInterpreter = async (): Promise<string> => process.env.RUNWATCH_PYTHON || 'python3';

/** The bundled Python client: clients/python above this file (sources) or the bundle (dist). */
export function bundledClientDir(from = __dirname): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'clients', 'python');
    if (fs.existsSync(path.join(candidate, 'runwatch', 'bridge', '__main__.py'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return path.join(from, '..', 'clients', 'python');
    dir = up;
  }
}

/** Bridge writes are answered before the sink runner's own 30 s write timeout gives up on them. */
const WRITE_ANSWER_MS = 28_000;

export class BridgeBackend implements BackendPlugin {
  readonly metadata: PluginMetadata & { kind: 'backend' };
  private ctx!: PluginContext;
  private proc: BridgeProcess | undefined;
  private interpreter = '';
  private readonly told = new Set<string>();

  constructor(
    readonly spec: TrackerSpec,
    private readonly opts: BridgeOptions = {},
  ) {
    this.metadata = {
      id: spec.id,
      displayName: spec.displayName,
      version: '1.0.0',
      kind: 'backend',
      description: spec.description,
      capabilities: ['metrics', 'params', 'tags', 'live'],
      configSchema: spec.configSchema,
    };
  }

  /** The running bridge's process id, if one is running (tests kill it). */
  get bridgePid(): number | undefined {
    return this.proc?.pid;
  }

  get bridgeStarts(): number {
    return this.proc?.starts ?? 0;
  }

  async initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    const stateDir = path.join(context.storageDir, `bridge-${this.spec.tracker}`);
    fs.mkdirSync(stateDir, { recursive: true });
    const config = { ...context.config };
    const log = { info: (m: string) => context.logger.info(m), warn: (m: string) => context.logger.warn(m) };
    this.proc = new BridgeProcess(() => this.spawnSpec(stateDir, config), log, this.spec.displayName);
  }

  private async spawnSpec(stateDir: string, config: Record<string, unknown>): Promise<BridgeSpawn> {
    this.interpreter = await (this.opts.interpreter ?? defaultInterpreter)();
    const clientDir = this.opts.clientDir ?? bundledClientDir();
    const env: NodeJS.ProcessEnv = { ...process.env };
    // The person's own PYTHONPATH stays after ours: their SDK install may live there.
    env.PYTHONPATH = [clientDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
    env.PYTHONUNBUFFERED = '1';
    env.RUNWATCH_CAPTURE = '0';
    Object.assign(env, this.spec.env(config));
    // Secrets reach the SDK through the environment only: never the hello frame, settings or files.
    for (const [prop, name] of Object.entries(this.spec.secretEnv)) {
      const value = await this.ctx.secrets.get(prop);
      if (value) env[name] = value;
    }
    return {
      interpreter: this.interpreter,
      args: ['-m', 'runwatch.bridge', this.spec.tracker, stateDir],
      env,
      cwd: stateDir,
      hello: { op: 'hello', config },
    };
  }

  private setupError(err: unknown): Error {
    if (!(err instanceof BridgeSetupError)) return err instanceof Error ? err : new Error(errorText(err));
    const m = err.message;
    if (/not installed/.test(m)) {
      return new BridgeSetupError(
        `${this.spec.displayName}: the ${this.spec.pip} package is not installed in ${this.interpreter}; ` +
          `run \`${this.interpreter} -m pip install ${this.spec.pip}\` or choose another interpreter ` +
          '(runwatch.python.interpreter)',
      );
    }
    return new BridgeSetupError(`${this.spec.displayName}: ${m}`);
  }

  async healthCheck(): Promise<HealthStatus> {
    try {
      const reply = await this.proc!.request({ op: 'health' }, 60_000);
      if (reply.ok === true) return { healthy: true, details: `${String(reply.details)} (${this.interpreter})` };
      return { healthy: false, details: `${this.spec.displayName}: ${String(reply.error)}` };
    } catch (err) {
      return { healthy: false, details: errorText(this.setupError(err)) };
    }
  }

  async write(batch: RunBatch): Promise<void> {
    let reply;
    try {
      reply = await this.proc!.request({ op: 'write', run: batch.run, records: batch.records }, WRITE_ANSWER_MS);
    } catch (err) {
      const e = this.setupError(err);
      if (e instanceof BridgeSetupError) this.tellOnce(e.message, e.message);
      throw e;
    }
    if (reply.ok !== true) throw new Error(`${this.spec.displayName}: ${String(reply.error)}`);
    const last = batch.records[batch.records.length - 1]?.offset ?? -1;
    if (typeof reply.offset !== 'number' || reply.offset < last)
      throw new Error(`${this.spec.displayName} bridge acknowledged up to ${String(reply.offset)}, not ${last}`);
    for (const r of Array.isArray(reply.refused) ? (reply.refused as { key: string; message: string }[]) : []) {
      this.tellOnce(`refused:${batch.run.runId}:${r.key}`, `run ${batch.run.name}: "${r.key}" skipped: ${r.message}`);
    }
  }

  private tellOnce(key: string, message: string): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    this.ctx.notify(message);
  }

  async dispose(): Promise<void> {
    await this.proc?.dispose();
    this.proc = undefined;
  }
}
