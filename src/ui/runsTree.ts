// The Runs tree: projects → runs (status icon, duration, last step) → metrics with
// their latest values, and params. Refreshes are throttled: a training run changes
// many times a second, a tree needs to repaint only a couple of times.
import * as vscode from 'vscode';
import type { ParamValue, RunStatus, RunSummary } from '../api/types';
import { formatValue } from '../webview/protocol/format';
import { Coalescer } from './dashboard/coalescer';
import type { SeriesLike, ViewsDeps } from './deps';

export type RunsNode =
  | { kind: 'project'; project: string }
  | { kind: 'run'; runId: string }
  | { kind: 'metrics'; runId: string }
  | { kind: 'params'; runId: string }
  | { kind: 'metric'; runId: string; key: string }
  | { kind: 'param'; runId: string; name: string; value: ParamValue };

const statusIcons: Record<RunStatus, [string, string | undefined]> = {
  running: ['sync~spin', 'charts.blue'],
  finished: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  crashed: ['flame', 'charts.orange'],
  killed: ['circle-slash', 'disabledForeground'],
};

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly coalescer = new Coalescer(
    () => 500,
    () => this.changed.fire(undefined),
  );
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly deps: Pick<ViewsDeps, 'store' | 'series'>) {
    this.disposables.push(
      toVs(deps.store.onDidChangeRun(() => this.coalescer.schedule())),
      toVs(deps.series.onDidChange(() => this.coalescer.schedule())),
    );
    if (deps.store.onDidDeleteRun)
      this.disposables.push(toVs(deps.store.onDidDeleteRun(() => this.coalescer.schedule())));
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.coalescer.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  getChildren(node?: RunsNode): RunsNode[] {
    const store = this.deps.store;
    if (!node) {
      const projects = [...new Set(store.listRuns().map((r) => r.project))].sort((a, b) => a.localeCompare(b));
      return projects.map((project) => ({ kind: 'project', project }));
    }
    switch (node.kind) {
      case 'project':
        return store
          .listRuns()
          .filter((r) => r.project === node.project)
          .map((r) => ({ kind: 'run', runId: r.runId }));
      case 'run':
        return [
          { kind: 'metrics', runId: node.runId },
          { kind: 'params', runId: node.runId },
        ];
      case 'metrics':
        return safeKeys(this.deps.series, node.runId).map((key) => ({ kind: 'metric', runId: node.runId, key }));
      case 'params': {
        const params = store.getRun(node.runId)?.params ?? {};
        return Object.keys(params)
          .sort()
          .map((name) => ({ kind: 'param', runId: node.runId, name, value: params[name] }));
      }
      default:
        return [];
    }
  }

  getParent(node: RunsNode): RunsNode | undefined {
    switch (node.kind) {
      case 'project':
        return undefined;
      case 'run': {
        const run = this.deps.store.getRun(node.runId);
        return run && { kind: 'project', project: run.project };
      }
      case 'metrics':
      case 'params':
        return { kind: 'run', runId: node.runId };
      case 'metric':
        return { kind: 'metrics', runId: node.runId };
      case 'param':
        return { kind: 'params', runId: node.runId };
    }
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case 'project': {
        const count = this.deps.store.listRuns().filter((r) => r.project === node.project).length;
        const item = new vscode.TreeItem(node.project, C.Expanded);
        item.id = `project:${node.project}`;
        item.description = `${count} run${count === 1 ? '' : 's'}`;
        item.iconPath = new vscode.ThemeIcon('folder-library');
        item.contextValue = 'project';
        return item;
      }
      case 'run': {
        const run = this.deps.store.getRun(node.runId);
        const item = new vscode.TreeItem(run?.name ?? node.runId, C.Collapsed);
        item.id = `run:${node.runId}`;
        if (!run) return item;
        const [icon, color] = statusIcons[run.status];
        item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
        item.description = runDescription(run);
        item.tooltip = runTooltip(run);
        item.contextValue = `run.${run.status}`;
        // A click opens the run in the dashboard; the arrow still expands it.
        item.command = { command: 'runwatch.openInDashboard', title: 'Open in Dashboard', arguments: [node] };
        return item;
      }
      case 'metrics': {
        const n = safeKeys(this.deps.series, node.runId).length;
        const item = new vscode.TreeItem('Metrics', n ? C.Expanded : C.None);
        item.id = `metrics:${node.runId}`;
        item.description = String(n);
        item.iconPath = new vscode.ThemeIcon('graph-line');
        return item;
      }
      case 'params': {
        const n = Object.keys(this.deps.store.getRun(node.runId)?.params ?? {}).length;
        const item = new vscode.TreeItem('Params', n ? C.Collapsed : C.None);
        item.id = `params:${node.runId}`;
        item.description = String(n);
        item.iconPath = new vscode.ThemeIcon('symbol-property');
        return item;
      }
      case 'metric': {
        const latest = safeLatest(this.deps.series, node.runId, node.key);
        const item = new vscode.TreeItem(node.key, C.None);
        item.id = `metric:${node.runId}:${node.key}`;
        item.description = latest ? `${formatValue(latest.value)} @ step ${latest.step}` : '';
        item.contextValue = 'metric';
        return item;
      }
      case 'param': {
        const item = new vscode.TreeItem(node.name, C.None);
        item.id = `param:${node.runId}:${node.name}`;
        item.description = String(node.value);
        item.tooltip = `${node.name} = ${JSON.stringify(node.value)}`;
        item.contextValue = 'param';
        return item;
      }
    }
  }
}

export function runDescription(run: RunSummary, now = Date.now() / 1000): string {
  const parts: string[] = [run.status === 'running' ? 'live' : run.status];
  const end = run.endTime ?? (run.status === 'running' ? now : undefined);
  if (end !== undefined) parts.push(formatDuration(end - run.startTime));
  if (run.lastStep !== undefined) parts.push(`step ${run.lastStep}`);
  return parts.join(' · ');
}

function runTooltip(run: RunSummary): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escapeMd(run.name)}** (${run.status})\n\n`);
  md.appendMarkdown(`Project: ${escapeMd(run.project)}  \nRun id: \`${run.runId}\`  \n`);
  md.appendMarkdown(`Started: ${new Date(run.startTime * 1000).toLocaleString()}  \n`);
  if (run.endTime) md.appendMarkdown(`Ended: ${new Date(run.endTime * 1000).toLocaleString()}  \n`);
  if (run.context.host) md.appendMarkdown(`Host: ${escapeMd(String(run.context.host))}  \n`);
  const tags = Object.entries(run.tags);
  if (tags.length) md.appendMarkdown(`Tags: ${tags.map(([k, v]) => escapeMd(`${k}=${v}`)).join(', ')}  \n`);
  return md;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

// The series cache may still be catching up (or missing) for an old run: the tree
// shows what it can rather than failing to render.
function safeKeys(series: SeriesLike, runId: string): string[] {
  try {
    return series.keys(runId);
  } catch {
    return [];
  }
}

function safeLatest(series: SeriesLike, runId: string, key: string): { step: number; value: number } | undefined {
  try {
    return series.latest(runId, key);
  } catch {
    return undefined;
  }
}

function toVs(d: { dispose(): unknown }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
