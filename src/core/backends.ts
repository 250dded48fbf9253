// The chosen backends: which are selected with which settings, and for each one its
// lifecycle: activate (when only declared), validate its settings, make its
// processors ready, initialize, run a sink runner from its cursor; stop and start
// again when its settings or its registered instance change. Start and stop of one
// backend are serialized by its lock; different backends never wait on each other.
import type { BackendPlugin, HealthStatus, Plugin } from '../api/types';
import { errorText } from '../common/errors';
import { CursorStore } from './cursorStore';
import type { PluginCalls } from './pluginCalls';
import { toPluginLogger } from './pluginLogger';
import { configuredSpecs, pluginSteps, type ProcessorPool } from './processorPool';
import { buildPipeline, validateProcessors } from './processors';
import type { PluginRegistry } from './registry';
import { SinkRunner, type RecordSource, type SinkOptions } from './sinkRunner';
import { backendStatus, type BackendStatus } from './status';

interface Chosen {
  id: string;
  config: Record<string, unknown>;
  configKey: string;
  plugin?: BackendPlugin;
  runner?: SinkRunner;
  error?: string;
  health?: HealthStatus;
  /** Serializes start/stop of this backend. */
  lock: Promise<void>;
}

export interface BackendsDeps {
  store: RecordSource;
  /** Cursors live in `<stateDir>/cursors`. */
  stateDir: string;
  registry: PluginRegistry;
  calls: PluginCalls;
  processors: ProcessorPool;
  sink: SinkOptions;
  isDisposed: () => boolean;
  changed: () => void;
}

export class Backends {
  private readonly chosen = new Map<string, Chosen>();

  constructor(private readonly d: BackendsDeps) {}

  ids(): string[] {
    return [...this.chosen.keys()];
  }

  has(id: string): boolean {
    return this.chosen.has(id);
  }

  get size(): number {
    return this.chosen.size;
  }

  running(id: string): boolean {
    return !!this.chosen.get(id)?.runner;
  }

  /** A wake-up for every runner: the run has new records. */
  notify(runId: string): void {
    for (const c of this.chosen.values()) c.runner?.notify(runId);
  }

  /**
   * Makes `ids` the chosen backends with these settings; those already running with
   * the same settings keep running. Returns one message per backend that could not start.
   */
  async select(ids: string[], configs: Record<string, Record<string, unknown>>): Promise<string[]> {
    const wanted = new Set(ids);
    const stops: Promise<void>[] = [];
    for (const [id, c] of this.chosen) {
      if (wanted.has(id)) continue;
      this.chosen.delete(id);
      stops.push((c.lock = c.lock.then(() => this.stop(c))));
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const id of wanted) {
      const config = configs[id] ?? {};
      const configKey = JSON.stringify(config);
      const c = this.chosen.get(id);
      if (!c) {
        this.chosen.set(id, { id, config, configKey, lock: Promise.resolve() });
      } else if (c.configKey !== configKey) {
        c.config = config;
        c.configKey = configKey;
        c.lock = c.lock.then(() => this.stop(c));
      }
      starts.push(this.reconcile(id, true));
    }
    await Promise.all(starts);
    return ids.map((id) => this.chosen.get(id)?.error).filter((e): e is string => !!e);
  }

  /** Disposes one chosen backend and starts it again at its cursor; returns why it could not start. */
  async restart(id: string): Promise<string | undefined> {
    const c = this.chosen.get(id);
    if (!c) return undefined;
    c.lock = c.lock.then(() => this.stop(c));
    await this.reconcile(id, true);
    return c.error;
  }

  /** The chosen backends whose processors name processor `id`. */
  usersOf(processorId: string): string[] {
    return [...this.chosen.values()]
      .filter((c) => pluginSteps(configuredSpecs(c.config)).includes(processorId))
      .map((c) => c.id);
  }

  /** Backends that failed to start (for want of a processor, say) try again. */
  retryFailed(ids: string[]): void {
    for (const id of ids) {
      const c = this.chosen.get(id);
      if (c && !c.runner && c.error) void this.reconcile(id);
    }
  }

