// The hub: plugin registry + one sink runner per chosen backend + health. It is
// headless (no vscode import): the extension wires it to settings, SecretStorage
// and views, and the collector CLI runs it with `--backends` for tests.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  BackendPlugin,
  ConfigSchema,
  ContributedPlugin,
  Disposable,
  HealthStatus,
  Plugin,
  PluginContext,
  PluginLogger,
  PluginSecrets,
  ProcessorPlugin,
  RunEvent,
  SourcePlugin,
  SourceSink,
} from '../api/types';
import type { BreakerState } from './breaker';
import { validateConfig } from './configSchema';
import { CursorStore } from './cursorStore';
import { Emitter } from './emitter';
import { buildPipeline, DEFAULT_PROCESSORS, validateProcessors, type ProcessorSpec } from './processors';
import { PluginRegistry, type PluginEntry } from './registry';
import { withTimeout } from './retry';
import { DEFAULT_SINK_OPTIONS, msg, SinkRunner, type RunLog, type SinkOptions } from './sinkRunner';

export type { RunLog } from './sinkRunner';
export type { PluginEntry } from './registry';

export interface BackendStatus {
  id: string;
  displayName: string;
  healthy: boolean;
  details: string;
  /** Records in the run log not yet delivered to this backend. */
  lag: number;
  /** Records read ahead and waiting in memory. */
  queueDepth: number;
  lastError?: string;
  breaker: BreakerState;
  /** Records delivered since the backend was (re)started. */
  delivered: number;
}

/** A source or processor plugin as the Backends view shows it. */
export interface PluginStatus {
  id: string;
  kind: 'source' | 'processor';
  displayName: string;
  /**
   * running: initialized (and, for a source, started); off: a source turned off in
   * settings; idle: a processor no chosen backend names; starting; failed.
   */
  state: 'running' | 'off' | 'idle' | 'starting' | 'failed';
  healthy: boolean;
  details: string;
  lastError?: string;
  /** Processors: the chosen backends whose `processors` name it. */
  usedBy?: string[];
}

/** Per-plugin settings, keyed by plugin id (from `runwatch.sources` / `runwatch.processorConfig`). */
export interface PluginSettings {
  /** A source's settings; `enabled: false` turns it off, the other keys go to its config schema. */
  sources?: Record<string, Record<string, unknown>>;
  processors?: Record<string, Record<string, unknown>>;
}

/** The store as the hub uses it: the run log, plus `append` for source plugins. */
export interface HubStore extends RunLog {
  append?(runId: string, items: { seq?: number; event: RunEvent }[]): Promise<unknown>;
}

export interface HubOptions {
  store: HubStore;
  /** Where cursors and plugin storage live; persists across restarts. */
  stateDir: string;
  logger: PluginLogger;
  /** Secrets for all plugins; keys are `<pluginId>/<property>` (see `secretKey`). */
  secrets?: PluginSecrets;
  sink?: Partial<SinkOptions>;
  /** How long `initialize` and `healthCheck` may take. */
  pluginCallTimeoutMs?: number;
  /** Shows a plugin's `notify` message to the person (the extension: a warning notification). */
  notify?: (pluginId: string, message: string) => void;
}

/** The key under which a plugin's secret property is stored. */
export function secretKey(pluginId: string, property: string): string {
  return `${pluginId}/${property}`;
}

