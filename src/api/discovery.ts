// Finds companion extensions' plugins in their package.json
// (`contributes.runwatch.plugins`) so the pickers list them before those
// extensions run, and keeps the list current as extensions come and go.
// It takes VS Code's `extensions` namespace as a parameter (type imports only), so
// the parsing and the bookkeeping are tested in plain Node.
import type { ConfigProperty, ContributedPlugin, Disposable, PluginKind } from './types';
import { checkValue } from '../core/configSchema';

const KINDS: readonly PluginKind[] = ['backend', 'source', 'processor'];
const PROPERTY_TYPES: readonly ConfigProperty['type'][] = ['string', 'number', 'integer', 'boolean', 'array'];
const PLUGIN_FIELDS = new Set(['id', 'displayName', 'kind', 'description', 'capabilities', 'configSchema']);
const PROPERTY_FIELDS = new Set([
  'type',
  'description',
  'default',
  'enum',
  'minimum',
  'maximum',
  'items',
  'secret',
  'format',
]);
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The valid entries of an extension's `contributes.runwatch.plugins`, and what was
 * wrong with the rest: the same rules as `contributes.schema.json` (which VS Code
 * only shows the author while editing), plus a `required` name must be a property
 * and a `default` must fit its type. Each problem names the field; with
 * `extensionId` it names the extension too.
 */
export function readContributions(
  packageJSON: unknown,
  extensionId?: string,
): { plugins: ContributedPlugin[]; problems: string[] } {
  const plugins: ContributedPlugin[] = [];
  const problems: string[] = [];
  const who = extensionId ? `${extensionId}: ` : '';
  const runwatch = asObject(asObject(packageJSON)?.contributes)?.runwatch;
  if (runwatch === undefined) return { plugins, problems };
  const root = 'contributes.runwatch';
  const rw = asObject(runwatch);
  if (!rw) return { plugins, problems: [`${who}${root} must be an object with a "plugins" list`] };
  for (const k of Object.keys(rw))
    if (k !== 'plugins') problems.push(`${who}${root}.${k} is not a field Runwatch knows (only "plugins")`);
  const list = rw.plugins;
  if (!Array.isArray(list)) return { plugins, problems: [...problems, `${who}${root}.plugins must be a list`] };
  const seen = new Set<string>();
  list.forEach((entry: unknown, i) => {
    const at = `${root}.plugins[${i}]`;
    const errors = pluginProblems(entry, at);
    const id = (entry as { id?: unknown } | null)?.id;
    if (!errors.length && typeof id === 'string') {
      if (seen.has(id)) errors.push(`${at}.id "${id}" is declared twice`);
      seen.add(id);
    }
    if (errors.length)
      problems.push(`${who}plugin ${typeof id === 'string' ? `"${id}" ` : ''}ignored: ${errors.join('; ')}`);
    else plugins.push(entry as ContributedPlugin);
  });
  return { plugins, problems };
}

function pluginProblems(entry: unknown, at: string): string[] {
  const p = asObject(entry);
  if (!p) return [`${at} must be an object`];
  const errors: string[] = [];
  if (typeof p.id !== 'string' || !ID.test(p.id))
    errors.push(`${at}.id must be a string of letters, digits, ".", "_" or "-", got ${show(p.id)}`);
  if (typeof p.displayName !== 'string') errors.push(`${at}.displayName must be a string, got ${show(p.displayName)}`);
  if (!KINDS.includes(p.kind as PluginKind))
    errors.push(`${at}.kind must be one of ${KINDS.join(', ')}, got ${show(p.kind)}`);
  if (p.description !== undefined && typeof p.description !== 'string')
    errors.push(`${at}.description must be a string`);
  if (
    p.capabilities !== undefined &&
    !(Array.isArray(p.capabilities) && p.capabilities.every((c) => typeof c === 'string'))
  )
    errors.push(`${at}.capabilities must be a list of strings`);
  for (const k of Object.keys(p)) if (!PLUGIN_FIELDS.has(k)) errors.push(`${at}.${k} is not a field Runwatch knows`);
  if (p.configSchema !== undefined) errors.push(...configSchemaProblems(p.configSchema, `${at}.configSchema`));
  return errors;
}

