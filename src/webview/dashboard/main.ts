// The dashboard page: one uPlot chart per metric key, grouped by prefix, every shown
// run overlaid in its own color. All data comes from the extension host as min/max-
// decimated typed arrays (src/webview/protocol/dashboard.ts); the page never talks to
// the collector. This file wires the parts: state.ts (what the page knows), toolbar.ts,
// runsPicker.ts, charts.ts → chart.ts (plot, legend, readout, markers, pan/zoom),
// exportChart.ts, probes.ts.
import 'uplot/dist/uPlot.min.css';
import '../dashboard.css';
import { Emitter } from '../../common/emitter';
import {
  type DashboardHostMessage,
  type DashboardState,
  type DashboardWebviewMessage,
  type ExportKind,
  type PageSettings,
  isDashboardHostMessage,
} from '../protocol/dashboard';
import { vscodeApi } from '../vscodeApi';
import type { Chart } from './chart';
import { ChartGrid } from './charts';
import { el } from './dom';
import { chartPng, chartSvg, drawnData } from './exportChart';
import { installProbes } from './probes';
import { RunsPicker } from './runsPicker';
import { DashboardModel, filterKeys, groupOf } from './state';
import { Toolbar } from './toolbar';

const vscode = vscodeApi<DashboardState, DashboardWebviewMessage>();
const model = new DashboardModel(vscode.getState());
let settings: PageSettings = { wheelZoom: 'modifier' };
let axesRequests = 0;
/** A metric to bring forward once its chart exists. */
let pendingFocus: string | undefined;

const root = document.getElementById('root') as HTMLElement;
const runsBox = el('details', 'runs-picker');
const emptyBox = el('div', 'empty');
const groupsBox = el('div', 'groups');
const toolbar = new Toolbar(el('div', 'toolbar'), changeState);
root.append(toolbar.box, runsBox, emptyBox, groupsBox);
const picker = new RunsPicker(runsBox, emptyBox, {
  show: (runIds) => changeState({ runIds }),
  setColor: (runId, color) => vscode.postMessage({ type: 'setColor', runId, color }),
});

const onDidUpdate = new Emitter<Chart>({ name: 'dashboard chart onDidUpdate' });
const onDidDraw = new Emitter<Chart>({ name: 'dashboard chart onDidDraw' });
// One observer for every plot box: grid cells change width when charts come and go.
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) grid.get((e.target.closest('.chart') as HTMLElement | null)?.dataset.key ?? '')?.resize();
});
const grid: ChartGrid = new ChartGrid(groupsBox, {
  model,
  resizer,
  requestRange: (key, range) => vscode.postMessage(model.query(key, range)),
  onDidUpdate,
  onDidDraw,
  settings: () => settings,
  onZoom: (chart, zoom) => grid.syncZoom(chart, zoom),
  expand: (key) => changeState({ expanded: key }),
  changeState,
  exportChart: (chart, kind, resolution) => postExport(chart, kind, resolution),
  requestAxes: (key) => vscode.postMessage({ type: 'axes', requestId: ++axesRequests, key }),
});
installProbes({ model, onDidUpdate: onDidUpdate.event, onDidDraw: onDidDraw.event });
window.addEventListener('resize', () => {
  for (const c of grid.all()) if (c.expanded) c.resize();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && model.state.expanded) changeState({ expanded: undefined });
});

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (isDashboardHostMessage(e.data)) onHostMessage(e.data);
});
vscode.postMessage({ type: 'ready' });