interface Selected {
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

/** A source or processor the hub runs: the instance it initialized, and with which settings. */
interface Running<P extends SourcePlugin | ProcessorPlugin> {
  id: string;
  kind: P['metadata']['kind'];
  /** Initialized (a source: also started) and not yet disposed. */
  plugin?: P;
  configKey?: string;
  error?: string;
  health?: HealthStatus;
  /** Serializes start/stop of this plugin. */
  lock: Promise<void>;
  /** Sources: stops it and waits for its last appends. */
  stopSink?: () => Promise<void>;
}

export class Hub implements Disposable {
  readonly registry = new PluginRegistry();
  private readonly selected = new Map<string, Selected>();
  private readonly statusChanged = new Emitter<void>();
  private readonly sources = new Map<string, Running<SourcePlugin>>();
  /** Plugin messages already shown (notify shows each once while the hub lives). */
  private readonly notified = new Set<string>();
  private readonly processors = new Map<string, Running<ProcessorPlugin>>();
  private settings: Required<PluginSettings> = { sources: {}, processors: {} };
  private readonly subscriptions: Disposable[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly sinkOptions: SinkOptions;
  private readonly callTimeoutMs: number;

  /** Fires (coalesced) when a backend's health, lag, queue or error changes. */
  readonly onDidChangeStatus = this.statusChanged.event;

  constructor(private readonly opts: HubOptions) {
    this.sinkOptions = { ...DEFAULT_SINK_OPTIONS, ...opts.sink };
    this.callTimeoutMs = opts.pluginCallTimeoutMs ?? 30_000;
    // Wake-ups only: each runner reads the data itself from its cursor.
    this.subscriptions.push(
      opts.store.onDidAppend((runId) => {
        for (const s of this.selected.values()) s.runner?.notify(runId);
        // Lag grows even while a backend is stuck; views should see it.
        if (this.selected.size) this.fireStatus();
      }),
      this.registry.onDidChange((id) => {
        if (this.selected.has(id)) void this.reconcile(id);
        const kind = this.registry.get(id)?.metadata.kind ?? this.registry.contribution(id)?.kind;
        if (kind === 'source' || this.sources.has(id)) void this.reconcileSource(id);
        if (this.processors.has(id)) void this.processorChanged(id);
        this.fireStatus();
      }),
    );
  }

  /**
   * Registers a built-in or API plugin. A source starts at once (unless turned off in
   * its settings); a backend when selected; a processor when a chosen backend names it.
   */
  registerPlugin(plugin: Plugin, origin: 'builtin' | 'api' = 'api'): Disposable {
    // The registry's change event starts a source; unregistering stops and disposes it.
    return this.registry.register(plugin, origin);
  }

  /** Lists a plugin a companion declared in its manifest; `activate` starts that extension. */
  registerContributed(meta: ContributedPlugin, activate: () => Promise<void>, extensionId?: string): Disposable {
    return this.registry.contribute(meta, activate, extensionId);
  }

  listPlugins(kind?: PluginEntry['kind']): PluginEntry[] {
    return this.registry.list(kind);
  }

  /**
   * Sets the sources' and processors' settings: sources turned off stop, the others
   * (re)start with the new settings (contributed ones are activated), and processors
   * in use are initialized again when theirs changed. Rejects with one line per
   * problem, naming the plugin and the field; everything else runs regardless.
   */
  async configurePlugins(settings: PluginSettings): Promise<void> {
    this.settings = { sources: { ...settings.sources }, processors: { ...settings.processors } };
    const sourceIds = new Set([...this.sources.keys(), ...this.registry.list('source').map((e) => e.id)]);
    await Promise.all([...sourceIds].map((id) => this.reconcileSource(id)));
    await Promise.all([...this.processors.keys()].filter((id) => this.processorUsers(id).length).map((id) => this.readyProcessor(id).catch(() => undefined)));
    this.fireStatus();
    // A processor whose backend could not start is reported with that backend instead.
    const running = [...this.processors.values()].filter((r) => this.processorUsers(r.id).some((b) => this.selected.get(b)?.runner));
    const errors = [...this.sources.values(), ...running].map((r) => r.error).filter((e): e is string => !!e);
    if (errors.length) throw new Error(errors.join('\n'));
  }

  selectedIds(): string[] {
    return [...this.selected.keys()];
  }

  /**
   * Makes `ids` the chosen backends, each with its settings from `configs[id]`.
   * Backends already running with the same settings keep running. Rejects with one
   * line per problem (naming the backend and the field) when some could not start;
   * the others run regardless.
   */
  async selectBackends(ids: string[], configs: Record<string, Record<string, unknown>> = {}): Promise<void> {
    const wanted = new Set(ids);
    const stops: Promise<void>[] = [];
    for (const [id, s] of this.selected) {
      if (!wanted.has(id)) {
        this.selected.delete(id);
        stops.push((s.lock = s.lock.then(() => this.stop(s))));
      }
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const id of wanted) {
      const config = configs[id] ?? {};
      const configKey = JSON.stringify(config);
      let s = this.selected.get(id);
      if (!s) {
        s = { id, config, configKey, lock: Promise.resolve() };
        this.selected.set(id, s);
      } else if (s.configKey !== configKey) {
        s.config = config;
        s.configKey = configKey;
        s.lock = s.lock.then(() => this.stop(s!));
      }
      starts.push(this.reconcile(id, true));
    }
    await Promise.all(starts);
    await this.releaseUnusedProcessors();
    this.fireStatus();
    const errors = ids.map((id) => this.selected.get(id)?.error).filter((e): e is string => !!e);
    if (errors.length) throw new Error(errors.join('\n'));
  }

  /** Restarts one chosen backend (after its secrets changed, say): dispose, initialize again, resume at its cursor. */
  async restartBackend(id: string): Promise<void> {
    const s = this.selected.get(id);
    if (!s) return;
    s.lock = s.lock.then(() => this.stop(s));
    await this.reconcile(id, true);
    this.fireStatus();
    if (s.error) throw new Error(s.error);
  }

  status(): BackendStatus[] {
    return [...this.selected.values()].map((s) => {
      const stats = s.runner?.stats();
      const displayName = s.plugin?.metadata.displayName ?? this.registry.list().find((e) => e.id === s.id)?.displayName ?? s.id;
      const breaker = stats?.breaker ?? 'closed';
      let healthy = !s.error && !!s.runner && breaker === 'closed' && (s.health?.healthy ?? true);
      let details: string;
      if (s.error) details = s.error;
      else if (!s.runner) details = 'starting…';
      else if (breaker !== 'closed') details = `circuit ${breaker} after ${stats?.consecutiveFailures ?? 0} failed writes`;
      else if (s.health) details = s.health.details;
      else details = stats && stats.consecutiveFailures > 0 ? `retrying (${stats.consecutiveFailures} failed writes)` : 'ok';
      if (stats && stats.consecutiveFailures > 0) healthy = false;
      return {
        id: s.id,
        displayName,
        healthy,
        details,
        lag: stats?.lag ?? 0,
        queueDepth: stats?.queueDepth ?? 0,
        lastError: s.error ?? stats?.lastError,
        breaker,
        delivered: stats?.delivered ?? 0,
      };
    });
  }

  /**
   * Runs the `healthCheck` (with a time limit) of every chosen backend, running source
   * and processor in use, and returns the backends' new status (`pluginStatus()` has
   * the others').
   */
  async checkHealth(): Promise<BackendStatus[]> {
    await Promise.all([
      ...[...this.selected.values()].map(async (s) => {
        if (!s.plugin || !s.runner) return;
        s.health = await this.health(s.id, s.plugin);
      }),
      ...[...this.sources.values(), ...this.processors.values()].map((r) => this.checkRunning(r)),
    ]);
    this.fireStatus();
    return this.status();
  }

  /** Every known source and every processor a chosen backend names or that is registered. */
  pluginStatus(): PluginStatus[] {
    const out: PluginStatus[] = [];
    const known = new Map(this.registry.list().map((e) => [e.id, e]));
    const sourceIds = new Set([...this.registry.list('source').map((e) => e.id), ...this.sources.keys()]);
    for (const id of sourceIds) {
      const r = this.sources.get(id);
      const displayName = known.get(id)?.displayName ?? id;
      const base = { id, kind: 'source' as const, displayName, lastError: r?.error };
      if (!this.sourceEnabled(id)) out.push({ ...base, state: 'off', healthy: true, details: 'turned off in runwatch.sources' });
      else if (r?.error) out.push({ ...base, state: 'failed', healthy: false, details: r.error });
      else if (r?.plugin) out.push({ ...base, state: 'running', healthy: r.health?.healthy ?? true, details: r.health?.details ?? 'running' });
      else out.push({ ...base, state: 'starting', healthy: true, details: 'starting…' });
    }
    const processorIds = new Set([...this.registry.list('processor').map((e) => e.id), ...this.processors.keys()]);
    for (const id of processorIds) {
      const r = this.processors.get(id);
      const usedBy = this.processorUsers(id);
      const base = { id, kind: 'processor' as const, displayName: known.get(id)?.displayName ?? id, lastError: r?.error, usedBy };
      if (!usedBy.length) out.push({ ...base, state: 'idle', healthy: true, details: 'not used by a chosen backend' });
      else if (r?.error) out.push({ ...base, state: 'failed', healthy: false, details: r.error });
      else if (r?.plugin) out.push({ ...base, state: 'running', healthy: r.health?.healthy ?? true, details: r.health?.details ?? 'running' });
      else out.push({ ...base, state: 'starting', healthy: true, details: 'starting…' });
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.displayName.localeCompare(b.displayName));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.subscriptions) d.dispose();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    // Sources first, so what they produced is in the log before the backends save their cursors.
    await Promise.all([...this.sources.values()].map((r) => (r.lock = r.lock.then(() => this.stopRunning(r)))));
    this.sources.clear();
    await Promise.all([...this.selected.values()].map((s) => (s.lock = s.lock.then(() => this.stop(s)))));
    this.selected.clear();
    await Promise.all([...this.processors.values()].map((r) => (r.lock = r.lock.then(() => this.stopRunning(r)))));
    this.processors.clear();
    this.statusChanged.dispose();
    this.registry.dispose();
  }

