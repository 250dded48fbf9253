// The status bar item: the collector's state at a glance (port, connected clients,
// live runs); a click opens the dashboard.
import * as vscode from 'vscode';
import type { CollectorStateLike, ViewsDeps } from './deps';

export class CollectorStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(deps: Pick<ViewsDeps, 'collector' | 'store'>) {
    this.item = vscode.window.createStatusBarItem('runwatch.collector', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Runwatch Collector';
    this.item.command = 'runwatch.showDashboard';
    if (deps.collector) {
      this.disposables.push(new vscode.Disposable(dispose(deps.collector.onDidChangeState((s) => this.update(s)))));
      this.update(deps.collector.state);
    } else {
      this.update(undefined, 'not running');
    }
    this.item.show();
  }

  update(state: CollectorStateLike | undefined, problem?: string): void {
    if (problem || !state || !state.port) {
      this.item.text = '$(pulse) Runwatch';
      this.item.tooltip = `Runwatch collector: ${problem ?? 'starting'}. Click to open the dashboard.`;
      this.item.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
      return;
    }
    const live = state.liveRuns;
    const parts = [`$(${live > 0 ? 'sync~spin' : 'pulse'}) Runwatch :${state.port}`];
    if (state.clients > 0) parts.push(`${state.clients} client${state.clients === 1 ? '' : 's'}`);
    if (live > 0) parts.push(`${live} live`);
    this.item.text = parts.join(' · ');
    this.item.backgroundColor = undefined;
    this.item.tooltip = new vscode.MarkdownString(
      `**Runwatch collector** on port ${state.port}  \n` +
        `Connected clients: ${state.clients}  \nLive runs: ${live}  \n\nClick to open the dashboard.`,
    );
  }

  dispose(): void {
    this.item.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function dispose(d: { dispose(): unknown }): () => void {
  return () => void d.dispose();
}
