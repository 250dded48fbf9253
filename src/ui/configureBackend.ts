// "Runwatch: Configure Backend…": asks for each setting of one backend or source (the row
// that was right-clicked, the plugin a warning named, or one picked from a list), with a
// folder picker for folder settings, a password box for secrets and a yes/no pick for
// booleans; saves them (a backend's in `runwatch.backendConfig`, a source's in
// `runwatch.sources`, secrets in SecretStorage), applies them, and says how it is doing
// afterwards. Sources are in the same list because the Backends view shows them too.
import * as vscode from 'vscode';
import type { ConfigProperty, ConfigSchema, PluginKind } from '../api/types';
import { parseInput, requiredAfterTyping } from '../core/configSchema';
import { secretKey, type Hub } from '../core/hub';
import { ownSetting, setting, updateSetting } from './config';

type Configs = Record<string, Record<string, unknown>>;

export interface ConfigureDeps {
  context: vscode.ExtensionContext;
  hub: Hub;
  /** Applies the settings and waits until the hub has them. */
  apply: () => Promise<void>;
  target: () => vscode.ConfigurationTarget;
}

/** What one question gave: a value, "unset" (use the default) or nothing (Escape: stop, change nothing). */
type Answer = { value: unknown } | { unset: true } | undefined;

/** The id a command argument names: a string, or a Backends view row (`{ status: { id } }`). */
export function backendIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const id = (arg as { status?: { id?: unknown } } | undefined)?.status?.id;
  return typeof id === 'string' ? id : undefined;
}

export async function configureBackend(d: ConfigureDeps, preselected?: string): Promise<void> {
  const { hub, context } = d;
  const id = preselected ?? (await pickPlugin(hub));
  if (!id) return;
  const source = kindOf(hub, id) === 'source';
  const key = source ? 'sources' : 'backendConfig';
  const schema = await schemaOf(hub, id);
  const props = Object.entries(schema?.properties ?? {});
  if (!props.length) {
    void vscode.window.showInformationMessage(`Runwatch: ${id} has no settings.`);
    return;
  }
  const required = new Set(schema?.required ?? []);
  const all: Configs = setting(key);
  const current: Record<string, unknown> = { ...(all[id] ?? {}) };
  const secrets: [string, string][] = [];
  for (const [name, prop] of props) {
    const title = `${id}: ${name}${required.has(name) ? '' : ' (optional)'}`;
    if (prop.secret) {
      const has = !!(await context.secrets.get(secretKey(id, name)));
      const text = await vscode.window.showInputBox({
        title,
        prompt:
          `${prop.description ?? ''} Kept in SecretStorage.${has ? ' Leave empty to keep the stored value.' : ''}`.trim(),
        password: true,
        ignoreFocusOut: true,
        validateInput: requiredAfterTyping(required.has(name) && !has, `${name} is required`),
      });
      if (text === undefined) return; // Escape: change nothing.
      if (!text && required.has(name) && !has) return refuseMissing(name);
      if (text) secrets.push([name, text]);
      continue;
    }
    const answer = await ask(title, name, prop, current[name], required.has(name));
    if (!answer) return;
    if ('unset' in answer && required.has(name) && prop.default === undefined) return refuseMissing(name);
    if ('unset' in answer) delete current[name];
    else current[name] = answer.value;
  }
  for (const [name, value] of secrets) await context.secrets.store(secretKey(id, name), value);
  // A copy: JSON.stringify of the object VS Code's settings hand out gives undefined.
  const before = JSON.stringify({ ...(all[id] ?? {}) });
  await saveConfig(key, id, current, d.target());
  await d.apply();
  if (source) {
    // A source reads its secrets when it starts: changed settings restarted it, changed
    // secrets alone (or a second try at a failing one) do it here.
    const failing = hub.pluginStatus().some((p) => p.id === id && !p.healthy);
    if (JSON.stringify(current) === before && (secrets.length || failing)) await hub.restartSource(id);
    return reportSource(hub, id);
  }
  // Unchanged settings are not applied again, and secrets are not settings: a backend that
  // is failing, or whose secrets changed, is started again explicitly.
  const failing = hub.status().find((s) => s.id === id && !!s.lastError && !s.healthy);
  const chosen = hub.selectedIds().includes(id);
  if (chosen && (secrets.length || (failing && JSON.stringify(current) === before))) {
    await hub.restartBackend(id).catch(() => undefined);
  }
  await report(hub, id, chosen);
}

