// The Backends view: one row per chosen backend with a health icon, lag and queue
// depth; its children show the details and the last error.
import * as vscode from 'vscode';
import type { BackendStatus, Hub } from '../core/hub';

type Node = { kind: 'backend'; status: BackendStatus } | { kind: 'detail'; label: string; tooltip?: string; icon?: string } | { kind: 'empty' };

export class BackendsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: { dispose(): unknown };

  constructor(private readonly hub: Hub) {
    this.sub = hub.onDidChangeStatus(() => this.changed.fire());
  }

  refresh(): void {
    this.changed.fire();
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      const all = this.hub.status();
      return all.length ? all.map((status) => ({ kind: 'backend', status })) : [{ kind: 'empty' }];
    }
    if (node.kind !== 'backend') return [];
    const s = node.status;
    const rows: Node[] = [
      { kind: 'detail', label: `health: ${s.healthy ? 'ok' : 'unhealthy'}: ${s.details}`, icon: s.healthy ? 'pass' : 'warning' },
      { kind: 'detail', label: `lag: ${s.lag} events behind`, icon: 'history' },
      { kind: 'detail', label: `queue: ${s.queueDepth} events in memory`, icon: 'list-ordered' },
      { kind: 'detail', label: `breaker: ${s.breaker}`, icon: s.breaker === 'closed' ? 'circle-large-outline' : 'debug-disconnect' },
    ];
    if (s.lastError) rows.push({ kind: 'detail', label: `last error: ${s.lastError}`, tooltip: s.lastError, icon: 'error' });
    return rows;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'empty') {
      const item = new vscode.TreeItem('No backends chosen: Select Backends…');
      item.command = { command: 'runwatch.selectBackends', title: 'Select Backends' };
      item.iconPath = new vscode.ThemeIcon('add');
      return item;
    }
    if (node.kind === 'detail') {
      const item = new vscode.TreeItem(node.label);
      item.tooltip = node.tooltip ?? node.label;
      if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
      return item;
    }
    const s = node.status;
    const item = new vscode.TreeItem(s.displayName, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `backend:${s.id}`;
    item.description = `${s.healthy ? '' : 'unhealthy · '}lag ${s.lag} · queue ${s.queueDepth}`;
    item.iconPath = s.healthy
      ? new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'))
      : new vscode.ThemeIcon(s.breaker === 'open' ? 'debug-disconnect' : 'warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${s.displayName}** (\`${s.id}\`)\n\n`);
    md.appendText(`${s.healthy ? 'Healthy' : 'Unhealthy'}: ${s.details}\nLag: ${s.lag} events · queue: ${s.queueDepth} · breaker: ${s.breaker}`);
    if (s.lastError) md.appendText(`\nLast error: ${s.lastError}`);
    item.tooltip = md;
    item.contextValue = `backend${s.healthy ? '' : '.unhealthy'}`;
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
