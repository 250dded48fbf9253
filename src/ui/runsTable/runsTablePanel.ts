// The runs table's host side: every run as a row (src/ui/runsTable/rows.ts) after the page's
// `ready`, then only the rows that changed, at most four times a second; group bands computed here
// from the series cache (src/store/series/bands.ts); actions on selected rows run the same commands
// as the Runs tree (plot, compare, delete) and the tag commands (src/ui/tags.ts).
import * as vscode from 'vscode';
import { errorText } from '../../common/errors';
import { groupBand } from '../../store/series/bands';
import {
  type ActionMessage,
  type BandsReply,
  type BandsRequest,
  type RunsTableHostMessage,
  type WireBand,
  isRunsTableWebviewMessage,
  toRunsTableState,
} from '../../webview/protocol/runsTable';
import { webviewHtml, webviewOptions } from '../dashboard/html';
import { runColors } from '../dashboard/runColors';
import type { ViewsDeps } from '../deps';
import { MetricExtremes, wireRun } from './rows';

export const RUNS_TABLE_VIEW_TYPE = 'runwatch.runsTable';
const TITLE = 'Runwatch: Runs Table';
const FLUSH_MS = 250;

const ACTION_COMMANDS: Record<ActionMessage['action'], string> = {
  plot: 'runwatch.openInDashboard',
  compare: 'runwatch.compareRuns',
  delete: 'runwatch.deleteRun',
  tag: 'runwatch.tagRuns',
  untag: 'runwatch.untagRuns',
  archive: 'runwatch.archiveRuns',
  unarchive: 'runwatch.unarchiveRuns',
};

export class RunsTablePanel {
  private static current: RunsTablePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly extremes: MetricExtremes;
  private ready = false;
  private disposed = false;
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  private resetPending = false;
  private timer: NodeJS.Timeout | undefined;

  static get instance(): RunsTablePanel | undefined {
    return RunsTablePanel.current;
  }

  static show(deps: ViewsDeps, extensionUri: vscode.Uri): RunsTablePanel {
    const existing = RunsTablePanel.current;
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(RUNS_TABLE_VIEW_TYPE, TITLE, vscode.ViewColumn.Active, {
      ...webviewOptions(extensionUri),
      retainContextWhenHidden: true,
    });
    return new RunsTablePanel(panel, deps, extensionUri);
  }

  /** After a window reload; the page restores its own state (filter, sort, columns) from webview state. */
  static revive(panel: vscode.WebviewPanel, deps: ViewsDeps, extensionUri: vscode.Uri, saved: unknown): RunsTablePanel {
    RunsTablePanel.current?.panel.dispose();
    panel.webview.options = webviewOptions(extensionUri);
    deps.log.info(`runs table restored (filter ${JSON.stringify(toRunsTableState(saved).filter)})`);
    return new RunsTablePanel(panel, deps, extensionUri);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: ViewsDeps,
    extensionUri: vscode.Uri,
  ) {
    RunsTablePanel.current = this;
    this.extremes = new MetricExtremes(deps.series);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'runwatch.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'runsTable', TITLE);
    const store = deps.store;
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      store.onDidChangeRun((r) => this.markDirty(r.runId)),
      deps.series.onDidChange((runId) => this.markDirty(runId)),
      runColors.onDidChange(() => {
        this.resetPending = true;
        this.schedule();
      }),
    );
    if (store.onDidDeleteRun) {
      this.disposables.push(
        store.onDidDeleteRun((runId) => {
          this.extremes.forget(runId);
          this.dirty.delete(runId);
          this.removed.add(runId);
          this.schedule();
        }),
      );
    }
  }

  private onMessage(m: unknown): void {
    if (!isRunsTableWebviewMessage(m)) return;
    if (m.type === 'ready') {
      this.ready = true;
      this.resetPending = true;
      this.flush();
      void this.fillExtremes(this.deps.store.listRuns().map((r) => r.runId));
    } else if (m.type === 'bands') {
      void this.answerBands(m);
    } else if (m.type === 'goToSource') {
      void vscode.commands
        .executeCommand('runwatch.goToSource', { runId: m.runId, key: m.key })
        .then(undefined, (err: unknown) => {
          void vscode.window.showErrorMessage(`Runwatch: Go to Source failed: ${errorText(err)}`);
        });
    } else if (m.type === 'action') {
      const ids = m.runIds.filter((id) => this.deps.store.getRun(id));
      if (ids.length === 0) return;
      void vscode.commands.executeCommand(ACTION_COMMANDS[m.action], ids).then(undefined, (err: unknown) => {
        void vscode.window.showErrorMessage(`Runwatch: ${m.action} failed: ${errorText(err)}`);
      });
    }
  }

  private async fillExtremes(runIds: string[]): Promise<void> {
    const t0 = Date.now();
    await this.extremes.fill(
      runIds,
      (runId) => this.markDirty(runId, false),
      () => this.disposed,
    );
    if (runIds.length > 100)
      this.deps.log.info(`runs table: min/max of ${runIds.length} runs in ${Date.now() - t0} ms`);
  }

  private markDirty(runId: string, refill = true): void {
    this.dirty.add(runId);
    this.removed.delete(runId);
    if (refill && this.ready && this.extremes.stale(runId)) void this.fillExtremes([runId]);
    this.schedule();
  }

  private schedule(): void {
    if (!this.ready || this.timer || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, FLUSH_MS);
  }

  private flush(): void {
    if (!this.ready || this.disposed) return;
    const store = this.deps.store;
    let message: RunsTableHostMessage;
    if (this.resetPending) {
      this.resetPending = false;
      this.dirty.clear();
      this.removed.clear();
      message = {
        type: 'runs',
        reset: true,
        runs: store.listRuns().map((r) => wireRun(r, this.deps.series, this.extremes, runColors.colorOf(r.runId))),
      };
    } else {
      if (this.dirty.size === 0 && this.removed.size === 0) return;
      const runs = [...this.dirty].map((id) => this.row(id)).filter((r) => r !== undefined);
      message = { type: 'runs', reset: false, runs, removed: [...this.removed] };
      this.dirty.clear();
      this.removed.clear();
    }
    void this.panel.webview.postMessage(message);
  }

  private row(runId: string): ReturnType<typeof wireRun> | undefined {
    const r = this.deps.store.getRun(runId);
    return r ? wireRun(r, this.deps.series, this.extremes, runColors.colorOf(runId)) : undefined;
  }

  private async answerBands(m: BandsRequest): Promise<void> {
    const t0 = performance.now();
    const bands: WireBand[] = [];
    for (const g of m.groups) {
      try {
        const b = await groupBand(this.deps.series, {
          runIds: g.runIds,
          key: m.key,
          center: m.center,
          spread: m.spread,
        });
        const arr = (a: Float64Array) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
        bands.push({
          key: g.key,
          label: g.label,
          runs: b.runs,
          x: Array.from(b.x),
          center: arr(b.center),
          lo: arr(b.lo),
          hi: arr(b.hi),
        });
      } catch (err) {
        this.deps.log.warn(`runs table: the band of ${g.label} for ${m.key} failed: ${errorText(err)}`);
      }
    }
    if (this.disposed) return;
    const reply: BandsReply = { type: 'bands', requestId: m.requestId, key: m.key, bands, ms: performance.now() - t0 };
    void this.panel.webview.postMessage(reply);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (RunsTablePanel.current === this) RunsTablePanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
