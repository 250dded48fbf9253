// The runs table page: every run as a row (from the host, src/webview/protocol/runsTable.ts),
// filtered, sorted and grouped here (rowsModel.ts), drawn virtually (table.ts), with a column
// chooser, group bands (bandChart.ts, computed by the host) and parallel coordinates whose brushes
// filter the table. Its state lives in the webview state, so a reload brings it back.
import './runsTable.css';
import { decodeWireNumber } from '../../common/wireNumber';
import {
  type BandsRequest,
  type Brush,
  type RunsTableState,
  type RunsTableWebviewMessage,
  type WireRun,
  isRunsTableHostMessage,
  toRunsTableState,
} from '../protocol/runsTable';
import { vscodeApi } from '../vscodeApi';
import { BandChart } from './bandChart';
import { allColumnIds, move, numericParamIds, orderedIds, tableColumn } from './columns';
import { buildControls, renderChooser, setOptions } from './controls';
import type { MetricStats, TableRun } from './fields';
import { type Compiled, compileFilter } from './filterExpr';
import { ParallelCoords } from './parcoords';
import { installProbes } from './probes';
import { type ViewResult, buildView, differingColumns } from './rowsModel';
import { RunsTableView, type TableColumn } from './table';

const vscode = vscodeApi<RunsTableState, RunsTableWebviewMessage>();
let state = toRunsTableState(vscode.getState());
const runs = new Map<string, TableRun>();
let runList: TableRun[] = [];
let allIds: string[] = [];
let numericParams = new Set<string>();
let compiled: Compiled = compileFilter(state.filter);
let view: ViewResult = { items: [], runs: [], hiddenArchived: 0 };
const selected = new Set<string>();
let anchor: number | undefined;
let lastColumns: TableColumn[] = [];
let bandRequest = 0;
let bandTimer: ReturnType<typeof setTimeout> | undefined;
let lastBandAsk = '';

const root = document.getElementById('root') as HTMLElement;
const controls = buildControls(root, {
  onFilter: (text) => {
    state.filter = text;
    compiled = compileFilter(text);
    refresh();
  },
  onShowArchived: (v) => update({ showArchived: v }),
  onOnlyDiffer: (v) => update({ onlyDiffer: v }),
  onSelectAll: () => selectAll(),
  onClearSelection: () => {
    selected.clear();
    selectionChanged();
  },
  onAction: (action) => {
    if (selected.size === 0) return;
    vscode.postMessage({ type: 'action', action, runIds: [...selected] });
  },
});
const table = new RunsTableView(root, {
  onSort: (id) => update({ sort: state.sort?.id === id ? { id, desc: !state.sort.desc } : { id, desc: false } }),
  onToggleGroup: (key) => {
    const ex = new Set(state.expanded);
    if (ex.has(key)) ex.delete(key);
    else ex.add(key);
    update({ expanded: [...ex] });
  },
  onRowClick: (index, ev) => clickRow(index, ev),
  onGoToSource: (runId, key) => vscode.postMessage({ type: 'goToSource', runId, key }),
});
const bands = new BandChart(controls.bandBox);
const pc = new ParallelCoords(controls.pcBox, (id, brush) => setBrush(id, brush));
const probes = installProbes({ table, runsCount: () => runs.size, view: () => view, compiled: () => compiled });

