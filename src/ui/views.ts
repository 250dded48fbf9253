// Registers the live views: the Runs tree, the dashboard and compare
// webviews (with serializers, so they come back after a window reload), the
// status bar item and the run commands. `extension.ts` calls `registerViews` once.
import * as vscode from 'vscode';
import { registerRunCommands } from './commands';
import { setting } from './config';
import { COMPARE_VIEW_TYPE, ComparePanel } from './compare/comparePanel';
import { DASHBOARD_VIEW_TYPE, DashboardPanel } from './dashboard/dashboardPanel';
import { registerChartGoToSource } from './dashboard/chartSource';
import { registerDashboardCommands } from './dashboard/exportCommands';
import { runColors } from './dashboard/runColors';
import type { ViewsDeps } from './deps';
import { type RunsNode, RunsTreeProvider } from './runsTree';
import { CollectorStatusBar } from './statusBar';
import { RUNS_TABLE_VIEW_TYPE, RunsTablePanel } from './runsTable/runsTablePanel';
import { registerTagCommands } from './tags';

export type { ViewsDeps } from './deps';

export interface Views {
  tree: RunsTreeProvider;
  treeView: vscode.TreeView<RunsNode>;
  statusBar: CollectorStatusBar;
}

export function registerViews(context: vscode.ExtensionContext, deps: ViewsDeps): Views {
  const tree = new RunsTreeProvider(deps);
  const treeView = vscode.window.createTreeView('runwatch.runs', {
    treeDataProvider: tree,
    canSelectMany: true,
    showCollapseAll: true,
  });
  const statusBar = new CollectorStatusBar(deps);
  const uri = context.extensionUri;
  // Run colours are kept per workspace, so the same run keeps its colour after a reload.
  runColors.attach(context.workspaceState);

  context.subscriptions.push(
    tree,
    treeView,
    statusBar,
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        DashboardPanel.revive(panel, deps, uri, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        ComparePanel.revive(panel, deps, uri, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(RUNS_TABLE_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        RunsTablePanel.revive(panel, deps, uri, state);
      },
    }),
    vscode.commands.registerCommand('runwatch.showRunsTable', () => RunsTablePanel.show(deps, uri)),
    ...registerTagCommands(deps, () => treeView.selection),
    ...registerRunCommands(context, deps, tree, treeView),
    ...registerDashboardCommands(deps),
    registerChartGoToSource(deps),
    openOnRunStart(deps, uri),
    new vscode.Disposable(() => {
      DashboardPanel.instance?.dispose();
      ComparePanel.instance?.dispose();
      RunsTablePanel.instance?.dispose();
    }),
  );
  return { tree, treeView, statusBar };
}

/** With runwatch.dashboard.openOnRunStart, the first new live run opens the dashboard (focus stays where it is). */
function openOnRunStart(deps: ViewsDeps, uri: vscode.Uri): vscode.Disposable {
  const seen = new Set(deps.store.listRuns().map((r) => r.runId));
  return deps.store.onDidChangeRun((run) => {
    if (seen.has(run.runId)) return;
    seen.add(run.runId);
    if (run.status !== 'running' || DashboardPanel.instance) return;
    if (!setting('dashboard.openOnRunStart')) return;
    deps.log.info(`run ${run.runId} started: opening the dashboard (runwatch.dashboard.openOnRunStart)`);
    DashboardPanel.show(deps, uri, [run.runId], true);
  });
}
