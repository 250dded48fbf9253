// Validates a plugin's configuration against its `ConfigSchema` (a small JSON
// Schema subset) with ajv, and fills in defaults. Ajv checks; the wording is ours:
// every message names the field, the plugin and its kind, and where to set it, so a
// person can fix the setting it came from. One message per field (a value of the
// wrong type is not also reported as outside its range). Secrets are checked here,
// not by ajv: they never live in settings, only whether SecretStorage has them.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigProperty, ConfigSchema, PluginKind } from '../api/types';

export interface ConfigValidation {
  ok: boolean;
  /** The validated config with defaults filled in (only known properties). */
  value: Record<string, unknown>;
  /** One message per problem, each starting with the field's name. */
  errors: string[];
}

/** Keys in `runwatch.backendConfig.<id>` that Runwatch itself reads, not the plugin. */
export const RESERVED_CONFIG_KEYS = new Set(['processors']);

// strictNumbers: NaN and ±Infinity are not numbers a setting can hold (JSON cannot even write them).
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, strictNumbers: true });
const objectValidators = new WeakMap<ConfigSchema, ValidateFunction>();
const valueValidators = new WeakMap<ConfigProperty, ValidateFunction>();

/** The JSON Schema ajv checks one property with: only the fields we define, so unknown ones never reach ajv. */
function propertySchema(prop: ConfigProperty): Record<string, unknown> {
  const out: Record<string, unknown> = { type: prop.type };
  if (prop.enum) out.enum = prop.enum;
  if (prop.minimum !== undefined) out.minimum = prop.minimum;
  if (prop.maximum !== undefined) out.maximum = prop.maximum;
  if (prop.type === 'array' && prop.items) out.items = { type: prop.items.type };
  return out;
}

function objectValidator(schema: ConfigSchema | undefined): ValidateFunction {
  const cached = schema && objectValidators.get(schema);
  if (cached) return cached;
  const props = Object.entries(schema?.properties ?? {}).filter(([, p]) => !p.secret);
  const properties = Object.fromEntries(
    props.map(([name, p]) => [
      name,
      p.default === undefined ? propertySchema(p) : { ...propertySchema(p), default: p.default },
    ]),
  );
  // A required field with a default is never missing.
  const required = (schema?.required ?? []).filter((r) =>
    props.some(([name, p]) => name === r && p.default === undefined),
  );
  const validate = ajv.compile({ type: 'object', properties, required, additionalProperties: false });
  if (schema) objectValidators.set(schema, validate);
  return validate;
}

export function validateConfig(
  schema: ConfigSchema | undefined,
  config: Record<string, unknown>,
  opts: { pluginId?: string; kind?: PluginKind; presentSecrets?: ReadonlySet<string> } = {},
): ConfigValidation {
  const kind = opts.kind ?? 'backend';
  const where = opts.pluginId ? ` (${kind} "${opts.pluginId}")` : '';
  // Backends and sources have a configuration command; processors are set in settings.
  const setWith = kind === 'processor' ? 'settings (runwatch.processorConfig)' : '"Runwatch: Configure Backend…"';
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);

  // Empty and null count as unset; secrets and Runwatch's own keys are not the plugin's settings.
  const data: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(config)) {
    if (v === undefined || v === null || v === '' || props[name]?.secret || RESERVED_CONFIG_KEYS.has(name)) continue;
    data[name] = v;
  }
  const validate = objectValidator(schema);
  validate(data);
  const problems = new Map<string, string>();
  const unknown: string[] = [];
  for (const e of byPriority(validate.errors ?? [])) {
    if (e.keyword === 'additionalProperties') {
      unknown.push((e.params as { additionalProperty: string }).additionalProperty);
      continue;
    }
    const name = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : field(e);
    if (problems.has(name)) continue;
    if (e.keyword === 'required') {
      const desc = props[name]?.description;
      problems.set(name, `is required${desc ? `: ${desc.replace(/\.?$/, '.')}` : '.'} Set it with ${setWith}.`);
    } else {
      problems.set(name, describeError(props[name], e, data[name], 2));
    }
  }

  const errors: string[] = [];
  for (const [name, prop] of Object.entries(props)) {
    if (prop.secret) {
      if (config[name] !== undefined) {
        const store = kind === 'backend' ? `store it with ${setWith}` : 'store it in SecretStorage';
        errors.push(`"${name}"${where} is a secret: ${store}, not in settings.`);
      }
      if (required.has(name) && opts.presentSecrets && !opts.presentSecrets.has(name))
        errors.push(`"${name}"${where} is required: set it with ${setWith}.`);
      continue;
    }
    const problem = problems.get(name);
    if (problem) errors.push(`"${name}"${where} ${problem}`);
  }
  // Unknown keys are refused: a typo would otherwise silently fall back to a default.
  const known = Object.keys(props).join(', ') || '(none)';
  for (const name of Object.keys(config).filter((k) => unknown.includes(k))) {
    errors.push(`"${name}"${where} is not a setting of this ${kind}; known: ${known}.`);
  }
  const value: Record<string, unknown> = {};
  for (const name of Object.keys(props)) if (name in data && !props[name].secret) value[name] = data[name];
  return { ok: errors.length === 0, value, errors };
}