  // -- internals --------------------------------------------------------------

  /** Brings one chosen backend to "running with its current settings", if it can. */
  private reconcile(id: string, activate = false): Promise<void> {
    const s = this.selected.get(id);
    if (!s) return Promise.resolve();
    s.lock = s.lock.then(async () => {
      if (this.disposed || this.selected.get(id) !== s) return;
      const current = this.registry.get(id);
      if (s.runner && s.plugin === current) return;
      if (s.runner) await this.stop(s);
      s.error = undefined;
      let plugin: Plugin | undefined = current;
      if (!plugin && activate) {
        try {
          plugin = await this.registry.ensureActive(id, undefined, 'backend');
        } catch (e) {
          s.error = msg(e);
          return;
        }
      }
      if (!plugin) {
        s.error = this.registry.contribution(id) ? undefined : `no backend with id "${id}" is installed`;
        return;
      }
      if (plugin.metadata.kind !== 'backend') {
        s.error = `"${id}" is a ${plugin.metadata.kind} plugin, not a backend`;
        return;
      }
      await this.start(s, plugin as BackendPlugin);
    });
    return s.lock;
  }

  private async start(s: Selected, plugin: BackendPlugin): Promise<void> {
    const validation = await this.validate(s.id, 'backend', plugin.metadata.configSchema, s.config, true);
    const procErrors = validateProcessors(s.config.processors).map((e) => `${e} (backend "${s.id}")`);
    if (!validation.ok || procErrors.length) {
      s.error = `Settings refused: ${[...validation.errors, ...procErrors].join(' ')}`;
      return;
    }
    const specs = (s.config.processors as ProcessorSpec[] | undefined) ?? DEFAULT_PROCESSORS;
    // Processor plugins it names are activated and initialized first: a backend never
    // starts with a step that can only fail.
    for (const pid of pluginSteps(specs)) {
      try {
        await this.readyProcessor(pid);
      } catch (e) {
        s.error = `processor "${pid}" (in backend "${s.id}"'s processors): ${msg(e)}`;
        return;
      }
    }
    try {
      await withTimeout(Promise.resolve().then(() => plugin.initialize(this.context(s.id, validation.value))), this.callTimeoutMs, `${s.id} initialize`);
    } catch (e) {
      s.error = `initialize failed: ${msg(e)}`;
      return;
    }
    s.plugin = plugin;
    s.health = undefined;
    const pipeline = buildPipeline(specs, (pid) => {
      const r = this.processors.get(pid);
      // Only the instance that was initialized, and only while it is still the registered one.
      if (r?.plugin && r.plugin === this.registry.get(pid)) return r.plugin;
      throw new Error(`processor plugin "${pid}" is not ready: ${r?.error ?? (this.registry.get(pid) ? 'starting' : 'not registered')}`);
    });
    const cursors = new CursorStore(this.opts.stateDir, s.id);
    s.runner = new SinkRunner(plugin, this.opts.store, cursors, pipeline, this.sinkOptions, prefixed(this.opts.logger, s.id), () => this.fireStatus());
    s.runner.start();
    this.opts.logger.info(`backend ${s.id} started`);
  }