type PickItem = vscode.QuickPickItem & { id?: string };

/** Backends, then sources, each under its heading. */
async function pickPlugin(hub: Hub): Promise<string | undefined> {
  const group = (kind: 'backend' | 'source', heading: string): PickItem[] => {
    const rows = hub.listPlugins(kind).map((e) => ({ label: e.displayName, description: e.id, id: e.id }));
    return rows.length ? [{ label: heading, kind: vscode.QuickPickItemKind.Separator }, ...rows] : [];
  };
  const pick = await vscode.window.showQuickPick([...group('backend', 'Backends'), ...group('source', 'Sources')], {
    title: 'Runwatch: Configure Backend…',
    placeHolder: 'Which backend or source?',
  });
  return pick?.id;
}

function kindOf(hub: Hub, id: string): PluginKind | undefined {
  return hub.registry.get(id)?.metadata.kind ?? hub.registry.contribution(id)?.kind;
}

/**
 * Writes one plugin's settings into the target's own value, read again now: the person
 * may have taken a while, and other plugins' settings (and other scopes') stay as they are.
 */
async function saveConfig(
  key: 'backendConfig' | 'sources',
  id: string,
  config: Record<string, unknown>,
  target: vscode.ConfigurationTarget,
): Promise<void> {
  const next: Configs = JSON.parse(JSON.stringify(ownSetting(key, target) ?? {})) as Configs;
  next[id] = config;
  await updateSetting(key, next, target);
}

async function schemaOf(hub: Hub, id: string): Promise<ConfigSchema | undefined> {
  const known = hub.registry.get(id)?.metadata.configSchema ?? hub.registry.contribution(id)?.configSchema;
  if (known || hub.registry.get(id)) return known;
  return (await hub.registry.ensureActive(id)).metadata.configSchema;
}

/** Says what configuring did: healthy, or what is still wrong (with the way back here). */
async function report(hub: Hub, id: string, chosen: boolean): Promise<void> {
  if (!chosen) {
    const a = await vscode.window.showInformationMessage(
      `Runwatch: ${id} configured. It is not chosen yet: choose it in Select Backends.`,
      'Select Backends',
    );
    if (a) await vscode.commands.executeCommand('runwatch.selectBackends');
    return;
  }
  const s = (await hub.checkHealth()).find((x) => x.id === id);
  if (!s || s.healthy) {
    void vscode.window.showInformationMessage(
      `Runwatch: ${id} configured. ${s ? `${s.displayName}: ${s.details}` : ''}`.trim(),
    );
    return;
  }
  const a = await vscode.window.showWarningMessage(
    `Runwatch: ${id} configured, but ${s.displayName} is unhealthy: ${s.details}`,
    'Configure Backend…',
  );
  if (a) await vscode.commands.executeCommand('runwatch.configureBackend', id);
}

/** Says how a source is doing after configuring: running and healthy, turned off, or what is wrong. */
async function reportSource(hub: Hub, id: string): Promise<void> {
  await hub.checkHealth();
  const p = hub.pluginStatus().find((x) => x.id === id);
  if (p?.state === 'off') {
    void vscode.window.showInformationMessage(
      `Runwatch: ${id} configured. It is turned off: "enabled": false in runwatch.sources.`,
    );
    return;
  }
  if (!p || p.healthy) {
    void vscode.window.showInformationMessage(
      `Runwatch: ${id} configured. ${p ? `${p.displayName}: ${p.details}` : ''}`.trim(),
    );
    return;
  }
  const a = await vscode.window.showWarningMessage(
    `Runwatch: ${id} configured, but ${p.displayName} is unhealthy: ${p.details}`,
    'Configure Backend…',
  );
  if (a) await vscode.commands.executeCommand('runwatch.configureBackend', id);
}