/** Checks one value; returns what is wrong with it (without the field name), or undefined. */
export function checkValue(prop: ConfigProperty, v: unknown): string | undefined {
  let validate = valueValidators.get(prop);
  if (!validate) {
    validate = ajv.compile(propertySchema(prop));
    valueValidators.set(prop, validate);
  }
  if (validate(v)) return undefined;
  const [first] = byPriority(validate.errors ?? []);
  return describeError(prop, first, v, 1);
}

/** Parses text typed into an input box into the property's type (for the Configure command). */
export function parseInput(prop: ConfigProperty, text: string): { value?: unknown; error?: string } {
  let v: unknown = text;
  if (prop.type === 'number' || prop.type === 'integer') v = text.trim() === '' ? NaN : Number(text);
  else if (prop.type === 'boolean') v = text === 'true' ? true : text === 'false' ? false : text;
  else if (prop.type === 'array') {
    const parts = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    v = parts.map((s) => (prop.items?.type === 'number' ? Number(s) : s));
  }
  const problem = checkValue(prop, v);
  return problem ? { error: problem } : { value: v };
}

/** The property an error is about: the first segment of its instance path. */
function field(e: ErrorObject): string {
  return decodeURIComponent(e.instancePath.split('/')[1] ?? '')
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
}

// The first problem of a value is the one worth saying: its type, then an item's, then range, then enum.
const PRIORITY: Record<string, number> = { required: 0, type: 1, minimum: 3, maximum: 3, enum: 4 };
function rank(e: ErrorObject): number {
  const base = PRIORITY[e.keyword] ?? 5;
  // An item's type error (path /field/i) ranks after the field's own type error.
  return e.keyword === 'type' && e.instancePath.split('/').length > 2 ? 2 : base;
}

function byPriority(errors: ErrorObject[]): ErrorObject[] {
  return [...errors].sort((a, b) => rank(a) - rank(b));
}

/**
 * An ajv error about `v` (the property's value) in our words, without the field name.
 * `itemAt`: where an array item's index sits in the error's path ('/i' for a single
 * value: 1; '/field/i' in a config object: 2).
 */
function describeError(prop: ConfigProperty | undefined, e: ErrorObject, v: unknown, itemAt: 1 | 2): string {
  const item = e.instancePath.split('/')[itemAt];
  if (e.keyword === 'type' && item !== undefined && Array.isArray(v) && prop?.items) {
    const i = Number(item);
    return `item ${i} must be a ${prop.items.type}, got ${describe(v[i])}.`;
  }
  switch (e.keyword) {
    case 'type':
      switch (prop?.type) {
        case 'string':
          return `must be a string, got ${describe(v)}.`;
        case 'boolean':
          return `must be true or false, got ${describe(v)}.`;
        case 'array':
          return `must be a list, got ${describe(v)}.`;
        default:
          if (typeof v !== 'number' || !Number.isFinite(v)) return `must be a number, got ${describe(v)}.`;
          return `must be a whole number, got ${v}.`;
      }
    case 'minimum':
      return `must be at least ${(e.params as { limit: number }).limit}, got ${String(v)}.`;
    case 'maximum':
      return `must be at most ${(e.params as { limit: number }).limit}, got ${String(v)}.`;
    case 'enum':
      return `must be one of ${(prop?.enum ?? []).map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v)}.`;
    default:
      return `is not valid: ${e.message ?? e.keyword}.`;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

/** "Required" only once something was typed and cleared: VS Code ignores Enter while a message
 * stands, and one shown for the empty box at opening lingers until the host re-validates the
 * typed text, so a quick Enter after pasting was lost. */
export function requiredAfterTyping(required: boolean, message: string): (t: string) => string | undefined {
  let typed = false;
  return (t) => {
    if (t !== '') typed = true;
    return t === '' && required && typed ? message : undefined;
  };
}
