// The dashboard page: one uPlot chart per metric key, grouped by prefix, every shown
// run overlaid in its own color. All data comes from the extension host as min/max-
// decimated typed arrays (src/webview/protocol/dashboard.ts); the page never talks to
// the collector. This file wires the parts: state.ts (what the page knows), toolbar.ts,
// runsPicker.ts, charts.ts → chart.ts (plot, legend, markers, pan/zoom), probes.ts.
import 'uplot/dist/uPlot.min.css';
import '../dashboard.css';
import { Emitter } from '../../common/emitter';
import {
  type DashboardHostMessage,
  type DashboardState,
  type DashboardWebviewMessage,
  isDashboardHostMessage,
} from '../protocol/dashboard';
import { vscodeApi } from '../vscodeApi';
import type { Chart } from './chart';
import { ChartGrid } from './charts';
import { el } from './dom';
import { installProbes } from './probes';
import { renderRunsPicker } from './runsPicker';
import { DashboardModel } from './state';
import { Toolbar } from './toolbar';

const vscode = vscodeApi<DashboardState, DashboardWebviewMessage>();
const model = new DashboardModel(vscode.getState());

const root = document.getElementById('root') as HTMLElement;
const runsBox = el('details', 'runs-picker');
const emptyBox = el('div', 'empty');
const groupsBox = el('div', 'groups');
const toolbar = new Toolbar(el('div', 'toolbar'), changeState);
root.append(toolbar.box, runsBox, emptyBox, groupsBox);

const onDidUpdate = new Emitter<Chart>({ name: 'dashboard chart onDidUpdate' });
const onDidDraw = new Emitter<Chart>({ name: 'dashboard chart onDidDraw' });
// One observer for every plot box: grid cells change width when charts come and go.
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) grid.get((e.target.parentElement as HTMLElement).dataset.key ?? '')?.resize();
});
const grid = new ChartGrid(groupsBox, {
  model,
  resizer,
  requestRange: (key, range) => vscode.postMessage(model.query(key, range)),
  onDidUpdate,
  onDidDraw,
});
installProbes({ model, onDidUpdate: onDidUpdate.event, onDidDraw: onDidDraw.event });

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (isDashboardHostMessage(e.data)) onHostMessage(e.data);
});
vscode.postMessage({ type: 'ready' });

function onHostMessage(msg: DashboardHostMessage): void {
  switch (msg.type) {
    case 'init':
      model.state = msg.state;
      vscode.setState(model.state);
      setRuns(msg);
      toolbar.sync(model.state);
      break;
    case 'runs':
      model.state = { ...model.state, runIds: msg.runIds };
      vscode.setState(model.state);
      setRuns(msg);
      break;
    case 'series':
      grid.render(model.applySeries(msg));
      break;
  }
}

function setRuns(msg: Pick<DashboardHostMessage & { type: 'runs' }, 'runs' | 'allRuns'>): void {
  const redraw = model.setRuns(msg.runs, msg.allRuns);
  renderRunsPicker(runsBox, emptyBox, model.runs, model.allRuns, toggleRun);
  if (redraw) grid.render(grid.keys());
}

function toggleRun(runId: string, show: boolean): void {
  const ids = model.state.runIds.filter((id) => id !== runId);
  if (show) ids.push(runId);
  changeState({ runIds: ids });
}

function changeState(patch: Partial<DashboardState>): void {
  const { xChanged } = model.patch(patch);
  vscode.setState(model.state);
  if (xChanged) grid.resetZooms();
  vscode.postMessage({ type: 'state', state: model.state });
  grid.render(grid.keys());
}
