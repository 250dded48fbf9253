// Puts the collector's address and token into every new integrated terminal, and
// the bundled Python client on PYTHONPATH, so `import runwatch` in a script run
// from a VS Code terminal just works with no install and no configuration. Tasks run in integrated
// terminals, so they get it too (test/e2e/editor.e2e.test.ts); debug sessions get the same variables
// from src/ui/launch/debugConfig.ts. With runwatch.capture.enabled off, RUNWATCH_CAPTURE=0 is added.
import * as path from 'path';
import type * as vscode from 'vscode';

export interface TerminalEnvInfo {
  /** Undefined while no collector listens: scripts then spool (and the spool is imported later). */
  url?: string;
  token?: string;
  spoolDir: string;
  /** The extension's install folder; the client lives in `clients/python` under it. */
  extensionPath: string;
  /** runwatch.capture.enabled (src/ui/launch/captureSetting.ts); when not given, RUNWATCH_CAPTURE is left as it is. */
  capture?: boolean;
}

/** The client's folder, put first on PYTHONPATH. */
export function clientPath(extensionPath: string): string {
  return path.join(extensionPath, 'clients', 'python');
}

/** The same variables as a plain environment, for debug configurations; PYTHONPATH is prepended to `base`'s. */
export function runwatchEnv(info: TerminalEnvInfo, basePythonPath?: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (info.url && info.token !== undefined) {
    env.RUNWATCH_URL = info.url;
    env.RUNWATCH_TOKEN = info.token;
  }
  env.RUNWATCH_SPOOL_DIR = info.spoolDir;
  env.PYTHONPATH = clientPath(info.extensionPath) + (basePythonPath ? path.delimiter + basePythonPath : '');
  if (info.capture === false) env.RUNWATCH_CAPTURE = '0';
  return env;
}

export function applyTerminalEnv(collection: vscode.GlobalEnvironmentVariableCollection, info: TerminalEnvInfo): void {
  // The token is a secret: not persisted with the workspace. Terminals opened before a
  // reload keep what they had, which stays valid: the collector comes back on the same
  // port and token (src/runtime/endpoint.ts).
  collection.persistent = false;
  collection.description = 'Runwatch: collector address and token, and the bundled Python client on PYTHONPATH';
  if (info.url && info.token !== undefined) {
    collection.replace('RUNWATCH_URL', info.url);
    collection.replace('RUNWATCH_TOKEN', info.token);
  } else {
    collection.delete('RUNWATCH_URL');
    collection.delete('RUNWATCH_TOKEN');
  }
  collection.replace('RUNWATCH_SPOOL_DIR', info.spoolDir);
  collection.prepend('PYTHONPATH', clientPath(info.extensionPath) + path.delimiter);
  if (info.capture === true) collection.delete('RUNWATCH_CAPTURE');
  else if (info.capture === false) collection.replace('RUNWATCH_CAPTURE', '0');
}

export function clearTerminalEnv(collection: vscode.GlobalEnvironmentVariableCollection): void {
  collection.clear();
}
