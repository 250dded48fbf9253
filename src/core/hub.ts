// The hub: the plugin registry, the chosen backends (each with its own sink runner
// reading the run log from its cursor), the sources and the processors, and their
// health. This file is the facade the extension, the views, the API and the
// headless CLI use; the work is in backends.ts, sources.ts, processorPool.ts,
// pluginCalls.ts and status.ts. It is headless (no vscode import): the extension
// wires it to settings, SecretStorage and views (headless.ts does it for the CLI).
import type { ContributedPlugin, Plugin, PluginSecrets } from '../api/types';
import { DisposableStore, type Disposable } from '../common/disposable';
import { Backends } from './backends';
import type { HeadlessHubOptions } from './headless';
import { PluginCalls } from './pluginCalls';
import type { HubLogger } from './pluginLogger';
import { ProcessorPool } from './processorPool';
import { PluginRegistry, type PluginEntry } from './registry';
import { DEFAULT_SINK_OPTIONS, type SinkOptions } from './sinkRunner';
import { Sources, type HubStore } from './sources';
import { sortPluginStatus, StatusSignal, type BackendStatus, type PluginStatus } from './status';

export { secretKey } from './pluginCalls';
export type { HubLogger } from './pluginLogger';
export type { PluginEntry } from './registry';
export type { RecordSource } from './sinkRunner';
export type { HubStore } from './sources';
export type { BackendStatus, PluginStatus } from './status';

/** Per-plugin settings, keyed by plugin id (from `runwatch.sources` / `runwatch.processorConfig`). */
export interface PluginSettings {
  /** A source's settings; `enabled: false` turns it off, the other keys go to its config schema. */
  sources?: Record<string, Record<string, unknown>>;
  processors?: Record<string, Record<string, unknown>>;
}

export interface HubOptions {
  store: HubStore;
  /** Where cursors and plugin storage live; persists across restarts. */
  stateDir: string;
  /** Runwatch's log; plugins get it as a PluginLogger with their id on each line. */
  logger: HubLogger;
  /** Secrets for all plugins; keys are `<pluginId>/<property>` (see `secretKey`). */
  secrets?: PluginSecrets;
  sink?: Partial<SinkOptions>;
  /** How long `initialize` and `healthCheck` may take. */
  pluginCallTimeoutMs?: number;
  /** Shows a plugin's `notify` message to the person (the extension: a warning notification). */
  notify?: (pluginId: string, message: string) => void;
}

export class Hub implements Disposable {
  readonly registry = new PluginRegistry();
  private readonly signal = new StatusSignal();
  private readonly backends: Backends;
  private readonly sources: Sources;
  private readonly processors: ProcessorPool;
  private readonly subscriptions = new DisposableStore();
  private disposed = false;

  /** Fires (coalesced) when a backend's health, lag, queue or error changes. */
  readonly onDidChangeStatus = this.signal.event;

  constructor(opts: HubOptions) {
    const changed = () => this.signal.fire();
    const isDisposed = () => this.disposed;
    const registry = this.registry;
    const calls = new PluginCalls({
      stateDir: opts.stateDir,
      logger: opts.logger,
      secrets: opts.secrets,
      timeoutMs: opts.pluginCallTimeoutMs ?? 30_000,
      notify: opts.notify,
      onChange: changed,
    });
    this.processors = new ProcessorPool({
      registry,
      calls,
      isDisposed,
      changed,
      usersOf: (id) => this.backends.usersOf(id),
      backendRunning: (id) => this.backends.running(id),
      processorReady: (ids) => this.backends.retryFailed(ids),
    });
    this.backends = new Backends({
      store: opts.store,
      stateDir: opts.stateDir,
      registry,
      calls,
      processors: this.processors,
      sink: { ...DEFAULT_SINK_OPTIONS, ...opts.sink },
      isDisposed,
      changed,
    });
    this.sources = new Sources({ store: opts.store, registry, calls, isDisposed, changed });
    // Wake-ups only: each runner reads the data itself from its cursor.
    this.subscriptions.add(
      opts.store.onDidAppend((runId) => {
        this.backends.notify(runId);
        // Lag grows even while a backend is stuck; views should see it.
        if (this.backends.size) changed();
      }),
    );
    this.subscriptions.add(this.registry.onDidChange((id) => this.registryChanged(id)));
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
    // Both settings first: a backend starting meanwhile readies its processors with the new ones.
    this.processors.configure(settings.processors ?? {});
    await this.sources.configure(settings.sources ?? {});
    await this.processors.refresh();
    this.signal.fire();
    // A processor whose backend could not start is reported with that backend instead.
    const errors = [...this.sources.errors(), ...this.processors.errors()];
    if (errors.length) throw new Error(errors.join('\n'));
  }

  selectedIds(): string[] {
    return this.backends.ids();
  }

  /**
   * Makes `ids` the chosen backends, each with its settings from `configs[id]`.
   * Backends already running with the same settings keep running. Rejects with one
   * line per problem (naming the backend and the field) when some could not start;
   * the others run regardless.
   */
  async selectBackends(ids: string[], configs: Record<string, Record<string, unknown>> = {}): Promise<void> {
    const errors = await this.backends.select(ids, configs);
    await this.processors.releaseUnused();
    this.signal.fire();
    if (errors.length) throw new Error(errors.join('\n'));
  }

  /** Restarts one chosen backend (after its secrets changed, say): dispose, initialize again, resume at its cursor. */
  async restartBackend(id: string): Promise<void> {
    const error = await this.backends.restart(id);
    this.signal.fire();
    if (error) throw new Error(error);
  }

  /** Starts one source again with its settings (after its secrets changed, say); its problem, if any, is in `pluginStatus()`. */
  async restartSource(id: string): Promise<void> {
    await this.sources.reconcile(id, true);
    this.signal.fire();
  }

  status(): BackendStatus[] {
    return this.backends.status((id) => this.displayName(id));
  }

  /**
   * Runs the `healthCheck` (with a time limit) of every chosen backend, running source
   * and processor in use, and returns the backends' new status (`pluginStatus()` has
   * the others').
   */
  async checkHealth(): Promise<BackendStatus[]> {
    await Promise.all([this.backends.checkHealth(), this.sources.checkHealth(), this.processors.checkHealth()]);
    this.signal.fire();
    return this.status();
  }

  /** Every known source and every processor a chosen backend names or that is registered. */
  pluginStatus(): PluginStatus[] {
    const name = (id: string) => this.displayName(id);
    return sortPluginStatus([...this.sources.status(name), ...this.processors.status(name)]);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.subscriptions.dispose();
    this.signal.dispose();
    // Sources first, so what they produced is in the log before the backends save their cursors.
    await this.sources.dispose();
    await this.backends.dispose();
    await this.processors.dispose();
    this.registry.dispose();
  }

  private registryChanged(id: string): void {
    if (this.backends.has(id)) void this.backends.reconcile(id);
    const kind = this.registry.get(id)?.metadata.kind ?? this.registry.contribution(id)?.kind;
    if (kind === 'source' || this.sources.has(id)) void this.sources.reconcile(id);
    if (this.processors.has(id)) void this.processors.registryChanged(id);
    this.signal.fire();
  }

  private displayName(id: string): string {
    return this.registry.list().find((e) => e.id === id)?.displayName ?? id;
  }
}

/**
 * Kept so importers of `startHeadlessHub` from here keep working; it lives in
 * headless.ts, which imports this file, so it is required only when called.
 */
export function startHeadlessHub(o: HeadlessHubOptions): Promise<Hub> {
  const headless = require('./headless') as typeof import('./headless');
  return headless.startHeadlessHub(o);
}
