// Parallel coordinates of params against a chosen metric (like TensorBoard's HParams view): one
// vertical axis per column, one line per run, in its colour. Drawn on a canvas (10,000 lines stay
// smooth); dragging along an axis brushes it (the table keeps only runs inside every brush), a click
// on an axis clears its brush. Log scale where a positive axis spans two decades or more.
import type { Brush } from '../protocol/runsTable';
import { type TableRun, fieldValue } from './fields';
import { type PcAxis, axisPosition, brushFor, buildAxes } from './parcoordsAxes';
import { passesBrush } from './rowsModel';

const PAD = { top: 22, bottom: 22, left: 50, right: 60 };
const GRAB_PX = 14;

export class ParallelCoords {
  readonly canvas: HTMLCanvasElement;
  private axes: PcAxis[] = [];
  private runs: readonly TableRun[] = [];
  private brushes: Record<string, Brush> = {};
  private drag: { axis: PcAxis; y0: number; y1: number } | undefined;

  constructor(
    parent: HTMLElement,
    private readonly onBrush: (id: string, brush: Brush | undefined) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'pc-canvas';
    parent.append(this.canvas);
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.canvas.addEventListener('mousedown', (e) => this.down(e));
    window.addEventListener('mousemove', (e) => this.move(e));
    window.addEventListener('mouseup', () => this.up());
  }

  set(runs: readonly TableRun[], axisIds: readonly string[], brushes: Record<string, Brush>): void {
    this.runs = runs;
    this.axes = buildAxes(runs, axisIds);
    this.brushes = brushes;
    this.draw();
  }

  private axisX(i: number, w: number): number {
    const n = this.axes.length;
    return n <= 1 ? w / 2 : PAD.left + (i * (w - PAD.left - PAD.right)) / (n - 1);
  }

  private yOf(t: number, h: number): number {
    return PAD.top + (1 - t) * (h - PAD.top - PAD.bottom);
  }

  private tOf(y: number, h: number): number {
    return 1 - (y - PAD.top) / (h - PAD.top - PAD.bottom);
  }

  private local(e: MouseEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private down(e: MouseEvent): void {
    const { x, y } = this.local(e);
    const w = this.canvas.clientWidth;
    const i = this.axes.findIndex((_, k) => Math.abs(this.axisX(k, w) - x) <= GRAB_PX);
    if (i < 0) return;
    e.preventDefault();
    this.drag = { axis: this.axes[i], y0: y, y1: y };
  }

  private move(e: MouseEvent): void {
    if (!this.drag) return;
    this.drag.y1 = this.local(e).y;
    this.draw();
  }

  private up(): void {
    const d = this.drag;
    if (!d) return;
    this.drag = undefined;
    const h = this.canvas.clientHeight;
    if (Math.abs(d.y1 - d.y0) < 3) this.onBrush(d.axis.id, undefined);
    else this.onBrush(d.axis.id, brushFor(d.axis, this.tOf(d.y0, h), this.tOf(d.y1, h)));
  }

  draw(): void {
    const c = this.canvas;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (w === 0 || h === 0) return;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const fg = getComputedStyle(document.body).color || '#ccc';
    const brushed = (r: TableRun) =>
      this.axes.every((a) => !this.brushes[a.id] || passesBrush(fieldValue(r, a.field), this.brushes[a.id]));
    let highlighted = 0;
    // Runs outside a brush first, faint; the kept ones on top in their colours.
    for (const pass of [false, true]) {
      g.globalAlpha = pass ? (this.runs.length > 500 ? 0.35 : 0.85) : 0.12;
      g.lineWidth = 1.2;
      for (const r of this.runs) {
        if (brushed(r) !== pass) continue;
        if (pass) highlighted++;
        g.strokeStyle = pass ? r.color : fg;
        g.beginPath();
        let started = false;
        this.axes.forEach((a, i) => {
          const t = axisPosition(a, fieldValue(r, a.field));
          if (t === undefined) {
            started = false;
            return;
          }
          const x = this.axisX(i, w);
          const y = this.yOf(t, h);
          if (started) g.lineTo(x, y);
          else g.moveTo(x, y);
          started = true;
        });
        g.stroke();
      }
    }
    g.globalAlpha = 1;
    g.fillStyle = fg;
    g.strokeStyle = fg;
    g.font = '11px sans-serif';
    g.textAlign = 'center';
    const probe: object[] = [];
    this.axes.forEach((a, i) => {
      const x = this.axisX(i, w);
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(x, PAD.top);
      g.lineTo(x, h - PAD.bottom);
      g.stroke();
      g.fillText(a.label, x, 12);
      const [lo, hi] = a.kind === 'cat' ? [a.cats[0] ?? '', a.cats[a.cats.length - 1] ?? ''] : [num(a.min), num(a.max)];
      g.fillText(hi, x, PAD.top - 1 + 0);
      g.fillText(lo, x, h - 6);
      if (a.kind === 'cat' && a.cats.length > 2) {
        g.textAlign = 'left';
        a.cats.slice(1, -1).forEach((cat) => g.fillText(cat, x + 4, this.yOf(axisPosition(a, cat) ?? 0, h)));
        g.textAlign = 'center';
      }
      const b = this.brushes[a.id];
      const span =
        this.drag?.axis.id === a.id ? [this.drag.y0, this.drag.y1] : b ? this.brushPixels(a, b, h) : undefined;
      if (span) {
        g.globalAlpha = 0.3;
        g.fillRect(x - 6, Math.min(span[0], span[1]), 12, Math.abs(span[1] - span[0]));
        g.globalAlpha = 1;
      }
      probe.push({
        id: a.id,
        x,
        top: PAD.top,
        bottom: h - PAD.bottom,
        kind: a.kind,
        min: a.min,
        max: a.max,
        cats: a.cats,
      });
    });
    c.dataset.axes = JSON.stringify(probe);
    c.dataset.lines = String(this.runs.length);
    c.dataset.highlighted = String(highlighted);
  }

  private brushPixels(a: PcAxis, b: Brush, h: number): [number, number] | undefined {
    if ('values' in b) {
      const ts = b.values.map((v) => axisPosition(a, v)).filter((t): t is number => t !== undefined);
      if (ts.length === 0) return undefined;
      return [this.yOf(Math.max(...ts), h) - 4, this.yOf(Math.min(...ts), h) + 4];
    }
    const t0 = axisPosition(a, Math.max(b.min, a.min));
    const t1 = axisPosition(a, Math.min(b.max, a.max));
    if (t0 === undefined || t1 === undefined) return undefined;
    return [this.yOf(t1, h), this.yOf(t0, h)];
  }
}

function num(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-2) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}
