// The Runs tree: projects → runs (a swatch in the run's chart colour with its status on it,
// duration, last step, tags) → the error of a failed run, metrics with their latest values,
// and params. A filter (text, status, tags; archived runs hidden unless shown) narrows the
// runs. Refreshes are throttled: a training run changes many times a second, a tree needs to
// repaint only a couple of times. The wording lives in runsTree/ (pure, unit-tested).
//
// contextValue of the items, stable because menus in package.json match them:
//   `project` · `run.<status>` (run.running, run.finished, run.failed, run.crashed, run.killed)
//   · `metric` · `param` · `runError`
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ParamValue, RunSummary } from '../api/types';
import { formatStep, formatValue } from '../webview/protocol/format';
import { Coalescer } from './dashboard/coalescer';
import { runColors } from './dashboard/runColors';
import type { SeriesLike, ViewsDeps } from './deps';
import { NO_FILTER, type RunsFilter, filterMessage, isFiltering, matchesFilter } from './runsTree/filter';
import { type RunErrorDetails, hasError, readRunErrorDetails } from './runsTree/runErrors';
import { metricTooltipMarkdown, runDescription, runTooltipMarkdown, splitError } from './runsTree/runText';
import { SwatchFiles } from './runsTree/swatches';

export { formatDuration, runDescription } from './runsTree/runText';

export type RunsNode =
  | { kind: 'project'; project: string }
  | { kind: 'run'; runId: string }
  | { kind: 'error'; runId: string }
  | { kind: 'metrics'; runId: string }
  | { kind: 'params'; runId: string }
  | { kind: 'metric'; runId: string; key: string }
  | { kind: 'param'; runId: string; name: string; value: ParamValue };

export interface RunsTreeOptions {
  /** Where the swatch icons are written (the extension's global storage); default: a temp folder. */
  iconDir?: string;
}

