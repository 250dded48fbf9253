// The Runs tree's filter: free text, statuses and tags, plus whether archived runs show
// (contract: archived = tag `runwatch.archived` = "true", hidden unless asked for). Pure (no
// `vscode`), so the matching and the line the tree shows above its rows are unit-tested.
import type { RunStatus, RunSummary } from '../../api/types';
import { ARCHIVED_TAG, isArchived } from '../runsTable/tagEdits';

export interface RunsFilter {
  /** Case-insensitive words; a run matches when each word is in its name, id, project, a tag or a param. */
  text: string;
  /** Any of these statuses (empty: any status). */
  statuses: RunStatus[];
  /** Every one of these tag names (empty: any tags). */
  tags: string[];
  showArchived: boolean;
}

export const NO_FILTER: RunsFilter = { text: '', statuses: [], tags: [], showArchived: false };

/** True when text, status or tags narrow the runs (archived runs hidden is the default, not a filter). */
export function isFiltering(f: RunsFilter): boolean {
  return f.text.trim() !== '' || f.statuses.length > 0 || f.tags.length > 0;
}

/** Tags people set (the extension's own `runwatch.*` tags left out). */
export function visibleTags(run: Pick<RunSummary, 'tags'>): [string, string][] {
  return Object.entries(run.tags).filter(([k]) => !k.startsWith('runwatch.'));
}

export function matchesFilter(run: RunSummary, f: RunsFilter): boolean {
  if (!f.showArchived && isArchived(run)) return false;
  if (f.statuses.length && !f.statuses.includes(run.status)) return false;
  if (f.tags.some((t) => !(t in run.tags))) return false;
  const words = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = [
    run.name,
    run.runId,
    run.project,
    run.status,
    ...visibleTags(run).map(([k, v]) => (v ? `${k}=${v}` : k)),
    ...Object.entries(run.params).map(([k, v]) => `${k}=${String(v)}`),
  ]
    .join('\n')
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** The tag names the runs carry, for the filter's choices (sorted; `runwatch.*` left out). */
export function tagChoices(runs: readonly RunSummary[]): string[] {
  return [...new Set(runs.flatMap((r) => visibleTags(r).map(([k]) => k)))].sort((a, b) => a.localeCompare(b));
}

/**
 * The line above the tree's rows (TreeView.message): what narrows the runs and how many show,
 * and how many archived runs are hidden. Undefined when nothing is hidden.
 */
export function filterMessage(f: RunsFilter, runs: readonly RunSummary[]): string | undefined {
  const shown = runs.filter((r) => matchesFilter(r, f)).length;
  const archived = f.showArchived ? 0 : runs.filter((r) => isArchived(r)).length;
  const parts: string[] = [];
  if (f.text.trim()) parts.push(`"${f.text.trim()}"`);
  if (f.statuses.length) parts.push(f.statuses.join(' or '));
  if (f.tags.length) parts.push(f.tags.map((t) => `#${t}`).join(' '));
  if (parts.length) return `Filter ${parts.join(', ')}: ${shown} of ${runs.length} runs`;
  if (archived) return `${archived} archived run${archived === 1 ? '' : 's'} hidden`;
  return undefined;
}

export { ARCHIVED_TAG };
