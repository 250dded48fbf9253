// The toolbar: x axis, smoothing, log scale and "add new runs", each a change of the
// dashboard state; `sync` shows a state that came from the host.
import type { DashboardState, XMode } from '../protocol/dashboard';
import { checkbox, el, label } from './dom';

const X_LABELS: readonly (readonly [XMode, string])[] = [
  ['step', 'Step'],
  ['time', 'Wall time'],
  ['relative', 'Relative time'],
];

export class Toolbar {
  private readonly xMode = document.createElement('select');
  private readonly smoothing = document.createElement('input');
  private readonly smoothValue = el('span', 'smooth-value');
  private readonly logScale: HTMLInputElement;
  private readonly follow: HTMLInputElement;

  constructor(
    readonly box: HTMLElement,
    change: (patch: Partial<DashboardState>) => void,
  ) {
    const x = this.xMode;
    x.id = 'x-mode';
    for (const [value, text] of X_LABELS) {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = text;
      x.append(o);
    }
    x.addEventListener('change', () => change({ xMode: x.value as XMode }));

    const smooth = this.smoothing;
    smooth.type = 'range';
    smooth.id = 'smoothing';
    smooth.min = '0';
    smooth.max = '0.99';
    smooth.step = '0.01';
    smooth.addEventListener('input', () => {
      this.smoothValue.textContent = Number(smooth.value).toFixed(2);
      change({ smoothing: Number(smooth.value) });
    });

    const log = checkbox('log-scale', 'Log scale', (v) => change({ logScale: v }));
    const follow = checkbox('follow', 'Add new runs', (v) => change({ follow: v }));
    this.logScale = log.querySelector('input') as HTMLInputElement;
    this.follow = follow.querySelector('input') as HTMLInputElement;

    const hint = el('span', 'hint');
    hint.textContent = 'Drag to zoom · Shift+drag or wheel to pan/zoom · double-click to reset';
    box.append(label('X axis', x), label('Smoothing', smooth, this.smoothValue), log, follow, hint);
  }

  sync(state: DashboardState): void {
    this.xMode.value = state.xMode;
    this.smoothing.value = String(state.smoothing);
    this.smoothValue.textContent = state.smoothing.toFixed(2);
    this.logScale.checked = state.logScale;
    this.follow.checked = state.follow;
  }
}
