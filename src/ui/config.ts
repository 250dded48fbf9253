// The extension's one reader of `runwatch.*` settings. The table of settings, their
// defaults and what a change needs is src/runtime/settings.ts; this file reads the
// values from VS Code (checked: a value of the wrong type falls back to the default,
// logged once) and tells listeners which effects a change needs. Other files call
// `setting('dashboard.maxUpdatesPerSecond')` rather than vscode.workspace.getConfiguration.
import * as vscode from 'vscode';
import type { Logger } from '../common/logger';
import {
  effectsOf,
  SETTING_KEYS,
  settingValue,
  type RunwatchSettings,
  type SettingEffect,
  type SettingKey,
} from '../runtime/settings';

export type { RunwatchSettings, SettingEffect, SettingKey } from '../runtime/settings';

let log: Pick<Logger, 'warn'> | undefined;
const warned = new Set<string>();

/** Where a bad value is reported (the extension's log channel). */
export function setSettingsLogger(logger: Pick<Logger, 'warn'>): void {
  log = logger;
}

/** One setting's value now, or its default (also for a value that is not allowed). */
export function setting<K extends SettingKey>(key: K, scope?: vscode.ConfigurationScope): RunwatchSettings[K] {
  const raw = vscode.workspace.getConfiguration('runwatch', scope).get<unknown>(key);
  return settingValue(key, raw, (message) => {
    if (warned.has(message)) return;
    warned.add(message);
    log?.warn(message);
  });
}

/** Every setting's value now. */
export function readSettings(): RunwatchSettings {
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const k of SETTING_KEYS) out[k] = setting(k);
  return out as RunwatchSettings;
}

/** Where a setting the person changes is written: the workspace when a folder is open, else the user. */
export function settingsTarget(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
}

export async function updateSetting<K extends SettingKey>(
  key: K,
  value: RunwatchSettings[K],
  target: vscode.ConfigurationTarget = settingsTarget(),
): Promise<void> {
  await vscode.workspace.getConfiguration('runwatch').update(key, value, target);
}

/** The value set in `target` itself (not merged with other scopes or the default), for read-modify-write. */
export function ownSetting<K extends SettingKey>(
  key: K,
  target: vscode.ConfigurationTarget = settingsTarget(),
): RunwatchSettings[K] | undefined {
  const seen = vscode.workspace.getConfiguration('runwatch').inspect<RunwatchSettings[K]>(key);
  return target === vscode.ConfigurationTarget.Global ? seen?.globalValue : seen?.workspaceValue;
}

export interface SettingsChange {
  keys: SettingKey[];
  /** Strongest first: 'store' before 'collector' before 'plugins' before 'live'. */
  effects: SettingEffect[];
}

/** Fires once per configuration change that touches a `runwatch.*` setting. */
export function onDidChangeSettings(listener: (change: SettingsChange) => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    const keys = SETTING_KEYS.filter((k) => e.affectsConfiguration(`runwatch.${k}`));
    if (keys.length) listener({ keys, effects: effectsOf(keys) });
  });
}
