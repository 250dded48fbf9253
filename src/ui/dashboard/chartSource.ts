// "Go to Source" from a chart's context menu (package.json, webview/context passes `{ key }`): the
// line that first logged the chart's metric, in the runs the dashboard shows. Runs of one script log a
// key at one place, so that opens at once; runs of different scripts offer their places by run name.
import * as vscode from 'vscode';
import type { ViewsDeps } from '../deps';
import { goToSource, type GoToSourceArgs } from '../goToSource';
import { DashboardPanel } from './dashboardPanel';
import { type SourcePlace, sourcePlaces } from './sourcePlaces';

export const CHART_GO_TO_SOURCE = 'runwatch.dashboard.goToSource';

export function registerChartGoToSource(deps: Pick<ViewsDeps, 'store'>): vscode.Disposable {
  return vscode.commands.registerCommand(CHART_GO_TO_SOURCE, async (arg?: unknown) => {
    const panel = DashboardPanel.instance;
    const key = keyOf(arg);
    if (!panel || !key) {
      // From the palette: the general command asks for a run's metric.
      return vscode.commands.executeCommand('runwatch.goToSource');
    }
    const runs = panel.runIds.flatMap((id) => deps.store.getRun(id) ?? []);
    const places = sourcePlaces(runs, key);
    if (places.length === 0) {
      void vscode.window.showInformationMessage(
        `Runwatch: none of the charted runs said where "${key}" was logged ` +
          '(a client without source locations, RUNWATCH_SOURCES=0, or imported runs).',
      );
      return undefined;
    }
    const target = places.length === 1 ? places[0] : await pickPlace(key, places);
    if (!target) return undefined;
    const args: GoToSourceArgs = { runId: target.runId, key };
    return goToSource(deps.store, args);
  });
}

async function pickPlace(key: string, places: SourcePlace[]): Promise<SourcePlace | undefined> {
  const pick = await vscode.window.showQuickPick(
    places.map((p) => ({
      label: `${p.loc.file.split(/[\\/]/).pop() ?? p.loc.file}:${p.loc.line}`,
      description: p.runs.length === 1 ? p.runs[0] : `${p.runs[0]} and ${p.runs.length - 1} more`,
      detail: p.loc.file,
      place: p,
    })),
    { title: `Runwatch: Go to Source of ${key}`, placeHolder: 'The charted runs logged it at these places' },
  );
  return pick?.place;
}

function keyOf(arg: unknown): string | undefined {
  return arg && typeof arg === 'object' && typeof (arg as { key?: unknown }).key === 'string'
    ? (arg as { key: string }).key
    : undefined;
}
