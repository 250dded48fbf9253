// The runs table's controls above the table: the filter box with its error line, counts, "show
// archived", "only columns that differ", the selection's actions, and the panels (columns, groups,
// parallel coordinates) as <details>. Builds elements and reports what a person did; main.ts decides.
import type { RunAction } from '../protocol/runsTable';

export interface ControlsCallbacks {
  onFilter(text: string): void;
  onShowArchived(v: boolean): void;
  onOnlyDiffer(v: boolean): void;
  onSelectAll(): void;
  onClearSelection(): void;
  onAction(a: RunAction): void;
}

export interface Controls {
  filter: HTMLInputElement;
  error: HTMLSpanElement;
  count: HTMLSpanElement;
  selection: HTMLSpanElement;
  showArchived: HTMLInputElement;
  onlyDiffer: HTMLInputElement;
  actions: Map<RunAction, HTMLButtonElement>;
  columnsList: HTMLDivElement;
  groupPanel: HTMLDetailsElement;
  groupBy: HTMLSelectElement;
  bandKey: HTMLSelectElement;
  bandCenter: HTMLSelectElement;
  bandSpread: HTMLSelectElement;
  bandBox: HTMLDivElement;
  pcPanel: HTMLDetailsElement;
  pcMetric: HTMLSelectElement;
  pcBox: HTMLDivElement;
  clearBrushes: HTMLButtonElement;
}

const ACTION_LABELS: [RunAction, string][] = [
  ['plot', 'Plot'],
  ['compare', 'Compare'],
  ['tag', 'Tag…'],
  ['untag', 'Remove Tags…'],
  ['archive', 'Archive'],
  ['unarchive', 'Unarchive'],
  ['delete', 'Delete…'],
];

export function buildControls(root: HTMLElement, cb: ControlsCallbacks): Controls {
  const bar = el('div', 'bar');
  const filter = document.createElement('input');
  filter.className = 'filter';
  filter.type = 'text';
  filter.spellcheck = false;
  filter.placeholder = 'Filter: text, or e.g. params.lr < 1e-3 and status = finished and tag:baseline';
  filter.setAttribute('aria-label', 'Filter runs');
  filter.addEventListener('input', () => cb.onFilter(filter.value));
  const count = el('span', 'count');
  const showArchived = checkbox('show-archived');
  showArchived.addEventListener('change', () => cb.onShowArchived(showArchived.checked));
  const onlyDiffer = checkbox('only-differ');
  onlyDiffer.addEventListener('change', () => cb.onOnlyDiffer(onlyDiffer.checked));
  bar.append(filter, count, labelled(showArchived, 'Show archived'), labelled(onlyDiffer, 'Only columns that differ'));
  const error = el('span', 'filter-error');
  error.setAttribute('role', 'alert');

  const acts = el('div', 'bar');
  const selection = el('span', 'count selection');
  const actions = new Map<RunAction, HTMLButtonElement>();
  acts.append(button('Select All', 'Select every run the filter shows (Ctrl+A)', cb.onSelectAll));
  acts.append(button('Clear', 'Clear the selection', cb.onClearSelection));
  for (const [a, text] of ACTION_LABELS) {
    const b = button(text, `${text.replace('…', '')} the selected runs`, () => cb.onAction(a));
    b.dataset.action = a;
    actions.set(a, b);
    acts.append(b);
  }
  acts.append(selection);

  const columnsPanel = details('Columns', 'columns-panel');
  const columnsList = el('div', 'chooser');
  columnsPanel.append(columnsList);

  const groupPanel = details('Group', 'group-panel');
  const groupBy = select('group-by');
  const bandKey = select('band-key');
  const bandCenter = select('band-center', [
    ['mean', 'mean'],
    ['median', 'median'],
  ]);
  const bandSpread = select('band-spread', [
    ['minmax', 'min–max'],
    ['std', '± std'],
  ]);
  const gbar = el('div', 'bar');
  gbar.append(labelled(groupBy, 'Group by'), labelled(bandKey, 'Band of'), bandCenter, bandSpread);
  const bandBox = el('div', 'band-box');
  groupPanel.append(gbar, bandBox);

  const pcPanel = details('Parallel coordinates', 'pc-panel');
  const pcMetric = select('pc-metric');
  const clearBrushes = button('Clear brushes', 'Remove every axis brush', () => undefined);
  const pbar = el('div', 'bar');
  const hint = el('span', 'count');
  hint.textContent = 'Drag along an axis to keep only runs inside; click an axis to clear it.';
  pbar.append(labelled(pcMetric, 'Metric'), clearBrushes, hint);
  const pcBox = el('div', 'pc-box');
  pcPanel.append(pbar, pcBox);

  root.append(bar, error, acts, columnsPanel, groupPanel, pcPanel);
  return {
    filter,
    error,
    count,
    selection,
    showArchived,
    onlyDiffer,
    actions,
    columnsList,
    groupPanel,
    groupBy,
    bandKey,
    bandCenter,
    bandSpread,
    bandBox,
    pcPanel,
    pcMetric,
    pcBox,
    clearBrushes,
  };
}

