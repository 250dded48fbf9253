// The hub: plugin registry + one sink runner per chosen backend + health. It is
// headless (no vscode import): the extension wires it to settings, SecretStorage
// and views, and the collector CLI runs it with `--backends` for tests.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  BackendPlugin,
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

export class Hub implements Disposable {
  readonly registry = new PluginRegistry();
  private readonly selected = new Map<string, Selected>();
  private readonly statusChanged = new Emitter<void>();
  private readonly sources = new Map<string, SourcePlugin>();
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
        this.fireStatus();
      }),
    );
  }

  /** Registers a built-in or API plugin. Sources start at once; backends when selected. */
  registerPlugin(plugin: Plugin, origin: 'builtin' | 'api' = 'api'): Disposable {
    const reg = this.registry.register(plugin, origin);
    if (plugin.metadata.kind === 'source') void this.startSource(plugin as SourcePlugin);
    return {
      dispose: () => {
        reg.dispose();
        const src = this.sources.get(plugin.metadata.id);
        if (src === plugin) {
          this.sources.delete(plugin.metadata.id);
          void Promise.resolve(src.stop()).catch(() => undefined);
        }
      },
    };
  }

  /** Lists a plugin a companion declared in its manifest; `activate` starts that extension. */
  registerContributed(meta: ContributedPlugin, activate: () => Promise<void>, extensionId?: string): Disposable {
    return this.registry.contribute(meta, activate, extensionId);
  }

  listPlugins(kind?: PluginEntry['kind']): PluginEntry[] {
    return this.registry.list(kind);
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

  /** Runs every chosen backend's `healthCheck` (with a time limit) and returns the new status. */
  async checkHealth(): Promise<BackendStatus[]> {
    await Promise.all(
      [...this.selected.values()].map(async (s) => {
        if (!s.plugin || !s.runner) return;
        try {
          s.health = await withTimeout(Promise.resolve().then(() => s.plugin!.healthCheck()), this.callTimeoutMs, `${s.id} health check`);
        } catch (e) {
          s.health = { healthy: false, details: `health check failed: ${msg(e)}` };
        }
      }),
    );
    this.fireStatus();
    return this.status();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.subscriptions) d.dispose();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    await Promise.all([...this.selected.values()].map((s) => (s.lock = s.lock.then(() => this.stop(s)))));
    this.selected.clear();
    await Promise.all([...this.sources.values()].map((p) => Promise.resolve(p.stop()).catch(() => undefined)));
    this.sources.clear();
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
          plugin = await this.registry.ensureActive(id);
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
    const schema = plugin.metadata.configSchema;
    const present = new Set<string>();
    for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
      if (prop.secret && (await this.opts.secrets?.get(secretKey(s.id, name)))) present.add(name);
    }
    const validation = validateConfig(schema, s.config, { pluginId: s.id, presentSecrets: present });
    const procErrors = validateProcessors(s.config.processors).map((e) => `${e} (backend "${s.id}")`);
    if (!validation.ok || procErrors.length) {
      s.error = `Settings refused: ${[...validation.errors, ...procErrors].join(' ')}`;
      return;
    }
    const specs = (s.config.processors as ProcessorSpec[] | undefined) ?? DEFAULT_PROCESSORS;
    try {
      await withTimeout(Promise.resolve().then(() => plugin.initialize(this.context(s.id, validation.value))), this.callTimeoutMs, `${s.id} initialize`);
    } catch (e) {
      s.error = `initialize failed: ${msg(e)}`;
      return;
    }
    s.plugin = plugin;
    s.health = undefined;
    const pipeline = buildPipeline(specs, (pid) => {
      const p = this.registry.get(pid);
      return p?.metadata.kind === 'processor' ? (p as ProcessorPlugin) : undefined;
    });
    const cursors = new CursorStore(this.opts.stateDir, s.id);
    s.runner = new SinkRunner(plugin, this.opts.store, cursors, pipeline, this.sinkOptions, prefixed(this.opts.logger, s.id), () => this.fireStatus());
    s.runner.start();
    this.opts.logger.info(`backend ${s.id} started`);
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
    return {
      config: Object.freeze({ ...config }),
      secrets: { get: async (key) => secrets?.get(secretKey(pluginId, key)) },
      logger: prefixed(this.opts.logger, pluginId),
      storageDir,
    };
  }

  private async startSource(plugin: SourcePlugin): Promise<void> {
    const id = plugin.metadata.id;
    const append = this.opts.store.append?.bind(this.opts.store);
    if (!append) return this.opts.logger.warn(`source ${id}: this store cannot take appends; not started`);
    // Appends for one run are chained so its events keep their order.
    const chains = new Map<string, Promise<unknown>>();
    const push = (runId: string, event: RunEvent) => {
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
    try {
      await plugin.initialize(this.context(id, {}));
      await plugin.start(sink);
      this.sources.set(id, plugin);
    } catch (e) {
      this.opts.logger.error(`source ${id} failed to start: ${msg(e)}`);
    }
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