  /** Checks a config against a schema, with the secrets SecretStorage holds for that plugin. */
  private async validate(id: string, kind: 'backend' | 'source' | 'processor', schema: ConfigSchema | undefined, config: Record<string, unknown>, named = false) {
    const present = new Set<string>();
    for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
      if (prop.secret && (await this.opts.secrets?.get(secretKey(id, name)))) present.add(name);
    }
    return validateConfig(schema, config, { pluginId: named ? id : undefined, kind, presentSecrets: present });
  }

  private async stop(s: Selected): Promise<void> {
    const { runner, plugin } = s;
    s.runner = undefined;
    s.plugin = undefined;
    if (runner) await runner.dispose();
    if (plugin) {
      try {
        await withTimeout(Promise.resolve().then(() => plugin.dispose()), this.callTimeoutMs, `${s.id} dispose`);
      } catch (e) {
        this.opts.logger.warn(`backend ${s.id}: dispose failed: ${msg(e)}`);
      }
    }
  }

  private context(pluginId: string, config: Record<string, unknown>): PluginContext {
    const storageDir = path.join(this.opts.stateDir, 'plugins', encodeURIComponent(pluginId));
    fs.mkdirSync(storageDir, { recursive: true });
    const secrets = this.opts.secrets;
    const logger = prefixed(this.opts.logger, pluginId);
    return {
      config: Object.freeze({ ...config }),
      secrets: { get: async (key) => secrets?.get(secretKey(pluginId, key)) },
      logger,
      notify: (message) => {
        if (this.notified.has(`${pluginId}\0${message}`)) return;
        this.notified.add(`${pluginId}\0${message}`);
        logger.warn(message);
        this.opts.notify?.(pluginId, message);
      },
      storageDir,
    };
  }

