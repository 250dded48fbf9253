// NaN and ±Inf have no place on a y axis: they are drawn as markers over the plot at
// their x, ▲ at the top for +Inf, ▼ at the bottom for -Inf, ● mid-height for NaN.
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
  ctx.save();
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
    }
  }
  ctx.restore();
}
