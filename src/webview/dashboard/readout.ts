// The hover readout: at the cursor's x, every shown run's nearest point (value, smoothed
// value, step or time) in one box beside the cursor, a non-finite value named (NaN, +Inf,
// -Inf) where one is nearer than any finite point. The lookup is pure (pointer.ts); the box
// is a plain element over the plot, so tests read what a person reads.
import { formatStep, formatValue, formatWallTime } from '../protocol/format';
import type { RunInfo, XMode } from '../protocol/dashboard';
import { el, swatch, text } from './dom';
import { type ReadoutRow, formatX } from './pointer';

export { type ReadoutRow, pointsAt } from './pointer';

export class Readout {
  readonly box = el('div', 'readout');

  constructor(parent: HTMLElement) {
    this.box.hidden = true;
    parent.append(this.box);
  }

  hide(): void {
    this.box.hidden = true;
  }

  /** Shows `rows` beside the cursor at (`left`, `top`) px in the plot; flips left near the right edge. */
  show(rows: readonly ReadoutRow[], runs: ReadonlyMap<string, RunInfo>, xMode: XMode, left: number, top: number): void {
    if (rows.length === 0) return this.hide();
    const box = this.box;
    box.replaceChildren();
    const sameX = rows.every((r) => r.x === rows[0].x);
    if (sameX) box.append(text(formatX(rows[0].x, xMode), 'readout-x'));
    for (const r of rows) {
      const run = runs.get(r.runId);
      const row = el('div', 'readout-row');
      row.dataset.runId = r.runId;
      row.dataset.x = String(r.x);
      row.dataset.value = Number.isFinite(r.value) ? String(r.value) : formatValue(r.value);
      const value = text(
        formatValue(r.value),
        Number.isFinite(r.value) ? 'readout-value' : 'readout-value legend-warn',
      );
      row.append(swatch(run?.color ?? '#888'), text(run?.name ?? r.runId, 'readout-name'), value);
      if (r.smoothed !== undefined) row.append(text(`smoothed ${formatValue(r.smoothed)}`, 'readout-smoothed'));
      if (!sameX) row.append(text(formatX(r.x, xMode), 'readout-rx'));
      if (r.time !== undefined) {
        row.dataset.time = String(r.time);
        row.append(text(formatWallTime(r.time * 1000), 'readout-rx readout-time'));
      }
      if (r.step !== undefined) {
        row.dataset.step = String(r.step);
        row.append(text(`step ${formatStep(r.step)}`, 'readout-rx readout-step'));
      }
      box.append(row);
    }
    box.hidden = false;
    // Beside the cursor, flipped to its left near the right edge; kept inside the window.
    const parent = (box.parentElement as HTMLElement).getBoundingClientRect();
    const w = box.offsetWidth;
    const h = box.offsetHeight;
    let x = left + 16;
    if (parent.left + x + w > window.innerWidth) x = left - 16 - w;
    x = Math.max(-parent.left, x);
    let y = Math.max(0, top - 8);
    if (parent.top + y + h > window.innerHeight) y = Math.max(-parent.top, window.innerHeight - parent.top - h - 4);
    box.style.left = `${x}px`;
    box.style.top = `${y}px`;
  }
}
