// The group chart: for each group of the table, its mean (or median) line and its min–max (or
// ±std) band for one metric over steps, as the host computed them (src/store/series/bands.ts).
// SVG: a few hundred points per group. The probe attribute lists what was drawn.
import { PALETTE } from '../protocol/palette';
import type { WireBand } from '../protocol/runsTable';

const NS = 'http://www.w3.org/2000/svg';
const PAD = { top: 10, right: 12, bottom: 22, left: 56 };

export function groupColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

export class BandChart {
  readonly svg: SVGSVGElement;
  readonly legend: HTMLDivElement;
  private bands: WireBand[] = [];

  constructor(parent: HTMLElement) {
    this.svg = document.createElementNS(NS, 'svg');
    this.svg.setAttribute('class', 'band-chart');
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    parent.append(this.svg, this.legend);
    new ResizeObserver(() => this.draw()).observe(this.svg);
  }

  set(bands: WireBand[], metric: string, hostMs: number): void {
    this.bands = bands;
    this.svg.dataset.metric = metric;
    this.svg.dataset.hostMs = String(Math.round(hostMs));
    this.draw();
    this.legend.replaceChildren(
      ...bands.map((b, i) => {
        const e = document.createElement('span');
        const sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = groupColor(i);
        e.append(sw, `${b.label} (${b.runs} run${b.runs === 1 ? '' : 's'})`);
        return e;
      }),
    );
  }

  draw(): void {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const b of this.bands) {
      b.x.forEach((x, i) => {
        if (b.lo[i] === null || b.hi[i] === null) return;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, b.lo[i]!);
        y1 = Math.max(y1, b.hi[i]!);
      });
    }
    const kids: SVGElement[] = [];
    const probe: object[] = [];
    if (x0 <= x1 && y0 <= y1) {
      // Its size only when there is something to draw: reading it forces a layout of the page,
      // which every sort and filter of the table (no groups, nothing drawn) paid for nothing.
      const w = this.svg.clientWidth || 600;
      const h = this.svg.clientHeight || 220;
      if (x1 === x0) x1 = x0 + 1;
      if (y1 === y0) y1 = y0 + 1;
      const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (w - PAD.left - PAD.right);
      const sy = (y: number) => PAD.top + (1 - (y - y0) / (y1 - y0)) * (h - PAD.top - PAD.bottom);
      kids.push(
        line(PAD.left, h - PAD.bottom, w - PAD.right, h - PAD.bottom),
        line(PAD.left, PAD.top, PAD.left, h - PAD.bottom),
      );
      kids.push(label(fmt(y1), PAD.left - 4, PAD.top + 8, 'end'), label(fmt(y0), PAD.left - 4, h - PAD.bottom, 'end'));
      kids.push(label(fmt(x0), PAD.left, h - 6, 'start'), label(`step ${fmt(x1)}`, w - PAD.right, h - 6, 'end'));
      this.bands.forEach((b, gi) => {
        const color = groupColor(gi);
        let polygons = 0;
        for (const seg of segments(b)) {
          const top = seg.map((i) => `${sx(b.x[i])},${sy(b.hi[i]!)}`);
          const bottom = seg.map((i) => `${sx(b.x[i])},${sy(b.lo[i]!)}`).reverse();
          const band = document.createElementNS(NS, 'polygon');
          band.setAttribute('points', [...top, ...bottom].join(' '));
          band.setAttribute('fill', color);
          band.setAttribute('fill-opacity', '0.2');
          band.setAttribute('class', 'band');
          band.dataset.group = b.key;
          kids.push(band);
          polygons++;
          const center = document.createElementNS(NS, 'polyline');
          center.setAttribute(
            'points',
            seg
              .filter((i) => b.center[i] !== null)
              .map((i) => `${sx(b.x[i])},${sy(b.center[i]!)}`)
              .join(' '),
          );
          center.setAttribute('fill', 'none');
          center.setAttribute('stroke', color);
          center.setAttribute('stroke-width', '1.5');
          center.setAttribute('class', 'center');
          kids.push(center);
        }
        probe.push({
          key: b.key,
          label: b.label,
          runs: b.runs,
          polygons,
          x: b.x,
          lo: b.lo,
          hi: b.hi,
          center: b.center,
        });
      });
    }
    this.svg.replaceChildren(...kids);
    this.svg.dataset.bands = JSON.stringify(probe);
    this.svg.dataset.drawnAt = String(Date.now());
  }
}

/** Runs of consecutive cells with a band (a null cell breaks the polygon). */
function segments(b: WireBand): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < b.x.length; i++) {
    if (b.lo[i] === null || b.hi[i] === null) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push(i);
  }
  if (cur.length) out.push(cur);
  return out;
}

function line(x1: number, y1: number, x2: number, y2: number): SVGElement {
  const l = document.createElementNS(NS, 'line');
  l.setAttribute('x1', String(x1));
  l.setAttribute('y1', String(y1));
  l.setAttribute('x2', String(x2));
  l.setAttribute('y2', String(y2));
  l.setAttribute('class', 'axis');
  return l;
}

function label(text: string, x: number, y: number, anchor: string): SVGElement {
  const t = document.createElementNS(NS, 'text');
  t.textContent = text;
  t.setAttribute('x', String(x));
  t.setAttribute('y', String(y));
  t.setAttribute('text-anchor', anchor);
  return t;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}