type Deps = Pick<ViewsDeps, 'store' | 'series' | 'exportSource'>;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | RunsNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly filterChanged = new vscode.EventEmitter<RunsFilter>();
  /** Fired when the filter changes (the view updates its message and title buttons). */
  readonly onDidChangeFilter = this.filterChanged.event;
  private readonly coalescer = new Coalescer(
    () => 500,
    () => this.flushChanges(),
  );
  /** Runs changed since the last repaint; `everything` when the whole tree must be rebuilt. */
  private readonly dirtyRuns = new Set<string>();
  private everything = false;
  /** The visible runs (project and id, in order) at the last repaint: a change means a rebuild. */
  private lastShape = '';
  /** One node object per run: VS Code repaints a single row only for the object it was given. */
  private readonly runNodes = new Map<string, Extract<RunsNode, { kind: 'run' }>>();
  private readonly disposables: vscode.Disposable[] = [this.changed, this.filterChanged];
  private filterValue: RunsFilter = NO_FILTER;
  private swatches: SwatchFiles;
  /** Errors read from the logs, by run id, with the end time they were read for. */
  private readonly errors = new Map<string, { endTime?: number; details: Promise<RunErrorDetails> }>();
  /** The same once read, for the items built synchronously. */
  private readonly readErrors = new Map<string, RunErrorDetails>();

  constructor(
    private readonly deps: Deps,
    options: RunsTreeOptions = {},
  ) {
    this.swatches = new SwatchFiles(
      options.iconDir ?? path.join(os.tmpdir(), `runwatch-swatches-${os.userInfo().uid}`),
    );
    this.disposables.push(
      toVs(deps.store.onDidChangeRun((run) => this.runChanged(run.runId))),
      toVs(deps.series.onDidChange((runId) => this.runChanged(runId))),
      toVs(runColors.onDidChange(() => this.allChanged())),
    );
    if (deps.store.onDidDeleteRun)
      this.disposables.push(
        toVs(
          deps.store.onDidDeleteRun((runId) => {
            this.runNodes.delete(runId);
            this.allChanged();
          }),
        ),
      );
  }

  /** Swatches go to `dir` from now on (the extension's global storage, once it is known). */
  useIconDir(dir: string): void {
    this.swatches = new SwatchFiles(dir);
    this.refresh();
  }

  get filter(): RunsFilter {
    return this.filterValue;
  }

  setFilter(filter: RunsFilter): void {
    this.filterValue = { ...filter, text: filter.text.trim() };
    this.filterChanged.fire(this.filterValue);
    this.refresh();
  }

  /** The line above the rows: the filter and how many runs show, or how many are archived. */
  message(): string | undefined {
    return filterMessage(this.filterValue, this.deps.store.listRuns());
  }

  isFiltering(): boolean {
    return isFiltering(this.filterValue);
  }

  /** The runs the tree shows now (after the filter), in tree order. */
  visibleRuns(): RunSummary[] {
    return this.deps.store.listRuns().filter((r) => matchesFilter(r, this.filterValue));
  }

  refresh(): void {
    this.fireChanged();
  }

  private fireChanged(): void {
    this.dirtyRuns.clear();
    this.everything = false;
    this.lastShape = this.shape();
    this.changed.fire(undefined);
  }

  private runChanged(runId: string): void {
    this.dirtyRuns.add(runId);
    this.coalescer.schedule();
  }

  private allChanged(): void {
    this.everything = true;
    this.coalescer.schedule();
  }

  private shape(): string {
    return this.visibleRuns()
      .map((r) => `${r.project}\u0000${r.runId}`)
      .join('\u0001');
  }

  // While runs stream, only their rows repaint: a whole-tree rebuild re-creates every row, and
  // VS Code briefly cannot resolve the selection during one, so a click then opened nothing.
  private flushChanges(): void {
    if (this.everything || this.shape() !== this.lastShape) return this.fireChanged();
    const nodes = [...this.dirtyRuns].flatMap((id) => {
      const node = this.runNodes.get(id);
      return node ? [node] : [];
    });
    this.dirtyRuns.clear();
    if (nodes.length) this.changed.fire(nodes);
  }

  private runNode(runId: string): Extract<RunsNode, { kind: 'run' }> {
    let node = this.runNodes.get(runId);
    if (!node) this.runNodes.set(runId, (node = { kind: 'run', runId }));
    return node;
  }

  dispose(): void {
    this.coalescer.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** The error, traceback and last lines of a run, read from its log (cached until the run changes). */
  errorDetails(runId: string): Promise<RunErrorDetails> {
    const run = this.deps.store.getRun(runId);
    const cached = this.errors.get(runId);
    if (cached && cached.endTime === run?.endTime) return cached.details;
    const source = this.deps.exportSource?.();
    const details = source
      ? readRunErrorDetails((id, from, max) => source.read(id, from, max), runId).catch((): RunErrorDetails => ({
          error: undefined,
          traceback: [],
          lastLines: [],
        }))
      : Promise.resolve<RunErrorDetails>({ traceback: [], lastLines: [] });
    this.errors.set(runId, { endTime: run?.endTime, details });
    void details.then((d) => {
      if (this.errors.get(runId)?.details !== details) return;
      this.readErrors.set(runId, d);
      this.runChanged(runId);
    });
    return details;
  }

  /** The error as read so far; starts reading it when not (the tree repaints once it is). */
  private knownError(runId: string): RunErrorDetails | undefined {
    const run = this.deps.store.getRun(runId);
    const cached = this.errors.get(runId);
    if (!cached || cached.endTime !== run?.endTime) {
      void this.errorDetails(runId);
      return undefined;
    }
    return this.readErrors.get(runId);
  }

  getChildren(node?: RunsNode): RunsNode[] {
    const store = this.deps.store;
    if (!node) {
      const projects = [...new Set(this.visibleRuns().map((r) => r.project))].sort((a, b) => a.localeCompare(b));
      return projects.map((project) => ({ kind: 'project', project }));
    }
    switch (node.kind) {
      case 'project':
        return this.visibleRuns()
          .filter((r) => r.project === node.project)
          .map((r) => this.runNode(r.runId));
      case 'run': {
        const run = store.getRun(node.runId);
        const kids: RunsNode[] = [];
        if (run && hasError(run)) kids.push({ kind: 'error', runId: node.runId });
        kids.push({ kind: 'metrics', runId: node.runId }, { kind: 'params', runId: node.runId });
        return kids;
      }
      case 'metrics':
        return safeKeys(this.deps.series, node.runId).map((key) => ({ kind: 'metric', runId: node.runId, key }));
      case 'params': {
        const params = store.getRun(node.runId)?.params ?? {};
        return Object.keys(params)
          .sort()
          .map((name) => ({ kind: 'param', runId: node.runId, name, value: params[name] }));
      }
      default:
        return [];
    }
  }

  getParent(node: RunsNode): RunsNode | undefined {
    switch (node.kind) {
      case 'project':
        return undefined;
      case 'run': {
        const run = this.deps.store.getRun(node.runId);
        return run && { kind: 'project', project: run.project };
      }
      case 'error':
      case 'metrics':
      case 'params':
        return this.runNode(node.runId);
      case 'metric':
        return { kind: 'metrics', runId: node.runId };
      case 'param':
        return { kind: 'params', runId: node.runId };
    }
  }

  /** Hovering a failed run or its error row reads the error from the log (once) into the tooltip. */
  async resolveTreeItem(item: vscode.TreeItem, node: RunsNode): Promise<vscode.TreeItem> {
    if (node.kind !== 'run' && node.kind !== 'error') return item;
    const run = this.deps.store.getRun(node.runId);
    if (!run || !hasError(run)) return item;
    const details = await this.errorDetails(node.runId);
    item.tooltip = new vscode.MarkdownString(runTooltipMarkdown(run, details, runColors.colorOf(run.runId)));
    return item;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case 'project': {
        const runs = this.visibleRuns().filter((r) => r.project === node.project);
        const item = new vscode.TreeItem(node.project, C.Expanded);
        item.id = `project:${node.project}`;
        item.description = `${runs.length} run${runs.length === 1 ? '' : 's'}`;
        item.tooltip = `Project ${node.project}: ${item.description}. Right-click to open all in the dashboard, compare or export.`;
        item.iconPath = new vscode.ThemeIcon('folder-library');
        item.contextValue = 'project';
        return item;
      }
      case 'run': {
        const run = this.deps.store.getRun(node.runId);
        const item = new vscode.TreeItem(run?.name ?? node.runId, C.Collapsed);
        item.id = `run:${node.runId}`;
        if (!run) return item;
        const color = runColors.colorOf(run.runId);
        item.iconPath = vscode.Uri.file(this.swatches.pathOf(color, run.status));
        item.description = runDescription(run);
        // Only what was read already: the log is read on hover or expand, not for every row drawn.
        const details = hasError(run) ? this.readErrors.get(run.runId) : undefined;
        // VS Code resolves (resolveTreeItem) only a tooltip left undefined: a failed run's is, until read.
        if (!hasError(run) || details)
          item.tooltip = new vscode.MarkdownString(runTooltipMarkdown(run, details, color));
        item.contextValue = `run.${run.status}`;
        // A plain click opens the run's dashboard (or focuses it); Ctrl/Shift-click only selects.
        item.command = rowCommand('runwatch.openRun', 'Open Run');
        return item;
      }
      case 'error': {
        const details = this.knownError(node.runId);
        // The exception's type as the label (short, never cut off), its message after it.
        const split = details?.error ? splitError(details.error) : { label: 'Error', rest: '' };
        const item = new vscode.TreeItem(split.label, C.None);
        item.id = `error:${node.runId}`;
        item.description = details ? split.rest : 'reading the log…';
        const run = this.deps.store.getRun(node.runId);
        if (run && details) item.tooltip = new vscode.MarkdownString(runTooltipMarkdown(run, details));
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.contextValue = 'runError';
        item.command = rowCommand('runwatch.showRunError', 'Show Error');
        return item;
      }
      case 'metrics': {
        const n = safeKeys(this.deps.series, node.runId).length;
        const item = new vscode.TreeItem('Metrics', n ? C.Expanded : C.None);
        item.id = `metrics:${node.runId}`;
        item.description = String(n);
        item.iconPath = new vscode.ThemeIcon('graph-line');
        return item;
      }
      case 'params': {
        const n = Object.keys(this.deps.store.getRun(node.runId)?.params ?? {}).length;
        const item = new vscode.TreeItem('Params', n ? C.Collapsed : C.None);
        item.id = `params:${node.runId}`;
        item.description = String(n);
        item.iconPath = new vscode.ThemeIcon('symbol-property');
        return item;
      }
      case 'metric': {
        const latest = safeLatest(this.deps.series, node.runId, node.key);
        const item = new vscode.TreeItem(node.key, C.None);
        item.id = `metric:${node.runId}:${node.key}`;
        item.description = latest ? `${formatValue(latest.value)} @ step ${formatStep(latest.step)}` : '';
        const source = this.deps.store.getRun(node.runId)?.sources?.[node.key];
        item.tooltip = new vscode.MarkdownString(metricTooltipMarkdown(node.key, latest, source));
        item.contextValue = 'metric';
        item.command = rowCommand('runwatch.openMetricChart', 'Open Chart');
        return item;
      }
      case 'param': {
        const item = new vscode.TreeItem(node.name, C.None);
        item.id = `param:${node.runId}:${node.name}`;
        item.description = typeof node.value === 'number' ? formatValue(node.value) : String(node.value);
        item.tooltip = `${node.name} = ${JSON.stringify(node.value)}`;
        item.contextValue = 'param';
        return item;
      }
    }
  }
}

// A row's click command carries no arguments: VS Code keeps a command's arguments only until
// the row is refreshed, and the tree refreshes twice a second while a run streams, so a click
// landing between a refresh and its repaint did nothing. The command reads the clicked row from
// the tree's selection instead, which VS Code sets before it runs the command.
function rowCommand(command: string, title: string): vscode.Command {
  return { command, title };
}

// The series cache may still be catching up (or missing) for an old run: the tree
// shows what it can rather than failing to render.
function safeKeys(series: SeriesLike, runId: string): string[] {
  try {
    return series.keys(runId);
  } catch {
    return [];
  }
}

function safeLatest(
  series: SeriesLike,
  runId: string,
  key: string,
): { step: number; value: number; time: number } | undefined {
  try {
    return series.latest(runId, key);
  } catch {
    return undefined;
  }
}

function toVs(d: { dispose(): unknown }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
