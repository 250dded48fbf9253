// Runs as the pages show them (protocol RunInfo), built from the store's summaries.
import type { RunSummary } from '../../api/types';
import type { RunInfo } from '../../webview/protocol/runs';
import type { RunStoreLike } from '../deps';
import { runColors } from './runColors';

export function runInfo(r: RunSummary): RunInfo {
  return {
    runId: r.runId,
    name: r.name,
    project: r.project,
    status: r.status,
    startTime: r.startTime,
    lastStep: r.lastStep,
    color: runColors.colorOf(r.runId),
  };
}

/** The runs shown (in `runIds` order, gone ones left out) and every run, for the picker. */
export function runsPayload(
  store: Pick<RunStoreLike, 'listRuns'>,
  runIds: readonly string[],
): { runs: RunInfo[]; allRuns: RunInfo[] } {
  const all = store.listRuns();
  const byId = new Map(all.map((r) => [r.runId, r]));
  const runs = runIds.map((id) => byId.get(id)).filter((r): r is RunSummary => !!r);
  // Runs charted together never share a close colour (the tree and table follow: one table).
  runColors.ensureDistinct(runs.map((r) => r.runId));
  return { runs: runs.map(runInfo), allRuns: all.map(runInfo) };
}