  private sourceEnabled(id: string): boolean {
    return this.settings.sources[id]?.enabled !== false;
  }

  /** Brings one source to "running with its current settings", or stopped when it is off or gone. */
  private reconcileSource(id: string): Promise<void> {
    let r = this.sources.get(id);
    if (!r) {
      r = { id, kind: 'source', lock: Promise.resolve() };
      this.sources.set(id, r);
    }
    const state = r;
    state.lock = state.lock.then(async () => {
      if (this.disposed || this.sources.get(id) !== state) return;
      const { enabled, ...config } = this.settings.sources[id] ?? {};
      const configKey = JSON.stringify(config);
      let current = this.registry.get(id);
      if (state.plugin && (state.plugin !== current || enabled === false || state.configKey !== configKey)) await this.stopRunning(state);
      if (enabled === false) {
        state.error = undefined;
        return;
      }
      if (state.plugin) return;
      if (!current) {
        const declared = this.registry.contribution(id);
        if (!declared) {
          // Unregistered and no longer declared: forget it.
          if (this.sources.get(id) === state) this.sources.delete(id);
          return;
        }
        if (declared.kind !== 'source') return;
        try {
          // Its extension registers it; that change comes back here, queued behind this.
          current = await this.registry.ensureActive(id, undefined, 'source');
        } catch (e) {
          state.error = msg(e);
          return;
        }
        if (this.disposed) return;
      }
      if (current.metadata.kind !== 'source') {
        state.error = `"${id}" is declared as a source but registered as a ${current.metadata.kind} plugin`;
        return;
      }
      await this.startSource(state, current as SourcePlugin, config, configKey);
    }).catch((e: unknown) => {
      // A rejected lock would block every later start and stop of this source.
      state.error = `source "${id}": ${msg(e)}`;
    });
    return state.lock.then(() => this.fireStatus());
  }

  private async startSource(state: Running<SourcePlugin>, plugin: SourcePlugin, config: Record<string, unknown>, configKey: string): Promise<void> {
    const id = state.id;
    state.error = undefined;
    state.health = undefined;
    const append = this.opts.store.append?.bind(this.opts.store);
    if (!append) {
      state.error = `source "${id}": this store cannot take appends; not started`;
      return this.opts.logger.warn(state.error);
    }
    if (!(await this.initializePlugin(state, plugin, config))) return;
    // Appends for one run are chained so its events keep their order.
    const chains = new Map<string, Promise<unknown>>();
    let open = true;
    let warnedClosed = false;
    const push = (runId: string, event: RunEvent) => {
      if (!open) {
        if (!warnedClosed) this.opts.logger.warn(`source ${id}: events emitted after stop() are dropped`);
        warnedClosed = true;
        return;
      }
      const next = (chains.get(runId) ?? Promise.resolve())
        .then(() => append(runId, [{ event }]))
        .catch((e: unknown) => this.opts.logger.error(`source ${id}: append to ${runId} failed: ${msg(e)}`));
      chains.set(runId, next);
    };
    const sink: SourceSink = {
      startRun: (r) => {
        const runId = r.runId ?? crypto.randomUUID();
        push(runId, { type: 'run.start', project: r.project, name: r.name, time: Date.now() / 1000, params: r.params ?? {}, tags: r.tags ?? {}, context: { source: id } });
        return runId;
      },
      emit: push,
    };
    state.stopSink = async () => {
      try {
        await withTimeout(Promise.resolve().then(() => plugin.stop()), this.callTimeoutMs, `${id} stop`);
      } catch (e) {
        this.opts.logger.warn(`source ${id}: stop failed: ${msg(e)}`);
      }
      open = false;
      await Promise.all(chains.values());
    };
    try {
      await withTimeout(Promise.resolve().then(() => plugin.start(sink)), this.callTimeoutMs, `${id} start`);
    } catch (e) {
      state.error = `source "${id}": start failed: ${msg(e)}`;
      this.opts.logger.error(state.error);
      await this.stopRunning(state, state.error);
      return;
    }
    state.configKey = configKey;
    this.opts.logger.info(`source ${id} started`);
    // Not awaited: a slow health check must not hold up the next start or stop.
    void this.checkRunning(state);
  }