/** Replaces a select's options, keeping `value` selected when it is among them. */
export function setOptions(s: HTMLSelectElement, options: [string, string][], value: string): void {
  const same =
    s.options.length === options.length &&
    options.every(([v, t], i) => s.options[i].value === v && s.options[i].text === t);
  if (!same) {
    s.replaceChildren(
      ...options.map(([v, t]) => {
        const o = document.createElement('option');
        o.value = v;
        o.text = t;
        return o;
      }),
    );
  }
  s.value = options.some(([v]) => v === value) ? value : (options[0]?.[0] ?? '');
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  return e;
}

function checkbox(id: string): HTMLInputElement {
  const c = document.createElement('input');
  c.type = 'checkbox';
  c.id = id;
  return c;
}

function labelled(input: HTMLElement, text: string): HTMLLabelElement {
  const l = document.createElement('label');
  // A select reads "Group by [ ]", a checkbox "[x] Show archived".
  if (input instanceof HTMLSelectElement) l.append(`${text} `, input);
  else l.append(input, ` ${text}`);
  return l;
}

function select(id: string, options: [string, string][] = []): HTMLSelectElement {
  const s = document.createElement('select');
  s.id = id;
  setOptions(s, options, options[0]?.[0] ?? '');
  return s;
}

function details(title: string, cls: string): HTMLDetailsElement {
  const d = el('details', `panel ${cls}`);
  const s = document.createElement('summary');
  s.textContent = title;
  d.append(s);
  return d;
}

export interface ChooserCallbacks {
  onToggle(id: string, shown: boolean): void;
  onMove(id: string, dir: -1 | 1): void;
}

/** The column chooser's list (inside a <details>): rebuilt when the columns change. */
const chooserDrawn = new WeakMap<HTMLElement, string>();

export function renderChooser(
  list: HTMLElement,
  ids: readonly string[],
  hidden: ReadonlySet<string>,
  cb: ChooserCallbacks,
): void {
  // The same list as drawn: kept (every sort and filter rebuilt it, and the page restyled it all).
  // Its listeners read the page state when clicked, so the old ones stay right.
  const key = JSON.stringify([ids, [...hidden].sort()]);
  if (chooserDrawn.get(list) === key) return;
  chooserDrawn.set(list, key);
  list.replaceChildren(
    ...ids.map((id) => {
      const row = document.createElement('div');
      row.className = 'col';
      row.dataset.col = id;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = !hidden.has(id);
      box.disabled = id === 'name';
      box.addEventListener('change', () => cb.onToggle(id, box.checked));
      const left = button('←', `Move ${id} left`, () => cb.onMove(id, -1));
      const right = button('→', `Move ${id} right`, () => cb.onMove(id, 1));
      const name = document.createElement('span');
      name.textContent = id;
      row.append(box, left, right, name);
      return row;
    }),
  );
}

export function button(text: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}
