// The run commands (palette, tree context menu, view title). Each accepts what the
// tree passes (the clicked node and the multi-selection) or plain run ids, so tests
// and other commands can call them too.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ComparePanel } from './compare/comparePanel';
import { DashboardPanel } from './dashboard/dashboardPanel';
import type { ConnectionInfo, ViewsDeps } from './deps';
import type { RunsNode, RunsTreeProvider } from './runsTree';
import { runPickItem } from './runsTree/runText';
import { registerTreeCommands } from './runsTree/treeCommands';
import { exportToFile, type ExportTarget } from '../runtime/exportFile';
import type { ExportFormat } from '../store/export';

/** Options the tests use to answer what a person would answer in a dialog. */
export interface PromptAnswers {
  /** Skip the modal confirmation of Delete Run. */
  confirmed?: boolean;
  /** New name for Rename Run instead of the input box. */
  name?: string;
  /** Export Run…: the format instead of the quick pick, and the file instead of the save dialog. */
  format?: ExportFormat;
  file?: string;
}

type RunArg = RunsNode | string | string[] | { runId: string } | undefined;

/** Run ids from a command's arguments: the tree's multi-selection wins over the clicked node. */
export function runIdsFrom(arg: RunArg, selected?: readonly RunsNode[] | unknown): string[] {
  const ids: string[] = [];
  const add = (a: unknown) => {
    if (typeof a === 'string') ids.push(a);
    else if (a && typeof a === 'object' && 'runId' in a && typeof (a as { runId: unknown }).runId === 'string')
      ids.push((a as { runId: string }).runId);
  };
  if (Array.isArray(selected) && selected.length > 1) selected.forEach(add);
  else if (Array.isArray(arg)) arg.forEach(add);
  else add(arg);
  return [...new Set(ids)];
}

export function connectionSnippet(info: ConnectionInfo, clientDir: string | undefined, project = 'my-project'): string {
  const lines = [
    '# Runwatch: stream a run into VS Code from any shell (tmux, nohup, a scheduler).',
    '# Paste at the top of the training script; the token is valid while this VS Code window runs the collector.',
    'import os, sys',
  ];
  if (clientDir)
    lines.push(`sys.path.insert(0, ${JSON.stringify(clientDir)})  # the runwatch client bundled with the extension`);
  lines.push(
    `os.environ["RUNWATCH_URL"] = ${JSON.stringify(info.url)}`,
    `os.environ["RUNWATCH_TOKEN"] = ${JSON.stringify(info.token)}`,
    'import runwatch',
    `run = runwatch.init(project=${JSON.stringify(project)}, config={"lr": 1e-3})`,
    'run.log({"train/loss": 0.5}, step=0)',
    'run.finish()',
  );
  return lines.join('\n') + '\n';
}

