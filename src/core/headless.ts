// A hub without VS Code, for the collector CLI's `--backends` and for tests: secrets
// from the environment, the chosen backends and plugin settings from a JSON file,
// test plugins loaded from module paths.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plugin, PluginSecrets } from '../api/types';
import { errorText } from '../common/errors';
import { consoleLogger } from '../common/logger';
import { Hub, type HubStore } from './hub';
import type { HubLogger } from './pluginLogger';
import type { SinkOptions } from './sinkRunner';

export interface BackendsFile {
  selected: string[];
  config?: Record<string, Record<string, unknown>>;
  /** Sink runner tuning (batch size, timeouts, breaker); tests use it to make batches small. */
  sink?: Partial<SinkOptions>;
  /** As the `runwatch.sources` setting: per source id, its settings and `enabled`. */
  sources?: Record<string, Record<string, unknown>>;
  /** As the `runwatch.processorConfig` setting. */
  processorConfig?: Record<string, Record<string, unknown>>;
}

export interface HeadlessHubOptions {
  store: HubStore;
  stateDir: string;
  /** JSON file `{ "selected": [ids], "config": { id: {...} } }`. */
  backendsFile?: string;
  /** Built-in plugins to register (the CLI passes `builtinBackends()`). */
  builtins?: Plugin[];
  /**
   * Module paths loaded with `require`; each exports `createPlugins()`, `plugins`,
   * `plugin` or a default export (a plugin or a list of plugins).
   */
  pluginModules?: string[];
  env?: NodeJS.ProcessEnv;
  /** Default: stderr, so a CLI's stdout stays machine-readable. */
  logger?: HubLogger;
  sink?: Partial<SinkOptions>;
  /** Source settings laid over the file's, per source id (the CLI's --amqp). */
  sources?: Record<string, Record<string, unknown>>;
}

/** Secrets from the environment: property `token` of backend `mlflow` is `RUNWATCH_SECRET_MLFLOW_TOKEN`. */
export function envSecrets(env: NodeJS.ProcessEnv): PluginSecrets {
  return {
    get: async (key) => {
      const name = `RUNWATCH_SECRET_${key.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
      return env[name];
    },
  };
}

export function readBackendsFile(file: string): BackendsFile {
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const f = raw as BackendsFile;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  if (!isObject(raw) || !Array.isArray(f.selected) || !f.selected.every((s) => typeof s === 'string'))
    throw new Error(`${file}: "selected" must be a list of backend ids`);
  if (f.config !== undefined && !isObject(f.config))
    throw new Error(`${file}: "config" must be an object keyed by backend id`);
  for (const k of ['sources', 'processorConfig'] as const)
    if (f[k] !== undefined && !isObject(f[k])) throw new Error(`${file}: "${k}" must be an object keyed by plugin id`);
  return f;
}

export function loadPluginModule(modulePath: string): Plugin[] {
  // A runtime require on purpose: test backends are plain JS files outside the bundle.
  const mod = require(path.resolve(modulePath)) as Record<string, unknown>;
  const made =
    typeof mod.createPlugins === 'function'
      ? (mod.createPlugins as () => unknown)()
      : (mod.plugins ?? mod.plugin ?? mod.default);
  const list = (Array.isArray(made) ? made : [made]) as Plugin[];
  if (!list.length || list.some((p) => !p || typeof p !== 'object' || !p.metadata))
    throw new Error(`${modulePath}: exports no plugin (expected createPlugins(), plugins, plugin or default)`);
  return list;
}

/** A hub with built-ins and module plugins registered and the file's backends selected. */
export async function startHeadlessHub(o: HeadlessHubOptions): Promise<Hub> {
  const logger = o.logger ?? consoleLogger();
  const file = o.backendsFile ? readBackendsFile(o.backendsFile) : undefined;
  const secrets = envSecrets(o.env ?? process.env);
  const hub = new Hub({ store: o.store, stateDir: o.stateDir, logger, secrets, sink: { ...file?.sink, ...o.sink } });
  // Before any plugin is registered, so a source turned off never starts.
  const sources = { ...file?.sources };
  for (const [id, s] of Object.entries(o.sources ?? {})) sources[id] = { ...sources[id], ...s };
  void hub.configurePlugins({ sources, processors: file?.processorConfig }).catch(() => undefined);
  for (const p of o.builtins ?? []) hub.registerPlugin(p, 'builtin');
  for (const m of o.pluginModules ?? []) for (const p of loadPluginModule(m)) hub.registerPlugin(p, 'api');
  if (file) {
    // Backends that can start do; the others are reported, and the hub runs regardless.
    await hub
      .selectBackends(file.selected, file.config ?? {})
      .catch((e: unknown) => logger.error(`backends: ${errorText(e)}`));
  }
  return hub;
}
