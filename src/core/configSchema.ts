// Validates a plugin's configuration against its `ConfigSchema` (a small JSON
// Schema subset) and fills in defaults. Every error names the field, so a person
// can fix the setting it came from.
import type { ConfigProperty, ConfigSchema } from '../api/types';

export interface ConfigValidation {
  ok: boolean;
  /** The validated config with defaults filled in (only known properties). */
  value: Record<string, unknown>;
  /** One message per problem, each starting with the field's name. */
  errors: string[];
}

/** Keys in `runwatch.backendConfig.<id>` that Runwatch itself reads, not the plugin. */
export const RESERVED_CONFIG_KEYS = new Set(['processors']);

export function validateConfig(
  schema: ConfigSchema | undefined,
  config: Record<string, unknown>,
  opts: { pluginId?: string; kind?: 'backend' | 'source' | 'processor'; presentSecrets?: ReadonlySet<string> } = {},
): ConfigValidation {
  const errors: string[] = [];
  const value: Record<string, unknown> = {};
  const kind = opts.kind ?? 'backend';
  const where = opts.pluginId ? ` (${kind} "${opts.pluginId}")` : '';
  // Only backends have a configuration command; sources and processors are set in settings.
  const setWith =
    kind === 'backend'
      ? '"Runwatch: Configure Backend…"'
      : `settings (${kind === 'source' ? 'runwatch.sources' : 'runwatch.processorConfig'})`;
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);

  for (const [name, prop] of Object.entries(props)) {
    if (prop.secret) {
      // Secrets never live in settings: they come from SecretStorage.
      if (config[name] !== undefined)
        errors.push(
          `"${name}"${where} is a secret: ${kind === 'backend' ? `store it with ${setWith}` : 'store it in SecretStorage'}, not in settings.`,
        );
      if (required.has(name) && opts.presentSecrets && !opts.presentSecrets.has(name))
        errors.push(`"${name}"${where} is required: set it with ${setWith}.`);
      continue;
    }
    const raw = config[name];
    if (raw === undefined || raw === null || raw === '') {
      if (prop.default !== undefined) value[name] = prop.default;
      else if (required.has(name))
        errors.push(
          `"${name}"${where} is required${prop.description ? `: ${prop.description.replace(/\.?$/, '.')}` : '.'} Set it with ${setWith}.`,
        );
      continue;
    }
    const problem = checkValue(prop, raw);
    if (problem) errors.push(`"${name}"${where} ${problem}`);
    else value[name] = raw;
  }
  for (const name of Object.keys(config)) {
    if (!(name in props) && !RESERVED_CONFIG_KEYS.has(name)) {
      // Unknown keys are refused: a typo would otherwise silently fall back to a default.
      errors.push(
        `"${name}"${where} is not a setting of this ${kind}; known: ${Object.keys(props).join(', ') || '(none)'}.`,
      );
    }
  }
  return { ok: errors.length === 0, value, errors };
}

/** Checks one value; returns what is wrong with it (without the field name), or undefined. */
export function checkValue(prop: ConfigProperty, v: unknown): string | undefined {
  switch (prop.type) {
    case 'string':
      if (typeof v !== 'string') return `must be a string, got ${describe(v)}.`;
      break;
    case 'boolean':
      if (typeof v !== 'boolean') return `must be true or false, got ${describe(v)}.`;
      break;
    case 'number':
    case 'integer':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `must be a number, got ${describe(v)}.`;
      if (prop.type === 'integer' && !Number.isInteger(v)) return `must be a whole number, got ${v}.`;
      if (prop.minimum !== undefined && v < prop.minimum) return `must be at least ${prop.minimum}, got ${v}.`;
      if (prop.maximum !== undefined && v > prop.maximum) return `must be at most ${prop.maximum}, got ${v}.`;
      break;
    case 'array':
      if (!Array.isArray(v)) return `must be a list, got ${describe(v)}.`;
      if (prop.items) {
        const bad = v.findIndex((x) => typeof x !== prop.items!.type);
        if (bad >= 0) return `item ${bad} must be a ${prop.items.type}, got ${describe(v[bad])}.`;
      }
      break;
  }
  if (prop.enum && !prop.enum.includes(v as string | number))
    return `must be one of ${prop.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}.`;
  return undefined;
}

/** Parses text typed into an input box into the property's type (for the Configure command). */
export function parseInput(prop: ConfigProperty, text: string): { value?: unknown; error?: string } {
  let v: unknown = text;
  if (prop.type === 'number' || prop.type === 'integer') v = text.trim() === '' ? NaN : Number(text);
  else if (prop.type === 'boolean') v = text === 'true' ? true : text === 'false' ? false : text;
  else if (prop.type === 'array')
    v = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => (prop.items?.type === 'number' ? Number(s) : s));
  const problem = checkValue(prop, v);
  return problem ? { error: problem } : { value: v };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}
