// Group bands as a chart draws them (pure, no DOM): the host's per-group lines and bands
// (GroupBandData) aligned on one x column for uPlot, and each group as a line-like series
// and a run-like entry, so the legend and the hover readout name the group and its run count.
import type { GroupBandData, RunInfo, SeriesData, XMode } from '../protocol/dashboard';
import { alignRuns } from './chartData';

/** The id a group's line goes by in the chart's series, legend and readout. */
export function groupLineId(label: string): string {
  return `group:${label}`;
}

export interface BandColumns {
  x: Float64Array;
  /** Per group, its line; then its band's lower and upper edges: NaN (and ≤ 0 on a log axis) as null. */
  center: (number | null)[][];
  lo: (number | null)[][];
  hi: (number | null)[][];
}

/** Every group's cells on one shared x column (null on other groups' rows, spanned when drawn). */
export function bandColumns(groups: readonly GroupBandData[], logScale = false): BandColumns {
  const { x, ys } = alignRuns(groups.map((g) => ({ x: g.x, y: g.center })));
  const keep = (v: number): number | null => (Number.isFinite(v) && (!logScale || v > 0) ? v : null);
  const center: (number | null)[][] = [];
  const lo: (number | null)[][] = [];
  const hi: (number | null)[][] = [];
  groups.forEach((g, k) => {
    const c = new Array<number | null>(x.length).fill(null);
    const l = new Array<number | null>(x.length).fill(null);
    const h = new Array<number | null>(x.length).fill(null);
    // alignRuns keeps each group's cells in order on the rows it filled (a NaN cell's row holds NaN, not null).
    let i = 0;
    for (let row = 0; row < x.length && i < g.x.length; row++) {
      if (ys[k][row] === null) continue;
      c[row] = keep(g.center[i]);
      l[row] = keep(g.lo[i]);
      h[row] = keep(g.hi[i]);
      i++;
    }
    center.push(c);
    lo.push(l);
    hi.push(h);
  });
  return { x, center, lo, hi };
}

/** Each group as the chart's series (its line, for the legend and readout) and as a run (name, colour). */
export function groupLines(
  groups: readonly GroupBandData[],
  key: string,
  xMode: XMode,
): { series: SeriesData[]; runs: Map<string, RunInfo> } {
  const series: SeriesData[] = [];
  const runs = new Map<string, RunInfo>();
  for (const g of groups) {
    const runId = groupLineId(g.label);
    let last = g.x.length - 1;
    while (last >= 0 && !Number.isFinite(g.center[last])) last--;
    series.push({
      runId,
      key,
      xMode,
      x: g.x,
      y: g.center,
      nonFiniteX: new Float64Array(0),
      nonFiniteKind: new Uint8Array(0),
      total: g.x.length,
      decimated: false,
      latest: last >= 0 ? { step: Math.round(g.x[last]), value: g.center[last] } : undefined,
    });
    const count = g.runs === g.members ? `${g.members}` : `${g.runs} of ${g.members}`;
    runs.set(runId, {
      runId,
      name: `${g.label} (${count} run${g.members === 1 ? '' : 's'})`,
      project: '',
      status: 'finished',
      startTime: 0,
      color: g.color,
    });
  }
  return { series, runs };
}

/** A band's fill: the group's colour, translucent. */
export function bandFill(color: string): string {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}33` : color;
}
