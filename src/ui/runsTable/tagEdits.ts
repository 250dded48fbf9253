// Tag changes as run events, without VS Code: what "Tag…", "Untag…", "Archive" and "Unarchive" append
// to a run's log. Archive is the tag `runwatch.archived` = "true"; unarchiving removes it.
import type { RunEvent, RunSummary } from '../../api/types';

export const ARCHIVED_TAG = 'runwatch.archived';

export interface TagEdit {
  /** Tag names to add (value "" unless `values` names one). */
  add?: string[];
  values?: Record<string, string>;
  remove?: string[];
}

export function tagEvent(edit: TagEdit): Extract<RunEvent, { type: 'tags' }> {
  const tags: Record<string, string> = {};
  for (const name of edit.add ?? []) tags[name] = edit.values?.[name] ?? (name === ARCHIVED_TAG ? 'true' : '');
  const removed = (edit.remove ?? []).filter((n) => !(n in tags));
  return { type: 'tags', tags, ...(removed.length ? { removed } : {}) };
}

export function isArchived(run: Pick<RunSummary, 'tags'>): boolean {
  return run.tags[ARCHIVED_TAG] === 'true';
}

/**
 * Tag names typed by a person ("baseline, best lr"): split on commas, trimmed, empties dropped.
 * Returns the names or a message saying what is wrong.
 */
export function parseTagNames(text: string): string[] | { error: string } {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) return { error: 'type at least one tag name (several: separate them with commas)' };
  const long = names.find((n) => n.length > 250);
  if (long) return { error: `the tag "${long.slice(0, 40)}…" is longer than 250 characters` };
  return [...new Set(names)];
}

/** The input box's message while typing: none for a blank box (Enter on it adds nothing), since
 * VS Code ignores Enter while a message stands and the host re-validates typed text late. */
export function tagInputProblem(text: string): string | undefined {
  const r = parseTagNames(text);
  return Array.isArray(r) || blankTagInput(text) ? undefined : r.error;
}

/** Nothing but spaces and commas: no names typed. */
export function blankTagInput(text: string): boolean {
  return text.split(',').every((s) => s.trim() === '');
}