  /** Validates the settings and calls `initialize`; on failure records why and returns false. */
  private async initializePlugin<P extends SourcePlugin | ProcessorPlugin>(state: Running<P>, plugin: P, config: Record<string, unknown>): Promise<boolean> {
    const where = `${state.kind} "${state.id}"`;
    const validation = await this.validate(state.id, state.kind, plugin.metadata.configSchema, config);
    // `processors` is reserved for backends; validateConfig lets it through for everyone.
    if ('processors' in config) validation.errors.push('"processors" is a backend setting, not one of this plugin.');
    if (validation.errors.length) {
      state.error = `Settings refused for ${where}: ${validation.errors.join(' ')}`;
      this.opts.logger.warn(state.error);
      return false;
    }
    try {
      await withTimeout(Promise.resolve().then(() => plugin.initialize(this.context(state.id, validation.value))), this.callTimeoutMs, `${state.id} initialize`);
    } catch (e) {
      state.error = `${where}: initialize failed: ${msg(e)}`;
      this.opts.logger.error(state.error);
      // A half-initialized plugin may hold resources.
      await this.disposePlugin(state.id, plugin);
      return false;
    }
    state.plugin = plugin;
    return true;
  }

  /** Stops (a source) and disposes a running source or processor; keeps `error` when given. */
  private async stopRunning(state: Running<SourcePlugin> | Running<ProcessorPlugin>, error?: string): Promise<void> {
    const { plugin, stopSink } = state;
    state.plugin = undefined;
    state.stopSink = undefined;
    state.configKey = undefined;
    state.health = undefined;
    state.error = error;
    if (stopSink) await stopSink();
    if (plugin) {
      await this.disposePlugin(state.id, plugin);
      this.opts.logger.info(`${state.kind} ${state.id} stopped`);
    }
  }

  private async disposePlugin(id: string, plugin: Plugin): Promise<void> {
    try {
      await withTimeout(Promise.resolve().then(() => plugin.dispose()), this.callTimeoutMs, `${id} dispose`);
    } catch (e) {
      this.opts.logger.warn(`${plugin.metadata.kind} ${id}: dispose failed: ${msg(e)}`);
    }
  }

  private async health(id: string, plugin: Plugin): Promise<HealthStatus> {
    try {
      return await withTimeout(Promise.resolve().then(() => plugin.healthCheck()), this.callTimeoutMs, `${id} health check`);
    } catch (e) {
      return { healthy: false, details: `health check failed: ${msg(e)}` };
    }
  }

  private async checkRunning(state: Running<SourcePlugin> | Running<ProcessorPlugin>): Promise<void> {
    const plugin = state.plugin;
    if (!plugin) return;
    const h = await this.health(state.id, plugin);
    // Dropped when the plugin was stopped or replaced meanwhile.
    if (state.plugin === plugin) state.health = h;
    this.fireStatus();
  }

  /** The chosen backends whose processors name processor `id`. */
  private processorUsers(id: string): string[] {
    return [...this.selected.values()].filter((s) => pluginSteps(configuredSpecs(s.config)).includes(id)).map((s) => s.id);
  }

