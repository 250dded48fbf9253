// The charts area: one chart per key with data, grouped in sections by key prefix
// (groups in name order, then ungrouped keys, then the system metrics `sys/`, which are
// context rather than results); charts and groups come and go with the data.
import { Chart, type ChartContext } from './chart';
import { el } from './dom';
import { groupOf } from './state';

export class ChartGrid {
  private readonly charts = new Map<string, Chart>();

  constructor(
    private readonly box: HTMLElement,
    private readonly ctx: ChartContext,
  ) {}

  get(key: string): Chart | undefined {
    return this.charts.get(key);
  }

  keys(): Set<string> {
    return new Set(this.charts.keys());
  }

  /** Every chart back to the full range (a new x axis makes old zooms meaningless). */
  resetZooms(): void {
    for (const c of this.charts.values()) c.zoom = undefined;
  }

  /** Adds and drops charts to match the data; redraws those in `changed` and every new one. */
  render(changed: ReadonlySet<string>): void {
    const { model } = this.ctx;
    const shownKeys = model.shownKeys();
    const shown = new Set(shownKeys);
    for (const [key, c] of this.charts) {
      if (!shown.has(key)) {
        c.destroy();
        this.charts.delete(key);
      }
    }
    for (const key of shownKeys) {
      let c = this.charts.get(key);
      const created = !c;
      if (!c) {
        c = new Chart(key, this.groupContainer(groupOf(key)), this.ctx);
        this.charts.set(key, c);
      }
      if (created || changed.has(key)) c.update(model.seriesOf(key));
    }
    for (const g of Array.from(this.box.children)) {
      if (!g.querySelector('.chart')) g.remove();
    }
  }

  private groupContainer(group: string): HTMLElement {
    const id = `group-${group || '_'}`;
    let g = document.getElementById(id);
    if (!g) {
      g = el('section', 'group');
      g.id = id;
      g.dataset.order = groupOrder(group);
      const h = el('h2', '');
      h.textContent = group || 'metrics';
      g.append(h, el('div', 'charts'));
      const order = g.dataset.order;
      const after = Array.from(this.box.children).find((c) => ((c as HTMLElement).dataset.order ?? '') > order);
      this.box.insertBefore(g, after ?? null);
    }
    return g.querySelector('.charts') as HTMLElement;
  }
}

function groupOrder(group: string): string {
  const rank = group === 'sys' ? 2 : group === '' ? 1 : 0;
  return `${rank}:${group}`;
}
