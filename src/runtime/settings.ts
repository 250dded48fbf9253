// Every `runwatch.*` setting: its type, its default and what a change to it needs.
// The one table both composition roots use (the extension reads the values through
// src/ui/config.ts, the headless CLI takes the defaults from here), so a default is
// written once; test/unit/settings.test.ts checks package.json's `contributes` agrees.
// No vscode here: the CLI and plain-Node tests import it.
import { DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES } from '../collector/collector';

/**
 * What must happen for a changed value to take effect:
 * - `live`: read at the moment it is used, nothing to do;
 * - `collector`: the collector restarts (rebinds, rewrites the discovery file and the terminal environment);
 * - `store`: the runtime reopens on the other store (collector, backends and views move with it);
 * - `plugins`: the hub re-applies its backend/source/processor choice (src/ui/backendCommands.ts).
 */
export type SettingEffect = 'live' | 'collector' | 'store' | 'plugins';

type PluginConfigs = Record<string, Record<string, unknown>>;

export interface RunwatchSettings {
  'collector.host': string;
  'collector.port': number;
  'collector.maxFrameBytes': number;
  'collector.heartbeatTimeoutSeconds': number;
  'store.path': string;
  backends: string[];
  backendConfig: PluginConfigs;
  sources: PluginConfigs;
  processorConfig: PluginConfigs;
  'dashboard.openOnRunStart': boolean;
  'dashboard.maxUpdatesPerSecond': number;
  'dashboard.smoothing': number;
  'dashboard.xAxis': 'step' | 'time' | 'relative';
  'dashboard.logScale': boolean;
  'dashboard.palette': string[];
  'dashboard.wheelZoom': 'modifier' | 'focused' | 'always';
  'dashboard.retainWhenHidden': boolean;
  'editor.inlineValues': boolean;
  'python.interpreter': string;
  'capture.enabled': boolean;
}

export type SettingKey = keyof RunwatchSettings;

interface SettingSpec<T> {
  default: T;
  effect: SettingEffect;
  /** Turns a value of the wrong type or range into the default (a hand-edited settings.json can hold anything). */
  check: (v: unknown) => v is T;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const inRange =
  (min: number, max = Number.MAX_SAFE_INTEGER, integer = false) =>
  (v: unknown): v is number =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
const isObject = (v: unknown): v is PluginConfigs => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (values as readonly string[]).includes(v);

export const SETTINGS: { readonly [K in SettingKey]: SettingSpec<RunwatchSettings[K]> } = {
  'collector.host': {
    default: '127.0.0.1',
    effect: 'collector',
    check: (v): v is string => isString(v) && v.trim() !== '',
  },
  'collector.port': { default: 0, effect: 'collector', check: inRange(0, 65535, true) },
  'collector.maxFrameBytes': {
    default: DEFAULT_MAX_FRAME_BYTES,
    effect: 'collector',
    check: inRange(65536, 2 ** 31, true),
  },
  'collector.heartbeatTimeoutSeconds': {
    default: DEFAULT_HEARTBEAT_TIMEOUT_MS / 1000,
    effect: 'collector',
    check: inRange(2),
  },
  'store.path': { default: '', effect: 'store', check: isString },
  backends: { default: [], effect: 'plugins', check: isStringList },
  backendConfig: { default: {}, effect: 'plugins', check: isObject },
  sources: { default: {}, effect: 'plugins', check: isObject },
  processorConfig: { default: {}, effect: 'plugins', check: isObject },
  'dashboard.openOnRunStart': { default: false, effect: 'live', check: isBool },
  'dashboard.maxUpdatesPerSecond': { default: 10, effect: 'live', check: inRange(1, 60) },
  'dashboard.smoothing': { default: 0.6, effect: 'live', check: (v): v is number => inRange(0)(v) && v < 1 },
  'dashboard.xAxis': { default: 'step', effect: 'live', check: oneOf(['step', 'time', 'relative'] as const) },
  'dashboard.logScale': { default: false, effect: 'live', check: isBool },
  'dashboard.palette': {
    default: [],
    effect: 'live',
    check: (v): v is string[] => isStringList(v) && v.every((c) => /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(c)),
  },
  'dashboard.wheelZoom': {
    default: 'modifier',
    effect: 'live',
    check: oneOf(['modifier', 'focused', 'always'] as const),
  },
  'dashboard.retainWhenHidden': { default: true, effect: 'live', check: isBool },
  'editor.inlineValues': { default: true, effect: 'live', check: isBool },
  // Live: the bridges resolve it when they (re)start a Python process.
  'python.interpreter': { default: '', effect: 'live', check: isString },
  // Live: new terminals, tasks and debug sessions get RUNWATCH_CAPTURE=0 when off (src/ui/terminalEnv.ts).
  'capture.enabled': { default: true, effect: 'live', check: isBool },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The value if it fits the setting, else its default (and `bad` is told why, so it can be logged). */
export function settingValue<K extends SettingKey>(
  key: K,
  raw: unknown,
  bad?: (message: string) => void,
): RunwatchSettings[K] {
  const spec = SETTINGS[key] as SettingSpec<RunwatchSettings[K]>;
  if (raw === undefined) return spec.default;
  if (spec.check(raw)) return raw;
  bad?.(
    `runwatch.${key} is ${JSON.stringify(raw)}, which is not allowed; using the default ${JSON.stringify(spec.default)}`,
  );
  return spec.default;
}

/** Every setting at its default. */
export function defaultSettings(): RunwatchSettings {
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const k of SETTING_KEYS) out[k] = structuredClone(SETTINGS[k].default);
  return out as RunwatchSettings;
}

/** The effects a change of these keys needs, strongest first (a store change includes a collector restart). */
export function effectsOf(keys: readonly SettingKey[]): SettingEffect[] {
  const set = new Set(keys.map((k) => SETTINGS[k].effect));
  return (['store', 'collector', 'plugins', 'live'] as const).filter((e) => set.has(e));
}

/** The collector options the settings give (the CLI's flags map onto the same names). */
export function collectorSettings(s: Pick<RunwatchSettings, Extract<SettingKey, `collector.${string}`>>): {
  host: string;
  port: number;
  maxFrameBytes: number;
  heartbeatTimeoutMs: number;
} {
  return {
    host: s['collector.host'],
    port: s['collector.port'],
    maxFrameBytes: s['collector.maxFrameBytes'],
    heartbeatTimeoutMs: s['collector.heartbeatTimeoutSeconds'] * 1000,
  };
}
