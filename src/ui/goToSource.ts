// "Go to Source": opens the file at the line that first logged a metric (`runwatch.goToSource`, taking
// `{ runId, key }`: the Runs tree's metric items, and what the runs table and the dashboard post to
// their hosts). Paths from another checkout are looked for in the workspace (editor/sourcePaths.ts);
// a file that is nowhere here gets a message that says where it was.
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { RunSummary, SourceLocation } from '../api/types';
import type { RunStoreLike } from './deps';
import { FileKeys, resolveSourcePath, throughFolder } from './editor/sourcePaths';

export const GO_TO_SOURCE = 'runwatch.goToSource';

export interface GoToSourceArgs {
  runId: string;
  key: string;
}

function isArgs(a: unknown): a is GoToSourceArgs {
  const o = a as Partial<GoToSourceArgs> | undefined;
  return typeof o === 'object' && o !== null && typeof o.runId === 'string' && typeof o.key === 'string';
}

export function registerGoToSource(context: vscode.ExtensionContext, store: RunStoreLike): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(GO_TO_SOURCE, async (arg?: unknown) => {
      const target = isArgs(arg) ? arg : await pickMetric(store);
      if (target) await goToSource(store, target);
    }),
  );
}

/** Opens the location; resolves to the file opened, or undefined (after saying why). */
export async function goToSource(store: RunStoreLike, { runId, key }: GoToSourceArgs): Promise<string | undefined> {
  const run = store.getRun(runId);
  if (!run) {
    void vscode.window.showWarningMessage(`Runwatch: run ${runId} is not in the run store (deleted?).`);
    return undefined;
  }
  const loc = run.sources?.[key];
  if (!loc) {
    void vscode.window.showInformationMessage(
      `Runwatch: run "${run.name}" did not say where "${key}" was logged ` +
        '(a client without source locations, RUNWATCH_SOURCES=0, or an imported run).',
    );
    return undefined;
  }
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const found = resolveSourcePath(loc.file, {
    cwd: typeof run.context.cwd === 'string' ? run.context.cwd : undefined,
    folders,
    exists: (f) => {
      try {
        return fs.statSync(f).isFile();
      } catch {
        return false;
      }
    },
  });
  if (!found) {
    const where = `${loc.file}:${loc.line}`;
    const host = typeof run.context.host === 'string' ? ` on ${run.context.host}` : '';
    const choice = await vscode.window.showWarningMessage(
      `Runwatch: "${key}" was first logged at ${where}${host}, ` +
        'which is neither on this machine nor in the workspace folders.',
      'Copy Path',
    );
    if (choice) await vscode.env.clipboard.writeText(where);
    return undefined;
  }
  // A physical path inside a folder opened through a symlink: open it under the folder's name, the
  // editor the person has, not a second one of the same file.
  const file = throughFolder(found, folders, new FileKeys((f) => fs.realpathSync.native(f)));
  await openAt(file, loc);
  return file;
}

async function openAt(file: string, loc: SourceLocation): Promise<void> {
  const uri = vscode.Uri.file(file);
  if (file.endsWith('.ipynb')) {
    // A notebook opens as one where a notebook editor exists (the Jupyter extension), else as JSON.
    try {
      const nb = await vscode.workspace.openNotebookDocument(uri);
      await vscode.window.showNotebookDocument(nb);
      return;
    } catch {
      // No serializer for .ipynb here: fall through to the text editor.
    }
  }
  const doc = await vscode.workspace.openTextDocument(uri);
  const line = Math.min(Math.max(0, loc.line - 1), Math.max(0, doc.lineCount - 1));
  const text = doc.lineAt(line);
  const range = new vscode.Range(line, text.firstNonWhitespaceCharacterIndex, line, text.range.end.character);
  await vscode.window.showTextDocument(doc, { selection: range, preview: true });
}

interface MetricPick extends vscode.QuickPickItem {
  target: GoToSourceArgs;
}

/** From the palette: every located metric of the runs, newest runs first. */
async function pickMetric(store: RunStoreLike): Promise<GoToSourceArgs | undefined> {
  const runs = store
    .listRuns()
    .filter((r): r is RunSummary & { sources: Record<string, SourceLocation> } => !!r.sources)
    .sort((a, b) => b.startTime - a.startTime)
    .slice(0, 50);
  const items: MetricPick[] = runs.flatMap((r) =>
    Object.entries(r.sources).map(([key, loc]) => ({
      label: key,
      description: r.name,
      detail: `${loc.file}:${loc.line}`,
      target: { runId: r.runId, key },
    })),
  );
  if (!items.length) {
    void vscode.window.showInformationMessage('Runwatch: no run has said where its metrics were logged yet.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(items, {
    title: 'Runwatch: Go to Source',
    placeHolder: 'The metric whose logging line to open',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return pick?.target;
}
