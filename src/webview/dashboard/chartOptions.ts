// uPlot options for one chart: a line per run (plus its smoothed line), theme colors,
// axes for the x mode, and our own drag/double-click handling instead of uPlot's.
import type uPlot from 'uplot';
import { formatDuration, formatTick } from '../protocol/format';

export { formatDuration } from '../protocol/format';
import type { DashboardState, RunInfo, SeriesData } from '../protocol/dashboard';
import { cssVar } from './dom';
import { integerTicks, ticksThatFit } from './ticks';

export const CHART_HEIGHT = 220;

export interface ChartOptionsInput {
  width: number;
  series: readonly SeriesData[];
  runs: ReadonlyMap<string, RunInfo>;
  state: DashboardState;
  /** Chart height in px (taller when expanded). */
  height?: number;
  /** A fixed y range (ignore outliers), else uPlot's from the data. */
  yRange?: [number, number];
  onSelect(u: uPlot): void;
  onDraw(u: uPlot): void;
  onCursor?(u: uPlot): void;
}

/** Pixels between step ticks. */
const STEP_TICK_SPACE = 70;

export function chartOptions(input: ChartOptionsInput): uPlot.Options {
  const { width, series, runs, state, onSelect, onDraw, onCursor, yRange } = input;
  const fg = cssVar('--vscode-foreground', '#ccc');
  const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const smoothing = state.smoothing > 0;
  const seriesOpts: uPlot.Series[] = [{}];
  for (const s of series) {
    const r = runs.get(s.runId);
    const stroke = r?.color ?? '#888';
    const label = r?.name ?? s.runId;
    const line = { stroke, spanGaps: true, points: { show: false } };
    seriesOpts.push({ ...line, label, width: 1, alpha: smoothing ? 0.25 : 1 });
    if (smoothing) seriesOpts.push({ ...line, label: `${label} (smoothed)`, width: 1.5 });
  }
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: input.height ?? CHART_HEIGHT,
    series: seriesOpts,
    legend: { show: false },
    scales: {
      x: { time: state.xMode === 'time' },
      y: {
        ...(state.logScale ? { distr: 3, log: 10 } : {}),
        ...(yRange ? { range: () => yRange } : {}),
      },
    },
    axes: [
      state.xMode === 'relative'
        ? { ...axis, values: (_u, vals) => vals.map(formatDuration) }
        : state.xMode === 'step'
          ? // Steps are integers: ticks only at integers, 1·2·5 spaced (never 2.5 or 7.5).
            {
              ...axis,
              size: 50,
              splits: (u, _i, min, max) =>
                integerTicks(min, max, ticksThatFit(u.bbox.width / devicePixelRatio, STEP_TICK_SPACE)),
              values: (_u, vals) => vals.map((v) => String(v)),
            }
          : // Wall-time ticks take two lines (time, then date).
            { ...axis, size: 64 },
      // As wide as the widest label needs (uPlot lays out again when this changes).
      { ...axis, size: (_u, labels) => yAxisWidth(labels), values: (_u, vals) => vals.map(formatTick) },
    ],
    cursor: {
      drag: { x: true, y: false, setScale: false },
      // Double-click is ours (reset to the full range, live), not uPlot's autoscale.
      bind: { dblclick: () => () => null },
    },
    hooks: { setSelect: [onSelect], draw: [onDraw], ...(onCursor ? { setCursor: [onCursor] } : {}) },
  };
}

let measureCtx: CanvasRenderingContext2D | null | undefined;

/** Room for the y tick labels: their widest, in the axis font, plus the tick and a gap. */
function yAxisWidth(labels: string[] | null): number {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!labels || !measureCtx) return 60;
  measureCtx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
  let w = 0;
  for (const l of labels) if (l) w = Math.max(w, measureCtx.measureText(l).width);
  return Math.max(40, Math.ceil(w) + 18);
}
