// Export from the dashboard: a chart's buttons, its context menu (package.json, webview/context,
// which passes `{ key }`) and the command palette (which asks for the metric). PNG, SVG and the
// data as drawn come from the page; CSV and JSON at full resolution from the store
// (chartExport.ts). Also "Set Run Colour…" (a run's context menu in the dashboard, or the palette).
import * as path from 'path';
import * as vscode from 'vscode';
import type { ExportKind, ExportMessage } from '../../webview/protocol/dashboard';
import { isHexColor } from '../../webview/protocol/palette';
import type { ViewsDeps } from '../deps';
import { exportMetric, writePageExport } from './chartExport';
import { DashboardPanel } from './dashboardPanel';
import { runColors } from './runColors';

/** What tests pass instead of answering the dialogs. */
export interface ExportAnswers {
  file?: string;
  key?: string;
  runId?: string;
  color?: string;
}

const FILTERS: Record<ExportKind, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { CSV: ['csv'] },
  json: { JSON: ['json'] },
};

/** Saves what a chart's button asked for: asks where, writes, says what was written. */
export async function saveChartExport(
  deps: Pick<ViewsDeps, 'exportSource' | 'log'>,
  runIds: readonly string[],
  m: ExportMessage,
  file?: string,
): Promise<string | undefined> {
  try {
    const target = file ?? (await askFile(m.key, m.kind, m.resolution));
    if (!target) return undefined;
    let what: string;
    if ((m.kind === 'csv' || m.kind === 'json') && m.resolution === 'full') {
      const source = deps.exportSource?.();
      if (!source) throw new Error('no run store is open: open a folder or set runwatch.store.path');
      const stats = await exportMetric(source, runIds, m.key, m.kind, target);
      what = `${stats.points.toLocaleString()} points of ${m.key} from ${stats.runs} run${stats.runs === 1 ? '' : 's'}`;
    } else {
      if (m.data === undefined) throw new Error(`the chart ${m.key} is not drawn yet: show it and try again`);
      const bytes = await writePageExport(m.kind, m.data, target);
      what = `${m.key} as ${m.kind.toUpperCase()}${m.resolution === 'drawn' && m.kind !== 'png' && m.kind !== 'svg' ? ' (as drawn)' : ''}, ${bytes.toLocaleString()} bytes`;
    }
    deps.log.info(`dashboard export: ${what} → ${target}`);
    void vscode.window.showInformationMessage(`Runwatch: exported ${what} to ${path.basename(target)}.`);
    return target;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    deps.log.warn(`dashboard export failed: ${msg}`);
    void vscode.window.showErrorMessage(`Runwatch: export failed: ${msg}`);
    return undefined;
  }
}

async function askFile(key: string, kind: ExportKind, resolution: 'full' | 'drawn'): Promise<string | undefined> {
  const base =
    key.replace(/[^\w.-]+/g, '_') + (resolution === 'drawn' && (kind === 'csv' || kind === 'json') ? '-drawn' : '');
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, `${base}.${kind}`) : undefined,
    filters: FILTERS[kind],
    title: `Export ${key}`,
  });
  return uri?.fsPath;
}

export function registerDashboardCommands(deps: ViewsDeps): vscode.Disposable[] {
  const exporter =
    (kind: ExportKind, resolution: 'full' | 'drawn') => async (arg?: unknown, answers?: ExportAnswers) => {
      const panel = DashboardPanel.instance;
      if (!panel) throw new Error('no dashboard is open: run "Runwatch: Show Dashboard" and choose runs first');
      const key = keyOf(arg) ?? answers?.key ?? (await pickKey(panel.keys()));
      if (!key) return undefined;
      const m: ExportMessage =
        (kind === 'csv' || kind === 'json') && resolution === 'full'
          ? { type: 'export', key, kind, resolution }
          : await panel.render(key, kind);
      return saveChartExport(deps, panel.runIds, { ...m, kind, resolution }, answers?.file);
    };
  const cmd = (id: string, f: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await f(...args);
      } catch (err) {
        void vscode.window.showErrorMessage(`Runwatch: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    });
  return [
    cmd('runwatch.dashboard.exportPng', exporter('png', 'drawn')),
    cmd('runwatch.dashboard.exportSvg', exporter('svg', 'drawn')),
    cmd('runwatch.dashboard.exportCsv', exporter('csv', 'full')),
    cmd('runwatch.dashboard.exportJson', exporter('json', 'full')),
    cmd('runwatch.dashboard.exportDrawnCsv', exporter('csv', 'drawn')),
    cmd('runwatch.setRunColor', async (arg?: unknown, answers?: ExportAnswers) => {
      const runId = runIdOf(arg) ?? answers?.runId ?? (await pickRun(deps));
      if (!runId) return undefined;
      const color =
        answers?.color ??
        (await vscode.window.showInputBox({
          title: `Colour of ${deps.store.getRun(runId)?.name ?? runId}`,
          prompt: 'A colour as #rrggbb (e.g. #3b8eea); empty: back to the palette’s',
          value: runColors.colorOf(runId),
          validateInput: (v) => (v === '' || isHexColor(v) ? undefined : 'Give the colour as #rrggbb, e.g. #3b8eea'),
        }));
      if (color === undefined) return undefined;
      runColors.pin(runId, color === '' ? undefined : color);
      return runColors.colorOf(runId);
    }),
  ];
}

function keyOf(arg: unknown): string | undefined {
  return arg && typeof arg === 'object' && typeof (arg as { key?: unknown }).key === 'string'
    ? (arg as { key: string }).key
    : undefined;
}

function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  return arg && typeof arg === 'object' && typeof (arg as { runId?: unknown }).runId === 'string'
    ? (arg as { runId: string }).runId
    : undefined;
}

async function pickKey(keys: string[]): Promise<string | undefined> {
  if (keys.length === 0) throw new Error('the dashboard shows no metric yet: choose runs that logged some');
  return vscode.window.showQuickPick(keys, {
    title: 'Export which metric?',
    placeHolder: 'A metric of the charted runs',
  });
}

async function pickRun(deps: ViewsDeps): Promise<string | undefined> {
  const items = deps.store
    .listRuns()
    .map((r) => ({ label: r.name, description: `${r.project} · ${r.status}`, runId: r.runId }));
  return (await vscode.window.showQuickPick(items, { title: 'Set the colour of which run?' }))?.runId;
}
