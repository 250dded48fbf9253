// The charts area: one chart per key with data, grouped in sections by key prefix
// (groups in name order, then ungrouped keys, then the system metrics `sys/`, which are
// context rather than results); charts and groups come and go with the data. The metric
// filter (a regular expression) picks the keys; a group's header folds it; one chart can
// be expanded to the whole panel; with synced zoom one chart's x zoom applies to all.
// New data is drawn progressively: the charts in view first, then those below, a frame's
// worth at a time, so a person sees the first chart without waiting for all of them.
import { Chart, type ChartContext } from './chart';
import { el } from './dom';
import { type XRange, filterKeys, groupOf } from './state';

/** Charts drawn in one go before the page gets a frame to show them (at least one is drawn). */
const FRAME_BUDGET_MS = 12;
/** A hidden page gets no frames: drawing goes on after this instead. */
const NO_FRAME_MS = 100;

export class ChartGrid {
  private readonly charts = new Map<string, Chart>();
  /** Charts whose data changed since their last draw (drawn by drawPending). */
  private readonly pending = new Set<string>();
  /** The scheduled next round of drawPending (bumped when one runs, so a round runs once). */
  private round = 0;
  private scheduled = false;
  /** The filter's problem, if any (the toolbar shows it). */
  filterError: string | undefined;

  constructor(
    private readonly box: HTMLElement,
    private readonly ctx: ChartContext,
  ) {}

  get(key: string): Chart | undefined {
    return this.charts.get(key);
  }

  /** Draws `key`'s chart now if its new data still waits (before reading what it drew: export). */
  drawNow(key: string): void {
    const c = this.charts.get(key);
    if (c && this.pending.delete(key)) c.update(this.ctx.model.seriesOf(key));
  }

  keys(): Set<string> {
    return new Set(this.charts.keys());
  }

  all(): Chart[] {
    return [...this.charts.values()];
  }

  /** Every chart back to the full range (a new x axis makes old zooms meaningless). */
  resetZooms(): void {
    for (const c of this.charts.values()) c.zoom = undefined;
  }

  /** A person zoomed `from`: with synced zoom, every other chart takes the same x range. */
  syncZoom(from: Chart, zoom: XRange | undefined): void {
    if (this.ctx.model.state.syncZoom === false) return;
    for (const c of this.charts.values()) if (c !== from) c.applyZoom(zoom);
  }

  /** Adds and drops charts to match the data; redraws those in `changed` and every new one. */
  render(changed: ReadonlySet<string>): void {
    const { model } = this.ctx;
    const { state } = model;
    const { keys, error } = filterKeys(model.shownKeys(), state.metricFilter ?? '');
    this.filterError = error;
    const collapsed = new Set(state.collapsed ?? []);
    const expanded = state.expanded && keys.includes(state.expanded) ? state.expanded : undefined;
    const charted = keys.filter((k) => (expanded ? k === expanded : !collapsed.has(groupOf(k))));
    const shown = new Set(charted);
    for (const [key, c] of this.charts) {
      if (!shown.has(key)) {
        c.destroy();
        this.charts.delete(key);
      }
    }
    const groups = new Map<string, number>();
    for (const k of keys) groups.set(groupOf(k), (groups.get(groupOf(k)) ?? 0) + 1);
    for (const [g, n] of groups) this.groupContainer(g, n, collapsed.has(g));
    // Every new chart's box first, then the plots: each plot is sized once, in the grid as it
    // ends up (built one by one, the cells narrowed as charts came and every plot drew again).
    const created = new Set<string>();
    for (const key of charted) {
      if (this.charts.has(key)) continue;
      const group = this.groupContainer(groupOf(key), groups.get(groupOf(key)) ?? 0, false);
      this.charts.set(key, new Chart(key, group, this.ctx));
      created.add(key);
    }
    for (const key of charted) {
      const c = this.charts.get(key)!;
      c.box.classList.toggle('expanded', key === expanded);
      if (created.has(key) || changed.has(key)) this.pending.add(key);
    }
    this.box.classList.toggle('has-expanded', expanded !== undefined);
    for (const g of Array.from(this.box.children) as HTMLElement[]) {
      if (!groups.has(g.dataset.group ?? '')) g.remove();
      else g.classList.toggle('holds-expanded', expanded !== undefined && groupOf(expanded) === g.dataset.group);
    }
    if (this.pending.size) this.drawPending();
  }

  /**
   * Draws waiting charts, those in view first, for about a frame's budget (at least one), then
   * lets the page paint and goes on after it. Each chart draws its model's data as of then.
   */
  private drawPending(): void {
    this.round++;
    this.scheduled = false;
    const t0 = performance.now();
    for (;;) {
      for (const key of this.pending) if (!this.charts.has(key)) this.pending.delete(key);
      const next = this.nextPending();
      if (!next) return;
      this.pending.delete(next.key);
      next.update(this.ctx.model.seriesOf(next.key));
      if (performance.now() - t0 >= FRAME_BUDGET_MS) break;
    }
    if (this.pending.size) this.schedule();
  }

  /** The next round after the next frame is painted (a task after its animation frame). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const round = this.round;
    const run = () => {
      if (this.round === round) this.drawPending();
    };
    requestAnimationFrame(() => setTimeout(run, 0));
    setTimeout(run, NO_FRAME_MS);
  }

  /** The first waiting chart in view, in page order; else the first waiting one. */
  private nextPending(): Chart | undefined {
    let first: Chart | undefined;
    const height = window.innerHeight;
    for (const box of Array.from(this.box.querySelectorAll<HTMLElement>('.chart'))) {
      const key = box.dataset.key ?? '';
      if (!this.pending.has(key)) continue;
      const c = this.charts.get(key);
      if (!c) continue;
      const r = box.getBoundingClientRect();
      if (r.width > 0 && r.bottom > 0 && r.top < height) return c;
      first ??= c;
    }
    if (first) return first;
    for (const key of this.pending) return this.charts.get(key);
    return undefined;
  }

  private groupContainer(group: string, count: number, collapsed: boolean): HTMLElement {
    const id = `group-${group || '_'}`;
    let g = document.getElementById(id);
    if (!g) {
      g = el('section', 'group');
      g.id = id;
      g.dataset.group = group;
      g.dataset.order = groupOrder(group);
      const h = el('h2', '');
      const toggle = el('button', 'group-toggle');
      toggle.type = 'button';
      toggle.addEventListener('click', () => this.toggleGroup(group));
      h.append(toggle);
      g.append(h, el('div', 'charts'));
      const order = g.dataset.order;
      const after = Array.from(this.box.children).find((c) => ((c as HTMLElement).dataset.order ?? '') > order);
      this.box.insertBefore(g, after ?? null);
    }
    g.classList.toggle('collapsed', collapsed);
    const toggle = g.querySelector('.group-toggle') as HTMLButtonElement;
    toggle.textContent = `${collapsed ? '▸' : '▾'} ${group || 'metrics'} (${count})`;
    toggle.setAttribute('aria-expanded', String(!collapsed));
    toggle.title = collapsed ? 'Show this group’s charts' : 'Fold this group away';
    return g.querySelector('.charts') as HTMLElement;
  }

  private toggleGroup(group: string): void {
    const collapsed = new Set(this.ctx.model.state.collapsed ?? []);
    if (collapsed.has(group)) collapsed.delete(group);
    else collapsed.add(group);
    this.ctx.changeState({ collapsed: [...collapsed].sort() });
  }
}

function groupOrder(group: string): string {
  const rank = group === 'sys' ? 2 : group === '' ? 1 : 0;
  return `${rank}:${group}`;
}
