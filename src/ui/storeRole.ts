// Says which role this window has on its run store: the writer (it runs the collector
// and the backends) or a reader of a store another window or process owns (its views
// follow that store live; its terminals use the owner's collector). A status bar item
// while reading, a log line and an information message when the role is taken.
import * as vscode from 'vscode';
import type { StoreLockOwner } from '../store/storeLock';

const BACKEND_COMMANDS = [
  'runwatch.selectBackends',
  'runwatch.configureBackend',
  'runwatch.checkBackendHealth',
  'runwatch.refreshBackends',
];

export function readerMessage(storeDir: string, owner: StoreLockOwner | undefined): string {
  const who = owner ? ` (${owner.owner}, pid ${owner.pid})` : '';
  return `Runwatch: another window owns the run store at ${storeDir}${who}; showing its runs read-only.`;
}

export class StoreRoleStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('runwatch.storeRole', vscode.StatusBarAlignment.Left, 49);
  private placeholders: vscode.Disposable[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.item.name = 'Runwatch Store Role';
    this.item.command = 'runwatch.showLog';
  }

  /** This window reads `storeDir`, owned by `owner`. Backend commands explain why they do nothing here. */
  reader(storeDir: string, owner: StoreLockOwner | undefined): void {
    const message = readerMessage(storeDir, owner);
    this.log.info(message);
    void vscode.window.showInformationMessage(message);
    this.item.text = '$(eye) Runwatch: read-only';
    this.item.tooltip = `${message}\nThis window takes the store over when its owner closes.`;
    this.item.show();
    const why = `${message} Backends run in the window that owns the store.`;
    this.placeholders = BACKEND_COMMANDS.map((id) =>
      vscode.commands.registerCommand(id, () => void vscode.window.showInformationMessage(why)),
    );
  }

  /** This window now writes the store (it took it over from an owner that went away). */
  writer(storeDir: string, tookOver: boolean): void {
    this.item.hide();
    this.clearPlaceholders();
    if (!tookOver) return;
    const message = `Runwatch: the window that owned ${storeDir} closed; this window now runs the collector and keeps the runs.`;
    this.log.info(message);
    void vscode.window.showInformationMessage(message);
  }

  private clearPlaceholders(): void {
    for (const d of this.placeholders.splice(0)) d.dispose();
  }

  dispose(): void {
    this.clearPlaceholders();
    this.item.dispose();
  }
}
