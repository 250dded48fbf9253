// Finds companion extensions' plugins in their package.json
// (`contributes.runwatch.plugins`) so the pickers list them before those
// extensions run, and keeps the list current as extensions come and go.
import * as vscode from 'vscode';
import type { ContributedPlugin } from './types';
import type { Hub } from '../core/hub';

const KINDS = new Set(['backend', 'source', 'processor']);

/** The valid entries of an extension's `contributes.runwatch.plugins`, and what was wrong with the rest. */
export function readContributions(packageJSON: unknown): { plugins: ContributedPlugin[]; problems: string[] } {
  const list = (packageJSON as { contributes?: { runwatch?: { plugins?: unknown } } } | undefined)?.contributes?.runwatch?.plugins;
  const plugins: ContributedPlugin[] = [];
  const problems: string[] = [];
  if (list === undefined) return { plugins, problems };
  if (!Array.isArray(list)) return { plugins, problems: ['contributes.runwatch.plugins must be a list'] };
  list.forEach((p: Partial<ContributedPlugin>, i) => {
    if (!p || typeof p.id !== 'string' || typeof p.displayName !== 'string' || !KINDS.has(p.kind as string))
      problems.push(`contributes.runwatch.plugins[${i}] needs a string "id", a string "displayName" and a "kind" of backend, source or processor`);
    else plugins.push(p as ContributedPlugin);
  });
  return { plugins, problems };
}

export function watchContributions(hub: Hub, log: vscode.LogOutputChannel, selfId: string): vscode.Disposable {
  const registered = new Map<string, { dispose(): unknown }>();
  const scan = () => {
    const seen = new Set<string>();
    for (const ext of vscode.extensions.all) {
      if (ext.id === selfId) continue;
      const { plugins, problems } = readContributions(ext.packageJSON);
      for (const p of problems) log.warn(`${ext.id}: ${p}`);
      for (const p of plugins) {
        const key = `${ext.id}\u0000${p.id}`;
        seen.add(key);
        if (registered.has(key)) continue;
        log.info(`found plugin "${p.id}" (${p.kind}) contributed by ${ext.id}`);
        // Activating the extension makes it call registerPlugin with this id.
        registered.set(key, hub.registerContributed(p, async () => void (await ext.activate()), ext.id));
      }
    }
    for (const [key, d] of registered) {
      if (!seen.has(key)) {
        log.info(`plugin "${key.split('\u0000')[1]}" is gone (its extension was removed)`);
        d.dispose();
        registered.delete(key);
      }
    }
  };
  scan();
  const sub = vscode.extensions.onDidChange(scan);
  return new vscode.Disposable(() => {
    sub.dispose();
    for (const d of registered.values()) d.dispose();
    registered.clear();
  });
}
