// Zoom and pan on a chart's x axis: drag-select zooms, the wheel zooms around the
// cursor, Shift+drag pans, double-click resets to the full range (live again).
import type uPlot from 'uplot';
import type { XRange } from './state';

/** What pan and zoom act on: the chart's zoom, and how to apply a finished one. */
export interface Zoomable {
  /** Set while a pan drags (the scale moves, nothing is asked of the host yet). */
  zoom: XRange | undefined;
  /** A zoom is done (none: reset): redraw and ask the host for that range. */
  setZoom(zoom: XRange | undefined): void;
}

/** uPlot's `setSelect` hook: the dragged selection becomes the zoom. */
export function zoomToSelection(u: uPlot, target: Zoomable): void {
  if (u.select.width < 2) return;
  const min = u.posToVal(u.select.left, 'x');
  const max = u.posToVal(u.select.left + u.select.width, 'x');
  u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  target.setZoom({ min, max });
}

export function bindPanZoom(u: uPlot, target: Zoomable): void {
  const over = u.over;
  over.addEventListener('dblclick', () => target.setZoom(undefined));
  over.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const { min, max } = u.scales.x;
      if (min === undefined || max === undefined) return;
      const at = u.posToVal(e.offsetX, 'x');
      const f = e.deltaY > 0 ? 1.25 : 0.8;
      target.setZoom({ min: at - (at - min) * f, max: at + (max - at) * f });
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
        target.zoom = { min: min - d, max: max - d };
        u.setScale('x', target.zoom);
      };
      const up = () => {
        window.removeEventListener('mousemove', move);
        window.removeEventListener('mouseup', up);
        if (target.zoom) target.setZoom(target.zoom);
      };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    },
    true,
  );
}