controls.filter.value = state.filter;
controls.showArchived.checked = state.showArchived;
controls.onlyDiffer.checked = state.onlyDiffer;
controls.bandCenter.value = state.bandCenter;
controls.bandSpread.value = state.bandSpread;
controls.groupPanel.open = state.groupBy.length > 0;
controls.pcPanel.open = Object.keys(state.brushes).length > 0 || state.pcMetric !== undefined;
controls.groupBy.addEventListener('change', () =>
  update({ groupBy: controls.groupBy.value ? [controls.groupBy.value] : [] }),
);
controls.bandKey.addEventListener('change', () => update({ bandKey: controls.bandKey.value || undefined }));
controls.bandCenter.addEventListener('change', () =>
  update({ bandCenter: controls.bandCenter.value as 'mean' | 'median' }),
);
controls.bandSpread.addEventListener('change', () =>
  update({ bandSpread: controls.bandSpread.value as 'minmax' | 'std' }),
);
controls.pcMetric.addEventListener('change', () => update({ pcMetric: controls.pcMetric.value || undefined }));
controls.pcPanel.addEventListener('toggle', () => refresh());
controls.groupPanel.addEventListener('toggle', () => refresh());
controls.clearBrushes.addEventListener('click', () => update({ brushes: {} }));
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'a' && !(e.target instanceof HTMLInputElement)) {
    e.preventDefault();
    selectAll();
  }
});

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = e.data;
  if (!isRunsTableHostMessage(msg)) return;
  if (msg.type === 'runs') {
    if (msg.reset) runs.clear();
    for (const w of msg.runs) runs.set(w.runId, decodeRun(w));
    for (const id of msg.removed ?? []) {
      runs.delete(id);
      selected.delete(id);
    }
    runList = [...runs.values()];
    allIds = allColumnIds(runList);
    numericParams = numericParamIds(runList);
    lastColumns = [];
    refresh();
    probes.received(msg.runs.length);
  } else if (msg.type === 'bands' && msg.requestId === bandRequest) {
    bands.set(msg.bands, msg.key, msg.ms);
  }
});
vscode.postMessage({ type: 'ready' });

function decodeRun(w: WireRun): TableRun {
  const metrics: Record<string, MetricStats> = {};
  for (const [k, [last, min, max]] of Object.entries(w.metrics)) {
    metrics[k] = {
      ...(last !== null ? { last: decodeWireNumber(last) } : {}),
      ...(min !== null ? { min: decodeWireNumber(min) } : {}),
      ...(max !== null ? { max: decodeWireNumber(max) } : {}),
    };
  }
  return { ...w, metrics };
}

function update(patch: Partial<RunsTableState>): void {
  state = { ...state, ...patch };
  refresh();
}

function setBrush(id: string, brush: Brush | undefined): void {
  const brushes = { ...state.brushes };
  if (brush) brushes[id] = brush;
  else delete brushes[id];
  update({ brushes });
}

function selectAll(): void {
  for (const r of view.runs) selected.add(r.runId);
  selectionChanged();
}

/** What a new selection changes: the rows' highlight, the count and the actions; not the rows. */
function selectionChanged(): void {
  table.select(selected);
  controls.selection.textContent = selected.size ? `${selected.size} selected` : '';
  for (const b of controls.actions.values()) b.disabled = selected.size === 0;
}

function clickRow(index: number, ev: MouseEvent): void {
  const item = view.items[index];
  if (!item) return;
  const ids = item.kind === 'group' ? item.runs.map((r) => r.runId) : [item.run.runId];
  if (ev.shiftKey && anchor !== undefined) {
    if (!(ev.ctrlKey || ev.metaKey)) selected.clear();
    const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
    for (let i = a; i <= b; i++) {
      const it = view.items[i];
      if (it.kind === 'run') selected.add(it.run.runId);
    }
  } else if (ev.ctrlKey || ev.metaKey) {
    const all = ids.every((id) => selected.has(id));
    for (const id of ids) {
      if (all) selected.delete(id);
      else selected.add(id);
    }
    anchor = index;
  } else {
    selected.clear();
    for (const id of ids) selected.add(id);
    anchor = index;
  }
  selectionChanged();
}

function columns(): TableColumn[] {
  const ordered = orderedIds(allIds, state.order);
  const hidden = new Set(state.hidden);
  let shown = ordered.filter((id) => !hidden.has(id));
  if (state.onlyDiffer && view.runs.length > 1) {
    const differ = differingColumns(view.runs, shown);
    shown = shown.filter((id) => id === 'name' || differ.has(id));
  }
  const cols = shown.map((id) => tableColumn(id, numericParams)).filter((c): c is TableColumn => c !== undefined);
  // Same ids: keep the old array, so the header is not rebuilt on every keystroke.
  if (cols.length === lastColumns.length && cols.every((c, i) => c.id === lastColumns[i].id)) return lastColumns;
  lastColumns = cols;
  return cols;
}

