// The dashboard webview: one uPlot chart per metric key, grouped by prefix, every
// shown run overlaid in its own color. All data comes from the extension host as
// min/max-decimated typed arrays; this page never talks to the collector.
//
// For tests and benchmarks each chart container carries `data-key`, `data-points`
// (JSON: run id → points drawn), `data-last-step` (JSON: run id → latest step),
// `data-nonfinite` (JSON: run id → markers drawn), `data-x-range` ("min,max" of the
// x scale), `data-zoomed` and `data-drawn-at` (ms epoch of the last draw); the body carries `data-first-draw-ms` (from
// the script's start) and `data-first-draw-at` (ms epoch); `window.runwatchDraws` keeps the recent draws for the latency benchmark.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import {
  type DashboardState,
  type HostMessage,
  type RunInfo,
  type SeriesData,
  type XMode,
  NonFiniteKind,
  decodeNumber,
  defaultDashboardState,
  groupOf,
  isDashboardState,
  isHostMessage,
} from './contract';
import { alignRuns, ema, formatTick, formatValue, maskNonPositive } from './chartData';
import { vscodeApi } from './vscodeApi';

const vscode = vscodeApi<DashboardState>();
const MAX_POINTS = 2000;
const CHART_HEIGHT = 220;

interface DrawRecord {
  key: string;
  drawnAt: number;
  /** When the host posted the data drawn (host clock; same machine in the benchmark). */
  sentAt?: number;
  lastStep: Record<string, number>;
}
declare global {
  interface Window {
    runwatchDraws: DrawRecord[];
  }
}
window.runwatchDraws = [];

const saved = vscode.getState();
let state: DashboardState = isDashboardState(saved) ? saved : { ...defaultDashboardState };
let runs = new Map<string, RunInfo>();
let allRuns: RunInfo[] = [];
/** key → run id → series */
const data = new Map<string, Map<string, SeriesData>>();
const charts = new Map<string, Chart>();
let nextRequestId = 1;
const readyPostedAt = performance.now();
let firstDrawDone = false;
let lastSentAt: number | undefined;

const root = document.getElementById('root') as HTMLElement;
const toolbar = el('div', 'toolbar');
const runsBox = el('details', 'runs-picker');
const groupsBox = el('div', 'groups');
const emptyBox = el('div', 'empty');
root.append(toolbar, runsBox, emptyBox, groupsBox);
buildToolbar();

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = e.data;
  if (!isHostMessage(msg)) return;
  onHostMessage(msg);
});
// One observer for every plot box: grid cells change width when charts come and go.
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) charts.get((e.target.parentElement as HTMLElement).dataset.key ?? '')?.resize();
});
document.body.dataset.readyAt = String(Date.now());
vscode.postMessage({ type: 'ready' });

function onHostMessage(msg: HostMessage): void {
  switch (msg.type) {
    case 'init':
      state = msg.state;
      vscode.setState(state);
      setRuns(msg.runs, msg.allRuns);
      syncToolbar();
      break;
    case 'runs':
      state = { ...state, runIds: msg.runIds };
      vscode.setState(state);
      setRuns(msg.runs, msg.allRuns);
      break;
    case 'series':
      for (const s of msg.series) {
        if (s.xMode !== state.xMode) continue; // an answer from before the x mode changed
        let byRun = data.get(s.key);
        if (!byRun) data.set(s.key, (byRun = new Map()));
        byRun.set(s.runId, s);
      }
      lastSentAt = msg.sentAt;
      render(new Set(msg.series.map((s) => s.key)));
      if (!firstDrawDone && msg.series.length > 0) {
        document.body.dataset.firstSeriesMs = String(performance.now() - readyPostedAt);
      }
      break;
    case 'compare':
      break;
  }
}

/** What the charts draw of the shown runs; a status or last-step change alone needs no redraw. */
let chartedRuns = '';

function setRuns(list: RunInfo[], all: RunInfo[]): void {
  runs = new Map(list.map((r) => [r.runId, r]));
  allRuns = all;
  // Forget series of runs no longer shown.
  for (const byRun of data.values()) for (const id of [...byRun.keys()]) if (!runs.has(id)) byRun.delete(id);
  renderRunsPicker();
  const charted = JSON.stringify(list.map((r) => [r.runId, r.name, r.color]));
  if (charted !== chartedRuns) {
    chartedRuns = charted;
    render(new Set(charts.keys()));
  }
}

