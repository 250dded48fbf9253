// One metric key's chart: every shown run overlaid (aligned on a shared x column),
// smoothed and log-masked as the toolbar says, with its legend and non-finite markers.
// A new plot is built only when its shape changes (runs, smoothing, scale, x mode);
// live data is set on the existing one. The title row holds expand and export buttons; the
// box names its key for VS Code's context menu on webviews (data-vscode-context).
import uPlot from 'uplot';
import type { Emitter } from '../../common/emitter';
import type {
  DashboardState,
  ExportKind,
  GroupBandData,
  PageSettings,
  RunInfo,
  SeriesData,
} from '../protocol/dashboard';
import { ema, lineColumns, robustRange } from './chartData';
import { CHART_HEIGHT, chartOptions } from './chartOptions';
import { el } from './dom';
import { bandColumns, bandFill, groupLines } from './groupLines';
import { renderLegend } from './legend';
import { drawNonFiniteMarkers } from './markers';
import { type Zoomable, bindPanZoom, zoomToSelection } from './panZoom';
import { addOtherAxis } from './pointer';
import { Readout, pointsAt } from './readout';
import type { DashboardModel, XRange } from './state';

/** Debounce for range queries: wheel and pan produce many steps, the host needs only the last. */
const QUERY_DELAY_MS = 150;

/** What a chart needs from the page around it. */
export interface ChartContext {
  readonly model: DashboardModel;
  /** Watches plot boxes; grid cells change width when charts come and go. */
  readonly resizer: ResizeObserver;
  /** Asks the host for `key` in `range` (none: the full range). */
  requestRange(key: string, range: XRange | undefined): void;
  /** Fired after a chart got new data. */
  readonly onDidUpdate: Emitter<Chart>;
  /** Fired after every draw of a chart (data, zoom, pan, resize). */
  readonly onDidDraw: Emitter<Chart>;
  /** The settings the page follows (wheel behaviour). */
  settings(): PageSettings;
  /** A person zoomed this chart (none: reset); with synced zoom the grid applies it to the others. */
  onZoom(chart: Chart, zoom: XRange | undefined): void;
  /** Expand this chart to the whole panel, or back (none). */
  expand(key: string | undefined): void;
  /** A change of the dashboard state made on this page (a folded group, an expanded chart). */
  changeState(patch: Partial<DashboardState>): void;
  /** Ask the host for this key's step ↔ time pairs (the readout's other axis). */
  requestAxes(key: string): void;
  /** Export this chart (its buttons). */
  exportChart(chart: Chart, kind: ExportKind, resolution: 'full' | 'drawn'): void;
}

export class Chart implements Zoomable {
  readonly box: HTMLElement;
  readonly plotBox: HTMLElement;
  private readonly legend: HTMLElement;
  private plot: uPlot | undefined;
  private plotShape = '';
  private shown: SeriesData[] = [];
  private drawnRange: { min?: number; max?: number } = {};
  /** Each shown series' smoothed line, point for point (for the readout; made at the first hover). */
  private smoothedLines: (number | null)[][] | undefined = [];
  private readonly readout: Readout;
  zoom: XRange | undefined;
  /** The plot the cursor was last over (to redraw the readout when the other axis arrives). */
  private lastCursor: uPlot | undefined;
  private pendingQuery: ReturnType<typeof setTimeout> | undefined;
  /** The group bands drawn (none: a line per run). */
  private drawnBands: GroupBandData[] | undefined;
  /** Who the drawn lines are: the runs, or the groups while grouped. */
  private lineOwners: ReadonlyMap<string, RunInfo> = new Map();

  constructor(
    readonly key: string,
    parent: HTMLElement,
    private readonly ctx: ChartContext,
  ) {
    this.box = el('div', 'chart');
    this.box.dataset.key = key;
    this.box.dataset.vscodeContext = JSON.stringify({
      webviewSection: 'chart',
      key,
      preventDefaultContextMenuItems: true,
    });
    const head = el('div', 'chart-head');
    const title = el('div', 'chart-title');
    title.textContent = key;
    title.title = key;
    head.append(title, this.buttons());
    this.plotBox = el('div', 'plot');
    this.legend = el('div', 'legend');
    this.box.append(head, this.plotBox, this.legend);
    this.readout = new Readout(this.box);
    ctx.resizer.observe(this.plotBox);
    const before = Array.from(parent.children).find((c) => ((c as HTMLElement).dataset.key ?? '') > key);
    parent.insertBefore(this.box, before ?? null);
  }

  /** The series drawn, one per shown run. */
  get series(): readonly SeriesData[] {
    return this.shown;
  }

  /** The x scale at the last draw. */
  get xRange(): { readonly min?: number; readonly max?: number } {
    return this.drawnRange;
  }

