// The Runs tree's own commands: a click on a run opens or focuses its dashboard (a Ctrl/Shift
// click only selects), a click on a metric opens its chart, "Show Error" opens a failed run's
// error, traceback and last lines as a read-only document, the filter (text, status, tags) with
// its clear button and the archived toggle, and the project and metric context menus.
import * as os from 'node:os';
import * as vscode from 'vscode';
import type { RunStatus } from '../../api/types';
import { ComparePanel } from '../compare/comparePanel';
import { exportMetric } from '../dashboard/chartExport';
import { DashboardPanel } from '../dashboard/dashboardPanel';
import type { ViewsDeps } from '../deps';
import type { RunsNode, RunsTreeProvider } from '../runsTree';
import { type RunsFilter, matchesFilter, tagChoices } from './filter';
import { errorDocument } from './runErrors';

export const ERROR_SCHEME = 'runwatch-error';
const STATUSES: RunStatus[] = ['running', 'finished', 'failed', 'crashed', 'killed'];

type Node<K extends RunsNode['kind']> = Extract<RunsNode, { kind: K }>;

/** Test hooks: what a person would answer in the dialogs. */
export interface TreeAnswers {
  file?: string;
}

export function registerTreeCommands(
  context: vscode.ExtensionContext,
  deps: ViewsDeps,
  tree: RunsTreeProvider,
  treeView: vscode.TreeView<RunsNode> | undefined,
): vscode.Disposable[] {
  const { store } = deps;
  const uri = context.extensionUri;
  tree.useIconDir(vscode.Uri.joinPath(context.globalStorageUri, 'swatches').fsPath);
  const errorTexts = new Map<string, string>();
  const errorChanged = new vscode.EventEmitter<vscode.Uri>();

  const syncView = () => {
    if (treeView) treeView.message = tree.message();
    void vscode.commands.executeCommand('setContext', 'runwatch.runsFiltered', tree.isFiltering());
    void vscode.commands.executeCommand('setContext', 'runwatch.runsShowArchived', tree.filter.showArchived);
  };
  syncView();

  // A row's click sends no arguments (see rowCommand): the row is the tree's single selection.
  const clicked = <K extends RunsNode['kind']>(kinds: readonly K[]): Node<K> | undefined => {
    const sel = treeView?.selection ?? [];
    const only = sel.length === 1 ? sel[0] : undefined;
    return only && (kinds as readonly string[]).includes(only.kind) ? (only as Node<K>) : undefined;
  };

  const projectRuns = (node: Node<'project'>) =>
    store.listRuns().filter((r) => r.project === node.project && matchesFilter(r, tree.filter));

  const openRun = (arg?: Node<'run'> | string) => {
    const node = arg ?? clicked(['run']);
    if (!node) return undefined;
    const runId = typeof node === 'string' ? node : node.runId;
    // Ctrl/Shift-clicks build a selection (for Compare with Selected): they open nothing.
    if ((treeView?.selection.filter((n) => n.kind === 'run').length ?? 0) > 1) return undefined;
    const run = store.getRun(runId);
    if (!run) return undefined;
    const open = DashboardPanel.instance;
    if (open?.runIds.includes(runId)) {
      open.panel.reveal(undefined, true);
      return open;
    }
    const panel = DashboardPanel.show(deps, uri, [runId], true);
    vscode.window.setStatusBarMessage(`Runwatch: "${run.name}" is shown in the dashboard`, 4000);
    return panel;
  };

  const filterRuns = async (answer?: Partial<RunsFilter>): Promise<RunsFilter | undefined> => {
    if (answer) {
      tree.setFilter({ ...tree.filter, ...answer });
      return tree.filter;
    }
    const runs = store.listRuns();
    const f = tree.filter;
    type Item = vscode.QuickPickItem & { status?: RunStatus; tag?: string; archived?: boolean };
    const count = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
    const items: Item[] = [
      { label: 'Status', kind: vscode.QuickPickItemKind.Separator },
      ...STATUSES.map((status) => ({
        label: status,
        description: count(runs.filter((r) => r.status === status).length),
        status,
        alwaysShow: true,
      })),
      { label: 'Tags', kind: vscode.QuickPickItemKind.Separator },
      ...tagChoices(runs).map((tag) => ({
        label: `#${tag}`,
        description: count(runs.filter((r) => tag in r.tags).length),
        tag,
        alwaysShow: true,
      })),
      { label: 'Archived', kind: vscode.QuickPickItemKind.Separator },
      {
        label: 'Show archived runs',
        description: count(runs.filter((r) => r.tags['runwatch.archived'] === 'true').length),
        archived: true,
        alwaysShow: true,
      },
    ];
    const qp = vscode.window.createQuickPick<Item>();
    qp.title = 'Filter Runs';
    qp.placeholder = 'Words to match in names, ids, params and tags; check statuses and tags; Enter applies';
    qp.canSelectMany = true;
    qp.matchOnDescription = false;
    qp.items = items;
    qp.value = f.text;
    qp.selectedItems = items.filter(
      (i) =>
        (i.status && f.statuses.includes(i.status)) ||
        (i.tag && f.tags.includes(i.tag)) ||
        (i.archived && f.showArchived),
    );
    const picked = await new Promise<RunsFilter | undefined>((resolve) => {
      qp.onDidAccept(() => {
        const sel = qp.selectedItems;
        resolve({
          text: qp.value,
          statuses: sel.flatMap((i) => (i.status ? [i.status] : [])),
          tags: sel.flatMap((i) => (i.tag ? [i.tag] : [])),
          showArchived: sel.some((i) => i.archived),
        });
        qp.hide();
      });
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    qp.dispose();
    if (picked) tree.setFilter(picked);
    return picked;
  };

  const showError = async (arg?: Node<'error'> | Node<'run'> | string) => {
    const node = arg ?? clicked(['error', 'run']);
    if (!node) return undefined;
    const runId = typeof node === 'string' ? node : node.runId;
    const run = store.getRun(runId);
    if (!run) return undefined;
    const text = errorDocument(run, await tree.errorDetails(runId));
    const name = run.name.replace(/[^\w.-]+/g, '_') || 'run';
    const doc = vscode.Uri.from({ scheme: ERROR_SCHEME, path: `/${name} error.log`, query: runId });
    errorTexts.set(doc.toString(), text);
    errorChanged.fire(doc);
    const editor = await vscode.window.showTextDocument(doc, { preview: true });
    return editor.document.getText();
  };

  const exportMetricCsv = async (node: Node<'metric'>, _selected?: unknown, answers?: TreeAnswers) => {
    const source = deps.exportSource?.();
    if (!source) throw new Error('no run store is open: open a folder or set runwatch.store.path');
    const run = store.getRun(node.runId);
    const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
    const safe = `${run?.name ?? node.runId}-${node.key}`.replace(/[^\w.-]+/g, '_');
    const file =
      answers?.file ??
      (
        await vscode.window.showSaveDialog({
          title: `Export ${node.key} of "${run?.name ?? node.runId}" as CSV`,
          defaultUri: vscode.Uri.joinPath(base, `${safe}.csv`),
          filters: { CSV: ['csv'] },
        })
      )?.fsPath;
    if (!file) return undefined;
    const stats = await exportMetric(source, [node.runId], node.key, 'csv', file);
    void vscode.window.showInformationMessage(
      `Runwatch: exported ${stats.points.toLocaleString()} points of ${node.key} to ${file}.`,
    );
    return { file, ...stats };
  };

  const cmd = (id: string, f: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await f(...args);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        deps.log.error(`${id} failed: ${msg}`);
        void vscode.window.showErrorMessage(`Runwatch: ${msg}`);
        return undefined;
      }
    });

  return [
    errorChanged,
    tree.onDidChangeFilter(syncView),
    toVs(
      store.onDidChangeRun(() => {
        if (treeView) treeView.message = tree.message();
      }),
    ),
    vscode.workspace.registerTextDocumentContentProvider(ERROR_SCHEME, {
      onDidChange: errorChanged.event,
      provideTextDocumentContent: (doc) => errorTexts.get(doc.toString()) ?? 'This run error is no longer open.\n',
    }),
    cmd('runwatch.openRun', (node?: Node<'run'> | string) => openRun(node)),
    cmd('runwatch.openMetricChart', (arg?: Node<'metric'>) => {
      const node = arg ?? clicked(['metric']);
      if (!node || !store.getRun(node.runId)) return undefined;
      // The run's dashboard, scrolled to the metric's chart (a filter or folded group that hid it cleared).
      const panel = DashboardPanel.show(deps, uri, [node.runId], false);
      panel.focusMetric(node.key);
      return panel;
    }),
    cmd('runwatch.showRunError', (node?: Node<'error'> | Node<'run'> | string) => showError(node)),
    cmd('runwatch.filterRuns', (answer?: Partial<RunsFilter>) => filterRuns(answer)),
    cmd('runwatch.clearRunsFilter', () => {
      tree.setFilter({ ...tree.filter, text: '', statuses: [], tags: [] });
      return tree.filter;
    }),
    cmd('runwatch.showArchivedRuns', () => tree.setFilter({ ...tree.filter, showArchived: true })),
    cmd('runwatch.hideArchivedRuns', () => tree.setFilter({ ...tree.filter, showArchived: false })),
    cmd('runwatch.openProjectInDashboard', (node: Node<'project'>) => {
      const ids = projectRuns(node).map((r) => r.runId);
      return ids.length ? DashboardPanel.show(deps, uri, ids) : undefined;
    }),
    cmd('runwatch.compareProject', (node: Node<'project'>) => {
      const ids = projectRuns(node).map((r) => r.runId);
      return ids.length ? ComparePanel.show(deps, uri, ids) : undefined;
    }),
    cmd('runwatch.exportMetricCsv', (node: Node<'metric'>, selected: unknown, answers?: TreeAnswers) =>
      exportMetricCsv(node, selected, answers),
    ),
  ];
}

function toVs(d: { dispose(): unknown }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
