// The status bar item: the collector's state at a glance (port, connected clients,
// live runs); a click opens the dashboard.
import * as vscode from 'vscode';
import type { CollectorStateLike, ViewsDeps } from './deps';

export class CollectorStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(deps: Pick<ViewsDeps, 'collector' | 'store'>) {
    this.item = vscode.window.createStatusBarItem('runwatch.collector', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Runwatch Collector';
    this.item.command = 'runwatch.showDashboard';
    if (deps.collector) {
      this.disposables.push(new vscode.Disposable(dispose(deps.collector.onDidChangeState((s) => this.update(s)))));
      this.update(deps.collector.state);
    } else {
      this.update(undefined, 'not running');
    }
    this.item.show();
  }

  update(state: CollectorStateLike | undefined, problem?: string): void {
    if (problem || !state || !state.port) {
      this.item.text = '$(pulse) Runwatch';
      this.item.tooltip = `Runwatch collector: ${problem ?? 'starting'}. Click to open the dashboard.`;
      this.item.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
      return;
    }
    const live = state.liveRuns;
    // The port says what it is (a bare ":4711" says nothing); "Runwatch :port" stays first, as scripts match it.
    const parts = [`$(${live > 0 ? 'sync~spin' : 'pulse'}) Runwatch :${state.port} collector`];
    if (state.clients > 0) parts.push(`${state.clients} client${state.clients === 1 ? '' : 's'}`);
    if (live > 0) parts.push(`${live} live`);
    this.item.text = parts.join(' · ');
    this.item.backgroundColor = undefined;
    this.item.tooltip = new vscode.MarkdownString(
      `**Runwatch collector** on port ${state.port}  \n` +
        `Connected clients: ${state.clients}  \nLive runs: ${live}  \n\nClick to open the dashboard.`,
    );
  }

  dispose(): void {
    this.item.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function dispose(d: { dispose(): unknown }): () => void {
  return () => void d.dispose();
}

/** The fields of a backend's status the warning needs. */
export interface BackendHealthLike {
  id: string;
  displayName: string;
  healthy: boolean;
  details: string;
  lastError?: string;
}

/** A backend still "starting…" after this long is shown as unhealthy: it may never start. */
export const STARTING_GRACE_MS = 20_000;

/**
 * The status bar warning while a chosen backend is unhealthy; a click opens the Backends
 * view. A backend that is starting is not a problem yet, but one that stays starting is
 * (an extension that never registers it, a start that hangs), so it counts after a grace.
 */
export class BackendHealthStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly startingSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => BackendHealthLike[],
    private readonly graceMs = STARTING_GRACE_MS,
  ) {
    this.item = vscode.window.createStatusBarItem('runwatch.backendHealth', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'Runwatch Backend Health';
    this.item.command = 'runwatch.backends.focus';
    this.update();
  }

  update(): void {
    const now = Date.now();
    const all = this.read();
    const starting = new Set(all.filter((s) => !s.healthy && s.details === 'starting…').map((s) => s.id));
    for (const id of [...this.startingSince.keys()]) if (!starting.has(id)) this.startingSince.delete(id);
    for (const id of starting) if (!this.startingSince.has(id)) this.startingSince.set(id, now);
    const overdue = (id: string) => now - (this.startingSince.get(id) ?? now) >= this.graceMs;
    const bad = all.filter((s) => !s.healthy && (!starting.has(s.id) || overdue(s.id)));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = [...starting].filter((id) => !overdue(id));
    if (waiting.length) {
      const next = Math.min(...waiting.map((id) => this.startingSince.get(id)! + this.graceMs)) - now;
      this.timer = setTimeout(() => this.update(), Math.max(100, next));
    }
    if (!bad.length) {
      this.item.hide();
      return;
    }
    const one = bad.length === 1;
    this.item.text = `$(warning) ${one ? `${bad[0].displayName} unhealthy` : `${bad.length} backends unhealthy`}`;
    this.item.tooltip = bad
      .map((s) => {
        const why = starting.has(s.id) ? `still starting after ${Math.round(this.graceMs / 1000)} s` : s.details;
        return `${s.displayName}: ${why}${s.lastError && s.lastError !== s.details ? ` (${s.lastError})` : ''}`;
      })
      .join('\n');
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.item.show();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.item.dispose();
  }
}