  /** True while this chart fills the panel. */
  get expanded(): boolean {
    return this.ctx.model.state.expanded === this.key;
  }

  /** The group bands drawn, while grouped. */
  get bands(): readonly GroupBandData[] | undefined {
    return this.drawnBands;
  }

  update(series: readonly SeriesData[]): void {
    const bands = this.ctx.model.bandsOf(this.key);
    if (bands) return this.updateGroups(bands);
    this.drawnBands = undefined;
    this.lineOwners = this.ctx.model.runs;
    const { model } = this.ctx;
    const { state } = model;
    // Legend and line order: the shown runs' order, the same in every chart.
    const order = [...model.runs.keys()];
    this.shown = series
      .filter((s) => model.runs.has(s.runId))
      .sort((a, b) => order.indexOf(a.runId) - order.indexOf(b.runId));
    const smoothing = state.smoothing;
    const { x, cols } = lineColumns(this.shown, smoothing, state.logScale);
    this.smoothedLines = smoothing > 0 ? undefined : [];
    const yRange = state.ignoreOutliers ? robustRange(this.shown.map((s) => s.y)) : undefined;
    const colors = this.shown.map((s) => model.runs.get(s.runId)?.color).join(',');
    const shape =
      `${this.shown.map((s) => s.runId).join(',')}|${colors}|${smoothing > 0}|${state.logScale}|${state.xMode}` +
      `|${yRange?.join(',')}|${this.expanded}`;
    this.draw([x, ...cols] as uPlot.AlignedData, shape, () => this.options());
    renderLegend(this.legend, this.shown, model.runs);
    this.ctx.onDidUpdate.fire(this);
  }

  /**
   * Grouped: one line per group (mean or median, unsmoothed) with its band between the lower and
   * upper edges, translucent in the group's colour; the runs' own lines are not drawn.
   */
  private updateGroups(bands: GroupBandData[]): void {
    const { state } = this.ctx.model;
    this.drawnBands = bands;
    const lines = groupLines(bands, this.key, state.xMode);
    this.shown = lines.series;
    this.lineOwners = lines.runs;
    this.smoothedLines = [];
    const cols = bandColumns(bands, state.logScale);
    const shape =
      `groups|${bands.map((b) => `${b.label}:${b.color}`).join(',')}|${state.logScale}|${state.xMode}` +
      `|${this.expanded}`;
    const aligned = [cols.x, ...cols.center, ...cols.lo, ...cols.hi] as uPlot.AlignedData;
    this.draw(aligned, shape, () => {
      const opts = this.options(lines.runs, { ...state, smoothing: 0, ignoreOutliers: false });
      const n = bands.length;
      const edge = (b: GroupBandData, side: string): uPlot.Series => ({
        stroke: bandFill(b.color),
        width: 1,
        spanGaps: true,
        points: { show: false },
        label: `${b.label} (${side})`,
      });
      for (const b of bands) opts.series.push(edge(b, 'lower'));
      for (const b of bands) opts.series.push(edge(b, 'upper'));
      opts.bands = bands.map((b, g) => ({ series: [1 + 2 * n + g, 1 + n + g], fill: bandFill(b.color) }));
      return opts;
    });
    renderLegend(this.legend, this.shown, lines.runs);
    // A group is no run: no "Set Run Colour…" on its legend item.
    for (const item of Array.from(this.legend.children) as HTMLElement[]) delete item.dataset.vscodeContext;
    this.ctx.onDidUpdate.fire(this);
  }

  /** Sets the data on the plot, or builds a new plot when its shape changed. */
  private draw(aligned: uPlot.AlignedData, shape: string, options: () => uPlot.Options): void {
    if (!this.plot || shape !== this.plotShape) {
      this.plot?.destroy();
      this.plot = new uPlot(options(), aligned, this.plotBox);
      this.plotShape = shape;
      bindPanZoom(this.plot, this, () => this.ctx.settings().wheelZoom);
      this.plot.over.addEventListener('mouseleave', () => this.readout.hide());
    } else {
      const plot = this.plot;
      plot.batch(() => {
        plot.setData(aligned, true);
        if (this.zoom) plot.setScale('x', this.zoom);
      });
    }
    if (this.zoom) this.plot.setScale('x', this.zoom);
  }

  /** A person's finished zoom (none: reset): applied here, and to the others when zoom is synced. */
  setZoom(zoom: XRange | undefined): void {
    this.applyZoom(zoom);
    this.ctx.onZoom(this, zoom);
  }

