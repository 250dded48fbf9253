// One metric key's chart: every shown run overlaid (aligned on a shared x column),
// smoothed and log-masked as the toolbar says, with its legend and non-finite markers.
// A new plot is built only when its shape changes (runs, smoothing, scale, x mode);
// live data is set on the existing one.
import uPlot from 'uplot';
import type { Emitter } from '../../common/emitter';
import type { SeriesData } from '../protocol/dashboard';
import { alignRuns, ema, maskNonPositive } from './chartData';
import { CHART_HEIGHT, chartOptions } from './chartOptions';
import { el } from './dom';
import { renderLegend } from './legend';
import { drawNonFiniteMarkers } from './markers';
import { type Zoomable, bindPanZoom, zoomToSelection } from './panZoom';
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
}

export class Chart implements Zoomable {
  readonly box: HTMLElement;
  readonly plotBox: HTMLElement;
  private readonly legend: HTMLElement;
  private plot: uPlot | undefined;
  private plotShape = '';
  private shown: SeriesData[] = [];
  private drawnRange: { min?: number; max?: number } = {};
  zoom: XRange | undefined;
  private pendingQuery: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly key: string,
    parent: HTMLElement,
    private readonly ctx: ChartContext,
  ) {
    this.box = el('div', 'chart');
    this.box.dataset.key = key;
    const title = el('div', 'chart-title');
    title.textContent = key;
    this.plotBox = el('div', 'plot');
    this.legend = el('div', 'legend');
    this.box.append(title, this.plotBox, this.legend);
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

  update(series: readonly SeriesData[]): void {
    const { model } = this.ctx;
    const { state } = model;
    this.shown = series.filter((s) => model.runs.has(s.runId));
    const { x, ys } = alignRuns(this.shown.map((s) => ({ x: s.x, y: s.y })));
    const cols: (number | null)[][] = [];
    const smoothing = state.smoothing;
    for (const y of ys) {
      const raw = state.logScale ? maskNonPositive(y) : y;
      cols.push(raw);
      if (smoothing > 0) cols.push(ema(raw, smoothing));
    }
    const shape = `${this.shown.map((s) => s.runId).join(',')}|${smoothing > 0}|${state.logScale}|${state.xMode}`;
    const aligned = [x, ...cols] as uPlot.AlignedData;
    if (!this.plot || shape !== this.plotShape) {
      this.plot?.destroy();
      this.plot = new uPlot(this.options(), aligned, this.plotBox);
      this.plotShape = shape;
      bindPanZoom(this.plot, this);
    } else {
      const plot = this.plot;
      plot.batch(() => {
        plot.setData(aligned, true);
        if (this.zoom) plot.setScale('x', this.zoom);
      });
    }
    if (this.zoom) this.plot.setScale('x', this.zoom);
    renderLegend(this.legend, this.shown, model.runs);
    this.ctx.onDidUpdate.fire(this);
  }

  /** Applies a finished zoom (none: back to the full range) and asks the host for it. */
  setZoom(zoom: XRange | undefined): void {
    this.zoom = zoom;
    if (zoom) this.plot?.setScale('x', zoom);
    else this.update(this.shown);
    clearTimeout(this.pendingQuery);
    this.pendingQuery = setTimeout(() => this.ctx.requestRange(this.key, this.zoom), QUERY_DELAY_MS);
  }

  resize(): void {
    const width = this.width();
    if (this.plot && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: CHART_HEIGHT });
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

  private options(): uPlot.Options {
    const { model } = this.ctx;
    return chartOptions({
      width: this.width(),
      series: this.shown,
      runs: model.runs,
      state: model.state,
      onSelect: (u) => zoomToSelection(u, this),
      onDraw: (u) => {
        drawNonFiniteMarkers(u, this.shown, (id) => model.runs.get(id)?.color);
        // From the hook's plot: the first draw can come before the constructor returns.
        this.drawnRange = { min: u.scales.x.min, max: u.scales.x.max };
        this.ctx.onDidDraw.fire(this);
      },
    });
  }
}
