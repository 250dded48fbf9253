// Every call the hub makes into a plugin, each with a time limit: `initialize` with
// a context (validated config, secrets, logger, notify, storage), `dispose` and
// `healthCheck`. A plugin is someone else's code: a call that throws or hangs is
// reported and never takes the hub down with it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  ConfigSchema,
  HealthStatus,
  Plugin,
  PluginContext,
  PluginKind,
  PluginSecrets,
  ProcessorPlugin,
  SourcePlugin,
} from '../api/types';
import { errorText } from '../common/errors';
import { validateConfig, type ConfigValidation } from './configSchema';
import { toPluginLogger, type HubLogger } from './pluginLogger';
import { withTimeout } from './resilience';

/** The key under which a plugin's secret property is stored. */
export function secretKey(pluginId: string, property: string): string {
  return `${pluginId}/${property}`;
}

/** A source or processor the hub runs: the instance it initialized, and with which settings. */
export interface PluginSlot<P extends SourcePlugin | ProcessorPlugin> {
  id: string;
  kind: P['metadata']['kind'];
  /** Initialized (a source: also started) and not yet disposed. */
  plugin?: P;
  configKey?: string;
  error?: string;
  health?: HealthStatus;
  /** Serializes start/stop of this plugin. */
  lock: Promise<void>;
  /** Sources: stops it and waits for its last appends. */
  stopSink?: () => Promise<void>;
}

export interface PluginCallsOptions {
  /** Plugin storage lives in `<stateDir>/plugins/<id>`. */
  stateDir: string;
  logger: HubLogger;
  secrets?: PluginSecrets;
  timeoutMs: number;
  notify?: (pluginId: string, message: string) => void;
  /** Called when a health check changed what the views show. */
  onChange: () => void;
}

export class PluginCalls {
  /** Plugin messages already shown (notify shows each once while the hub lives). */
  private readonly notified = new Set<string>();

  constructor(private readonly o: PluginCallsOptions) {}

  get logger(): HubLogger {
    return this.o.logger;
  }

  /** Runs one plugin call with the time limit; `what` names it in the timeout message. */
  call<T>(what: string, fn: () => T | PromiseLike<T>): Promise<T> {
    return withTimeout(fn, this.o.timeoutMs, what);
  }

  /** Checks a config against a schema, with the secrets SecretStorage holds for that plugin. */
  async validate(
    id: string,
    kind: PluginKind,
    schema: ConfigSchema | undefined,
    config: Record<string, unknown>,
    named = false,
  ): Promise<ConfigValidation> {
    const present = new Set<string>();
    for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
      if (prop.secret && (await this.o.secrets?.get(secretKey(id, name)))) present.add(name);
    }
    return validateConfig(schema, config, { pluginId: named ? id : undefined, kind, presentSecrets: present });
  }

  /** Calls `initialize` with a fresh context; rejects when it throws or takes too long. */
  initialize(id: string, plugin: Plugin, config: Record<string, unknown>): Promise<void> {
    return this.call(`${id} initialize`, () => plugin.initialize(this.context(id, config)));
  }

  /** Calls `dispose`; a failure is logged, never thrown. */
  async dispose(id: string, plugin: Plugin): Promise<void> {
    try {
      await this.call(`${id} dispose`, () => plugin.dispose());
    } catch (e) {
      this.o.logger.warn(`${plugin.metadata.kind} ${id}: dispose failed: ${errorText(e)}`);
    }
  }

  /** Calls `healthCheck`; a failure is an unhealthy status, never thrown. */
  async health(id: string, plugin: Plugin): Promise<HealthStatus> {
    try {
      return await this.call(`${id} health check`, () => plugin.healthCheck());
    } catch (e) {
      return { healthy: false, details: `health check failed: ${errorText(e)}` };
    }
  }

  /** Validates a source's or processor's settings and initializes it; on failure records why and returns false. */
  async initializeSlot<P extends SourcePlugin | ProcessorPlugin>(
    slot: PluginSlot<P>,
    plugin: P,
    config: Record<string, unknown>,
  ): Promise<boolean> {
    const where = `${slot.kind} "${slot.id}"`;
    const validation = await this.validate(slot.id, slot.kind, plugin.metadata.configSchema, config);
    // `processors` is reserved for backends; validateConfig lets it through for everyone.
    if ('processors' in config) validation.errors.push('"processors" is a backend setting, not one of this plugin.');
    if (validation.errors.length) {
      slot.error = `Settings refused for ${where}: ${validation.errors.join(' ')}`;
      this.o.logger.warn(slot.error);
      return false;
    }
    try {
      await this.initialize(slot.id, plugin, validation.value);
    } catch (e) {
      slot.error = `${where}: initialize failed: ${errorText(e)}`;
      this.o.logger.error(slot.error);
      // A half-initialized plugin may hold resources.
      await this.dispose(slot.id, plugin);
      return false;
    }
    slot.plugin = plugin;
    return true;
  }

  /** Stops (a source) and disposes a running source or processor; keeps `error` when given. */
  async stopSlot(slot: PluginSlot<SourcePlugin> | PluginSlot<ProcessorPlugin>, error?: string): Promise<void> {
    const { plugin, stopSink } = slot;
    slot.plugin = undefined;
    slot.stopSink = undefined;
    slot.configKey = undefined;
    slot.health = undefined;
    slot.error = error;
    if (stopSink) await stopSink();
    if (plugin) {
      await this.dispose(slot.id, plugin);
      this.o.logger.info(`${slot.kind} ${slot.id} stopped`);
    }
  }

  /** Runs a slot's health check; the answer is dropped when the plugin was stopped or replaced meanwhile. */
  async checkSlot(slot: PluginSlot<SourcePlugin> | PluginSlot<ProcessorPlugin>): Promise<void> {
    const plugin = slot.plugin;
    if (!plugin) return;
    const h = await this.health(slot.id, plugin);
    if (slot.plugin === plugin) slot.health = h;
    this.o.onChange();
  }

  context(pluginId: string, config: Record<string, unknown>): PluginContext {
    const storageDir = path.join(this.o.stateDir, 'plugins', encodeURIComponent(pluginId));
    fs.mkdirSync(storageDir, { recursive: true });
    const secrets = this.o.secrets;
    const logger = toPluginLogger(this.o.logger, pluginId);
    return {
      config: Object.freeze({ ...config }),
      secrets: { get: async (key) => secrets?.get(secretKey(pluginId, key)) },
      logger,
      notify: (message) => {
        const key = `${pluginId}\0${message}`;
        if (this.notified.has(key)) return;
        this.notified.add(key);
        logger.warn(message);
        this.o.notify?.(pluginId, message);
      },
      storageDir,
    };
  }
}
