// "Rerun in Terminal": starts a run's command line again, in its working folder, in a new integrated
// terminal (which has the collector's environment, so the new run streams in too). When the script
// took some of the run's params on its command line, the person may change them first.
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { RunSummary } from '../api/types';
import type { RunStoreLike } from './deps';
import { paramArgs, recordedCommand, shellLine, withParams } from './launch/commandLine';

export const RERUN = 'runwatch.rerunInTerminal';

export function registerRerun(context: vscode.ExtensionContext, store: RunStoreLike): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(RERUN, async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(store));
      if (runId) await rerun(store, runId);
    }),
  );
}

function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const id = (arg as { runId?: unknown } | undefined)?.runId;
  return typeof id === 'string' ? id : undefined;
}

/** Sends the command line to a new terminal; resolves to it (undefined when cancelled or impossible). */
export async function rerun(store: RunStoreLike, runId: string): Promise<vscode.Terminal | undefined> {
  const run = store.getRun(runId);
  if (!run) {
    void vscode.window.showWarningMessage(`Runwatch: run ${runId} is not in the run store.`);
    return undefined;
  }
  const cmd = recordedCommand(run.context);
  if ('error' in cmd) {
    void vscode.window.showWarningMessage(`Runwatch: "${run.name}" cannot be rerun: ${cmd.error}.`);
    return undefined;
  }
  const line = await chooseLine(run, cmd.argv);
  if (!line) return undefined;
  const cwd = cmd.cwd && fs.existsSync(cmd.cwd) ? cmd.cwd : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (cmd.cwd && cwd !== cmd.cwd)
    void vscode.window.showInformationMessage(`Runwatch: ${cmd.cwd} is not on this machine; running in ${cwd}.`);
  const terminal = vscode.window.createTerminal({ name: `Rerun: ${run.name}`, cwd });
  terminal.show();
  terminal.sendText(line, true);
  return terminal;
}

interface Choice extends vscode.QuickPickItem {
  edit: 'same' | 'params' | 'line';
}

/** The shell line to run: the same, with changed params, or edited by hand. */
async function chooseLine(run: RunSummary, argv: string[]): Promise<string | undefined> {
  const args = paramArgs(argv, run.params);
  const items: Choice[] = [
    { label: 'Same command line', detail: shellLine(argv), edit: 'same' },
    ...(args.length
      ? [
          {
            label: 'Change params…',
            detail: args.map((a) => `${a.param} = ${a.value}`).join(', '),
            edit: 'params' as const,
          },
        ]
      : []),
    { label: 'Edit the command line…', edit: 'line' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Rerun "${run.name}" in a terminal` });
  if (!pick) return undefined;
  if (pick.edit === 'same') return shellLine(argv);
  if (pick.edit === 'params') {
    const values: Record<string, string> = {};
    for (const a of args) {
      const v = await vscode.window.showInputBox({
        title: `Rerun "${run.name}": ${a.param}`,
        prompt: `The value for ${a.flag} (was ${a.value})`,
        value: a.value,
      });
      if (v === undefined) return undefined;
      values[a.param] = v;
    }
    return shellLine(withParams(argv, args, values));
  }
  return vscode.window.showInputBox({
    title: `Rerun "${run.name}": the command line`,
    value: shellLine(argv),
    validateInput: (v) => (v.trim() ? undefined : 'Type the command to run'),
  });
}

async function pickRun(store: RunStoreLike): Promise<string | undefined> {
  const runs = [...store.listRuns()].sort((a, b) => b.startTime - a.startTime).slice(0, 200);
  const pick = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.name, description: `${r.project} · ${r.status}`, runId: r.runId })),
    { title: 'Runwatch: Rerun in Terminal', placeHolder: 'The run to start again' },
  );
  return pick?.runId;
}
