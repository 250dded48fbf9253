// Python launch configurations stream into Runwatch with no code: a DebugConfigurationProvider for the
// `python` and `debugpy` types adds the collector's environment (the terminals' variables,
// src/ui/terminalEnv.ts) to the configuration's `env`. Other debug types are not registered, so they
// are left alone. Variables the configuration sets itself win; PYTHONPATH gets the client prepended.
import * as vscode from 'vscode';
import { runwatchEnv, type TerminalEnvInfo } from '../terminalEnv';

export const PYTHON_DEBUG_TYPES = ['python', 'debugpy'] as const;

export class RunwatchDebugConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly info: () => TerminalEnvInfo | undefined) {}

  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.DebugConfiguration {
    return withRunwatchEnv(config, this.info());
  }
}

/** `config` with the collector's environment in `env` (unchanged when there is no collector info). */
export function withRunwatchEnv(
  config: vscode.DebugConfiguration,
  info: TerminalEnvInfo | undefined,
): vscode.DebugConfiguration {
  if (!info || !(PYTHON_DEBUG_TYPES as readonly string[]).includes(config.type)) return config;
  const own = (config.env ?? {}) as Record<string, string | null | undefined>;
  const basePath = typeof own.PYTHONPATH === 'string' ? own.PYTHONPATH : process.env.PYTHONPATH;
  const ours = runwatchEnv(info, basePath);
  // The configuration's own PYTHONPATH (or the inherited one) stays, after the client's folder.
  return { ...config, env: { ...ours, ...own, PYTHONPATH: ours.PYTHONPATH } };
}

export function registerDebugEnv(info: () => TerminalEnvInfo | undefined): vscode.Disposable[] {
  const provider = new RunwatchDebugConfigurationProvider(info);
  return PYTHON_DEBUG_TYPES.map((type) => vscode.debug.registerDebugConfigurationProvider(type, provider));
}
