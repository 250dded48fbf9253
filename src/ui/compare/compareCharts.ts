// The compare page's charts: for each metric the runs share, every run's line at a small
// chart's resolution, read from the series cache (the store decimates, min/max kept).
import type { CompareChart } from '../../webview/protocol/compare';
import type { SeriesLike } from '../deps';
import { type CompareDeps, sharedKeys } from './compareTable';

/** The most charts the page draws; the rest are named as left out. */
export const MAX_CHARTS = 24;
/** Points per line: a small chart is ~400 px wide, two points per pixel column keep its shape. */
const POINTS = 800;

export async function buildCompareCharts(
  deps: CompareDeps & { series: Pick<SeriesLike, 'query'> },
  runIds: readonly string[],
): Promise<{ charts: CompareChart[]; omitted: number }> {
  const keys = sharedKeys(deps, runIds);
  const charts: CompareChart[] = [];
  for (const key of keys.slice(0, MAX_CHARTS)) {
    const lines = [];
    for (const runId of runIds) {
      let s;
      try {
        if (!deps.series.keys(runId).includes(key)) continue;
        s = await deps.series.query({ runId, key, x: 'step', maxPoints: POINTS });
      } catch {
        continue; // a run deleted meanwhile, or its series not loadable: the chart shows the others
      }
      const x: number[] = [];
      const y: number[] = [];
      for (let i = 0; i < s.x.length; i++) {
        if (!Number.isFinite(s.y[i])) continue;
        x.push(s.x[i]);
        y.push(s.y[i]);
      }
      lines.push({ runId, x, y });
    }
    charts.push({ key, lines });
  }
  return { charts, omitted: Math.max(0, keys.length - MAX_CHARTS) };
}
