// Where a set of runs first logged one key, one entry per distinct place: what a chart's
// "Go to Source" opens (chartSource.ts). Runs of one script share a place; the newest run stands for it.
import type { RunSummary, SourceLocation } from '../../api/types';

export interface SourcePlace {
  /** The run whose location is opened for this place (the newest that logged the key there). */
  runId: string;
  loc: SourceLocation;
  /** Names of the runs that logged the key at this place, newest first. */
  runs: string[];
}

/** The distinct places (file and line) where `runs` first logged `key`, newest run first. */
export function sourcePlaces(runs: readonly RunSummary[], key: string): SourcePlace[] {
  const places = new Map<string, SourcePlace>();
  for (const r of [...runs].sort((a, b) => b.startTime - a.startTime)) {
    const loc = r.sources?.[key];
    if (!loc) continue;
    const at = `${loc.file}\0${loc.line}\0${loc.cell ?? ''}`;
    const place = places.get(at);
    if (place) place.runs.push(r.name);
    else places.set(at, { runId: r.runId, loc, runs: [r.name] });
  }
  return [...places.values()];
}
