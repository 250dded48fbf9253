// The dashboard's run groups: the shown runs split by one param or tag value, and each group's
// line and band for a key computed here from the stored series (src/store/series/bands.ts), so
// the page gets a bounded band per group instead of every run's points.
import type { ParamValue, RunSummary } from '../../api/types';
import { type BandSource, groupBand } from '../../store/series/bands';
import { BAND_CELLS, type DashboardState, type GroupBandData, groupSpec } from '../../webview/protocol/dashboard';

export interface RunGroup {
  label: string;
  runIds: string[];
}

/** Runs without the field fall in this group. */
export const NO_VALUE = '(none)';

/** Params and tags the runs carry (`params.<name>`, `tags.<name>`), sorted; internal tags left out. */
export function groupFields(runs: readonly Pick<RunSummary, 'params' | 'tags'>[]): string[] {
  const out = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.params ?? {})) out.add(`params.${k}`);
    for (const k of Object.keys(r.tags ?? {})) if (!k.startsWith('runwatch.')) out.add(`tags.${k}`);
  }
  return [...out].sort();
}

function fieldValue(r: Pick<RunSummary, 'params' | 'tags'>, field: string): ParamValue | undefined {
  if (field.startsWith('params.')) return r.params?.[field.slice('params.'.length)];
  if (field.startsWith('tags.')) return r.tags?.[field.slice('tags.'.length)];
  return undefined;
}

/** The runs (in their order) split by `field`'s value: groups in value order (numbers by size), `(none)` last. */
export function groupRuns(runs: readonly Pick<RunSummary, 'runId' | 'params' | 'tags'>[], field: string): RunGroup[] {
  const name = field.replace(/^(params|tags)\./, '');
  const byValue = new Map<string, { value: ParamValue | undefined; runIds: string[] }>();
  for (const r of runs) {
    const v = fieldValue(r, field);
    const id = v === undefined || v === null ? NO_VALUE : JSON.stringify(v);
    let g = byValue.get(id);
    if (!g) byValue.set(id, (g = { value: v ?? undefined, runIds: [] }));
    g.runIds.push(r.runId);
  }
  const groups = [...byValue.values()];
  groups.sort((a, b) => {
    if (a.value === undefined || b.value === undefined) return a.value === undefined ? 1 : -1;
    if (typeof a.value === 'number' && typeof b.value === 'number') return a.value - b.value;
    return String(a.value).localeCompare(String(b.value));
  });
  return groups.map((g) => ({
    label: g.value === undefined ? `${name} ${NO_VALUE}` : `${name}=${String(g.value)}`,
    runIds: g.runIds,
  }));
}

/** Each group's band of `key` under the state's grouping; a group's colour is its first run's. */
export async function groupBands(
  source: BandSource,
  groups: readonly RunGroup[],
  key: string,
  state: Pick<DashboardState, 'groupCenter' | 'groupSpread'>,
  colorOf: (runId: string) => string,
): Promise<GroupBandData[]> {
  const out: GroupBandData[] = [];
  for (const g of groups) {
    const b = await groupBand(source, {
      runIds: g.runIds,
      key,
      cells: BAND_CELLS,
      center: state.groupCenter ?? 'mean',
      spread: state.groupSpread ?? 'minmax',
    });
    if (b.runs === 0) continue;
    out.push({
      label: g.label,
      color: colorOf(g.runIds[0]),
      members: g.runIds.length,
      runs: b.runs,
      x: b.x,
      center: b.center,
      lo: b.lo,
      hi: b.hi,
    });
  }
  return out;
}

export { groupSpec };
