// The Backends view: one row per chosen backend with a health icon, lag and queue
// depth; its children show the details and the last error. Below them, one row per
// source and processor plugin with its state and health.
import * as vscode from 'vscode';
import type { BackendStatus, Hub, PluginStatus } from '../core/hub';

type Node =
  | { kind: 'backend'; status: BackendStatus }
  | { kind: 'plugin'; status: PluginStatus }
  | { kind: 'detail'; label: string; tooltip?: string; icon?: string }
  | { kind: 'empty' };

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
      const backends: Node[] = all.length ? all.map((status) => ({ kind: 'backend', status })) : [{ kind: 'empty' }];
      return [...backends, ...this.hub.pluginStatus().map((status): Node => ({ kind: 'plugin', status }))];
    }
    if (node.kind === 'plugin') {
      const p = node.status;
      const rows: Node[] = [
        {
          kind: 'detail',
          label: `health: ${p.healthy ? 'ok' : 'unhealthy'}: ${p.details}`,
          tooltip: p.details,
          icon: p.healthy ? 'pass' : 'warning',
        },
      ];
      if (p.usedBy?.length) rows.push({ kind: 'detail', label: `used by: ${p.usedBy.join(', ')}`, icon: 'references' });
      if (p.lastError && p.lastError !== p.details)
        rows.push({ kind: 'detail', label: `last error: ${p.lastError}`, tooltip: p.lastError, icon: 'error' });
      return rows;
    }
    if (node.kind !== 'backend') return [];
    const s = node.status;
    const rows: Node[] = [
      {
        kind: 'detail',
        label: `health: ${s.healthy ? 'ok' : 'unhealthy'}: ${s.details}`,
        icon: s.healthy ? 'pass' : 'warning',
      },
      { kind: 'detail', label: `lag: ${s.lag} events behind`, icon: 'history' },
      { kind: 'detail', label: `queue: ${s.queueDepth} events in memory`, icon: 'list-ordered' },
      {
        kind: 'detail',
        label: `breaker: ${s.breaker}`,
        icon: s.breaker === 'closed' ? 'circle-large-outline' : 'debug-disconnect',
      },
    ];
    if (s.lastError)
      rows.push({ kind: 'detail', label: `last error: ${s.lastError}`, tooltip: s.lastError, icon: 'error' });
    return rows;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'empty') {
      // Short enough for the default sidebar width; the rest is in the tooltip.
      const item = new vscode.TreeItem('Select Backends…');
      item.description = 'none chosen';
      item.tooltip =
        'No backends are chosen: runs stay in the local store. Click to send them to TensorBoard, MLflow, …';
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
    if (node.kind === 'plugin') return pluginItem(node.status);
    const s = node.status;
    const item = new vscode.TreeItem(s.displayName, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `backend:${s.id}`;
    // Unhealthy: the word, and the lag if any (the queue and the reason are in the tooltip and the rows).
    item.description = s.healthy
      ? `lag ${s.lag} · queue ${s.queueDepth}`
      : `unhealthy${s.lag ? ` · lag ${s.lag}` : ''}`;
    item.iconPath = s.healthy
      ? new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'))
      : new vscode.ThemeIcon(
          s.breaker === 'open' ? 'debug-disconnect' : 'warning',
          new vscode.ThemeColor('problemsWarningIcon.foreground'),
        );
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${s.displayName}** (\`${s.id}\`)\n\n`);
    md.appendText(
      `${s.healthy ? 'Healthy' : 'Unhealthy'}: ${s.details}\nLag: ${s.lag} events · queue: ${s.queueDepth} · breaker: ${s.breaker}`,
    );
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

function pluginItem(p: PluginStatus): vscode.TreeItem {
  const item = new vscode.TreeItem(p.displayName, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `${p.kind}:${p.id}`;
  // The state only (the kind is in the tooltip): names like "… source" say it already.
  item.description = p.healthy ? p.state : 'unhealthy';
  const quiet = p.state === 'off' || p.state === 'idle';
  item.iconPath = !p.healthy
    ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
    : new vscode.ThemeIcon(quiet ? 'circle-slash' : p.kind === 'source' ? 'radio-tower' : 'filter');
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${p.displayName}** (\`${p.id}\`, ${p.kind})\n\n`);
  md.appendText(`${p.healthy ? 'Healthy' : 'Unhealthy'} (${p.state}): ${p.details}`);
  if (p.usedBy?.length) md.appendText(`\nUsed by: ${p.usedBy.join(', ')}`);
  item.tooltip = md;
  // "source…" rows get Configure Backend… too (it configures sources); processors have no settings there.
  item.contextValue = `${p.kind}${p.healthy ? '' : '.unhealthy'}`;
  return item;
}
