// Backend commands and settings: keeps the hub's chosen backends in step with
// `runwatch.backends` / `runwatch.backendConfig` (and sources and processor plugins
// with `runwatch.sources` / `runwatch.processorConfig`), and provides Select Backends,
// Configure Backend…, Check Backend Health, the Backends view and the status bar
// warning.
import * as vscode from 'vscode';
import type { ConfigSchema } from '../api/types';
import { parseInput } from '../core/configSchema';
import { secretKey, type Hub, type PluginSettings } from '../core/hub';
import { backendPickItems, pickBackends } from './backendPicker';
import { BackendsTreeProvider } from './backendsTree';

type Configs = Record<string, Record<string, unknown>>;

function target(): vscode.ConfigurationTarget {
  // The choice belongs to the workspace; with no folder open, to the user.
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

/** Sources' and processor plugins' settings, as the hub takes them. */
export function pluginSettings(): PluginSettings {
  const settings = vscode.workspace.getConfiguration('runwatch');
  return { sources: settings.get<Configs>('sources', {}), processors: settings.get<Configs>('processorConfig', {}) };
}

export function registerBackendUi(context: vscode.ExtensionContext, hub: Hub, log: vscode.LogOutputChannel): void {
  const settings = () => vscode.workspace.getConfiguration('runwatch');
  let applying: Promise<void> = Promise.resolve();
  // Serialized: a second settings change waits for the first to be applied.
  const apply = () =>
    (applying = applying.then(async () => {
      const ids = settings().get<string[]>('backends', []);
      const configs = settings().get<Configs>('backendConfig', {});
      // Takes the settings at once (backends initialize the processors they name with
      // them), but is not awaited first: a slow source activation must not delay backends.
      const plugins = hub.configurePlugins(pluginSettings()).catch((e: Error) => {
        log.warn(`sources and processors: ${e.message}`);
        void vscode.window.showWarningMessage(`Runwatch: ${e.message}`);
      });
      try {
        await hub.selectBackends(ids, configs);
      } catch (e) {
        const m = (e as Error).message;
        log.warn(`backends: ${m}`);
        void vscode.window.showWarningMessage(`Runwatch: ${m}`, 'Configure Backend…').then((a) => a && vscode.commands.executeCommand('runwatch.configureBackend'));
      }
      await plugins;
      if (ids.length) await hub.checkHealth();
    }));

  const tree = new BackendsTreeProvider(hub);
  const status = vscode.window.createStatusBarItem('runwatch.backendHealth', vscode.StatusBarAlignment.Left, 0);
  status.name = 'Runwatch Backend Health';
  status.command = 'runwatch.backends.focus';
  const updateStatus = () => {
    const bad = hub.status().filter((s) => !s.healthy && s.details !== 'starting…');
    if (!bad.length) return status.hide();
    status.text = `$(warning) ${bad.length === 1 ? `${bad[0].displayName} unhealthy` : `${bad.length} backends unhealthy`}`;
    status.tooltip = bad.map((s) => `${s.displayName}: ${s.details}${s.lastError && s.lastError !== s.details ? ` (${s.lastError})` : ''}`).join('\n');
    status.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    status.show();
  };

  context.subscriptions.push(
    tree,
    status,
    vscode.window.registerTreeDataProvider('runwatch.backends', tree),
    hub.onDidChangeStatus(updateStatus),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (['backends', 'backendConfig', 'sources', 'processorConfig'].some((k) => e.affectsConfiguration(`runwatch.${k}`))) void apply();
    }),
    vscode.commands.registerCommand('runwatch.selectBackends', async () => {
      const chosen = await pickBackends(hub.listPlugins('backend'), settings().get<string[]>('backends', []));
      if (!chosen) return undefined;
      await settings().update('backends', chosen, target());
      await apply();
      return chosen;
    }),
    // From the palette (no argument), or from a row of the Backends view (its node).
    vscode.commands.registerCommand('runwatch.configureBackend', (arg?: unknown) =>
      configureBackend(context, hub, apply, typeof arg === 'string' ? arg : (arg as { status?: { id?: string } } | undefined)?.status?.id),
    ),
    vscode.commands.registerCommand('runwatch.checkBackendHealth', async () => {
      const results = await hub.checkHealth();
      if (!results.length) {
        void vscode.window.showInformationMessage('Runwatch: no backends chosen.', 'Select Backends').then((a) => a && vscode.commands.executeCommand('runwatch.selectBackends'));
        return results;
      }
      const text = results.map((s) => `${s.displayName}: ${s.healthy ? 'healthy' : 'UNHEALTHY'} (${s.details}; lag ${s.lag})`).join(' · ');
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

async function configureBackend(context: vscode.ExtensionContext, hub: Hub, apply: () => Promise<void>, preselected?: string): Promise<void> {
  let id = preselected;
  if (!id) {
    const items = hub.listPlugins('backend').map((e) => ({ label: e.displayName, description: e.id, id: e.id }));
    const pick = await vscode.window.showQuickPick(items, { title: 'Runwatch: Configure Backend…', placeHolder: 'Which backend?' });
    if (!pick) return;
    id = pick.id;
  }
  let schema: ConfigSchema | undefined = hub.registry.get(id)?.metadata.configSchema ?? hub.registry.contribution(id)?.configSchema;
  if (!schema && !hub.registry.get(id)) schema = (await hub.registry.ensureActive(id)).metadata.configSchema;
  const props = Object.entries(schema?.properties ?? {});
  if (!props.length) {
    void vscode.window.showInformationMessage(`Runwatch: ${id} has no settings.`);
    return;
  }
  const required = new Set(schema?.required ?? []);
  const all = vscode.workspace.getConfiguration('runwatch').get<Configs>('backendConfig', {});
  const current = { ...(all[id] ?? {}) };
  const secrets: [string, string][] = [];
  for (const [name, prop] of props) {
    const title = `${id}: ${name}${required.has(name) ? '' : ' (optional)'}`;
    if (prop.secret) {
      const has = !!(await context.secrets.get(secretKey(id, name)));
      const text = await vscode.window.showInputBox({
        title,
        prompt: `${prop.description ?? ''} Kept in SecretStorage.${has ? ' Leave empty to keep the stored value.' : ''}`.trim(),
        password: true,
        ignoreFocusOut: true,
        validateInput: (t) => (!t && required.has(name) && !has ? `${name} is required` : undefined),
      });
      if (text === undefined) return; // Escape: change nothing.
      if (text) secrets.push([name, text]);
      continue;
    }
    const shown = current[name] ?? prop.default;
    const text = await vscode.window.showInputBox({
      title,
      prompt: [prop.description, prop.enum ? `One of: ${prop.enum.join(', ')}` : '', prop.type === 'array' ? 'Comma-separated.' : ''].filter(Boolean).join(' '),
      value: shown === undefined ? '' : Array.isArray(shown) ? shown.join(', ') : String(shown),
      ignoreFocusOut: true,
      validateInput: (t) => (t === '' ? (required.has(name) && prop.default === undefined ? `${name} is required` : undefined) : parseInput(prop, t).error && `${name} ${parseInput(prop, t).error}`),
    });
    if (text === undefined) return;
    if (text === '') delete current[name];
    else current[name] = parseInput(prop, text).value;
  }
  for (const [name, value] of secrets) await context.secrets.store(secretKey(id, name), value);
  await vscode.workspace.getConfiguration('runwatch').update('backendConfig', { ...all, [id]: current }, target());
  // Secrets are not settings: a changed secret needs an explicit restart.
  if (secrets.length && hub.selectedIds().includes(id)) await hub.restartBackend(id).catch((e: Error) => void vscode.window.showWarningMessage(`Runwatch: ${e.message}`));
  await apply();
  void vscode.window.showInformationMessage(`Runwatch: ${id} configured.`);
}