function changeState(patch: Partial<DashboardState>): void {
  const xChanged = patch.xMode !== undefined && patch.xMode !== state.xMode;
  state = { ...state, ...patch };
  vscode.setState(state);
  if (xChanged) {
    data.clear();
    for (const c of charts.values()) c.zoom = undefined;
  }
  vscode.postMessage({ type: 'state', state });
  render(new Set(charts.keys()));
}

// ---------------------------------------------------------------------------
// Toolbar and run picker

function buildToolbar(): void {
  const x = document.createElement('select');
  x.id = 'x-mode';
  for (const [value, label] of [
    ['step', 'Step'],
    ['time', 'Wall time'],
    ['relative', 'Relative time'],
  ] as const) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    x.append(o);
  }
  x.addEventListener('change', () => changeState({ xMode: x.value as XMode }));

  const smooth = document.createElement('input');
  smooth.type = 'range';
  smooth.id = 'smoothing';
  smooth.min = '0';
  smooth.max = '0.99';
  smooth.step = '0.01';
  const smoothLabel = el('span', 'smooth-value');
  smooth.addEventListener('input', () => {
    smoothLabel.textContent = Number(smooth.value).toFixed(2);
    changeState({ smoothing: Number(smooth.value) });
  });

  const log = checkbox('log-scale', 'Log scale', (v) => changeState({ logScale: v }));
  const follow = checkbox('follow', 'Add new runs', (v) => changeState({ follow: v }));

  toolbar.append(label('X axis', x), label('Smoothing', smooth, smoothLabel), log, follow);
  const hint = el('span', 'hint');
  hint.textContent = 'Drag to zoom · Shift+drag or wheel to pan/zoom · double-click to reset';
  toolbar.append(hint);
}

function syncToolbar(): void {
  (document.getElementById('x-mode') as HTMLSelectElement).value = state.xMode;
  const s = document.getElementById('smoothing') as HTMLInputElement;
  s.value = String(state.smoothing);
  (toolbar.querySelector('.smooth-value') as HTMLElement).textContent = state.smoothing.toFixed(2);
  (document.getElementById('log-scale') as HTMLInputElement).checked = state.logScale;
  (document.getElementById('follow') as HTMLInputElement).checked = state.follow;
}

function renderRunsPicker(): void {
  const open = (runsBox as HTMLDetailsElement).open;
  runsBox.replaceChildren();
  const summary = document.createElement('summary');
  summary.textContent = `Runs: ${runs.size} shown of ${allRuns.length}`;
  runsBox.append(summary);
  (runsBox as HTMLDetailsElement).open = open;
  const list = el('div', 'runs-list');
  for (const r of allRuns) {
    const row = checkbox(`run-${r.runId}`, '', (v) => {
      const ids = state.runIds.filter((id) => id !== r.runId);
      if (v) ids.push(r.runId);
      changeState({ runIds: ids });
    });
    (row.querySelector('input') as HTMLInputElement).checked = runs.has(r.runId);
    row.querySelector('span')?.append(swatch(r.color), text(`${r.project} / ${r.name}`), text(` ${r.status}`, 'status'));
    list.append(row);
  }
  runsBox.append(list);
  emptyBox.textContent =
    allRuns.length === 0
      ? 'No runs yet. Start a training script that uses the runwatch Python client (see "Runwatch: Copy Connection Snippet"); it appears here live.'
      : runs.size === 0
        ? 'No run selected: pick runs above.'
        : '';
}

// ---------------------------------------------------------------------------
// Charts

function render(keys: Set<string>): void {
  const shownKeys = [...data.entries()].filter(([, byRun]) => byRun.size > 0).map(([k]) => k);
  // Drop charts whose key no longer has data.
  for (const [key, c] of charts) {
    if (!shownKeys.includes(key)) {
      c.destroy();
      charts.delete(key);
    }
  }
  shownKeys.sort();
  for (const key of shownKeys) {
    let c = charts.get(key);
    if (!c) {
      c = new Chart(key, groupContainer(groupOf(key)));
      charts.set(key, c);
      keys.add(key);
    }
    if (keys.has(key)) c.update([...(data.get(key) as Map<string, SeriesData>).values()]);
  }
  for (const g of Array.from(groupsBox.children)) {
    if (!g.querySelector('.chart')) g.remove();
  }
}