  /**
   * The processor, activated (when only contributed), initialized with its current
   * settings; re-initialized when those changed or another instance was registered.
   * Throws why it cannot be.
   */
  private readyProcessor(id: string): Promise<ProcessorPlugin> {
    let r = this.processors.get(id);
    if (!r) {
      r = { id, kind: 'processor', lock: Promise.resolve() };
      this.processors.set(id, r);
    }
    const state = r;
    const ready = state.lock.then(async (): Promise<ProcessorPlugin> => {
      if (this.disposed) throw new Error('Runwatch is shutting down');
      const config = this.settings.processors[id] ?? {};
      const configKey = JSON.stringify(config);
      let plugin: Plugin;
      try {
        plugin = await this.registry.ensureActive(id, undefined, 'processor');
      } catch (e) {
        await this.stopRunning(state, msg(e));
        throw e;
      }
      if (plugin.metadata.kind !== 'processor') {
        await this.stopRunning(state, `"${id}" is a ${plugin.metadata.kind} plugin, not a processor`);
        throw new Error(state.error);
      }
      if (state.plugin === plugin && state.configKey === configKey) return plugin as ProcessorPlugin;
      await this.stopRunning(state);
      if (!(await this.initializePlugin(state, plugin as ProcessorPlugin, config))) throw new Error(state.error);
      state.configKey = configKey;
      this.opts.logger.info(`processor ${id} started`);
      void this.checkRunning(state);
      return plugin as ProcessorPlugin;
    });
    state.lock = ready.then(
      () => this.fireStatus(),
      () => this.fireStatus(),
    );
    return ready;
  }

  /** A processor in our table was registered, replaced or unregistered. */
  private async processorChanged(id: string): Promise<void> {
    const state = this.processors.get(id);
    if (!state) return;
    const current = this.registry.get(id);
    if (state.plugin && state.plugin !== current) {
      // The instance we initialized is gone (its extension stopped): dispose it.
      state.lock = state.lock.then(() => this.stopRunning(state, current ? undefined : `processor "${id}" was unregistered`));
      await state.lock;
    }
    if (!current || !this.processorUsers(id).length) return;
    await this.readyProcessor(id).catch(() => undefined);
    // Backends that could not start for want of this processor try again.
    for (const bid of this.processorUsers(id)) {
      const s = this.selected.get(bid);
      if (s && !s.runner && s.error) void this.reconcile(bid);
    }
  }

  /** Disposes processors no chosen backend names any more. */
  private async releaseUnusedProcessors(): Promise<void> {
    await Promise.all(
      [...this.processors.values()]
        .filter((r) => !this.processorUsers(r.id).length)
        .map(async (r) => {
          r.lock = r.lock.then(() => this.stopRunning(r));
          await r.lock;
          if (!this.processorUsers(r.id).length && !r.plugin) this.processors.delete(r.id);
        }),
    );
  }

  private fireStatus(): void {
    // Coalesced: during ingest every delivered batch changes the numbers.
    if (this.statusTimer || this.disposed) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      this.statusChanged.fire();
    }, 250);
  }
}

function configuredSpecs(config: Record<string, unknown>): ProcessorSpec[] {
  return Array.isArray(config.processors) ? (config.processors as ProcessorSpec[]) : DEFAULT_PROCESSORS;
}

/** The processor plugin ids a pipeline names, in order, once each. */
function pluginSteps(specs: readonly ProcessorSpec[]): string[] {
  return [...new Set(specs.flatMap((p) => (p && p.type === 'plugin' && typeof p.id === 'string' ? [p.id] : [])))];
}

function prefixed(logger: PluginLogger, id: string): PluginLogger {
  return {
    trace: (m, ...a) => logger.trace(`[${id}] ${m}`, ...a),
    debug: (m, ...a) => logger.debug(`[${id}] ${m}`, ...a),
    info: (m, ...a) => logger.info(`[${id}] ${m}`, ...a),
    warn: (m, ...a) => logger.warn(`[${id}] ${m}`, ...a),
    error: (m, ...a) => logger.error(m instanceof Error ? `[${id}] ${m.message}` : `[${id}] ${m}`, ...a),
  };
}

// ---------------------------------------------------------------------------
// Headless use (the collector CLI's `--backends`, tests): no VS Code, secrets from
// the environment, test backends loaded from module paths.

