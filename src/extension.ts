// activate/deactivate: wiring only. Each section below belongs to one area
// (collector, store, views, plugins); the logic lives in the modules it calls.
import * as vscode from 'vscode';
import type { RunwatchExports } from './api/types';

export async function activate(context: vscode.ExtensionContext): Promise<RunwatchExports> {
  const log = vscode.window.createOutputChannel('Runwatch', { log: true });
  context.subscriptions.push(log, vscode.commands.registerCommand('runwatch.showLog', () => log.show()));
  log.info(`Runwatch ${context.extension.packageJSON.version} activating`);

  // --- store (issue 3/4) ---

  // --- collector and terminal environment (issue 3) ---

  // --- views: runs tree, dashboard, status bar (issue 4) ---

  // --- plugins, sink runner, backends (issue 5/6) ---

  return {
    getApi(version: number) {
      throw new Error(`Runwatch API version ${version} is not supported; supported versions: 1.`);
    },
  } as RunwatchExports;
}

export function deactivate(): void {
  // Disposables registered on the context are released by VS Code.
}
