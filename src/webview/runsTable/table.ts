// The table itself: a sticky header and a virtually scrolled body. Only the rows in view (plus
// a few either side, virtualWindow.ts) are in the DOM, so scrolling 10,000 runs touches ~40 rows.
import { formatValue } from '../protocol/format';
import type { TableColumn } from './columns';
import { type FieldRef, type FieldValue, type TableRun, fieldValue, visibleTags } from './fields';
import { type DisplayItem, aggregate, distinct } from './rowsModel';
import { rowWindow } from './virtualWindow';

export type { TableColumn } from './columns';

export const ROW_HEIGHT = 22;

export interface TableCallbacks {
  onSort(id: string): void;
  onRowClick(index: number, ev: MouseEvent): void;
  onToggleGroup(key: string): void;
  /** A metric cell double-clicked: the line of code that logged it. */
  onGoToSource(runId: string, key: string): void;
}

export class RunsTableView {
  readonly scroller: HTMLDivElement;
  private readonly head: HTMLDivElement;
  private readonly body: HTMLDivElement;
  /** Row elements in the DOM by item index, valid while `version` is the one they were built for. */
  private drawn = new Map<number, HTMLElement>();
  private version = 0;
  private drawnVersion = -1;
  private items: DisplayItem[] = [];
  private columns: TableColumn[] = [];
  private selected: ReadonlySet<string> = new Set();
  private sort: { id: string; desc: boolean } | undefined;
  private frame = 0;
  /** Rows in the DOM after the last draw (the probe reads it). */
  drawnRows = 0;
  lastDrawMs = 0;

  constructor(
    parent: HTMLElement,
    private readonly cb: TableCallbacks,
  ) {
    this.scroller = div('scroller');
    this.head = div('thead');
    this.body = div('tbody');
    this.scroller.append(this.head, this.body);
    parent.append(this.scroller);
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
    this.head.addEventListener('click', (e) => {
      const id = (e.target as HTMLElement).closest<HTMLElement>('.th')?.dataset.col;
      if (id) this.cb.onSort(id);
    });
    this.body.addEventListener('dblclick', (e) => {
      const cell = (e.target as HTMLElement).closest<HTMLElement>('.cell');
      const runId = cell?.closest<HTMLElement>('.row')?.dataset.runId;
      const key = metricKeyOf(cell?.dataset.col ?? '');
      if (runId && key !== undefined) this.cb.onGoToSource(runId, key);
    });
    this.body.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('.row');
      if (!row) return;
      const index = Number(row.dataset.index);
      const item = this.items[index];
      if (item?.kind === 'group' && !(e.ctrlKey || e.metaKey || e.shiftKey)) this.cb.onToggleGroup(item.key);
      else this.cb.onRowClick(index, e);
    });
  }

  set(
    items: DisplayItem[],
    columns: TableColumn[],
    selected: ReadonlySet<string>,
    sort?: { id: string; desc: boolean },
  ): void {
    const headChanged = columns !== this.columns || sort?.id !== this.sort?.id || sort?.desc !== this.sort?.desc;
    this.items = items;
    this.columns = columns;
    this.selected = selected;
    this.sort = sort;
    this.version++;
    if (headChanged) this.drawHead();
    this.draw();
  }

  /**
   * A new selection: the drawn rows change class in place. Rebuilding them would also swallow a
   * double-click, whose second click then lands on a new element.
   */
  select(selected: ReadonlySet<string>): void {
    this.selected = selected;
    for (const [i, row] of this.drawn) row.classList.toggle('selected', this.isSelected(this.items[i]));
  }

  private isSelected(item: DisplayItem | undefined): boolean {
    if (!item) return false;
    return item.kind === 'group'
      ? item.runs.every((r) => this.selected.has(r.runId))
      : this.selected.has(item.run.runId);
  }

  private drawHead(): void {
    const width = this.columns.reduce((s, c) => s + c.width, 0);
    this.head.style.width = this.body.style.width = `${width}px`;
    this.head.replaceChildren(
      ...this.columns.map((c) => {
        const th = div('th' + (c.numeric ? ' num' : ''));
        th.dataset.col = c.id;
        th.style.width = `${c.width}px`;
        th.textContent = c.label;
        th.title = `${c.id} (click to sort)`;
        if (this.sort?.id === c.id) th.classList.add('sorted', ...(this.sort.desc ? ['desc'] : []));
        return th;
      }),
    );
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Draws the rows in view now. */
  draw(): void {
    const t0 = performance.now();
    const headH = this.head.offsetHeight;
    const w = rowWindow({
      count: this.items.length,
      rowHeight: ROW_HEIGHT,
      scrollTop: Math.max(0, this.scroller.scrollTop),
      viewportHeight: Math.max(0, this.scroller.clientHeight - headH),
    });
    this.body.style.height = `${w.totalHeight}px`;
    // Scrolling keeps the rows still in view and builds only those coming in. New data redraws the
    // rows in view, into the same elements where a row still shows the same run: a live run's
    // updates must not swallow a click or double-click landing on a row that is replaced meanwhile.
    if (this.drawnVersion !== this.version) {
      const kept = new Map<number, HTMLElement>();
      for (const [i, row] of this.drawn) {
        const item = i >= w.start && i < w.end ? this.items[i] : undefined;
        if (!item) {
          row.remove();
          continue;
        }
        const fresh = this.rowEl(item, i);
        if (patchRow(row, fresh)) {
          kept.set(i, row);
        } else {
          // Another run at this index now (a sort, a filter): the new row takes its place.
          fresh.style.top = row.style.top;
          row.replaceWith(fresh);
          kept.set(i, fresh);
        }
      }
      this.drawn = kept;
      this.drawnVersion = this.version;
    }
    for (const [i, row] of this.drawn) if (i < w.start || i >= w.end) row.remove();
    const next = new Map<number, HTMLElement>();
    let prev: HTMLElement | undefined;
    for (let i = w.start; i < w.end; i++) {
      let row = this.drawn.get(i);
      if (!row) {
        row = this.rowEl(this.items[i], i);
        row.style.top = `${i * ROW_HEIGHT}px`;
        // In index order in the DOM too (what tests and screen readers read).
        if (prev) prev.after(row);
        else this.body.prepend(row);
      }
      next.set(i, row);
      prev = row;
    }
    this.drawn = next;
    this.drawnRows = next.size;
    this.lastDrawMs = performance.now() - t0;
  }

  private rowEl(item: DisplayItem, index: number): HTMLElement {
    const row = div('row');
    row.dataset.index = String(index);
    if (item.kind === 'group') {
      row.classList.add('group');
      row.dataset.group = item.key;
      if (this.isSelected(item)) row.classList.add('selected');
      this.columns.forEach((c, ci) => {
        const cell = this.cell(c);
        if (ci === 0) {
          cell.textContent = `${item.expanded ? '▾' : '▸'} ${item.label} (${item.runs.length})`;
          cell.title = item.label;
        } else {
          const [text, title] = groupCell(item.runs, c);
          cell.textContent = text;
          cell.title = title;
        }
        row.append(cell);
      });
      return row;
    }
    const run = item.run;
    row.dataset.runId = run.runId;
    if (item.inGroup !== undefined) row.classList.add('in-group');
    if (this.isSelected(item)) row.classList.add('selected');
    for (const c of this.columns) {
      const cell = this.cell(c);
      const text = formatCell(run, c.field, fieldValue(run, c.field));
      if (c.field.kind === 'name') {
        const sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = run.color;
        cell.append(sw, text);
        cell.title = `${run.name} · ${run.runId}`;
      } else {
        cell.textContent = text;
        cell.title = text;
        if (c.field.kind === 'status') cell.classList.add(`status-${run.status}`);
        const key = metricKeyOf(c.id);
        if (key !== undefined) {
          // Its context menu (package.json, webview/context) offers Go to Source, as a double-click does.
          cell.dataset.vscodeContext = JSON.stringify({ webviewSection: 'metric', runId: run.runId, key });
          cell.title = `${text} · double-click or right-click: Go to Source`;
        }
      }
      row.append(cell);
    }
    return row;
  }

  private cell(c: TableColumn): HTMLDivElement {
    const cell = div('cell' + (c.numeric ? ' num' : ''));
    cell.style.width = `${c.width}px`;
    cell.dataset.col = c.id;
    return cell;
  }
}