function groupContainer(group: string): HTMLElement {
  const id = `group-${group || '_'}`;
  let g = document.getElementById(id);
  if (!g) {
    g = el('section', 'group');
    g.id = id;
    const h = el('h2', '');
    h.textContent = group || 'metrics';
    g.append(h, el('div', 'charts'));
    // Groups in name order, ungrouped keys last.
    const after = Array.from(groupsBox.children).find((c) => (c.id > id && id !== 'group-_') || c.id === 'group-_');
    groupsBox.insertBefore(g, after ?? null);
  }
  return g.querySelector('.charts') as HTMLElement;
}

class Chart {
  readonly box: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly legend: HTMLElement;
  private plot: uPlot | undefined;
  private plotShape = '';
  private series: SeriesData[] = [];
  zoom: { min: number; max: number } | undefined;
  private pendingQuery: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly key: string,
    parent: HTMLElement,
  ) {
    this.box = el('div', 'chart');
    this.box.dataset.key = key;
    const title = el('div', 'chart-title');
    title.textContent = key;
    this.plotBox = el('div', 'plot');
    this.legend = el('div', 'legend');
    this.box.append(title, this.plotBox, this.legend);
    resizer.observe(this.plotBox);
    const before = Array.from(parent.children).find((c) => (c as HTMLElement).dataset.key! > key);
    parent.insertBefore(this.box, before ?? null);
  }

  update(series: SeriesData[]): void {
    this.series = series.filter((s) => runs.has(s.runId));
    const lines = this.series.map((s) => ({ x: s.x, y: s.y }));
    const { x, ys } = alignRuns(lines);
    const cols: (number | null)[][] = [];
    const smoothing = state.smoothing;
    for (const y of ys) {
      const raw = state.logScale ? maskNonPositive(y) : y;
      cols.push(raw);
      if (smoothing > 0) cols.push(ema(raw, smoothing));
    }
    const shape = `${this.series.map((s) => s.runId).join(',')}|${smoothing > 0}|${state.logScale}|${state.xMode}`;
    const aligned = [x, ...cols] as uPlot.AlignedData;
    if (!this.plot || shape !== this.plotShape) {
      this.plot?.destroy();
      this.plot = new uPlot(this.options(), aligned, this.plotBox);
      this.plotShape = shape;
      this.bindPanZoom(this.plot);
    } else {
      this.plot.batch(() => {
        this.plot!.setData(aligned, true);
        if (this.zoom) this.plot!.setScale('x', this.zoom);
      });
    }
    if (this.zoom) this.plot.setScale('x', this.zoom);
    this.renderLegend();
    const points: Record<string, number> = {};
    const lastStep: Record<string, number> = {};
    const nonFinite: Record<string, number> = {};
    for (const s of this.series) {
      points[s.runId] = s.x.length;
      nonFinite[s.runId] = s.nonFiniteX.length;
      if (s.latest) lastStep[s.runId] = s.latest.step;
    }
    this.box.dataset.points = JSON.stringify(points);
    this.box.dataset.lastStep = JSON.stringify(lastStep);
    this.box.dataset.nonfinite = JSON.stringify(nonFinite);
    this.box.dataset.total = JSON.stringify(Object.fromEntries(this.series.map((s) => [s.runId, s.total])));
  }

  resize(): void {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 1) this.plot.setSize({ width: this.width(), height: CHART_HEIGHT });
  }

  destroy(): void {
    resizer.unobserve(this.plotBox);
    this.plot?.destroy();
    this.box.remove();
  }

  private width(): number {
    return Math.max(200, this.plotBox.clientWidth || 400);
  }

  private options(): uPlot.Options {
    const fg = cssVar('--vscode-foreground', '#ccc');
    const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
    const smoothing = state.smoothing > 0;
    const seriesOpts: uPlot.Series[] = [{}];
    for (const s of this.series) {
      const r = runs.get(s.runId);
      const color = r?.color ?? '#888';
      const name = r?.name ?? s.runId;
      seriesOpts.push({ label: name, stroke: color, width: 1, alpha: smoothing ? 0.25 : 1, spanGaps: true, points: { show: false } });
      if (smoothing) seriesOpts.push({ label: `${name} (smoothed)`, stroke: color, width: 1.5, spanGaps: true, points: { show: false } });
    }
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width: this.width(),
      height: CHART_HEIGHT,
      series: seriesOpts,
      legend: { show: false },
      scales: {
        x: { time: state.xMode === 'time' },
        y: state.logScale ? { distr: 3, log: 10 } : {},
      },
      axes: [
        state.xMode === 'relative'
          ? { ...axis, values: (_u, vals) => vals.map(formatDuration) }
          : // Wall-time ticks take two lines (time, then date).
            { ...axis, size: state.xMode === 'time' ? 64 : 50 },
        // As wide as the widest label needs (uPlot lays out again when this changes).
        { ...axis, size: (_u, labels) => yAxisWidth(labels), values: (_u, vals) => vals.map(formatTick) },
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        // Double-click is ours (reset to the full range, live), not uPlot's autoscale.
        bind: { dblclick: () => () => null },
      },
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        draw: [(u) => this.onDraw(u)],
      },
    };
  }

  /** Drag-select zooms the x axis and asks the host for that range at full resolution. */
  private onSelect(u: uPlot): void {
    if (u.select.width < 2) return;
    const min = u.posToVal(u.select.left, 'x');
    const max = u.posToVal(u.select.left + u.select.width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.setZoom({ min, max });
  }

  private setZoom(zoom: { min: number; max: number } | undefined): void {
    this.zoom = zoom;
    if (zoom) this.plot?.setScale('x', zoom);
    else this.update(this.series);
    // Debounced: wheel and pan produce many steps, the host needs only the last.
    clearTimeout(this.pendingQuery);
    this.pendingQuery = setTimeout(() => {
      vscode.postMessage({
        type: 'query',
        requestId: nextRequestId++,
        key: this.key,
        xMode: state.xMode,
        from: this.zoom?.min,
        to: this.zoom?.max,
        maxPoints: MAX_POINTS,
      });
    }, 150);
  }

  private bindPanZoom(u: uPlot): void {
    const over = u.over;
    over.addEventListener('dblclick', () => this.setZoom(undefined));
    over.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const { min, max } = u.scales.x;
        if (min === undefined || max === undefined) return;
        const at = u.posToVal(e.offsetX, 'x');
        const f = e.deltaY > 0 ? 1.25 : 0.8;
        this.setZoom({ min: at - (at - min) * f, max: at + (max - at) * f });
      },
      { passive: false },
    );
    // Shift+drag pans; caught in the capture phase so uPlot's drag-select never starts.
    u.root.addEventListener(
      'mousedown',
      (e) => {
        if (!e.shiftKey || e.button !== 0) return;
        e.stopPropagation();
        e.preventDefault();
        const { min, max } = u.scales.x;
        if (min === undefined || max === undefined) return;
        const startX = e.clientX;
        const perPx = (max - min) / Math.max(1, u.bbox.width / devicePixelRatio);
        const move = (m: MouseEvent) => {
          const d = (m.clientX - startX) * perPx;
          this.zoom = { min: min - d, max: max - d };
          u.setScale('x', this.zoom);
        };
        const up = () => {
          window.removeEventListener('mousemove', move);
          window.removeEventListener('mouseup', up);
          if (this.zoom) this.setZoom(this.zoom);
        };
        window.addEventListener('mousemove', move);
        window.addEventListener('mouseup', up);
      },
      true,
    );
  }

  /** Draws NaN and ±Inf as markers over the plot: ▲ at the top for +Inf, ▼ at the bottom for -Inf, ● for NaN. */
  private onDraw(u: uPlot): void {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const r = 4 * devicePixelRatio;
    ctx.save();
    for (const s of this.series) {
      if (s.nonFiniteX.length === 0) continue;
      ctx.fillStyle = runs.get(s.runId)?.color ?? '#f44';
      ctx.strokeStyle = '#e51400';
      ctx.lineWidth = devicePixelRatio;
      for (let i = 0; i < s.nonFiniteX.length; i++) {
        const px = u.valToPos(s.nonFiniteX[i], 'x', true);
        if (px < left - 1 || px > left + width + 1) continue;
        const kind = s.nonFiniteKind[i];
        ctx.beginPath();
        if (kind === NonFiniteKind.PosInf) {
          ctx.moveTo(px, top);
          ctx.lineTo(px - r, top + 2 * r);
          ctx.lineTo(px + r, top + 2 * r);
        } else if (kind === NonFiniteKind.NegInf) {
          ctx.moveTo(px, top + height);
          ctx.lineTo(px - r, top + height - 2 * r);
          ctx.lineTo(px + r, top + height - 2 * r);
        } else {
          ctx.arc(px, top + height / 2, r, 0, 2 * Math.PI);
        }
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
    const drawnAt = Date.now();
    this.box.dataset.drawnAt = String(drawnAt);
    this.box.dataset.xRange = `${u.scales.x.min},${u.scales.x.max}`;
    this.box.dataset.zoomed = String(this.zoom !== undefined);
    const lastStep: Record<string, number> = {};
    for (const s of this.series) if (s.latest) lastStep[s.runId] = s.latest.step;
    const draws = window.runwatchDraws;
    draws.push({ key: this.key, drawnAt, lastStep, sentAt: lastSentAt });
    if (draws.length > 20000) draws.splice(0, draws.length - 10000);
    if (!firstDrawDone && this.series.length > 0) {
      firstDrawDone = true;
      document.body.dataset.firstDrawMs = String(performance.now() - readyPostedAt);
      document.body.dataset.firstDrawAt = String(drawnAt);
    }
  }

  private renderLegend(): void {
    this.legend.replaceChildren();
    for (const s of this.series) {
      const r = runs.get(s.runId);
      const item = el('span', 'legend-item');
      item.append(swatch(r?.color ?? '#888'), text(r?.name ?? s.runId, 'legend-name'));
      const value = text(s.latest ? formatValue(decodeNumber(s.latest.value)) : '–', 'legend-value');
      value.title = s.latest ? `step ${s.latest.step}` : '';
      item.append(value);
      if (s.nonFiniteX.length > 0) item.append(text(` ${s.nonFiniteX.length} non-finite`, 'legend-warn'));
      if (s.decimated) item.append(text(` (${s.total.toLocaleString()} pts)`, 'legend-count'));
      this.legend.append(item);
    }
  }
}

// ---------------------------------------------------------------------------
// Small DOM helpers

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  return e;
}

