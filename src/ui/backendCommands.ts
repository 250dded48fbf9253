// Backend commands and settings: keeps the hub's chosen backends in step with
// `runwatch.backends` / `runwatch.backendConfig` (and sources and processor plugins
// with `runwatch.sources` / `runwatch.processorConfig`), and provides Select Backends,
// Configure Backend…, Check Backend Health, the Backends view and the status bar
// warning.
import * as vscode from 'vscode';
import type { Hub, PluginSettings } from '../core/hub';
import { backendPickItems, pickBackends } from './backendPicker';
import { BackendsTreeProvider } from './backendsTree';
import { backendIdOf, configureBackend } from './configureBackend';
import { BackendHealthStatusBar } from './statusBar';
import { onDidChangeSettings, setting, settingsTarget, updateSetting } from './config';

/** Sources' and processor plugins' settings, as the hub takes them. */
export function pluginSettings(): PluginSettings {
  return { sources: setting('sources'), processors: setting('processorConfig') };
}

export function registerBackendUi(context: vscode.ExtensionContext, hub: Hub, log: vscode.LogOutputChannel): void {
  let applying: Promise<void> = Promise.resolve();
  let appliedKey: string | undefined;
  // Serialized: a second settings change waits for the first to be applied. A command that
  // changes a setting also gets the configuration event; settings already applied are not
  // applied (and their warnings not shown and logged) a second time.
  const apply = () =>
    (applying = applying.then(async () => {
      const ids = setting('backends');
      const configs = setting('backendConfig');
      const key = JSON.stringify([ids, configs, pluginSettings()]);
      if (key === appliedKey) return;
      appliedKey = key;
      // Takes the settings at once (backends initialize the processors they name with
      // them), but is not awaited first: a slow source activation must not delay backends.
      const plugins = hub.configurePlugins(pluginSettings()).catch((e: Error) => {
        log.warn(`sources and processors: ${e.message}`);
        void vscode.window.showWarningMessage(`Runwatch: ${e.message}`);
      });
      // Backends that could not start are told by warnStartErrors (also those that fail
      // later, when a companion that was activated registers its backend).
      await hub.selectBackends(ids, configs).catch(() => undefined);
      warnStartErrors();
      await plugins;
      if (ids.length) await hub.checkHealth();
      status.update();
    }));

  const tree = new BackendsTreeProvider(hub);
  const status = new BackendHealthStatusBar(() => hub.status());
  // Each backend's start error is logged and shown once, until it changes.
  const warned = new Map<string, string>();
  const warnStartErrors = () => {
    const now = hub.status();
    for (const id of [...warned.keys()])
      if (!now.some((s) => s.id === id && s.lastError === warned.get(id))) warned.delete(id);
    for (const s of now) {
      if (s.healthy || !s.lastError || s.details !== s.lastError || warned.get(s.id) === s.lastError) continue;
      warned.set(s.id, s.lastError);
      log.warn(`backends: ${s.lastError}`);
      void vscode.window
        .showWarningMessage(`Runwatch: ${s.lastError}`, 'Configure Backend…')
        .then((a) => a && vscode.commands.executeCommand('runwatch.configureBackend', s.id));
    }
  };

  context.subscriptions.push(
    tree,
    status,
    vscode.window.registerTreeDataProvider('runwatch.backends', tree),
    hub.onDidChangeStatus(() => {
      status.update();
      warnStartErrors();
    }),
    onDidChangeSettings(({ effects }) => {
      if (effects.includes('plugins')) void apply();
    }),
    vscode.commands.registerCommand('runwatch.selectBackends', async () => {
      const chosen = await pickBackends(hub.listPlugins('backend'), setting('backends'));
      if (!chosen) return undefined;
      await updateSetting('backends', chosen);
      await apply();
      return chosen;
    }),
    // From the palette (no argument), or from a row of the Backends view (its node).
    vscode.commands.registerCommand('runwatch.configureBackend', (arg?: unknown) =>
      configureBackend({ context, hub, apply, target: settingsTarget }, backendIdOf(arg)),
    ),
    vscode.commands.registerCommand('runwatch.checkBackendHealth', async () => {
      const results = await hub.checkHealth();
      if (!results.length) {
        void vscode.window
          .showInformationMessage('Runwatch: no backends chosen.', 'Select Backends')
          .then((a) => a && vscode.commands.executeCommand('runwatch.selectBackends'));
        return results;
      }
      const text = results
        .map((s) => `${s.displayName}: ${s.healthy ? 'healthy' : 'UNHEALTHY'} (${s.details}; lag ${s.lag})`)
        .join(' · ');
      if (results.every((s) => s.healthy)) void vscode.window.showInformationMessage(`Runwatch: ${text}`);
      else void vscode.window.showWarningMessage(`Runwatch: ${text}`);
      return results;
    }),
    vscode.commands.registerCommand('runwatch.refreshBackends', () => tree.refresh()),
    // Not in the palette: what Select Backends would list, for tests and companions.
    vscode.commands.registerCommand('runwatch.listBackendChoices', () => backendPickItems(hub.listPlugins('backend'))),
  );
  // Health can change without any write (a server going down between runs): look now and then.
  const healthTimer = setInterval(() => {
    if (hub.selectedIds().length || hub.pluginStatus().some((p) => p.state === 'running')) void hub.checkHealth();
  }, 60_000);
  context.subscriptions.push({ dispose: () => clearInterval(healthTimer) });
  // Not awaited: a chosen companion backend activates its extension, which waits for ours.
  void apply();
}