function configSchemaProblems(value: unknown, at: string): string[] {
  const s = asObject(value);
  if (!s) return [`${at} must be an object`];
  const errors: string[] = [];
  if (s.type !== 'object') errors.push(`${at}.type must be "object", got ${show(s.type)}`);
  for (const k of Object.keys(s))
    if (!['type', 'properties', 'required'].includes(k)) errors.push(`${at}.${k} is not a field Runwatch knows`);
  const props = asObject(s.properties);
  if (!props) errors.push(`${at}.properties must be an object of setting name → property`);
  for (const [name, raw] of Object.entries(props ?? {})) {
    const pat = `${at}.properties.${name}`;
    const prop = asObject(raw);
    const start = errors.length;
    if (!prop) {
      errors.push(`${pat} must be an object`);
      continue;
    }
    for (const k of Object.keys(prop))
      if (!PROPERTY_FIELDS.has(k)) errors.push(`${pat}.${k} is not a field Runwatch knows`);
    if (!PROPERTY_TYPES.includes(prop.type as ConfigProperty['type'])) {
      errors.push(`${pat}.type must be one of ${PROPERTY_TYPES.join(', ')}, got ${show(prop.type)}`);
      continue;
    }
    if (prop.description !== undefined && typeof prop.description !== 'string')
      errors.push(`${pat}.description must be a string`);
    if (
      prop.enum !== undefined &&
      !(Array.isArray(prop.enum) && prop.enum.every((e) => typeof e === 'string' || typeof e === 'number'))
    )
      errors.push(`${pat}.enum must be a list of strings or numbers`);
    for (const k of ['minimum', 'maximum'] as const)
      if (prop[k] !== undefined && typeof prop[k] !== 'number') errors.push(`${pat}.${k} must be a number`);
    if (prop.secret !== undefined && typeof prop.secret !== 'boolean')
      errors.push(`${pat}.secret must be true or false`);
    if (prop.format !== undefined && (prop.format !== 'folder' || prop.type !== 'string'))
      errors.push(`${pat}.format must be "folder", on a string`);
    const items = prop.items === undefined ? undefined : asObject(prop.items);
    if (
      prop.items !== undefined &&
      (!items || (items.type !== undefined && items.type !== 'string' && items.type !== 'number'))
    )
      errors.push(`${pat}.items must be { "type": "string" } or { "type": "number" }`);
    // A default the validator would refuse would make the setting fail for everyone.
    if (prop.default !== undefined && errors.length === start) {
      const problem = checkValue(prop as unknown as ConfigProperty, prop.default);
      if (problem) errors.push(`${pat}.default ${problem}`);
    }
  }
  if (s.required !== undefined) {
    if (!(Array.isArray(s.required) && s.required.every((r) => typeof r === 'string')))
      errors.push(`${at}.required must be a list of property names`);
    else
      for (const r of s.required as string[])
        if (props && !(r in props)) errors.push(`${at}.required names "${r}", which is not in ${at}.properties`);
  }
  return errors;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

// ---------------------------------------------------------------------------
// Watching: the subset of `vscode.extensions` and of the hub this needs.

export interface ExtensionLike {
  readonly id: string;
  readonly packageJSON: unknown;
  activate(): PromiseLike<unknown>;
}

export interface ExtensionsLike {
  readonly all: readonly ExtensionLike[];
  onDidChange(listener: () => void): Disposable;
}

export interface ContributionSink {
  registerContributed(meta: ContributedPlugin, activate: () => Promise<void>, extensionId?: string): Disposable;
}

export interface DiscoveryLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Keeps the hub's contributed plugins in step with the installed extensions (other than Runwatch itself). */
export function watchContributions(
  hub: ContributionSink,
  log: DiscoveryLog,
  selfId: string,
  extensions: ExtensionsLike,
): Disposable {
  const registered = new Map<string, Disposable>();
  const scan = () => {
    const seen = new Set<string>();
    // Withdrawals first: a companion replaced by another with the same plugin id frees it.
    const present = new Map<string, ContributedPlugin[]>();
    for (const ext of extensions.all) {
      if (ext.id === selfId) continue;
      const { plugins, problems } = readContributions(ext.packageJSON, ext.id);
      for (const p of problems) log.error(p);
      present.set(ext.id, plugins);
      for (const p of plugins) seen.add(`${ext.id}\u0000${p.id}`);
    }
    for (const [key, d] of registered) {
      if (!seen.has(key)) {
        log.info(`plugin "${key.split('\u0000')[1]}" is gone (its extension was removed or no longer declares it)`);
        d.dispose();
        registered.delete(key);
      }
    }
    for (const ext of extensions.all) {
      for (const p of present.get(ext.id) ?? []) {
        const key = `${ext.id}\u0000${p.id}`;
        if (registered.has(key)) continue;
        try {
          // Activating the extension makes it call registerPlugin with this id.
          registered.set(
            key,
            hub.registerContributed(p, async () => void (await ext.activate()), ext.id),
          );
          log.info(`found plugin "${p.id}" (${p.kind}) contributed by ${ext.id}`);
        } catch (e) {
          // Two extensions with one id: the registry names both; the first keeps it.
          log.error(e instanceof Error ? e.message : String(e));
        }
      }
    }
  };
  scan();
  const sub = extensions.onDidChange(scan);
  return {
    dispose: () => {
      sub.dispose();
      for (const d of registered.values()) d.dispose();
      registered.clear();
    },
  };
}