  async checkHealth(): Promise<void> {
    await Promise.all(
      [...this.chosen.values()].map(async (c) => {
        if (c.plugin && c.runner) c.health = await this.d.calls.health(c.id, c.plugin);
      }),
    );
  }

  status(displayName: (id: string) => string): BackendStatus[] {
    return [...this.chosen.values()].map((c) =>
      backendStatus({
        id: c.id,
        displayName: c.plugin?.metadata.displayName ?? displayName(c.id),
        error: c.error,
        running: !!c.runner,
        health: c.health,
        stats: c.runner?.stats(),
      }),
    );
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.chosen.values()].map((c) => (c.lock = c.lock.then(() => this.stop(c)))));
    this.chosen.clear();
  }

  /** Brings one chosen backend to "running with its current settings", if it can. */
  reconcile(id: string, activate = false): Promise<void> {
    const c = this.chosen.get(id);
    if (!c) return Promise.resolve();
    // A fault anywhere in starting (not only in the plugin's own calls) becomes the
    // backend's error: a rejected lock would leave it "starting…" and deaf to every later change.
    c.lock = c.lock
      .then(() => this.reconcileNow(c, activate))
      .catch((e) => {
        c.error = `start failed: ${errorText(e)}`;
      });
    return c.lock;
  }

  private async reconcileNow(c: Chosen, activate: boolean): Promise<void> {
    const { registry } = this.d;
    if (this.d.isDisposed() || this.chosen.get(c.id) !== c) return;
    const current = registry.get(c.id);
    if (c.runner && c.plugin === current) return;
    if (c.runner) await this.stop(c);
    c.error = undefined;
    let plugin: Plugin | undefined = current;
    if (!plugin && activate) {
      try {
        plugin = await registry.ensureActive(c.id, undefined, 'backend');
      } catch (e) {
        c.error = errorText(e);
        return;
      }
    }
    if (!plugin) {
      c.error = registry.contribution(c.id) ? undefined : `no backend with id "${c.id}" is installed`;
      return;
    }
    if (plugin.metadata.kind !== 'backend') {
      c.error = `"${c.id}" is a ${plugin.metadata.kind} plugin, not a backend`;
      return;
    }
    await this.start(c, plugin as BackendPlugin);
  }

  private async start(c: Chosen, plugin: BackendPlugin): Promise<void> {
    const { calls, processors } = this.d;
    const validation = await calls.validate(c.id, 'backend', plugin.metadata.configSchema, c.config, true);
    const procErrors = validateProcessors(c.config.processors).map((e) => `${e} (backend "${c.id}")`);
    if (!validation.ok || procErrors.length) {
      c.error = `Settings refused: ${[...validation.errors, ...procErrors].join(' ')}`;
      return;
    }
    const specs = configuredSpecs(c.config);
    // Processor plugins it names are activated and initialized first: a backend never
    // starts with a step that can only fail.
    for (const pid of pluginSteps(specs)) {
      try {
        await processors.ready(pid);
      } catch (e) {
        c.error = `processor "${pid}" (in backend "${c.id}"'s processors): ${errorText(e)}`;
        return;
      }
    }
    try {
      await calls.initialize(c.id, plugin, validation.value);
    } catch (e) {
      c.error = `initialize failed: ${errorText(e)}`;
      return;
    }
    c.plugin = plugin;
    c.health = undefined;
    const pipeline = buildPipeline(specs, (pid) => processors.instance(pid));
    const cursors = new CursorStore(this.d.stateDir, c.id);
    const logger = toPluginLogger(calls.logger, c.id);
    c.runner = new SinkRunner(plugin, this.d.store, cursors, pipeline, this.d.sink, logger, this.d.changed);
    c.runner.start();
    calls.logger.info(`backend ${c.id} started`);
  }

  private async stop(c: Chosen): Promise<void> {
    const { runner, plugin } = c;
    c.runner = undefined;
    c.plugin = undefined;
    if (runner) await runner.dispose();
    if (plugin) await this.d.calls.dispose(c.id, plugin);
  }
}