export interface BackendsFile {
  selected: string[];
  config?: Record<string, Record<string, unknown>>;
  /** Sink runner tuning (batch size, timeouts, breaker); tests use it to make batches small. */
  sink?: Partial<SinkOptions>;
  /** As the `runwatch.sources` setting: per source id, its settings and `enabled`. */
  sources?: Record<string, Record<string, unknown>>;
  /** As the `runwatch.processorConfig` setting. */
  processorConfig?: Record<string, Record<string, unknown>>;
}

export interface HeadlessHubOptions {
  store: HubStore;
  stateDir: string;
  /** JSON file `{ "selected": [ids], "config": { id: {...} } }`. */
  backendsFile?: string;
  /** Built-in plugins to register (the CLI passes `builtinBackends()`). */
  builtins?: Plugin[];
  /**
   * Module paths loaded with `require`; each exports `createPlugins()`, `plugins`,
   * `plugin` or a default export (a plugin or a list of plugins).
   */
  pluginModules?: string[];
  env?: NodeJS.ProcessEnv;
  logger?: PluginLogger;
  sink?: Partial<SinkOptions>;
}

/** Secrets from the environment: property `token` of backend `mlflow` is `RUNWATCH_SECRET_MLFLOW_TOKEN`. */
export function envSecrets(env: NodeJS.ProcessEnv): PluginSecrets {
  return {
    get: async (key) => {
      const name = `RUNWATCH_SECRET_${key.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
      return env[name];
    },
  };
}

export function readBackendsFile(file: string): BackendsFile {
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const f = raw as BackendsFile;
  if (typeof raw !== 'object' || raw === null || !Array.isArray(f.selected) || !f.selected.every((s) => typeof s === 'string'))
    throw new Error(`${file}: "selected" must be a list of backend ids`);
  if (f.config !== undefined && (typeof f.config !== 'object' || f.config === null)) throw new Error(`${file}: "config" must be an object keyed by backend id`);
  for (const k of ['sources', 'processorConfig'] as const)
    if (f[k] !== undefined && (typeof f[k] !== 'object' || f[k] === null)) throw new Error(`${file}: "${k}" must be an object keyed by plugin id`);
  return f;
}

export function loadPluginModule(modulePath: string): Plugin[] {
  // A runtime require on purpose: test backends are plain JS files outside the bundle.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.resolve(modulePath)) as Record<string, unknown>;
  const made = typeof mod.createPlugins === 'function' ? (mod.createPlugins as () => unknown)() : (mod.plugins ?? mod.plugin ?? mod.default);
  const list = (Array.isArray(made) ? made : [made]) as Plugin[];
  if (!list.length || list.some((p) => !p || typeof p !== 'object' || !p.metadata))
    throw new Error(`${modulePath}: exports no plugin (expected createPlugins(), plugins, plugin or default)`);
  return list;
}

/** A hub with built-ins and module plugins registered and the file's backends selected. */
export async function startHeadlessHub(o: HeadlessHubOptions): Promise<Hub> {
  const logger = o.logger ?? consoleLogger();
  const file = o.backendsFile ? readBackendsFile(o.backendsFile) : undefined;
  const hub = new Hub({ store: o.store, stateDir: o.stateDir, logger, secrets: envSecrets(o.env ?? process.env), sink: { ...file?.sink, ...o.sink } });
  // Before any plugin is registered, so a source turned off never starts.
  void hub.configurePlugins({ sources: file?.sources, processors: file?.processorConfig }).catch(() => undefined);
  for (const p of o.builtins ?? []) hub.registerPlugin(p, 'builtin');
  for (const m of o.pluginModules ?? []) for (const p of loadPluginModule(m)) hub.registerPlugin(p, 'api');
  if (file) {
    const f = file;
    // Backends that can start do; the others are reported, and the hub runs regardless.
    await hub.selectBackends(f.selected, f.config ?? {}).catch((e: unknown) => logger.error(`backends: ${msg(e)}`));
  }
  return hub;
}

/** Logs to stderr, so a CLI's stdout stays machine-readable. */
export function consoleLogger(): PluginLogger {
  const out = (level: string) => (m: string | Error, ...a: unknown[]) =>
    process.stderr.write(`[${level}] ${m instanceof Error ? m.message : m}${a.length ? ' ' + a.map((x) => String(x)).join(' ') : ''}\n`);
  return { trace: () => undefined, debug: () => undefined, info: out('info'), warn: out('warn'), error: out('error') };
}
