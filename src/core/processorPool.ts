// Processor plugins, shared by the backends that name them in their `processors`
// setting: one instance each, activated (when only declared) and initialized with
// its `runwatch.processorConfig` settings before the first backend that needs it
// starts, initialized again when those settings change, disposed when no chosen
// backend names it any more.
import type { Plugin, ProcessorPlugin } from '../api/types';
import { errorText } from '../common/errors';
import type { PluginCalls, PluginSlot } from './pluginCalls';
import { DEFAULT_PROCESSORS, type ProcessorSpec } from './processors';
import type { PluginRegistry } from './registry';
import { pluginStatus, type PluginStatus } from './status';

/** A backend's processors setting, or the default steps when it names none. */
export function configuredSpecs(config: Record<string, unknown>): ProcessorSpec[] {
  return Array.isArray(config.processors) ? (config.processors as ProcessorSpec[]) : DEFAULT_PROCESSORS;
}

/** The processor plugin ids a pipeline names, in order, once each. */
export function pluginSteps(specs: readonly ProcessorSpec[]): string[] {
  const ids = specs.flatMap((p) => (p && p.type === 'plugin' && typeof p.id === 'string' ? [p.id] : []));
  return [...new Set(ids)];
}

export interface ProcessorPoolDeps {
  registry: PluginRegistry;
  calls: PluginCalls;
  isDisposed: () => boolean;
  changed: () => void;
  /** The chosen backends whose processors name processor `id`. */
  usersOf: (id: string) => string[];
  /** Whether a chosen backend is running (its processors' errors are its own then). */
  backendRunning: (id: string) => boolean;
  /** A processor became ready: backends that could not start without it try again. */
  processorReady: (backendIds: string[]) => void;
}

export class ProcessorPool {
  private readonly slots = new Map<string, PluginSlot<ProcessorPlugin>>();
  private settings: Record<string, Record<string, unknown>> = {};

  constructor(private readonly d: ProcessorPoolDeps) {}

  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** Sets the processors' settings; `refresh` applies them to those in use. */
  configure(settings: Record<string, Record<string, unknown>>): void {
    this.settings = { ...settings };
  }

  /** Initializes the processors in use again when their settings changed. */
  async refresh(): Promise<void> {
    const inUse = [...this.slots.keys()].filter((id) => this.d.usersOf(id).length);
    await Promise.all(inUse.map((id) => this.ready(id).catch(() => undefined)));
  }

  /** Errors of processors in use by a running backend (the others are reported with their backend). */
  errors(): string[] {
    return [...this.slots.values()]
      .filter((s) => this.d.usersOf(s.id).some((b) => this.d.backendRunning(b)))
      .map((s) => s.error)
      .filter((e): e is string => !!e);
  }

  checkHealth(): Promise<void[]> {
    return Promise.all([...this.slots.values()].map((s) => this.d.calls.checkSlot(s)));
  }

  status(displayName: (id: string) => string): PluginStatus[] {
    const ids = new Set([...this.d.registry.list('processor').map((e) => e.id), ...this.slots.keys()]);
    return [...ids].map((id) => {
      const s = this.slots.get(id);
      const usedBy = this.d.usersOf(id);
      const view = { id, kind: 'processor' as const, displayName: displayName(id), usedBy };
      return pluginStatus({ ...view, running: !!s?.plugin, error: s?.error, health: s?.health });
    });
  }

  /** The initialized instance for a backend's pipeline; throws (failing that batch) when it is not ready. */
  instance(id: string): ProcessorPlugin {
    const s = this.slots.get(id);
    // Only the instance that was initialized, and only while it is still the registered one.
    if (s?.plugin && s.plugin === this.d.registry.get(id)) return s.plugin;
    const why = s?.error ?? (this.d.registry.get(id) ? 'starting' : 'not registered');
    throw new Error(`processor plugin "${id}" is not ready: ${why}`);
  }

  /**
   * The processor, activated (when only contributed), initialized with its current
   * settings; re-initialized when those changed or another instance was registered.
   * Throws why it cannot be.
   */
  ready(id: string): Promise<ProcessorPlugin> {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { id, kind: 'processor', lock: Promise.resolve() };
      this.slots.set(id, slot);
    }
    const s = slot;
    const ready = s.lock.then(() => this.readyNow(s));
    s.lock = ready.then(
      () => this.d.changed(),
      () => this.d.changed(),
    );
    return ready;
  }

  private async readyNow(s: PluginSlot<ProcessorPlugin>): Promise<ProcessorPlugin> {
    const { calls } = this.d;
    const id = s.id;
    if (this.d.isDisposed()) throw new Error('Runwatch is shutting down');
    const config = this.settings[id] ?? {};
    const configKey = JSON.stringify(config);
    let plugin: Plugin;
    try {
      plugin = await this.d.registry.ensureActive(id, undefined, 'processor');
    } catch (e) {
      await calls.stopSlot(s, errorText(e));
      throw e;
    }
    if (plugin.metadata.kind !== 'processor') {
      await calls.stopSlot(s, `"${id}" is a ${plugin.metadata.kind} plugin, not a processor`);
      throw new Error(s.error);
    }
    const processor = plugin as ProcessorPlugin;
    if (s.plugin === processor && s.configKey === configKey) return processor;
    await calls.stopSlot(s);
    if (!(await calls.initializeSlot(s, processor, config))) throw new Error(s.error);
    s.configKey = configKey;
    calls.logger.info(`processor ${id} started`);
    void calls.checkSlot(s);
    return processor;
  }

  /** A processor in the pool was registered, replaced or unregistered. */
  async registryChanged(id: string): Promise<void> {
    const s = this.slots.get(id);
    if (!s) return;
    const current = this.d.registry.get(id);
    if (s.plugin && s.plugin !== current) {
      // The instance we initialized is gone (its extension stopped): dispose it.
      const error = current ? undefined : `processor "${id}" was unregistered`;
      s.lock = s.lock.then(() => this.d.calls.stopSlot(s, error));
      await s.lock;
    }
    if (!current || !this.d.usersOf(id).length) return;
    await this.ready(id).catch(() => undefined);
    this.d.processorReady(this.d.usersOf(id));
  }

  /** Disposes processors no chosen backend names any more. */
  async releaseUnused(): Promise<void> {
    const unused = [...this.slots.values()].filter((s) => !this.d.usersOf(s.id).length);
    await Promise.all(
      unused.map(async (s) => {
        s.lock = s.lock.then(() => this.d.calls.stopSlot(s));
        await s.lock;
        if (!this.d.usersOf(s.id).length && !s.plugin) this.slots.delete(s.id);
      }),
    );
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => (s.lock = s.lock.then(() => this.d.calls.stopSlot(s)))));
    this.slots.clear();
  }
}