/**
 * Copies a freshly built row into `row` when both show the same run (or group) with the same columns,
 * keeping the elements; false when they differ (then the old row goes).
 */
function patchRow(row: HTMLElement, fresh: HTMLElement): boolean {
  if (row.dataset.runId !== fresh.dataset.runId || row.dataset.group !== fresh.dataset.group) return false;
  const cells = row.children;
  const next = fresh.children;
  if (cells.length !== next.length) return false;
  for (let k = 0; k < next.length; k++) {
    if ((cells[k] as HTMLElement).dataset.col !== (next[k] as HTMLElement).dataset.col) return false;
  }
  row.className = fresh.className;
  for (let k = next.length - 1; k >= 0; k--) {
    const cell = cells[k] as HTMLElement;
    const n = next[k] as HTMLElement;
    cell.className = n.className;
    cell.title = n.title;
    cell.style.cssText = n.style.cssText;
    if (n.dataset.vscodeContext === undefined) delete cell.dataset.vscodeContext;
    else cell.dataset.vscodeContext = n.dataset.vscodeContext;
    cell.replaceChildren(...n.childNodes);
  }
  return true;
}

/** The metric of a `metrics.<key>.last|min|max` column. */
function metricKeyOf(col: string): string | undefined {
  return /^metrics\.(.*)\.(last|min|max)$/.exec(col)?.[1];
}

function div(cls: string): HTMLDivElement {
  const e = document.createElement('div');
  e.className = cls;
  return e;
}

/** A group row's cell: the mean of a numeric column (min–max in the tooltip), else the value all share. */
function groupCell(runs: readonly TableRun[], c: TableColumn): [string, string] {
  if (c.field.kind === 'tags' || c.field.kind === 'start' || c.field.kind === 'end') return ['', ''];
  const agg = c.numeric ? aggregate(runs, c.field) : undefined;
  if (agg) {
    const text = c.field.kind === 'duration' ? duration(agg.mean) : formatValue(agg.mean);
    return [
      `μ ${text}`,
      `mean ${formatValue(agg.mean)}, min ${formatValue(agg.min)}, max ${formatValue(agg.max)} (${agg.n} runs)`,
    ];
  }
  const values = distinct(runs, c.field);
  if (values.length === 1) return [values[0], values[0]];
  return values.length === 0 ? ['', ''] : [`${values.length} values`, values.slice(0, 20).join(', ')];
}

export function formatCell(run: TableRun, f: FieldRef, v: FieldValue): string {
  if (v === undefined || v === null) return f.kind === 'metric' || f.kind === 'param' ? '–' : '';
  switch (f.kind) {
    case 'start':
    case 'end':
      return typeof v === 'number' ? dateTime(v) : String(v);
    case 'duration':
      return typeof v === 'number' ? duration(v) : String(v);
    case 'tags':
      return visibleTags(run).join(', ');
    default:
      return typeof v === 'number' ? formatValue(v) : String(v);
  }
}

function dateTime(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '';
  if (sec < 60) return `${Math.round(sec)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${String(Math.round(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