function shown(v: unknown): string {
  return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);
}

function ask(title: string, name: string, prop: ConfigProperty, current: unknown, required: boolean): Promise<Answer> {
  if (prop.format === 'folder') return askFolder(title, name, prop, current, required);
  if (prop.type === 'boolean') return askBoolean(title, prop, current);
  return askText(title, name, prop, current, required);
}

async function askText(
  title: string,
  name: string,
  prop: ConfigProperty,
  current: unknown,
  required: boolean,
): Promise<Answer> {
  const text = await vscode.window.showInputBox({
    title,
    prompt: [
      prop.description,
      prop.enum ? `One of: ${prop.enum.join(', ')}` : '',
      prop.type === 'array' ? 'Comma-separated.' : '',
    ]
      .filter(Boolean)
      .join(' '),
    value: shown(current ?? prop.default),
    ignoreFocusOut: true,
    validateInput: (() => {
      const empty = requiredAfterTyping(required && prop.default === undefined, `${name} is required`);
      return (t: string) => {
        if (t === '') return empty(t);
        empty(t);
        const problem = parseInput(prop, t).error;
        return problem && `${name} ${problem}`;
      };
    })(),
  });
  if (text === undefined) return undefined;
  return text === '' ? { unset: true } : { value: parseInput(prop, text).value };
}

async function askBoolean(title: string, prop: ConfigProperty, current: unknown): Promise<Answer> {
  const now = typeof current === 'boolean' ? current : prop.default === true;
  const items = [true, false].map((v) => ({ label: v ? 'Yes' : 'No', description: v === now ? 'current' : '', v }));
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: prop.description, ignoreFocusOut: true });
  return pick && { value: pick.v };
}

type FolderItem = vscode.QuickPickItem & { action: 'browse' | 'type' | 'keep' | 'default' };

/** A folder: picked in the folder dialog, typed (a path on this machine), kept, or the default. */
async function askFolder(
  title: string,
  name: string,
  prop: ConfigProperty,
  current: unknown,
  required: boolean,
): Promise<Answer> {
  const now = typeof current === 'string' && current !== '' ? current : undefined;
  const fallback = typeof prop.default === 'string' && prop.default !== '' ? prop.default : undefined;
  const items: FolderItem[] = [
    { label: '$(folder-opened) Choose a folder…', detail: 'Opens the folder picker', action: 'browse' },
    { label: '$(edit) Type a path…', detail: 'Absolute, ~/…, or relative to the workspace folder', action: 'type' },
  ];
  if (now) items.push({ label: '$(check) Keep the current folder', detail: now, action: 'keep' });
  if (fallback && now !== fallback)
    items.push({ label: '$(discard) Use the default folder', detail: fallback, action: 'default' });
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: prop.description, ignoreFocusOut: true });
  if (!pick) return undefined;
  if (pick.action === 'keep') return { value: now };
  if (pick.action === 'default') return { unset: true };
  if (pick.action === 'type') return askText(title, name, prop, now, required);
  const start = now ?? fallback ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const uris = await vscode.window.showOpenDialog({
    title,
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Use This Folder',
    defaultUri: start ? vscode.Uri.file(start) : undefined,
  });
  const uri = uris?.[0];
  return uri ? { value: uri.fsPath } : undefined;
}

function refuseMissing(name: string): void {
  void vscode.window.showWarningMessage(`Runwatch: ${name} is required; nothing was changed.`);
}
