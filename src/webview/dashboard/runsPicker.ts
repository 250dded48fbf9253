// The run picker (a <details> listing every run with a checkbox, its colour you can change,
// a search box and "only", "all", "none") and the hint shown when there is nothing to chart.
import type { RunInfo } from '../protocol/dashboard';
import { el, text } from './dom';

const NO_RUNS =
  'No runs yet. Start a training script that uses the runwatch Python client ' +
  '(see "Runwatch: Copy Connection Snippet"); it appears here live.';

export interface PickerActions {
  /** The new set of shown runs, in the picker's order. */
  show(runIds: string[]): void;
  /** A colour picked for a run. */
  setColor(runId: string, color: string): void;
}

export class RunsPicker {
  private readonly summary = document.createElement('summary');
  private readonly search = document.createElement('input');
  private readonly list = el('div', 'runs-list');
  private shown: ReadonlyMap<string, RunInfo> = new Map();
  private all: readonly RunInfo[] = [];
  /** The list does not show the latest runs (built when the picker opens). */
  private stale = true;

  constructor(
    readonly box: HTMLDetailsElement,
    private readonly emptyBox: HTMLElement,
    private readonly actions: PickerActions,
  ) {
    const s = this.search;
    s.type = 'search';
    s.id = 'run-search';
    s.placeholder = 'Search runs (name, project, status)';
    s.setAttribute('aria-label', 'Search runs');
    s.addEventListener('input', () => this.renderList());
    const tools = el('div', 'runs-tools');
    const button = (label: string, tip: string, id: string, run: () => void) => {
      const b = el('button', 'runs-button');
      b.type = 'button';
      b.id = id;
      b.textContent = label;
      b.title = tip;
      b.addEventListener('click', run);
      tools.append(b);
    };
    button('All', 'Show every run that matches the search', 'runs-all', () =>
      this.actions.show([...new Set([...this.shown.keys(), ...this.matching().map((r) => r.runId)])]),
    );
    button('None', 'Hide every run that matches the search', 'runs-none', () => {
      const hide = new Set(this.matching().map((r) => r.runId));
      this.actions.show([...this.shown.keys()].filter((id) => !hide.has(id)));
    });
    tools.prepend(s);
    box.append(this.summary, tools, this.list);
    // The list is built while the picker is open only: thousands of runs made every runs
    // message (and the dashboard's first draw) build rows nobody saw.
    box.addEventListener('toggle', () => {
      if (box.open && this.stale) this.renderList();
    });
  }

  render(shown: ReadonlyMap<string, RunInfo>, all: readonly RunInfo[]): void {
    this.shown = shown;
    this.all = all;
    this.summary.textContent = `Runs: ${shown.size} shown of ${all.length}`;
    if (this.box.open) this.renderList();
    else this.stale = true;
    this.emptyBox.textContent =
      all.length === 0 ? NO_RUNS : shown.size === 0 ? 'No run selected: pick runs above.' : '';
  }

  /** Runs whose project, name, id or status contain every word of the search. */
  private matching(): RunInfo[] {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    return this.all.filter((r) => {
      const hay = `${r.project} ${r.name} ${r.runId} ${r.status}`.toLowerCase();
      return words.every((w) => hay.includes(w));
    });
  }

  private renderList(): void {
    this.stale = false;
    const rows: HTMLElement[] = [];
    for (const r of this.matching()) {
      const row = el('div', 'run-row');
      row.dataset.runId = r.runId;
      row.dataset.vscodeContext = JSON.stringify({ webviewSection: 'run', runId: r.runId });
      const check = document.createElement('input');
      check.type = 'checkbox';
      check.id = `run-${r.runId}`;
      check.checked = this.shown.has(r.runId);
      check.addEventListener('change', () => {
        const ids = [...this.shown.keys()].filter((id) => id !== r.runId);
        if (check.checked) ids.push(r.runId);
        this.actions.show(ids);
      });
      const color = document.createElement('input');
      color.type = 'color';
      color.className = 'run-color';
      color.value = toHex6(r.color);
      color.title = `Colour of ${r.name} (click to change)`;
      color.addEventListener('change', () => this.actions.setColor(r.runId, color.value));
      const name = el('label', 'run-name');
      name.htmlFor = check.id;
      name.append(text(`${r.project} / ${r.name}`), text(` ${r.status}`, 'status'));
      name.title = `${r.project} / ${r.name} (${r.status}) · ${r.runId}`;
      const only = el('button', 'runs-button run-only');
      only.type = 'button';
      only.textContent = 'only';
      only.title = `Show only ${r.name}`;
      only.addEventListener('click', () => this.actions.show([r.runId]));
      row.append(check, color, name, only);
      rows.push(row);
    }
    if (rows.length === 0 && this.all.length > 0) rows.push(text('No run matches the search.', 'status'));
    this.list.replaceChildren(...rows);
  }
}

/** `<input type=color>` takes #rrggbb only. */
function toHex6(c: string): string {
  if (/^#[0-9a-f]{6}$/i.test(c)) return c;
  if (/^#[0-9a-f]{3}$/i.test(c)) return '#' + [...c.slice(1)].map((x) => x + x).join('');
  return '#888888';
}
