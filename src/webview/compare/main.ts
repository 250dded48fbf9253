// The compare page: the selected runs' params and final metrics side by side, rows
// whose values differ highlighted. Data comes from the host in one message
// (src/webview/protocol/compare.ts).
import '../dashboard.css';
import {
  type CompareRow,
  type CompareState,
  type CompareTable,
  type CompareWebviewMessage,
  isCompareHostMessage,
} from '../protocol/compare';
import { formatValue } from '../protocol/format';
import { vscodeApi } from '../vscodeApi';

const vscode = vscodeApi<CompareState, CompareWebviewMessage>();
const root = document.getElementById('root') as HTMLElement;
let table: CompareTable | undefined;
let onlyDiffs = false;

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = e.data;
  if (!isCompareHostMessage(msg)) return;
  table = msg.table;
  vscode.setState({ runIds: table.runs.map((r) => r.runId) });
  render();
});
vscode.postMessage({ type: 'ready' });

function render(): void {
  root.replaceChildren();
  if (!table) return;
  const filter = document.createElement('label');
  filter.className = 'compare-filter';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.id = 'only-diffs';
  box.checked = onlyDiffs;
  box.addEventListener('change', () => {
    onlyDiffs = box.checked;
    render();
  });
  filter.append(box, ' Only rows that differ');
  root.append(filter);
  if (table.runs.length === 0) {
    root.append(para('None of the selected runs is in the store any more.'));
    return;
  }
  root.append(
    heading('Params'),
    makeTable(table, table.params),
    heading('Final metrics'),
    makeTable(table, table.metrics),
  );
}

function makeTable(t: CompareTable, rows: CompareRow[]): HTMLElement {
  const shown = onlyDiffs ? rows.filter((r) => r.differs) : rows;
  if (shown.length === 0) return para(rows.length === 0 ? 'None.' : 'All equal.');
  const tableEl = document.createElement('table');
  tableEl.className = 'compare';
  const head = tableEl.createTHead().insertRow();
  head.append(th(''));
  for (const r of t.runs) {
    const cell = th(r.name);
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = r.color;
    cell.prepend(sw);
    cell.title = `${r.project} · ${r.runId} · ${r.status}`;
    head.append(cell);
  }
  const body = tableEl.createTBody();
  for (const row of shown) {
    const tr = body.insertRow();
    tr.dataset.name = row.name;
    if (row.differs) tr.className = 'differs';
    tr.append(th(row.name));
    for (const v of row.values) {
      const td = tr.insertCell();
      td.textContent = v === undefined ? '–' : typeof v === 'number' ? formatValue(v) : String(v);
    }
  }
  return tableEl;
}

function th(s: string): HTMLTableCellElement {
  const e = document.createElement('th');
  e.textContent = s;
  return e;
}

function heading(s: string): HTMLElement {
  const e = document.createElement('h2');
  e.textContent = s;
  return e;
}

function para(s: string): HTMLElement {
  const e = document.createElement('p');
  e.textContent = s;
  return e;
}
