// "Runwatch: Import TensorBoard Logs…": the log folders in the workspace not imported yet (older
// than the live window, so not tailed by themselves) in a multi-select QuickPick, newest first,
// plus a folder picker for logs elsewhere. Imported logs are tailed from then on like live ones.
import * as vscode from 'vscode';
import { errorText } from '../common/errors';
import type { ImportResult, LogCandidate, TfeventsSource } from '../sources/tfevents/source';

export const IMPORT_LOGS_COMMAND = 'runwatch.importLogs';

const KIND: Record<string, string> = {
  tfevents: 'TensorBoard',
  csv: 'CSV log',
  hf: 'Trainer state',
};

interface Item extends vscode.QuickPickItem {
  path?: string;
  browse?: boolean;
}

function ago(ms: number): string {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function itemOf(c: LogCandidate): Item {
  const label = c.project === '.' ? c.name : `${c.project}/${c.name}`;
  return { label, description: `${KIND[c.kind] ?? c.kind} · changed ${ago(c.changed)}`, detail: c.path, path: c.path };
}

function summary(results: ImportResult[]): string {
  const done = results.filter((r) => !r.skipped);
  const points = done.reduce((n, r) => n + r.points, 0);
  const problems = done.reduce((n, r) => n + r.problems, 0);
  const parts = [`imported ${done.length} log${done.length === 1 ? '' : 's'} (${points.toLocaleString('en')} points)`];
  if (problems) parts.push(`${problems} problem${problems === 1 ? '' : 's'} reported in the Runwatch log`);
  for (const r of results.filter((x) => x.skipped)) parts.push(`${r.path}: ${r.skipped}`);
  return `Runwatch: ${parts.join('; ')}.`;
}

export function registerImportLogs(
  context: vscode.ExtensionContext,
  source: () => TfeventsSource | undefined,
  log: vscode.LogOutputChannel,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(IMPORT_LOGS_COMMAND, async () => {
      const src = source();
      if (!src) {
        void vscode.window.showInformationMessage(
          'Runwatch: log folders are read by the window that owns the run store, with a workspace folder open.',
        );
        return;
      }
      const candidates = await src.candidates();
      const browse: Item = {
        label: '$(folder-opened) Choose a folder…',
        description: 'a log folder outside the workspace',
        browse: true,
        alwaysShow: true,
      };
      const picked = await vscode.window.showQuickPick<Item>([...candidates.map(itemOf), browse], {
        title: 'Import TensorBoard Logs',
        canPickMany: true,
        matchOnDescription: true,
        matchOnDetail: true,
        placeHolder: candidates.length
          ? 'Log folders not imported yet (growing ones are tailed already)'
          : 'Every log folder in the workspace is imported; choose a folder elsewhere',
      });
      if (!picked?.length) return;
      const paths = picked.flatMap((p) => (p.path ? [p.path] : []));
      if (picked.some((p) => p.browse)) {
        const uris = await vscode.window.showOpenDialog({
          canSelectFolders: true,
          canSelectFiles: false,
          canSelectMany: true,
          openLabel: 'Import Logs',
        });
        for (const u of uris ?? []) paths.push(u.fsPath);
      }
      if (!paths.length) return;
      try {
        const results = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Runwatch: importing ${paths.length} log(s)…` },
          () => src.importPaths(paths),
        );
        const msg = summary(results);
        log.info(msg);
        void vscode.window.showInformationMessage(msg);
      } catch (e) {
        const msg = `Runwatch: importing logs failed: ${errorText(e)}`;
        log.error(msg);
        void vscode.window.showErrorMessage(msg);
      }
    }),
  );
}
