// The compare panel's host side: builds the params / final-metrics table for the
// chosen runs and sends it in one message once the webview is ready
// (src/webview/protocol/compare.ts).
import * as vscode from 'vscode';
import type { ParamValue, RunSummary } from '../../api/types';
import { encodeWireNumber } from '../../common/wireNumber';
import {
  type CompareHostMessage,
  type CompareRow,
  type CompareTable,
  isCompareState,
  isCompareWebviewMessage,
} from '../../webview/protocol/compare';
import { webviewHtml, webviewOptions } from '../dashboard/html';
import { runInfo } from '../dashboard/runInfo';
import type { ViewsDeps } from '../deps';

export const COMPARE_VIEW_TYPE = 'runwatch.compare';

export function buildCompareTable(deps: Pick<ViewsDeps, 'store' | 'series'>, runIds: readonly string[]): CompareTable {
  const runs = runIds.map((id) => deps.store.getRun(id)).filter((r): r is RunSummary => !!r);
  const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const params = paramNames.map((name) =>
    row(
      name,
      runs.map((r) => (name in r.params ? r.params[name] : undefined)),
    ),
  );
  const keys = [...new Set(runs.flatMap((r) => safe(() => deps.series.keys(r.runId), [])))].sort();
  const metrics = keys.map((key) =>
    row(
      key,
      runs.map((r) => {
        const p = safe(() => deps.series.latest(r.runId, key), undefined);
        // Non-finite finals travel as text ("NaN"), since JSON has no NaN.
        return p === undefined ? undefined : encodeWireNumber(p.value);
      }),
    ),
  );
  return { runs: runs.map(runInfo), params, metrics };
}

function row(name: string, values: (ParamValue | undefined)[]): CompareRow {
  const first = JSON.stringify(values[0] ?? null);
  return { name, values, differs: values.some((v) => JSON.stringify(v ?? null) !== first) };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

export class ComparePanel {
  private static current: ComparePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

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
      'Runwatch: Compare Runs',
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
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'compare', 'Runwatch: Compare Runs');
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isCompareWebviewMessage(m)) this.send();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** The table as last sent (tests read it). */
  table(): CompareTable {
    return buildCompareTable(this.deps, this.runIds);
  }

  send(): void {
    const message: CompareHostMessage = { type: 'compare', table: this.table() };
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
