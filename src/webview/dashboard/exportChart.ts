// A chart as a file, made in the page: a PNG of what is drawn (title, plot, legend), an SVG of
// the same lines as vectors, and the points as drawn (CSV or JSON; the host writes the full
// resolution from the store). The host saves what this returns.
import type uPlot from 'uplot';
import { decodeWireNumber } from '../../common/wireNumber';
import { formatTick, formatValue } from '../protocol/format';
import type { RunInfo, SeriesData, XMode } from '../protocol/dashboard';
import { cssVar } from './dom';
import { integerTicks } from './ticks';

export interface ChartPicture {
  key: string;
  plot: uPlot;
  series: readonly SeriesData[];
  runs: ReadonlyMap<string, RunInfo>;
  xMode: XMode;
}

const TITLE_H = 24;
const LEGEND_ROW_H = 18;

/** The chart as a PNG data URL: the title, uPlot's canvas as drawn, one legend row per run. */
export function chartPng(p: ChartPicture): string {
  const src = p.plot.ctx.canvas;
  const dpr = src.width / Math.max(1, p.plot.width);
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height + Math.round((TITLE_H + LEGEND_ROW_H * p.series.length + 8) * dpr);
  const ctx = out.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = cssVar('--vscode-foreground', '#cccccc');
  ctx.font = `600 ${13 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  ctx.fillText(p.key, 8 * dpr, (TITLE_H / 2) * dpr);
  ctx.drawImage(src, 0, TITLE_H * dpr);
  ctx.font = `${12 * dpr}px system-ui, sans-serif`;
  p.series.forEach((s, i) => {
    const y = (TITLE_H + i * LEGEND_ROW_H + LEGEND_ROW_H / 2) * dpr + src.height;
    ctx.fillStyle = p.runs.get(s.runId)?.color ?? '#888';
    ctx.fillRect(8 * dpr, y - 5 * dpr, 10 * dpr, 10 * dpr);
    ctx.fillStyle = cssVar('--vscode-foreground', '#cccccc');
    ctx.fillText(legendText(s, p.runs), 24 * dpr, y);
  });
  return out.toDataURL('image/png');
}

/** The chart as SVG: axes with their ticks, one polyline per run over the x range drawn, a legend. */
export function chartSvg(p: ChartPicture): string {
  const u = p.plot;
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const bg = cssVar('--vscode-editor-background', '#1e1e1e');
  const ml = 60;
  const mr = 12;
  const pw = Math.max(100, u.width - ml - mr);
  const ph = Math.max(60, u.height - 40);
  const top = TITLE_H;
  const W = ml + pw + mr;
  const H = top + ph + 30 + LEGEND_ROW_H * p.series.length + 8;
  const x0 = u.scales.x.min ?? 0;
  const x1 = u.scales.x.max ?? 1;
  const y0 = u.scales.y.min ?? 0;
  const y1 = u.scales.y.max ?? 1;
  const log = u.scales.y.distr === 3;
  const ty = (v: number) => (log ? Math.log10(Math.max(v, Number.MIN_VALUE)) : v);
  const px = (x: number) => ml + ((x - x0) / (x1 - x0 || 1)) * pw;
  const py = (y: number) => top + ph - ((ty(y) - ty(y0)) / (ty(y1) - ty(y0) || 1)) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="${esc(bg)}"/>`,
    `<text x="8" y="16" font-size="13" font-weight="600" fill="${esc(fg)}">${esc(p.key)}</text>`,
    `<rect x="${ml}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="${esc(fg)}" stroke-opacity="0.3"/>`,
  ];
  const xt = p.xMode === 'step' ? integerTicks(x0, x1, 6) : evenTicks(x0, x1, 5);
  for (const t of xt) {
    const x = px(t).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${top}" y2="${top + ph}" stroke="${esc(fg)}" stroke-opacity="0.12"/>`,
      `<text x="${x}" y="${top + ph + 14}" text-anchor="middle" fill="${esc(fg)}">${esc(xLabel(t, p.xMode))}</text>`,
    );
  }
  for (const t of evenTicks(y0, y1, 5)) {
    const y = py(t).toFixed(1);
    parts.push(
      `<line x1="${ml}" x2="${ml + pw}" y1="${y}" y2="${y}" stroke="${esc(fg)}" stroke-opacity="0.12"/>`,
      `<text x="${ml - 4}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${esc(fg)}">` +
        `${esc(formatTick(t))}</text>`,
    );
  }
  for (const s of p.series) {
    const pts: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      if (s.x[i] < x0 || s.x[i] > x1 || (log && s.y[i] <= 0)) continue;
      pts.push(`${px(s.x[i]).toFixed(2)},${py(s.y[i]).toFixed(2)}`);
    }
    const color = esc(p.runs.get(s.runId)?.color ?? '#888');
    parts.push(
      `<polyline data-run-id="${esc(s.runId)}" fill="none" stroke="${color}" stroke-width="1.5" ` +
        `clip-path="url(#plot)" points="${pts.join(' ')}"/>`,
    );
  }
  parts.splice(
    1,
    0,
    `<defs><clipPath id="plot"><rect x="${ml}" y="${top}" width="${pw}" height="${ph}"/></clipPath></defs>`,
  );
  p.series.forEach((s, i) => {
    const y = top + ph + 30 + i * LEGEND_ROW_H;
    const color = esc(p.runs.get(s.runId)?.color ?? '#888');
    parts.push(
      `<rect x="8" y="${y}" width="10" height="10" fill="${color}"/>`,
      `<text x="24" y="${y + 9}" fill="${esc(fg)}">${esc(legendText(s, p.runs))}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * The points as drawn (decimated, within the x range shown), in the store export's CSV columns
 * (`run_id,key,step,time,value`; the column the x axis is not stays empty) or as JSON.
 */
export function drawnData(p: ChartPicture, kind: 'csv' | 'json'): string {
  const x0 = p.plot.scales.x.min ?? -Infinity;
  const x1 = p.plot.scales.x.max ?? Infinity;
  const inView = (s: SeriesData) => {
    const idx: number[] = [];
    for (let i = 0; i < s.x.length; i++) if (s.x[i] >= x0 && s.x[i] <= x1) idx.push(i);
    return idx;
  };
  if (kind === 'json') {
    return JSON.stringify(
      {
        key: p.key,
        xMode: p.xMode,
        resolution: 'drawn',
        runs: p.series.map((s) => {
          const idx = inView(s);
          return {
            runId: s.runId,
            name: p.runs.get(s.runId)?.name ?? s.runId,
            x: idx.map((i) => s.x[i]),
            y: idx.map((i) => s.y[i]),
          };
        }),
      },
      null,
      1,
    );
  }
  const lines = ['run_id,key,step,time,value'];
  for (const s of p.series) {
    for (const i of inView(s)) {
      const x = String(s.x[i]);
      const cols = p.xMode === 'step' ? [x, ''] : p.xMode === 'time' ? ['', x] : ['', x];
      lines.push([csv(s.runId), csv(p.key), ...cols, String(s.y[i])].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

function legendText(s: SeriesData, runs: ReadonlyMap<string, RunInfo>): string {
  const name = runs.get(s.runId)?.name ?? s.runId;
  const last = s.latest ? ` ${formatValue(decodeWireNumber(s.latest.value))}` : '';
  return `${name}${last}`;
}

function xLabel(v: number, xMode: XMode): string {
  if (xMode === 'step') return String(v);
  if (xMode === 'time') return new Date(v * 1000).toLocaleTimeString();
  return `${formatTick(v)}s`;
}

function evenTicks(a: number, b: number, n: number): number[] {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return [];
  return Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
