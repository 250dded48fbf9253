// NaN and ±Inf have no place on a y axis: they are drawn as markers over the plot at
// their x, ▲ at the top for +Inf, ▼ at the bottom for -Inf, ● mid-height for NaN, each
// labelled ("NaN", "+Inf", "-Inf") while few enough are in view to read.
import type uPlot from 'uplot';
import { NonFiniteKind } from '../../common/wireNumber';
import type { SeriesData } from '../protocol/dashboard';

export function drawNonFiniteMarkers(
  u: uPlot,
  series: readonly SeriesData[],
  colorOf: (runId: string) => string | undefined,
): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const r = 4 * devicePixelRatio;
  /** Beyond this many markers in view, labels would overlap: shapes only (the readout names them). */
  const MAX_LABELS = 30;
  let inView = 0;
  for (const s of series)
    for (let i = 0; i < s.nonFiniteX.length; i++) {
      const px = u.valToPos(s.nonFiniteX[i], 'x', true);
      if (px >= left - 1 && px <= left + width + 1) inView++;
    }
  const labelled = inView <= MAX_LABELS;
  ctx.save();
  ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  for (const s of series) {
    if (s.nonFiniteX.length === 0) continue;
    ctx.fillStyle = colorOf(s.runId) ?? '#f44';
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
      if (labelled) {
        const name = kind === NonFiniteKind.PosInf ? '+Inf' : kind === NonFiniteKind.NegInf ? '-Inf' : 'NaN';
        const y =
          kind === NonFiniteKind.PosInf ? top + r : kind === NonFiniteKind.NegInf ? top + height - r : top + height / 2;
        const fill: CanvasRenderingContext2D['fillStyle'] = ctx.fillStyle;
        ctx.fillStyle = '#e51400';
        ctx.fillText(name, px + r + 2 * devicePixelRatio, y);
        ctx.fillStyle = fill;
      }
    }
  }
  ctx.restore();
}
