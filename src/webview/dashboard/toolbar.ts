// The toolbar: metric filter, x axis, smoothing, log scale, ignore outliers, synced zoom and
// "add new runs", each a change of the dashboard state; `sync` shows a state that came from
// the host.
import type { BandCenter, BandSpread, DashboardState, WheelZoom, XMode } from '../protocol/dashboard';
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
  private readonly syncZoom: HTMLInputElement;
  private readonly outliers: HTMLInputElement;
  private readonly filter = document.createElement('input');
  private readonly filterError = el('span', 'filter-error');
  private readonly hint = el('span', 'hint');
  private readonly groupBy = document.createElement('select');
  private fields: readonly string[] = [];
  private readonly groupCenter = document.createElement('select');
  private readonly groupSpread = document.createElement('select');

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

    const f = this.filter;
    f.type = 'search';
    f.id = 'metric-filter';
    f.placeholder = 'Filter metrics (regex)';
    f.setAttribute('aria-label', 'Filter metrics by a regular expression');
    f.addEventListener('input', () => change({ metricFilter: f.value }));

    const log = checkbox('log-scale', 'Log scale', (v) => change({ logScale: v }));
    const outliers = checkbox('ignore-outliers', 'Ignore outliers', (v) => change({ ignoreOutliers: v }));
    outliers.title = 'The y range leaves out the lowest and highest 1% of values';
    const sync = checkbox('sync-zoom', 'Sync zoom', (v) => change({ syncZoom: v }));
    sync.title = 'Zooming one chart zooms every chart to the same x range';
    const follow = checkbox('follow', 'Add new runs', (v) => change({ follow: v }));
    this.logScale = log.querySelector('input') as HTMLInputElement;
    this.outliers = outliers.querySelector('input') as HTMLInputElement;
    this.syncZoom = sync.querySelector('input') as HTMLInputElement;
    this.follow = follow.querySelector('input') as HTMLInputElement;

    // Group by: none, or a param or tag of the shown runs (setGroupFields fills the list).
    const g = this.groupBy;
    g.id = 'group-by';
    g.title = 'Draw one line per group of runs (mean or median) with a band (min–max or ±1 std)';
    g.addEventListener('change', () => {
      this.groupCenter.disabled = this.groupSpread.disabled = !g.value;
      change({ groupBy: g.value || undefined });
    });
    options(this.groupCenter, 'group-center', [
      ['mean', 'Mean'],
      ['median', 'Median'],
    ]);
    this.groupCenter.addEventListener('change', () => change({ groupCenter: this.groupCenter.value as BandCenter }));
    options(this.groupSpread, 'group-spread', [
      ['minmax', 'Min–max'],
      ['std', '±1 std'],
    ]);
    this.groupSpread.addEventListener('change', () => change({ groupSpread: this.groupSpread.value as BandSpread }));
    this.setGroupFields([], undefined);

    this.setWheelHint('modifier');
    box.append(
      label('Metrics', f, this.filterError),
      label('X axis', x),
      label('Smoothing', smooth, this.smoothValue),
      log,
      outliers,
      sync,
      follow,
      label('Group by', g, this.groupCenter, this.groupSpread),
      this.hint,
    );
  }

  /** How to zoom, as the wheel setting has it. */
  setWheelHint(mode: WheelZoom): void {
    const wheel =
      mode === 'always'
        ? 'wheel zooms'
        : mode === 'focused'
          ? 'Ctrl+wheel (or click, then wheel) zooms'
          : 'Ctrl+wheel zooms';
    this.hint.textContent = `Drag to zoom · ${wheel} · Shift+drag pans · double-click resets`;
    this.hint.title = this.hint.textContent;
  }

  /** The metric filter's problem (an invalid regex), or none. */
  setFilterError(error: string | undefined): void {
    this.filterError.textContent = error ? '⚠' : '';
    this.filterError.title = error ?? '';
    this.filter.classList.toggle('invalid', !!error);
  }

  /** The fields to group by (the shown runs' params and tags); the state's pick stays listed. */
  setGroupFields(fields: readonly string[], state: DashboardState | undefined): void {
    this.fields = fields;
    const chosen = state?.groupBy ?? '';
    const all = chosen && !fields.includes(chosen) ? [...fields, chosen] : fields;
    const pairs: [string, string][] = [['', 'None'], ...all.map((f): [string, string] => [f, f])];
    options(this.groupBy, 'group-by', pairs);
    this.groupBy.value = chosen;
    const on = chosen !== '';
    this.groupCenter.disabled = !on;
    this.groupSpread.disabled = !on;
  }

  sync(state: DashboardState): void {
    this.setGroupFields(this.fields, state);
    this.groupCenter.value = state.groupCenter ?? 'mean';
    this.groupSpread.value = state.groupSpread ?? 'minmax';
    this.xMode.value = state.xMode;
    this.smoothing.value = String(state.smoothing);
    this.smoothValue.textContent = state.smoothing.toFixed(2);
    this.logScale.checked = state.logScale;
    this.follow.checked = state.follow;
    this.syncZoom.checked = state.syncZoom !== false;
    this.outliers.checked = state.ignoreOutliers === true;
    if (this.filter.value !== (state.metricFilter ?? '')) this.filter.value = state.metricFilter ?? '';
  }
}

/** Replaces a select's options with `pairs` (value, text). */
function options(select: HTMLSelectElement, id: string, pairs: readonly (readonly [string, string])[]): void {
  select.id = id;
  select.replaceChildren(
    ...pairs.map(([value, text]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = text;
      return o;
    }),
  );
}
