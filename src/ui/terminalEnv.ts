// Puts the collector's address and token into every new integrated terminal, and
// the bundled Python client on PYTHONPATH, so `import runwatch` in a script run
// from a VS Code terminal just works with no install and no configuration.
import * as path from 'path';
import type * as vscode from 'vscode';

export interface TerminalEnvInfo {
  /** Undefined while no collector listens: scripts then spool (and the spool is imported later). */
  url?: string;
  token?: string;
  spoolDir: string;
  /** The extension's install folder; the client lives in `clients/python` under it. */
  extensionPath: string;
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
  collection.prepend('PYTHONPATH', path.join(info.extensionPath, 'clients', 'python') + path.delimiter);
}

export function clearTerminalEnv(collection: vscode.GlobalEnvironmentVariableCollection): void {
  collection.clear();
}