  /** Applies a finished zoom (none: back to the full range) and asks the host for it. */
  applyZoom(zoom: XRange | undefined): void {
    this.zoom = zoom;
    if (zoom) this.plot?.setScale('x', zoom);
    else this.update(this.shown);
    clearTimeout(this.pendingQuery);
    this.pendingQuery = setTimeout(() => this.ctx.requestRange(this.key, this.zoom), QUERY_DELAY_MS);
  }

  resize(): void {
    const width = this.width();
    const height = this.height();
    if (this.plot && (Math.abs(this.plot.width - width) > 1 || this.plot.height !== height))
      this.plot.setSize({ width, height });
  }

  /** Shows the readout again at the same cursor (new pairs for the other axis arrived). */
  refreshReadout(): void {
    const u = this.lastCursor;
    if (u && u === this.plot && !this.readout.box.hidden) this.onCursor(u);
  }

  /** The uPlot instance (export draws from its canvas and scales). */
  get uplot(): uPlot | undefined {
    return this.plot;
  }

  destroy(): void {
    clearTimeout(this.pendingQuery);
    this.ctx.resizer.unobserve(this.plotBox);
    this.plot?.destroy();
    this.box.remove();
  }

  private width(): number {
    return Math.max(200, this.plotBox.clientWidth || 400);
  }

  private height(): number {
    // Expanded: the panel's height less the title, legend and toolbar.
    return this.expanded ? Math.max(CHART_HEIGHT, window.innerHeight - 160) : CHART_HEIGHT;
  }

  private buttons(): HTMLElement {
    const bar = el('div', 'chart-buttons');
    const button = (label: string, tip: string, cls: string, run: () => void) => {
      const b = el('button', `chart-button ${cls}`);
      b.type = 'button';
      b.textContent = label;
      b.title = tip;
      b.setAttribute('aria-label', tip);
      b.addEventListener('click', (e) => {
        e.stopPropagation();
        run();
      });
      bar.append(b);
    };
    button('PNG', 'Export this chart as PNG', 'export-png', () => this.ctx.exportChart(this, 'png', 'drawn'));
    button('SVG', 'Export this chart as SVG', 'export-svg', () => this.ctx.exportChart(this, 'svg', 'drawn'));
    button('CSV', 'Export the chosen runs of this metric as CSV, every stored point', 'export-csv', () =>
      this.ctx.exportChart(this, 'csv', 'full'),
    );
    button('JSON', 'Export the chosen runs of this metric as JSON, every stored point', 'export-json', () =>
      this.ctx.exportChart(this, 'json', 'full'),
    );
    button('⤢', 'Expand this chart to the whole panel (again: back)', 'expand', () =>
      this.ctx.expand(this.expanded ? undefined : this.key),
    );
    return bar;
  }

  private smoothed(): (number | null)[][] {
    const w = this.ctx.model.state.smoothing;
    return (this.smoothedLines ??= this.shown.map((s) => (w > 0 ? ema(s.y, w) : [])));
  }

  private onCursor(u: uPlot): void {
    const { model } = this.ctx;
    const { left, top } = u.cursor;
    if (left === undefined || top === undefined || left < 0) return this.readout.hide();
    const rows = pointsAt(this.shown, u.posToVal(left, 'x'), this.smoothed());
    const start = (id: string) => model.runs.get(id)?.startTime ?? 0;
    // A group's line has no stored points of its own to name the other axis of.
    const complete = this.drawnBands || addOtherAxis(rows, model.state.xMode, model.axes.get(this.key), start);
    if (!complete && model.shouldAskAxes(this.key, Date.now())) this.ctx.requestAxes(this.key);
    this.lastCursor = u;
    // The cursor is relative to the plot's overlay; the readout sits in the chart box (not clipped).
    const over = u.over.getBoundingClientRect();
    const box = this.box.getBoundingClientRect();
    this.readout.show(rows, this.lineOwners, model.state.xMode, left + over.left - box.left, top + over.top - box.top);
  }

  private options(
    runs: ReadonlyMap<string, RunInfo> = this.ctx.model.runs,
    state = this.ctx.model.state,
  ): uPlot.Options {
    const { model } = this.ctx;
    return chartOptions({
      width: this.width(),
      height: this.height(),
      series: this.shown,
      runs,
      state,
      yRange: state.ignoreOutliers ? robustRange(this.shown.map((s) => s.y)) : undefined,
      onSelect: (u) => zoomToSelection(u, this),
      onCursor: (u) => this.onCursor(u),
      onDraw: (u) => {
        drawNonFiniteMarkers(u, this.shown, (id) => model.runs.get(id)?.color);
        // From the hook's plot: the first draw can come before the constructor returns.
        this.drawnRange = { min: u.scales.x.min, max: u.scales.x.max };
        this.ctx.onDidDraw.fire(this);
      },
    });
  }
}
