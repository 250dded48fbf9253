// Tag and archive commands on runs, from the Runs tree's context menu and the runs table's
// selection: "Tag Runs…" (names typed, comma-separated), "Remove Tags…" (picked from the tags the
// runs have), "Archive Runs" and "Unarchive Runs". Each appends one `tags` event per run to its
// log (src/ui/runsTable/tagEdits.ts), so the summary, the views and the backends all see it.
import * as vscode from 'vscode';
import type { RunEvent } from '../api/types';
import { errorText } from '../common/errors';
import { runIdsFrom } from './commands';
import type { RunStoreLike, ViewsDeps } from './deps';
import {
  ARCHIVED_TAG,
  type TagEdit,
  blankTagInput,
  parseTagNames,
  tagEvent,
  tagInputProblem,
} from './runsTable/tagEdits';

/** What tagging needs beyond RunStoreLike: appending an event (RunStore has it; a reader refuses). */
interface AppendingStore extends RunStoreLike {
  append(runId: string, items: { event: RunEvent }[]): Promise<unknown>;
}

function canAppend(store: RunStoreLike): store is AppendingStore {
  return typeof (store as Partial<AppendingStore>).append === 'function';
}

/** Test hooks: answers instead of the input box and the pick. */
export interface TagAnswers {
  names?: string;
  picked?: string[];
}

export async function applyTagEdit(store: RunStoreLike, runIds: readonly string[], edit: TagEdit): Promise<number> {
  if (!canAppend(store)) throw new Error('this window cannot change runs: its run store is read-only');
  const ids = runIds.filter((id) => store.getRun(id));
  for (const id of ids) await store.append(id, [{ event: tagEvent(edit) }]);
  return ids.length;
}

export function registerTagCommands(deps: ViewsDeps, selection: () => readonly unknown[]): vscode.Disposable[] {
  const { store, log } = deps;
  const ids = (arg: unknown, selected: unknown): string[] => {
    let out = runIdsFrom(arg as never, selected);
    if (out.length === 0) out = runIdsFrom(undefined, selection().filter(isRunNode));
    return out.filter((id) => store.getRun(id));
  };
  const guarded =
    (name: string, f: (arg: unknown, selected: unknown, answers?: TagAnswers) => Promise<unknown>) =>
    async (arg: unknown, selected: unknown, answers?: TagAnswers) => {
      try {
        return await f(arg, selected, answers);
      } catch (err) {
        void vscode.window.showErrorMessage(`Runwatch: ${name} failed: ${errorText(err)}`);
        return undefined;
      }
    };
  const edit = async (runIds: string[], e: TagEdit, what: string) => {
    if (runIds.length === 0) {
      void vscode.window.showInformationMessage('Runwatch: select one or more runs first.');
      return 0;
    }
    const n = await applyTagEdit(store, runIds, e);
    log.info(`${what} on ${n} run${n === 1 ? '' : 's'}`);
    return n;
  };
  return [
    vscode.commands.registerCommand(
      'runwatch.tagRuns',
      guarded('Tag Runs', async (arg, selected, answers) => {
        const runIds = ids(arg, selected);
        if (runIds.length === 0) return edit(runIds, {}, '');
        const text =
          answers?.names ??
          (await vscode.window.showInputBox({
            title: `Tag ${runIds.length} run${runIds.length === 1 ? '' : 's'}`,
            prompt: 'Tag names to add, separated by commas (e.g. baseline, best-lr)',
            validateInput: tagInputProblem,
          }));
        if (text === undefined || blankTagInput(text)) return 0;
        const names = parseTagNames(text);
        if (!Array.isArray(names)) throw new Error(names.error);
        return edit(runIds, { add: names }, `tagged ${names.join(', ')}`);
      }),
    ),
    vscode.commands.registerCommand(
      'runwatch.untagRuns',
      guarded('Remove Tags', async (arg, selected, answers) => {
        const runIds = ids(arg, selected);
        const present = [
          ...new Set(
            runIds.flatMap((id) => Object.keys(store.getRun(id)?.tags ?? {}).filter((t) => t !== ARCHIVED_TAG)),
          ),
        ].sort();
        if (present.length === 0) {
          void vscode.window.showInformationMessage('Runwatch: the selected runs have no tags to remove.');
          return 0;
        }
        const picked =
          answers?.picked ??
          (await vscode.window.showQuickPick(present, { canPickMany: true, title: 'Tags to remove' }))?.map(String);
        if (!picked || picked.length === 0) return 0;
        return edit(runIds, { remove: picked }, `removed tags ${picked.join(', ')}`);
      }),
    ),
    vscode.commands.registerCommand(
      'runwatch.archiveRuns',
      guarded('Archive Runs', (arg, selected) => edit(ids(arg, selected), { add: [ARCHIVED_TAG] }, 'archived')),
    ),
    vscode.commands.registerCommand(
      'runwatch.unarchiveRuns',
      guarded('Unarchive Runs', (arg, selected) => edit(ids(arg, selected), { remove: [ARCHIVED_TAG] }, 'unarchived')),
    ),
  ];
}

function isRunNode(n: unknown): boolean {
  return typeof n === 'object' && n !== null && (n as { kind?: unknown }).kind === 'run';
}