function refresh(): void {
  const t0 = performance.now();
  vscode.setState(state);
  if (compiled.ok) {
    controls.filter.classList.remove('bad');
    controls.error.textContent = '';
  } else {
    const { column, message } = compiled.error;
    controls.filter.classList.add('bad');
    controls.error.textContent = `${' '.repeat(Math.max(0, column - 1))}^ column ${column}: ${message}`;
  }
  const test = compiled.ok ? compiled.test : () => true;
  const spec = {
    test,
    showArchived: state.showArchived,
    brushes: state.brushes,
    sort: state.sort,
    groupBy: state.groupBy,
    expanded: new Set(state.expanded),
  };
  view = buildView(runList, spec);
  const cols = columns();
  table.set(view.items, cols, selected, state.sort);
  const archived = view.hiddenArchived ? ` · ${view.hiddenArchived} archived hidden` : '';
  controls.count.textContent = `${view.runs.length} of ${runs.size} runs${archived}`;
  selectionChanged();
  renderChooser(controls.columnsList, orderedIds(allIds, state.order), new Set(state.hidden), {
    onToggle: (id, shown) => update({ hidden: shown ? state.hidden.filter((h) => h !== id) : [...state.hidden, id] }),
    onMove: (id, dir) => update({ order: move(orderedIds(allIds, state.order), id, dir) }),
  });
  refreshGroups();
  refreshParallel(spec);
  probes.refreshed(performance.now() - t0, state);
}

function metricKeys(): string[] {
  return [
    ...new Set(
      allIds.filter((id) => id.startsWith('metrics.')).map((id) => id.replace(/^metrics\.|\.(last|min|max)$/g, '')),
    ),
  ];
}

function refreshGroups(): void {
  const groupable = allIds.filter(
    (id) => id.startsWith('params.') || id.startsWith('tags.') || id === 'status' || id === 'project',
  );
  setOptions(
    controls.groupBy,
    [['', 'none'], ...groupable.map((id): [string, string] => [id, id])],
    state.groupBy[0] ?? '',
  );
  const keys = metricKeys();
  setOptions(
    controls.bandKey,
    keys.map((k): [string, string] => [k, k]),
    state.bandKey ?? '',
  );
  if (!controls.groupPanel.open || state.groupBy.length === 0 || !controls.bandKey.value) {
    if (state.groupBy.length === 0) bands.set([], '', 0);
    return;
  }
  const groups = view.items
    .filter((i) => i.kind === 'group')
    .slice(0, 12)
    .map((g) => ({ key: g.key, label: g.label, runIds: g.runs.map((r) => r.runId) }));
  const ask = JSON.stringify([controls.bandKey.value, state.bandCenter, state.bandSpread, groups]);
  if (ask === lastBandAsk) return;
  lastBandAsk = ask;
  if (bandTimer) clearTimeout(bandTimer);
  bandTimer = setTimeout(() => {
    const req: BandsRequest = {
      type: 'bands',
      requestId: ++bandRequest,
      key: controls.bandKey.value,
      groups,
      center: state.bandCenter,
      spread: state.bandSpread,
    };
    vscode.postMessage(req);
  }, 150);
}

function refreshParallel(spec: Parameters<typeof buildView>[1]): void {
  const keys = metricKeys();
  const metricIds = keys.map((k) => `metrics.${k}.last`).concat(keys.map((k) => `metrics.${k}.min`));
  setOptions(
    controls.pcMetric,
    metricIds.map((id): [string, string] => [id, id]),
    state.pcMetric ?? '',
  );
  if (!controls.pcPanel.open) return;
  // Lines for every run the filter keeps; the brushes only decide which are highlighted.
  const base = buildView(runList, { ...spec, brushes: {}, groupBy: [], sort: undefined });
  const params = allIds.filter((id) => id.startsWith('params.') && !state.hidden.includes(id));
  const axes = [...params, ...(controls.pcMetric.value ? [controls.pcMetric.value] : [])];
  pc.set(base.runs, axes, state.brushes);
}
