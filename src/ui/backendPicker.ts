// "Runwatch: Select Backends": a multi-select QuickPick over built-in and
// contributed backends, pre-checked with the current choice.
import * as vscode from 'vscode';
import type { PluginEntry } from '../core/hub';

export interface BackendPickItem extends vscode.QuickPickItem {
  id: string;
}

export function backendPickItems(entries: PluginEntry[]): BackendPickItem[] {
  return entries.map((e) => ({
    id: e.id,
    label: e.displayName,
    description: `${e.id} · ${e.origin === 'builtin' ? 'built-in' : e.origin === 'contributed' ? `from ${e.extensionId ?? 'an extension'}${e.active ? '' : ' (starts when chosen)'}` : 'registered'}`,
    detail: e.description,
  }));
}

/** Resolves with the chosen ids, or undefined when dismissed. */
export function pickBackends(entries: PluginEntry[], current: readonly string[]): Promise<string[] | undefined> {
  const qp = vscode.window.createQuickPick<BackendPickItem>();
  qp.title = 'Runwatch: Select Backends';
  qp.placeholder = entries.length
    ? 'Check the backends that should receive every run, then press Enter'
    : 'No backends installed';
  qp.canSelectMany = true;
  qp.matchOnDescription = true;
  qp.items = backendPickItems(entries);
  qp.selectedItems = qp.items.filter((i) => current.includes(i.id));
  return new Promise((resolve) => {
    let done = false;
    qp.onDidAccept(() => {
      done = true;
      resolve(qp.selectedItems.map((i) => i.id));
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}
