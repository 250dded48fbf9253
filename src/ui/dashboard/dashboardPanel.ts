// The dashboard panel's host side: owns one webview, decides which runs it shows,
// and feeds it decimated series (seriesFeed.ts) over src/webview/protocol/dashboard.ts.
// Live changes are collected per (run, key) and flushed by a Coalescer (at most N
// updates a second); while the panel is hidden only the set of changed keys grows, and
// is replayed on show.
import * as vscode from 'vscode';
import type { RunSummary } from '../../api/types';
import {
  type DashboardHostMessage,
  type DashboardState,
  type ExportKind,
  type ExportMessage,
  type PageSettings,
  defaultDashboardState,
  isDashboardState,
  isDashboardWebviewMessage,
} from '../../webview/protocol/dashboard';
import { errorText } from '../../common/errors';
import { setting } from '../config';
import type { ViewsDeps } from '../deps';
import { Coalescer } from './coalescer';
import { saveChartExport } from './exportCommands';
import { groupBands, groupFields, groupRuns, groupSpec } from './groupBands';
import { webviewHtml, webviewOptions } from './html';
import { runColors } from './runColors';
import { runsPayload } from './runInfo';
import { SeriesFeed } from './seriesFeed';

/** A new dashboard's state, from the settings (runwatch.dashboard.smoothing, .xAxis, .logScale). */
export function newDashboardState(runIds: string[] = []): DashboardState {
  return {
    ...defaultDashboardState,
    runIds,
    smoothing: setting('dashboard.smoothing'),
    xMode: setting('dashboard.xAxis'),
    logScale: setting('dashboard.logScale'),
  };
}

function pageSettings(): PageSettings {
  return { wheelZoom: setting('dashboard.wheelZoom') };
}

export const DASHBOARD_VIEW_TYPE = 'runwatch.dashboard';

export class DashboardPanel {
  private static current: DashboardPanel | undefined;

  private state: DashboardState;
  private ready = false;
  /** run id → keys changed since the last flush */
  private dirty = new Map<string, Set<string>>();
  private runsDirty = false;
  private readonly feed: SeriesFeed;
  private readonly coalescer: Coalescer;
  private readonly disposables: vscode.Disposable[] = [];
  /** Replies the page owes to `render` requests (commands exporting a chart), by request id. */
  private readonly renders = new Map<number, (m: ExportMessage) => void>();
  private renderId = 0;
  /** A metric to bring forward once the page is ready (focusMetric). */
  private pendingFocus: string | undefined;
  /** The page stays alive while hidden (runwatch.dashboard.retainWhenHidden when it was created). */
  private readonly retained: boolean;
  /** The first read of the shown series, started with the panel (see prefetch). */
  private readonly prefetching: Promise<void>;
  /** `init` and the cached slices were posted before the page said `ready` (see sendAhead). */
  private sentAhead = false;
  private disposed = false;

  /** The open dashboard, if any (one per window: "Show Dashboard" reveals it). */
  static get instance(): DashboardPanel | undefined {
    return DashboardPanel.current;
  }

