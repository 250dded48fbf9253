// Plugins registered through the API before this process has a hub (a window that
// only reads another window's store runs no backends): kept, and registered on the
// hub once there is one (the window takes the store over). Unregistering works in
// either state.
import type { Plugin } from '../api/types';
import type { Disposable } from '../common/disposable';
import type { Hub } from '../core/hub';

export class PluginQueue {
  private hub?: Hub;
  private readonly entries = new Set<{ plugin: Plugin; registered?: Disposable }>();

  register(plugin: Plugin): Disposable {
    const entry: { plugin: Plugin; registered?: Disposable } = {
      plugin,
      registered: this.hub?.registerPlugin(plugin, 'api'),
    };
    this.entries.add(entry);
    return {
      dispose: () => {
        this.entries.delete(entry);
        return entry.registered?.dispose();
      },
    };
  }

  /** Registers every kept plugin on `hub`, and later ones at once. */
  attach(hub: Hub): void {
    this.hub = hub;
    for (const e of this.entries) e.registered ??= hub.registerPlugin(e.plugin, 'api');
  }
}
