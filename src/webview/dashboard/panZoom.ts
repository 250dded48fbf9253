// Zoom and pan on a chart's x axis: drag-select zooms, Shift+drag pans, double-click resets
// to the full range (live again). The wheel scrolls the page as everywhere else, and zooms
// around the cursor only with Ctrl/Cmd/Alt held, or (setting `focused`) once the chart was
// clicked, or (setting `always`) always.
import type uPlot from 'uplot';
import type { WheelZoom } from '../protocol/dashboard';
import { wheelZooms } from './pointer';
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

export function bindPanZoom(u: uPlot, target: Zoomable, wheelMode: () => WheelZoom = () => 'modifier'): void {
  const over = u.over;
  // "Focused": a click on the plot arms wheel zoom until a click elsewhere or Escape.
  let focused = false;
  over.addEventListener('mousedown', () => {
    focused = true;
    u.root.classList.add('wheel-armed');
  });
  const disarm = () => {
    focused = false;
    u.root.classList.remove('wheel-armed');
  };
  // Page-wide listeners go with the plot (plots are rebuilt when their shape changes).
  const gone = new AbortController();
  (u.hooks.destroy ??= []).push(() => gone.abort());
  document.addEventListener(
    'mousedown',
    (e) => {
      if (!over.contains(e.target as Node)) disarm();
    },
    { signal: gone.signal },
  );
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.key === 'Escape') disarm();
    },
    { signal: gone.signal },
  );
  over.addEventListener('dblclick', () => target.setZoom(undefined));
  over.addEventListener(
    'wheel',
    (e) => {
      if (!wheelZooms(wheelMode(), e, focused)) return; // the page scrolls
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