export function registerRunCommands(
  context: vscode.ExtensionContext,
  deps: ViewsDeps,
  tree: RunsTreeProvider,
  treeView: vscode.TreeView<RunsNode> | undefined,
): vscode.Disposable[] {
  const { store, log } = deps;
  const uri = context.extensionUri;

  const pickRuns = async (title: string, many: boolean): Promise<string[]> => {
    const runs = store.listRuns();
    if (runs.length === 0) {
      void vscode.window.showInformationMessage('Runwatch: no runs in the store yet.');
      return [];
    }
    // Newest first, each with its project, status, start time, params and tags: names alone look alike.
    const items = [...runs]
      .sort((a, b) => b.startTime - a.startTime)
      .map((r) => ({ ...runPickItem(r), runId: r.runId }));
    const options = { title, matchOnDescription: true, matchOnDetail: true };
    if (many) {
      const picked = await vscode.window.showQuickPick(items, { ...options, canPickMany: true });
      return picked?.map((p) => p.runId) ?? [];
    }
    const picked = await vscode.window.showQuickPick(items, options);
    return picked ? [picked.runId] : [];
  };

  /** The ids from the arguments, else the tree's selected runs, else a quick pick. */
  const resolve = async (arg: RunArg, selected: unknown, title: string, many: boolean): Promise<string[]> => {
    let ids = runIdsFrom(arg, selected);
    if (ids.length === 0 && treeView)
      ids = runIdsFrom(
        undefined,
        treeView.selection.filter((n) => n.kind === 'run'),
      );
    if (ids.length === 0 && treeView?.selection.length === 1) ids = runIdsFrom(treeView.selection[0]);
    if (ids.length === 0) ids = await pickRuns(title, many);
    return ids.filter((id) => store.getRun(id));
  };

  const compare = async (arg: RunArg, selected: unknown) => {
    let ids = runIdsFrom(arg, selected);
    if (ids.length < 2 && treeView) {
      const fromTree = runIdsFrom(
        undefined,
        treeView.selection.filter((n) => n.kind === 'run'),
      );
      if (fromTree.length >= 2) ids = fromTree;
    }
    if (ids.length < 2) {
      const more = await pickRuns(ids.length ? 'Compare with…' : 'Runs to compare', true);
      ids = [...new Set([...ids, ...more])];
    }
    ids = ids.filter((id) => store.getRun(id));
    if (ids.length === 0) return undefined;
    return ComparePanel.show(deps, uri, ids);
  };

  const cmd = (id: string, f: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await f(...args);
      } catch (err) {
        log.error(err instanceof Error ? err : String(err));
        void vscode.window.showErrorMessage(
          `Runwatch: ${id.replace('runwatch.', '')} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        return undefined;
      }
    });

  return [
    ...registerTreeCommands(context, deps, tree, treeView),
    cmd('runwatch.showDashboard', () => DashboardPanel.show(deps, uri)),
    cmd('runwatch.openInDashboard', async (arg: RunArg, selected: unknown) => {
      const ids = await resolve(arg, selected, 'Open in dashboard', true);
      // From a tree click, keep focus in the tree so Ctrl/Shift-clicking on (to compare) still works.
      return DashboardPanel.show(deps, uri, ids, arg !== undefined && typeof arg === 'object' && 'kind' in arg);
    }),
    cmd('runwatch.compareRuns', (arg: RunArg, selected: unknown) => compare(arg, selected)),
    cmd('runwatch.compareWithSelected', (arg: RunArg, selected: unknown) => compare(arg, selected)),
    cmd('runwatch.deleteRun', async (arg: RunArg, selected: unknown, answers?: PromptAnswers) => {
      const ids = await resolve(arg, selected, 'Run to delete', true);
      if (ids.length === 0) return false;
      const names = ids.map((id) => store.getRun(id)?.name ?? id);
      const what = ids.length === 1 ? `run "${names[0]}"` : `${ids.length} runs (${names.join(', ')})`;
      const live = ids.filter((id) => store.getRun(id)?.status === 'running').length;
      const liveNote =
        live === 0
          ? ''
          : ` ${live === ids.length && live === 1 ? 'It is' : `${live} of them are`} still running: what the training script logs from now on is refused, not stored.`;
      const confirmed =
        answers?.confirmed ??
        (await vscode.window.showWarningMessage(
          `Delete ${what}? Its metrics and logs are removed from the local store; this cannot be undone.${liveNote}`,
          { modal: true },
          'Delete',
        )) === 'Delete';
      if (!confirmed) return false;
      for (const id of ids) await store.deleteRun(id);
      log.info(`deleted ${what}`);
      tree.refresh();
      return true;
    }),
    cmd('runwatch.renameRun', async (arg: RunArg, selected: unknown, answers?: PromptAnswers) => {
      const [id] = await resolve(arg, selected, 'Run to rename', false);
      const run = id ? store.getRun(id) : undefined;
      if (!run) return false;
      const name =
        answers?.name ??
        (await vscode.window.showInputBox({
          title: 'Rename run',
          value: run.name,
          validateInput: (v) => (v.trim() ? undefined : 'A run needs a name.'),
        }));
      if (name === undefined || !name.trim() || name === run.name) return false;
      await store.renameRun(id, name.trim());
      tree.refresh();
      return true;
    }),
    cmd('runwatch.copyConnectionSnippet', async () => {
      const info = deps.connection?.();
      if (!info) {
        void vscode.window.showWarningMessage(
          'Runwatch: the collector is not listening, so there is no address to copy. See "Runwatch: Show Log".',
        );
        return undefined;
      }
      const clientDir = path.join(context.extensionPath, 'clients', 'python');
      const snippet = connectionSnippet(info, fs.existsSync(path.join(clientDir, 'runwatch')) ? clientDir : undefined);
      await vscode.env.clipboard.writeText(snippet);
      const where = deps.discoveryFile
        ? ` Scripts started under the workspace also find it through ${deps.discoveryFile}.`
        : '';
      void vscode.window.showInformationMessage(`Runwatch: connection snippet copied (Python).${where}`);
      return snippet;
    }),
    cmd('runwatch.revealRunFolder', async (arg: RunArg, selected: unknown) => {
      const [id] = await resolve(arg, selected, 'Run folder to reveal', false);
      if (!id) return undefined;
      const dir = vscode.Uri.file(store.runDir(id));
      // In a browser (code-server, Codespaces) or a remote window there is no local
      // file manager for the folder: reveal it in the Explorer when it is in the workspace.
      const inWorkspace = vscode.workspace.getWorkspaceFolder(dir) !== undefined;
      if (vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName) {
        if (inWorkspace) await vscode.commands.executeCommand('revealInExplorer', dir);
        else void vscode.window.showInformationMessage(`Runwatch: run folder is ${dir.fsPath}`);
      } else {
        await vscode.commands.executeCommand('revealFileInOS', dir);
      }
      return dir.fsPath;
    }),
    cmd('runwatch.copyRunId', async (arg: RunArg, selected: unknown) => {
      const ids = await resolve(arg, selected, 'Run id to copy', true);
      if (ids.length === 0) return undefined;
      await vscode.env.clipboard.writeText(ids.join('\n'));
      return ids;
    }),
    cmd(
      'runwatch.exportRun',
      async (arg: RunArg | { kind: 'project'; project: string }, selected: unknown, answers?: PromptAnswers) => {
        const source = deps.exportSource?.();
        if (!source) throw new Error('the run store is not open');
        let target: ExportTarget;
        let name: string;
        if (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'project') {
          target = { project: arg.project };
          name = arg.project;
        } else {
          const [id] = await resolve(arg as RunArg, selected, 'Run to export', false);
          if (!id) return undefined;
          target = { runId: id };
          name = store.getRun(id)?.name ?? id;
        }
        const format =
          answers?.format ??
          (
            await vscode.window.showQuickPick(
              [
                {
                  label: 'JSON Lines',
                  description: '.jsonl: a run line, then one line per point',
                  format: 'jsonl' as const,
                },
                { label: 'CSV', description: '.csv: run_id,key,step,time,value', format: 'csv' as const },
              ],
              { title: `Export ${'project' in target ? 'project' : 'run'} "${name}" as…` },
            )
          )?.format;
        if (!format) return undefined;
        const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
        const safe = name.replace(/[^\w.-]+/g, '_') || 'run';
        const file =
          answers?.file ??
          (
            await vscode.window.showSaveDialog({
              title: `Export "${name}"`,
              defaultUri: vscode.Uri.joinPath(base, `${safe}.${format}`),
              filters: format === 'csv' ? { CSV: ['csv'] } : { 'JSON Lines': ['jsonl'] },
            })
          )?.fsPath;
        if (!file) return undefined;
        const stats = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Runwatch: exporting "${name}"…` },
          () => exportToFile(source, target, format, file),
        );
        const what = 'project' in target ? `${stats.runs} runs of project "${name}"` : `run "${name}"`;
        log.info(`exported ${what} (${stats.points} points) to ${file}`);
        void vscode.window.showInformationMessage(`Runwatch: exported ${what}, ${stats.points} points, to ${file}.`);
        return { file, ...stats };
      },
    ),
    cmd('runwatch.refreshRuns', () => tree.refresh()),
  ];
}