function onHostMessage(msg: DashboardHostMessage): void {
  switch (msg.type) {
    case 'init':
      model.state = msg.state;
      vscode.setState(model.state);
      applySettings(msg.settings);
      setRuns(msg);
      toolbar.sync(model.state);
      break;
    case 'bands':
      if (model.applyBands(msg)) grid.render(new Set([msg.key]));
      focusPending();
      break;
    case 'runs':
      model.state = { ...model.state, runIds: msg.runIds };
      vscode.setState(model.state);
      setRuns(msg);
      break;
    case 'series':
      grid.render(model.applySeries(msg));
      focusPending();
      break;
    case 'settings':
      applySettings(msg.settings);
      break;
    case 'focus':
      focusMetric(msg.key);
      break;
    case 'axes':
      model.setAxes(msg);
      grid.get(msg.key)?.refreshReadout();
      break;
    case 'render': {
      const chart = grid.get(msg.key);
      if (chart) postExport(chart, msg.kind, 'drawn', msg.requestId);
      else
        vscode.postMessage({
          type: 'export',
          key: msg.key,
          kind: msg.kind,
          resolution: 'drawn',
          requestId: msg.requestId,
        });
      break;
    }
  }
}

/** Brings forward the metric asked for before its chart existed, once it does. */
function focusPending(): void {
  if (pendingFocus && grid.get(pendingFocus)) {
    const key = pendingFocus;
    pendingFocus = undefined;
    focusMetric(key);
  }
}

/** Scrolls to `key`'s chart and highlights it, first unhiding it (filter, folded group, another expanded). */
function focusMetric(key: string): void {
  const group = groupOf(key);
  const patch: Partial<DashboardState> = {};
  const { keys } = filterKeys([key], model.state.metricFilter ?? '');
  if (keys.length === 0) patch.metricFilter = '';
  if (model.state.collapsed?.includes(group)) patch.collapsed = model.state.collapsed.filter((g) => g !== group);
  if (model.state.expanded && model.state.expanded !== key) patch.expanded = undefined;
  if (Object.keys(patch).length) {
    changeState(patch);
    toolbar.sync(model.state);
  }
  const show = () => {
    const chart = grid.get(key);
    if (!chart) return false;
    chart.box.scrollIntoView({ block: 'center' });
    chart.box.classList.add('focused');
    setTimeout(() => chart.box.classList.remove('focused'), 1500);
    return true;
  };
  // The chart may not exist yet (its series still on the way): try again when data comes.
  if (!show()) pendingFocus = key;
}

function applySettings(next: PageSettings): void {
  settings = next;
  toolbar.setWheelHint(settings.wheelZoom);
}

function setRuns(msg: Pick<DashboardHostMessage & { type: 'runs' }, 'runs' | 'allRuns' | 'groupFields'>): void {
  const redraw = model.setRuns(msg.runs, msg.allRuns);
  model.groupFields = msg.groupFields ?? [];
  toolbar.setGroupFields(model.groupFields, model.state);
  picker.render(model.runs, model.allRuns);
  if (redraw) grid.render(grid.keys());
}

/** PNG/SVG and drawn CSV/JSON are made here; full-resolution CSV/JSON the host reads from the store. */
function postExport(chart: Chart, kind: ExportKind, resolution: 'full' | 'drawn', requestId?: number): void {
  grid.drawNow(chart.key);
  const plot = chart.uplot;
  let data: string | undefined;
  if (plot && (kind === 'png' || kind === 'svg' || resolution === 'drawn')) {
    const picture = { key: chart.key, plot, series: chart.series, runs: model.runs, xMode: model.state.xMode };
    data = kind === 'png' ? chartPng(picture) : kind === 'svg' ? chartSvg(picture) : drawnData(picture, kind);
  }
  vscode.postMessage({ type: 'export', key: chart.key, kind, resolution, data, requestId });
}

function changeState(patch: Partial<DashboardState>): void {
  const { xChanged } = model.patch(patch);
  vscode.setState(model.state);
  if (xChanged) grid.resetZooms();
  vscode.postMessage({ type: 'state', state: model.state });
  grid.render(grid.keys());
  toolbar.setFilterError(grid.filterError);
  if ('expanded' in patch) {
    for (const c of grid.all()) c.resize();
    if (patch.expanded) grid.get(patch.expanded)?.box.scrollIntoView({ block: 'start' });
  }
}