  /** Shows the dashboard, creating it if needed; `runIds` are added to what it shows. */
  static show(deps: ViewsDeps, extensionUri: vscode.Uri, runIds: string[] = [], preserveFocus = false): DashboardPanel {
    const existing = DashboardPanel.current;
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      if (runIds.length) existing.addRuns(runIds);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      'Runwatch Dashboard',
      { viewColumn: vscode.ViewColumn.Active, preserveFocus },
      // A retained page survives hiding (instant re-show, the memory of a live page); else
      // the page reloads on show and draws at once from the host's cache.
      { ...webviewOptions(extensionUri), retainContextWhenHidden: setting('dashboard.retainWhenHidden') },
    );
    return new DashboardPanel(panel, deps, extensionUri, newDashboardState(runIds));
  }

  /** Used by the serializer after a window reload, with the state the webview saved (checked here). */
  static revive(panel: vscode.WebviewPanel, deps: ViewsDeps, extensionUri: vscode.Uri, saved: unknown): DashboardPanel {
    DashboardPanel.current?.panel.dispose();
    const state = isDashboardState(saved) ? { ...defaultDashboardState, ...saved } : newDashboardState();
    panel.webview.options = webviewOptions(extensionUri);
    const shown = `${state.runIds.length} runs, x by ${state.xMode}, log scale ${state.logScale ? 'on' : 'off'}`;
    deps.log.info(`dashboard restored after a reload (${shown})`);
    return new DashboardPanel(panel, deps, extensionUri, state);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: ViewsDeps,
    extensionUri: vscode.Uri,
    state: DashboardState,
  ) {
    DashboardPanel.current = this;
    this.feed = new SeriesFeed(deps);
    this.retained = panel.options.retainContextWhenHidden === true;
    this.state = { ...state, runIds: state.runIds.filter((id) => deps.store.getRun(id)) };
    if (this.state.runIds.length === 0) this.state.runIds = this.defaultRuns();
    // Read on every schedule (a live setting): a change applies to the next update.
    this.coalescer = new Coalescer(
      () => 1000 / setting('dashboard.maxUpdatesPerSecond'),
      () => void this.flush(),
    );
    this.coalescer.setPaused(!panel.visible);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'runwatch.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'dashboard', 'Runwatch Dashboard', { inline: true });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is torn down unless retained: then wait for the new page's `ready`.
        if (!panel.visible && !this.retained) this.ready = this.sentAhead = false;
        this.coalescer.setPaused(!panel.visible);
      }),
      panel.onDidDispose(() => this.dispose()),
      deps.series.onDidChange((runId, keys) => this.onSeriesChange(runId, keys)),
      deps.store.onDidChangeRun((run) => this.onRunChange(run)),
      runColors.onDidChange(() => {
        this.runsDirty = true;
        this.coalescer.schedule();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('runwatch.dashboard.wheelZoom') && this.ready)
          this.post({ type: 'settings', settings: pageSettings() });
        if (e.affectsConfiguration('runwatch.dashboard.palette')) runColors.setPalette(setting('dashboard.palette'));
      }),
    );
    runColors.setPalette(setting('dashboard.palette'));
    this.prefetching = this.prefetch();
    void this.prefetching.then(() => this.sendAhead());
    if (deps.store.onDidDeleteRun) this.disposables.push(deps.store.onDidDeleteRun((id) => this.onRunDeleted(id)));
  }

  /** Run ids shown, in order (tests read this). */
  get runIds(): readonly string[] {
    return this.state.runIds;
  }

  /**
   * Brings `key`'s chart forward (scrolled to, highlighted; its group unfolded and the metric
   * filter cleared if they hid it). Sent once the page is ready, so it also works right after show.
   */
  focusMetric(key: string): void {
    this.pendingFocus = key;
    if (this.ready) this.sendFocus();
  }

  private sendFocus(): void {
    if (this.pendingFocus === undefined) return;
    this.post({ type: 'focus', key: this.pendingFocus });
    this.pendingFocus = undefined;
  }

  /** The keys charted (for the export commands' pick). */
  keys(): string[] {
    return [...new Set(this.state.runIds.flatMap((id) => this.deps.series.keys(id)))].sort();
  }

  /** Asks the page for a chart's picture or drawn data (the export commands). */
  render(key: string, kind: ExportKind): Promise<ExportMessage> {
    const requestId = ++this.renderId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.renders.delete(requestId);
        reject(new Error('the dashboard did not answer: show it (its tab must be visible) and try again'));
      }, 10_000);
      this.renders.set(requestId, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.post({ type: 'render', requestId, key, kind });
    });
  }

  addRuns(runIds: string[]): void {
    const add = runIds.filter((id) => !this.state.runIds.includes(id) && this.deps.store.getRun(id));
    if (add.length === 0) return;
    this.state = { ...this.state, runIds: [...this.state.runIds, ...add] };
    this.runsDirty = true;
    for (const id of add) this.markAll(id);
    this.coalescer.schedule();
  }

  dispose(): void {
    this.disposed = true;
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.coalescer.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** With nothing chosen: the live runs, or else the newest run. */
  private defaultRuns(): string[] {
    const all = this.deps.store.listRuns();
    const live = all.filter((r) => r.status === 'running').map((r) => r.runId);
    return live.length ? live : all.slice(0, 1).map((r) => r.runId);
  }

  private onMessage(m: unknown): void {
    if (!isDashboardWebviewMessage(m)) {
      this.deps.log.warn(`dashboard: ignored a malformed message from the webview`);
      return;
    }
    switch (m.type) {
      case 'ready': {
        // This page has `init` and the cached slices already when they were sent ahead.
        const ahead = this.sentAhead;
        this.sentAhead = false;
        this.ready = true;
        // A new page starts at the full range; its request ids start again too.
        this.feed.clearRanges();
        if (!ahead) this.postInit();
        // The slices read while the page loaded (or sent to an earlier page) are drawn at once;
        // then the usual flush sends whatever the cache does not hold or changed since.
        void this.prefetching.then(() => {
          this.sendCached(ahead);
          void this.sendBands(this.keys());
        });
        break;
      }
      case 'state': {
        const before = this.state;
        this.state = { ...m.state, runIds: m.state.runIds.filter((id) => this.deps.store.getRun(id)) };
        const added = this.state.runIds.filter((id) => !before.runIds.includes(id));
        if (before.xMode !== this.state.xMode) {
          this.feed.clearRanges();
          for (const id of this.state.runIds) this.markAll(id);
        } else if (before.groupBy && !this.state.groupBy) {
          // Grouped, the page got bands only: the runs' own lines come back now.
          for (const id of this.state.runIds) this.markAll(id);
        } else {
          for (const id of added) this.markAll(id);
        }
        const membersChanged = added.length > 0 || before.runIds.length !== this.state.runIds.length;
        if (membersChanged) this.runsDirty = true;
        this.coalescer.schedule();
        if (groupSpec(before) !== groupSpec(this.state) || (membersChanged && this.state.groupBy))
          void this.sendBands(this.keys());
        break;
      }
      case 'export': {
        const waiting = m.requestId !== undefined ? this.renders.get(m.requestId) : undefined;
        if (waiting) {
          this.renders.delete(m.requestId!);
          waiting(m);
        } else {
          void saveChartExport(this.deps, this.state.runIds, m);
        }
        break;
      }
      case 'axes':
        void this.feed
          .axes(this.state.runIds, m.key)
          .then((runs) => this.post({ type: 'axes', requestId: m.requestId, key: m.key, runs }));
        break;
      case 'setColor':
        try {
          runColors.pin(m.runId, m.color);
        } catch (err) {
          void vscode.window.showErrorMessage(`Runwatch: ${err instanceof Error ? err.message : String(err)}`);
        }
        break;
      case 'query':
        this.feed.setRange(m);
        void this.sendSeries(
          // Grouped, the page draws bands (over the full range): an empty answer closes its query.
          this.state.groupBy ? [] : this.state.runIds.map((runId) => ({ runId, key: m.key })),
          m.requestId,
        );
        break;
    }
  }

  /**
   * Reads the shown runs' slices into the feed's cache while VS Code creates the panel and
   * loads the page, so the store read is off the path from click to first chart.
   */
  private prefetch(): Promise<void> {
    const items = this.state.runIds.flatMap((runId) => this.deps.series.keys(runId).map((key) => ({ runId, key })));
    return this.feed.read(items, this.state.xMode).then(
      () => undefined,
      () => undefined,
    );
  }

  private postInit(): void {
    this.post({ type: 'init', state: this.state, settings: pageSettings(), ...this.runsAndFields() });
  }

  /**
   * A new panel's first page gets `init` and the slices read meanwhile without waiting for its
   * `ready`: VS Code holds a webview's messages until its page has loaded, so the first chart
   * is drawn one host round trip sooner. A page that reloads later (hidden, not retained) asks
   * with `ready` as before.
   */
  private sendAhead(): void {
    if (this.ready || this.disposed || !this.panel.visible) return;
    this.sentAhead = true;
    this.postInit();
    if (this.state.groupBy) return; // grouped: bands follow `ready`
    const cached = this.feed.cached(this.state.runIds, this.state.xMode);
    if (cached.length) this.post({ type: 'series', series: cached, sentAt: Date.now() });
  }

  /** After `ready`: the cached slices (unless the page has them already), then a flush for the rest. */
  private sendCached(alreadySent = false): void {
    if (!this.ready) return;
    if (this.state.groupBy) {
      // Grouped: the page gets each key's bands (sent with `ready`), never the runs' points.
      this.dirty.clear();
      this.sendFocus();
      return;
    }
    const cached = this.feed.cached(this.state.runIds, this.state.xMode);
    if (cached.length && !alreadySent) this.post({ type: 'series', series: cached, sentAt: Date.now() });
    this.sendFocus();
    const have = new Set(cached.map((c) => `${c.runId}\0${c.key}`));
    // Changes while hidden are in `dirty` already; add what the cache does not hold.
    for (const id of this.state.runIds) {
      const missing = this.deps.series.keys(id).filter((k) => !have.has(`${id}\0${k}`));
      if (!missing.length) continue;
      let set = this.dirty.get(id);
      if (!set) this.dirty.set(id, (set = new Set()));
      for (const k of missing) set.add(k);
    }
    void this.flush();
  }

  private onSeriesChange(runId: string, keys: string[]): void {
    if (!this.state.runIds.includes(runId)) return;
    let set = this.dirty.get(runId);
    if (!set) this.dirty.set(runId, (set = new Set()));
    for (const k of keys) set.add(k);
    this.coalescer.schedule();
  }

  private onRunChange(run: RunSummary): void {
    if (this.state.runIds.includes(run.runId)) {
      this.runsDirty = true;
      this.coalescer.schedule();
    } else if (this.state.follow && run.status === 'running') {
      this.addRuns([run.runId]);
    } else {
      // The run picker lists every run.
      this.runsDirty = true;
      this.coalescer.schedule();
    }
  }

  private onRunDeleted(runId: string): void {
    this.feed.forget(runId);
    runColors.forget(runId);
    this.state = { ...this.state, runIds: this.state.runIds.filter((id) => id !== runId) };
    this.dirty.delete(runId);
    this.runsDirty = true;
    this.coalescer.schedule();
  }

  private markAll(runId: string): void {
    this.dirty.set(runId, new Set(this.deps.series.keys(runId)));
  }

  private async flush(): Promise<void> {
    if (!this.ready) return;
    if (this.runsDirty) {
      this.runsDirty = false;
      this.post({ type: 'runs', runIds: this.state.runIds, ...this.runsAndFields() });
    }
    const items: { runId: string; key: string }[] = [];
    for (const [runId, keys] of this.dirty) for (const key of keys) items.push({ runId, key });
    this.dirty.clear();
    if (!items.length) return;
    if (this.state.groupBy) await this.sendBands([...new Set(items.map((i) => i.key))]);
    else await this.sendSeries(items);
  }

  private runsAndFields(): ReturnType<typeof runsPayload> & { groupFields: string[] } {
    const shown = this.state.runIds.map((id) => this.deps.store.getRun(id)).filter((r) => r !== undefined);
    return { ...runsPayload(this.deps.store, this.state.runIds), groupFields: groupFields(shown) };
  }

  /** With a grouping on: each key's group lines and bands, computed here from the stored series. */
  private async sendBands(keys: readonly string[]): Promise<void> {
    const state = this.state;
    const spec = groupSpec(state);
    if (!spec || !state.groupBy || !this.ready) return;
    const shown = state.runIds.map((id) => this.deps.store.getRun(id)).filter((r) => r !== undefined);
    const groups = groupRuns(shown, state.groupBy);
    for (const key of keys) {
      try {
        const bands = await groupBands(this.deps.series, groups, key, state, (id) => runColors.colorOf(id));
        // A grouping changed meanwhile: its own request sends the bands it needs.
        if (groupSpec(this.state) !== spec) return;
        this.post({ type: 'bands', spec, key, groups: bands });
      } catch (err) {
        this.deps.log.warn(`dashboard: the group bands of ${key} failed: ${errorText(err)}`);
      }
    }
  }

  private async sendSeries(items: { runId: string; key: string }[], requestId?: number): Promise<void> {
    const series = await this.feed.read(items, this.state.xMode);
    if (series.length || requestId !== undefined) {
      this.post({ type: 'series', series, requestId, sentAt: Date.now() });
    }
  }

  private post(message: DashboardHostMessage): void {
    void this.panel.webview
      .postMessage(message)
      .then(undefined, (err: unknown) => this.deps.log.warn(`dashboard: postMessage failed: ${String(err)}`));
  }
}
