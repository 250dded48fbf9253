// The compare panel's host side: sends the chosen runs' params / final-metrics table once the
// webview is ready, then the overlaid charts of the metrics they share
// (src/webview/protocol/compare.ts); the tab is titled with the runs' names. Live runs update it
// at most once a second.
import * as vscode from 'vscode';
import {
  type CompareHostMessage,
  type CompareTable,
  isCompareState,
  isCompareWebviewMessage,
} from '../../webview/protocol/compare';
import { Coalescer } from '../dashboard/coalescer';
import { webviewHtml, webviewOptions } from '../dashboard/html';
import { runColors } from '../dashboard/runColors';
import { runInfo } from '../dashboard/runInfo';
import type { ViewsDeps } from '../deps';
import { buildCompareCharts } from './compareCharts';
import { buildCompareTable } from './compareTable';

export const COMPARE_VIEW_TYPE = 'runwatch.compare';

export class ComparePanel {
  private static current: ComparePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly coalescer = new Coalescer(
    () => 1000,
    () => this.send(),
  );
  private ready = false;
  /** Each send's number: charts of an older send that finish late are dropped. */
  private sendId = 0;
  /** Resolves when the charts of the latest send have been posted (tests wait on it). */
  chartsPosted: Promise<void> = Promise.resolve();

  static get instance(): ComparePanel | undefined {
    return ComparePanel.current;
  }

  static show(deps: ViewsDeps, extensionUri: vscode.Uri, runIds: string[]): ComparePanel {
    const existing = ComparePanel.current;
    if (existing) {
      existing.runIds = runIds;
      existing.panel.reveal();
      existing.send();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      COMPARE_VIEW_TYPE,
      'Compare Runs',
      vscode.ViewColumn.Active,
      webviewOptions(extensionUri),
    );
    return new ComparePanel(panel, deps, extensionUri, runIds);
  }

  /** Used by the serializer after a window reload, with the state the webview saved (checked here). */
  static revive(panel: vscode.WebviewPanel, deps: ViewsDeps, extensionUri: vscode.Uri, saved: unknown): ComparePanel {
    ComparePanel.current?.panel.dispose();
    panel.webview.options = webviewOptions(extensionUri);
    return new ComparePanel(panel, deps, extensionUri, isCompareState(saved) ? saved.runIds : []);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: ViewsDeps,
    extensionUri: vscode.Uri,
    public runIds: string[],
  ) {
    ComparePanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'runwatch.svg');
    panel.title = this.table().title;
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'compare', panel.title);
    const mine = (runId: string) => this.runIds.includes(runId);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!isCompareWebviewMessage(m)) return;
        this.ready = true;
        this.send();
      }),
      panel.onDidDispose(() => this.dispose()),
      toVs(deps.series.onDidChange((runId) => mine(runId) && this.coalescer.schedule())),
      toVs(deps.store.onDidChangeRun((run) => mine(run.runId) && this.coalescer.schedule())),
      toVs(runColors.onDidChange(() => this.coalescer.schedule())),
    );
  }

  /** The table as sent (tests read it). */
  table(): CompareTable {
    // Runs shown together get distinct colours, the same ones the dashboard and tree use.
    runColors.ensureDistinct(this.runIds.filter((id) => this.deps.store.getRun(id)));
    return buildCompareTable(this.deps, this.runIds, runInfo);
  }

  send(): void {
    const table = this.table();
    this.panel.title = table.title;
    if (!this.ready) return;
    this.post({ type: 'compare', table });
    const id = ++this.sendId;
    const runIds = table.runs.map((r) => r.runId);
    this.chartsPosted = buildCompareCharts(this.deps, runIds).then(
      ({ charts, omitted }) => {
        if (id === this.sendId) this.post({ type: 'charts', charts, omitted });
      },
      (err: unknown) => this.deps.log.warn(`compare: the charts could not be read: ${String(err)}`),
    );
  }

  private post(message: CompareHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    this.coalescer.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function toVs(d: { dispose(): unknown }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
