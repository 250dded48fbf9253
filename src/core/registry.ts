// Which plugins exist: those registered (built-in or through the API) and those a
// companion extension only declared in its package.json (listed before it is
// active; activated when chosen).
import type { ContributedPlugin, Disposable, Plugin, PluginKind } from '../api/types';
import { Emitter } from '../common/emitter';

export type PluginOrigin = 'builtin' | 'api' | 'contributed';

export interface PluginEntry {
  id: string;
  displayName: string;
  kind: PluginKind;
  description?: string;
  capabilities: string[];
  origin: PluginOrigin;
  /** The extension that declared it, when contributed. */
  extensionId?: string;
  /** Registered now (its code is running), as opposed to only declared. */
  active: boolean;
}

interface Contribution {
  meta: ContributedPlugin;
  activate: () => Promise<void>;
  extensionId?: string;
  activating?: Promise<void>;
}

export class PluginRegistry {
  private readonly plugins = new Map<string, { plugin: Plugin; origin: PluginOrigin }>();
  private readonly contributions = new Map<string, Contribution>();
  private readonly changed = new Emitter<string>({ name: 'plugin registry' });
  /** Fires with a plugin id when it is registered, unregistered, contributed or withdrawn. */
  readonly onDidChange = this.changed.event;

  register(plugin: Plugin, origin: PluginOrigin = 'api'): Disposable {
    const id = plugin?.metadata?.id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id))
      throw new Error(`Runwatch: a plugin id must be letters, digits, ".", "_" or "-"; got ${JSON.stringify(id)}.`);
    if (!['backend', 'source', 'processor'].includes(plugin.metadata.kind))
      throw new Error(
        `Runwatch: plugin "${id}" has kind ${JSON.stringify(plugin.metadata.kind)}; expected backend, source or processor.`,
      );
    if (this.plugins.has(id)) throw new Error(`Runwatch: a plugin with id "${id}" is already registered.`);
    this.plugins.set(id, { plugin, origin });
    this.changed.fire(id);
    return {
      dispose: () => {
        if (this.plugins.get(id)?.plugin === plugin) {
          this.plugins.delete(id);
          this.changed.fire(id);
        }
      },
    };
  }

  /**
   * Lists a declared plugin; `activate` starts the extension that will register it.
   * Throws when another extension already declares the same id (or a built-in has
   * it): one would otherwise silently replace the other.
   */
  contribute(meta: ContributedPlugin, activate: () => Promise<void>, extensionId?: string): Disposable {
    const existing = this.contributions.get(meta.id);
    if (existing && existing.extensionId !== extensionId)
      throw new Error(
        `Runwatch: plugin id "${meta.id}" is contributed by both ${extensionId ?? 'an unnamed extension'} and ${existing.extensionId ?? 'an unnamed extension'}; ` +
          `only ${existing.extensionId ?? 'the first'} is used. Uninstall one of them, or ask its author to choose another id.`,
      );
    const builtin = this.plugins.get(meta.id);
    if (builtin?.origin === 'builtin')
      throw new Error(
        `Runwatch: ${extensionId ?? 'an extension'} contributes plugin id "${meta.id}", which is a built-in Runwatch plugin; the contribution is ignored.`,
      );
    const c: Contribution = { meta, activate, extensionId };
    this.contributions.set(meta.id, c);
    this.changed.fire(meta.id);
    return {
      dispose: () => {
        if (this.contributions.get(meta.id) === c) {
          this.contributions.delete(meta.id);
          this.changed.fire(meta.id);
        }
      },
    };
  }

  get(id: string): Plugin | undefined {
    return this.plugins.get(id)?.plugin;
  }

  contribution(id: string): ContributedPlugin | undefined {
    return this.contributions.get(id)?.meta;
  }

  list(kind?: PluginKind): PluginEntry[] {
    const out = new Map<string, PluginEntry>();
    for (const [id, c] of this.contributions) {
      out.set(id, {
        id,
        displayName: c.meta.displayName,
        kind: c.meta.kind,
        description: c.meta.description,
        capabilities: c.meta.capabilities ?? [],
        origin: 'contributed',
        extensionId: c.extensionId,
        active: false,
      });
    }
    for (const [id, { plugin, origin }] of this.plugins) {
      const m = plugin.metadata;
      const declared = this.contributions.get(id);
      out.set(id, {
        id,
        displayName: m.displayName,
        kind: m.kind,
        description: m.description,
        capabilities: m.capabilities,
        origin: declared ? 'contributed' : origin,
        extensionId: declared?.extensionId,
        active: true,
      });
    }
    return [...out.values()]
      .filter((e) => !kind || e.kind === kind)
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /**
   * The plugin, registered; activates its extension first when it is only declared,
   * and waits (up to `timeoutMs`) for the extension to register it.
   */
  async ensureActive(id: string, timeoutMs = 30_000, noun: PluginKind | 'plugin' = 'plugin'): Promise<Plugin> {
    const have = this.get(id);
    if (have) return have;
    const c = this.contributions.get(id);
    if (!c)
      throw new Error(
        `Runwatch: no ${noun} with id "${id}" is installed (known: ${
          this.list()
            .map((e) => e.id)
            .join(', ') || 'none'
        }).`,
      );
    const registered = new Promise<Plugin>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(
          new Error(
            `Runwatch: extension ${c.extensionId ?? ''} declares plugin "${id}" but did not register it within ${Math.round(timeoutMs / 1000)} s of activation.`,
          ),
        );
      }, timeoutMs);
      timer.unref?.();
      const sub = this.onDidChange((changed) => {
        const p = changed === id ? this.get(id) : undefined;
        if (p) {
          clearTimeout(timer);
          sub.dispose();
          resolve(p);
        }
      });
    });
    registered.catch(() => undefined); // observed below, or abandoned when activation fails
    c.activating ??= c.activate();
    try {
      await c.activating;
    } catch (e) {
      c.activating = undefined;
      throw new Error(
        `Runwatch: activating the extension for "${id}" failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return this.get(id) ?? registered;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
