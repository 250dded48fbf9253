// The compare page: the chosen runs named in the header (with their colours), a key for the
// highlighting, the params and final metrics (each with its step) side by side beside one
// small overlaid chart per shared metric. Data comes from the host
// (src/webview/protocol/compare.ts): the table first, then the charts.
import 'uplot/dist/uPlot.min.css';
import '../dashboard.css';
import './compare.css';
import {
  type CompareChartsMessage,
  type CompareRow,
  type CompareState,
  type CompareTable,
  type CompareWebviewMessage,
  type MetricCell,
  type ParamCell,
  isCompareHostMessage,
} from '../protocol/compare';
import { formatWallTime } from '../protocol/format';
import { el, swatch, text } from '../dashboard/dom';
import { vscodeApi } from '../vscodeApi';
import { MISSING, metricText, paramText } from './cells';
import { CompareCharts } from './charts';

const vscode = vscodeApi<CompareState, CompareWebviewMessage>();
const root = document.getElementById('root') as HTMLElement;
let table: CompareTable | undefined;
let charts: CompareChartsMessage | undefined;
let onlyDiffs = false;
const chartView = new CompareCharts();

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = e.data;
  if (!isCompareHostMessage(msg)) return;
  if (msg.type === 'charts') {
    charts = msg;
    if (table) chartView.render(msg.charts, table.runs, msg.omitted);
    return;
  }
  table = msg.table;
  vscode.setState({ runIds: table.runs.map((r) => r.runId) });
  render();
});
vscode.postMessage({ type: 'ready' });

function render(): void {
  root.replaceChildren();
  if (!table) return;
  const t = table;
  if (t.runs.length === 0) {
    root.append(para('None of the selected runs is in the store any more.'));
    return;
  }
  root.append(header(t), key());
  const tables = el('div', 'cmp-tables');
  tables.append(
    heading('Params'),
    makeTable(t, t.params, (c) => paramCell(c)),
    heading('Final metrics'),
    makeTable(t, t.metrics, (c) => metricCell(c)),
  );
  const chartsBox = el('div', 'cmp-charts-col');
  chartsBox.append(heading('Charts'), chartView.element);
  const body = el('div', 'cmp-body');
  body.append(tables, chartsBox);
  root.append(body);
  if (charts) chartView.render(charts.charts, t.runs, charts.omitted);
}

function header(t: CompareTable): HTMLElement {
  const h = el('div', 'cmp-header');
  const h1 = el('h1', '');
  h1.textContent = `Comparing ${t.runs.length} run${t.runs.length === 1 ? '' : 's'}: ${t.runs.map((r) => r.name).join(', ')}`;
  const runs = el('div', 'cmp-runs');
  for (const r of t.runs) {
    const item = el('span', 'cmp-run');
    item.dataset.runId = r.runId;
    item.title = `${r.project} · ${r.status} · started ${formatWallTime(r.startTime * 1000)} · ${r.runId}`;
    item.append(swatch(r.color), text(r.name), text(` · ${r.status}`, 'cmp-note-inline'));
    runs.append(item);
  }
  h.append(h1, runs);
  return h;
}

function key(): HTMLElement {
  const k = el('div', 'cmp-key');
  const differs = el('span', '');
  differs.append(el('span', 'cmp-key-differs'), text('row whose values differ between the runs'));
  const missing = text(`${MISSING} the run has no such param or metric`);
  const colours = text('■ a run’s colour, the same in the charts, the tree and the dashboard');
  const filter = el('label', 'compare-filter');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.id = 'only-diffs';
  box.checked = onlyDiffs;
  box.addEventListener('change', () => {
    onlyDiffs = box.checked;
    render();
  });
  filter.append(box, ' Only rows that differ');
  k.append(differs, missing, colours, filter);
  return k;
}

function paramCell(c: ParamCell): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = paramText(c);
  if (c === null) td.className = 'missing';
  else if (typeof c.value === 'number') td.className = 'num';
  return td;
}

function metricCell(c: MetricCell): HTMLTableCellElement {
  const td = document.createElement('td');
  const { value, step } = metricText(c);
  td.className = c === null ? 'missing' : 'num';
  td.append(text(value));
  if (step) td.append(text(step, 'cmp-step'));
  return td;
}

function makeTable<C>(t: CompareTable, rows: CompareRow<C>[], cell: (c: C) => HTMLTableCellElement): HTMLElement {
  const shown = onlyDiffs ? rows.filter((r) => r.differs) : rows;
  if (shown.length === 0) return para(rows.length === 0 ? 'None.' : 'All equal.');
  const tableEl = document.createElement('table');
  tableEl.className = 'cmp-table';
  const head = tableEl.createTHead().insertRow();
  head.append(th(''));
  for (const r of t.runs) {
    const c = th(r.name);
    c.prepend(swatch(r.color));
    c.title = `${r.project} · ${r.runId} · ${r.status}`;
    head.append(c);
  }
  const body = tableEl.createTBody();
  for (const row of shown) {
    const tr = body.insertRow();
    tr.dataset.name = row.name;
    if (row.differs) tr.className = 'differs';
    tr.append(th(row.name));
    for (const c of row.cells) tr.append(cell(c));
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
