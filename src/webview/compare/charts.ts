// The compare page's charts: one small chart per metric the runs share, every run's line
// overlaid in its colour (palette.ts, via the host's RunInfo), integer step ticks and the one
// number format on the y axis. Each chart carries probe attributes for the end-to-end tests.
import uPlot from 'uplot';
import type { CompareChart } from '../protocol/compare';
import { formatStep, formatTick, formatValue } from '../protocol/format';
import type { RunInfo } from '../protocol/runs';
import { cssVar, el, text } from '../dashboard/dom';
import { integerTicks, ticksThatFit } from '../dashboard/ticks';

const HEIGHT = 170;

export class CompareCharts {
  private plots: uPlot[] = [];
  readonly element = el('div', 'cmp-charts');

  render(charts: readonly CompareChart[], runs: readonly RunInfo[], omitted: number): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.element.replaceChildren();
    const byId = new Map(runs.map((r) => [r.runId, r]));
    if (charts.length === 0) {
      this.element.append(text('The runs share no metric to chart.', 'cmp-note'));
      return;
    }
    const width = Math.max(260, Math.floor(this.element.clientWidth || 360) - 4);
    for (const c of charts) {
      const box = el('div', 'cmp-chart');
      box.dataset.key = c.key;
      box.dataset.runs = JSON.stringify(c.lines.map((l) => l.runId));
      box.dataset.points = JSON.stringify(Object.fromEntries(c.lines.map((l) => [l.runId, l.x.length])));
      box.dataset.colors = JSON.stringify(
        Object.fromEntries(c.lines.map((l) => [l.runId, byId.get(l.runId)?.color ?? ''])),
      );
      box.append(text(c.key, 'cmp-chart-title'));
      this.element.append(box);
      const data = uPlot.join(c.lines.map((l) => [l.x, l.y] as uPlot.AlignedData));
      this.plots.push(new uPlot(options(c, byId, width), data, box));
    }
    if (omitted > 0)
      this.element.append(text(`${omitted} more shared metrics are in the table, not charted.`, 'cmp-note'));
  }
}

function options(c: CompareChart, runs: ReadonlyMap<string, RunInfo>, width: number): uPlot.Options {
  const fg = cssVar('--vscode-foreground', '#ccc');
  const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: HEIGHT,
    // The legend under the chart is the hover readout: each run's value at the cursor's step.
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false } },
    series: [
      { label: 'step', value: (_u, v) => (v == null ? '' : formatStep(v)) },
      ...c.lines.map((l) => ({
        label: runs.get(l.runId)?.name ?? l.runId,
        value: (_u: uPlot, v: number | null) => formatValue(v),
        stroke: runs.get(l.runId)?.color ?? '#888',
        width: 1.5,
        spanGaps: true,
        points: { show: false },
      })),
    ],
    axes: [
      {
        ...axis,
        size: 36,
        // Steps are integers: ticks only at integers.
        splits: (u, _i, min, max) => integerTicks(min, max, ticksThatFit(u.bbox.width / devicePixelRatio, 60)),
        values: (_u, vals) => vals.map((v) => String(v)),
      },
      { ...axis, size: 56, values: (_u, vals) => vals.map(formatTick) },
    ],
  };
}
