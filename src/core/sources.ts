// Source plugins: each runs while it is registered (or declared by a companion,
// which is then activated) and not turned off in `runwatch.sources`; it is started
// again when its settings change. What a source emits is appended to the run log,
// in order per run, like any client's data.
import * as crypto from 'node:crypto';
import type { Plugin, RunEvent, SourcePlugin, SourceSink } from '../api/types';
import { errorText } from '../common/errors';
import type { PluginCalls, PluginSlot } from './pluginCalls';
import type { PluginRegistry } from './registry';
import type { RecordSource } from './sinkRunner';
import { pluginStatus, type PluginStatus } from './status';

/** The store as the hub uses it: the records to deliver, plus `append` for source plugins. */
export interface HubStore extends RecordSource {
  append?(runId: string, items: { seq?: number; event: RunEvent }[]): Promise<unknown>;
}

export interface SourcesDeps {
  store: HubStore;
  registry: PluginRegistry;
  calls: PluginCalls;
  isDisposed: () => boolean;
  changed: () => void;
}

export class Sources {
  private readonly slots = new Map<string, PluginSlot<SourcePlugin>>();
  private settings: Record<string, Record<string, unknown>> = {};

  constructor(private readonly d: SourcesDeps) {}

  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** Sets every source's settings and brings each known source in line with them. */
  async configure(settings: Record<string, Record<string, unknown>>): Promise<void> {
    this.settings = { ...settings };
    const ids = new Set([...this.slots.keys(), ...this.d.registry.list('source').map((e) => e.id)]);
    await Promise.all([...ids].map((id) => this.reconcile(id)));
  }

  errors(): string[] {
    return [...this.slots.values()].map((s) => s.error).filter((e): e is string => !!e);
  }

  checkHealth(): Promise<void[]> {
    return Promise.all([...this.slots.values()].map((s) => this.d.calls.checkSlot(s)));
  }

  status(displayName: (id: string) => string): PluginStatus[] {
    const ids = new Set([...this.d.registry.list('source').map((e) => e.id), ...this.slots.keys()]);
    return [...ids].map((id) => {
      const s = this.slots.get(id);
      return pluginStatus({
        id,
        kind: 'source',
        displayName: displayName(id),
        running: !!s?.plugin,
        error: s?.error,
        health: s?.health,
        off: !this.enabled(id),
      });
    });
  }

  /** Stops every source and waits for what they produced to be appended. */
  async dispose(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => (s.lock = s.lock.then(() => this.d.calls.stopSlot(s)))));
    this.slots.clear();
  }

  private enabled(id: string): boolean {
    return this.settings[id]?.enabled !== false;
  }

  /**
   * Brings one source to "running with its current settings", or stopped when it is off or gone;
   * `restart`: stopped and started again even with the same settings (its secrets changed, say).
   */
  reconcile(id: string, restart = false): Promise<void> {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { id, kind: 'source', lock: Promise.resolve() };
      this.slots.set(id, slot);
    }
    const s = slot;
    s.lock = s.lock
      .then(() => this.reconcileNow(s, restart))
      .catch((e: unknown) => {
        // A rejected lock would block every later start and stop of this source.
        s.error = `source "${id}": ${errorText(e)}`;
      });
    return s.lock.then(() => this.d.changed());
  }

  private async reconcileNow(s: PluginSlot<SourcePlugin>, restart: boolean): Promise<void> {
    const id = s.id;
    if (this.d.isDisposed() || this.slots.get(id) !== s) return;
    const { enabled, ...config } = this.settings[id] ?? {};
    const configKey = JSON.stringify(config);
    let current: Plugin | undefined = this.d.registry.get(id);
    const stale = restart || s.plugin !== current || enabled === false || s.configKey !== configKey;
    if (s.plugin && stale) await this.d.calls.stopSlot(s);
    if (enabled === false) {
      s.error = undefined;
      return;
    }
    if (s.plugin) return;
    if (!current) {
      const declared = this.d.registry.contribution(id);
      if (!declared) {
        // Unregistered and no longer declared: forget it.
        if (this.slots.get(id) === s) this.slots.delete(id);
        return;
      }
      if (declared.kind !== 'source') return;
      try {
        // Its extension registers it; that change comes back here, queued behind this.
        current = await this.d.registry.ensureActive(id, undefined, 'source');
      } catch (e) {
        s.error = errorText(e);
        return;
      }
      if (this.d.isDisposed()) return;
    }
    if (current.metadata.kind !== 'source') {
      s.error = `"${id}" is declared as a source but registered as a ${current.metadata.kind} plugin`;
      return;
    }
    await this.start(s, current as SourcePlugin, config, configKey);
  }

  private async start(
    s: PluginSlot<SourcePlugin>,
    plugin: SourcePlugin,
    config: Record<string, unknown>,
    configKey: string,
  ): Promise<void> {
    const { calls } = this.d;
    const log = calls.logger;
    const id = s.id;
    s.error = undefined;
    s.health = undefined;
    const append = this.d.store.append?.bind(this.d.store);
    if (!append) {
      s.error = `source "${id}": this store cannot take appends; not started`;
      return log.warn(s.error);
    }
    if (!(await calls.initializeSlot(s, plugin, config))) return;
    // Appends for one run are chained so its events keep their order.
    const chains = new Map<string, Promise<unknown>>();
    let open = true;
    let warnedClosed = false;
    const closed = (): boolean => {
      if (open) return false;
      if (!warnedClosed) log.warn(`source ${id}: events emitted after stop() are dropped`);
      warnedClosed = true;
      return true;
    };
    const chain = (runId: string, items: { seq?: number; event: RunEvent }[]): Promise<void> => {
      const done = (chains.get(runId) ?? Promise.resolve()).then(() => append(runId, items)).then(() => undefined);
      // The chain itself never rejects, so one failure does not stop the run's later appends.
      chains.set(
        runId,
        done.catch(() => undefined),
      );
      return done;
    };
    const push = (runId: string, event: RunEvent) => {
      if (closed()) return;
      chain(runId, [{ event }]).catch((e: unknown) =>
        log.error(`source ${id}: append to ${runId} failed: ${errorText(e)}`),
      );
    };
    const sink: SourceSink = {
      startRun: (r) => {
        const runId = r.runId ?? crypto.randomUUID();
        const time = Date.now() / 1000;
        const context = { source: id };
        push(runId, {
          type: 'run.start',
          project: r.project,
          name: r.name,
          time,
          params: r.params ?? {},
          tags: r.tags ?? {},
          context,
        });
        return runId;
      },
      emit: push,
      append: (runId, items) =>
        closed() ? Promise.reject(new Error(`source ${id} is stopped: nothing more is appended`)) : chain(runId, items),
      flush: () => Promise.all(chains.values()).then(() => undefined),
    };
    s.stopSink = async () => {
      try {
        await calls.call(`${id} stop`, () => plugin.stop());
      } catch (e) {
        log.warn(`source ${id}: stop failed: ${errorText(e)}`);
      }
      open = false;
      await Promise.all(chains.values());
    };
    try {
      await calls.call(`${id} start`, () => plugin.start(sink));
    } catch (e) {
      s.error = `source "${id}": start failed: ${errorText(e)}`;
      log.error(s.error);
      await calls.stopSlot(s, s.error);
      return;
    }
    s.configKey = configKey;
    log.info(`source ${id} started`);
    // Not awaited: a slow health check must not hold up the next start or stop.
    void calls.checkSlot(s);
  }
}
