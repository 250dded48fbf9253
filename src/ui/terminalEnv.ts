// Puts the collector's address and token into every new integrated terminal, and
// the bundled Python client on PYTHONPATH, so `import runwatch` in a script run
// from a VS Code terminal just works with no install and no configuration.
import * as path from 'path';
import type * as vscode from 'vscode';

export interface TerminalEnvInfo {
  url: string;
  token: string;
  spoolDir: string;
  /** The extension's install folder; the client lives in `clients/python` under it. */
  extensionPath: string;
}

export function applyTerminalEnv(collection: vscode.GlobalEnvironmentVariableCollection, info: TerminalEnvInfo): void {
  // The port and token change every session, and the token is a secret: do not persist them.
  collection.persistent = false;
  collection.description = 'Runwatch: collector address and token, and the bundled Python client on PYTHONPATH';
  collection.replace('RUNWATCH_URL', info.url);
  collection.replace('RUNWATCH_TOKEN', info.token);
  collection.replace('RUNWATCH_SPOOL_DIR', info.spoolDir);
  collection.prepend('PYTHONPATH', path.join(info.extensionPath, 'clients', 'python') + path.delimiter);
}

export function clearTerminalEnv(collection: vscode.GlobalEnvironmentVariableCollection): void {
  collection.clear();
}