function text(s: string, cls = ''): HTMLSpanElement {
  const e = el('span', cls);
  e.textContent = s;
  return e;
}

function swatch(color: string): HTMLSpanElement {
  const e = el('span', 'swatch');
  e.style.background = color;
  return e;
}

function label(name: string, ...children: HTMLElement[]): HTMLLabelElement {
  const l = el('label', 'tool');
  l.append(text(name + ' '), ...children);
  return l;
}

function checkbox(id: string, name: string, onChange: (v: boolean) => void): HTMLLabelElement {
  const l = el('label', 'tool');
  const c = document.createElement('input');
  c.type = 'checkbox';
  c.id = id;
  c.addEventListener('change', () => onChange(c.checked));
  l.append(c, text(name));
  return l;
}

const measureCtx = document.createElement('canvas').getContext('2d');

/** Room for the y tick labels: their widest, in the axis font, plus the tick and a gap. */
function yAxisWidth(labels: string[] | null): number {
  if (!labels || !measureCtx) return 60;
  measureCtx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
  let w = 0;
  for (const l of labels) if (l) w = Math.max(w, measureCtx.measureText(l).width);
  return Math.max(40, Math.ceil(w) + 18);
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function formatDuration(s: number): string {
  const sign = s < 0 ? '-' : '';
  s = Math.abs(s);
  if (s < 60) return `${sign}${Math.round(s * 10) / 10}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${sign}${m}m${Math.round(s % 60)}s`;
  return `${sign}${Math.floor(m / 60)}h${m % 60}m`;
}
