// Live values at the log call: after each line of an open file that logged a metric of a run on show
// (live runs, and the runs selected in the Runs tree), the latest value, its step and trend; a hover
// there shows a sparkline per run and the run's name. Redrawn at most MAX_PER_SECOND times a second,
// only for visible editors of files that logged something; `runwatch.editor.inlineValues` turns it off.
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { RunSummary } from '../../api/types';
import { Coalescer } from '../dashboard/coalescer';
import { onDidChangeSettings, setting } from '../config';
import type { RunStoreLike, SeriesLike } from '../deps';
import { buildIndex, type LineEntry, type LineIndex, renderFile, sparkline, TrendMemory } from './inlineModel';
import { FileKeys, resolveSourcePath } from './sourcePaths';

const MAX_PER_SECOND = 4;
const SPARK_POINTS = 48;

export interface InlineValuesDeps {
  store: RunStoreLike;
  series: SeriesLike;
  /** Run ids selected in the Runs tree, in selection order. */
  selectedRuns: () => string[];
  onDidChangeSelection?: (listener: () => void) => vscode.Disposable;
}

export class InlineValues implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 2em', fontStyle: 'italic' },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly trends = new TrendMemory();
  private readonly coalescer = new Coalescer(
    () => 1000 / MAX_PER_SECOND,
    () => this.redraw(),
  );
  private readonly disposables: vscode.Disposable[] = [];
  /** Keyed by FileKeys: a file opened through a symlink (or with a drive letter in another case) still matches. */
  private index: LineIndex = new Map();
  private readonly keys = new FileKeys((f) => fs.realpathSync.native(f));
  private indexDirty = true;
  /** Runs on show, and the sources object each was indexed with (summaries keep it unless it changed). */
  private shown = new Map<string, RunSummary['sources']>();
  private resolved = new Map<string, string | undefined>();
  private drawn = new Set<vscode.TextEditor>();
  /** How many redraws ran (read by the benchmark and tests). */
  redraws = 0;

  constructor(private readonly deps: InlineValuesDeps) {
    const d = this.disposables;
    d.push(
      this.decoration,
      vscode.window.onDidChangeVisibleTextEditors(() => this.coalescer.schedule()),
      vscode.languages.registerHoverProvider({ scheme: 'file' }, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      onDidChangeSettings(({ keys }) => {
        if (keys.includes('editor.inlineValues')) this.invalidate();
      }),
      toVs(deps.store.onDidChangeRun((run) => this.onRun(run))),
      toVs(deps.series.onDidChange((runId) => this.shown.has(runId) && this.coalescer.schedule())),
    );
    if (deps.store.onDidDeleteRun) d.push(toVs(deps.store.onDidDeleteRun(() => this.invalidate())));
    if (deps.onDidChangeSelection) d.push(deps.onDidChangeSelection(() => this.invalidate()));
    this.invalidate();
  }

  dispose(): void {
    this.coalescer.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private enabled(): boolean {
    return setting('editor.inlineValues');
  }

  private onRun(run: RunSummary): void {
    // Most changes are a new last step: only a run that starts or stops showing, or gains sources, re-indexes.
    const was = this.shown.get(run.runId);
    const isShown = run.status === 'running' || this.deps.selectedRuns().includes(run.runId);
    if (isShown !== this.shown.has(run.runId) || (isShown && was !== run.sources)) this.invalidate();
    else if (isShown) this.coalescer.schedule();
  }

  private invalidate(): void {
    this.indexDirty = true;
    this.coalescer.schedule();
  }

  private rebuild(): void {
    this.indexDirty = false;
    const runs = this.deps.store.listRuns();
    this.index = buildIndex(runs, this.deps.selectedRuns(), (file, run) => this.resolve(file, run));
    const shown = new Map<string, RunSummary['sources']>();
    const selected = new Set(this.deps.selectedRuns());
    for (const r of runs) if (r.status === 'running' || selected.has(r.runId)) shown.set(r.runId, r.sources);
    for (const id of this.shown.keys()) if (!shown.has(id)) this.trends.forgetRun(id);
    this.shown = shown;
  }

  private resolve(file: string, run: RunSummary): string | undefined {
    const cwd = typeof run.context.cwd === 'string' ? run.context.cwd : undefined;
    const id = `${file}\u0000${cwd ?? ''}`;
    if (this.resolved.has(id)) return this.resolved.get(id);
    const local = resolveSourcePath(file, {
      cwd,
      folders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      exists: (f) => fs.existsSync(f),
    });
    if (this.resolved.size > 10000) this.resolved.clear();
    const key = local === undefined ? undefined : this.keys.key(local);
    this.resolved.set(id, key);
    return key;
  }

  private redraw(): void {
    this.redraws++;
    const on = this.enabled();
    if (on && this.indexDirty) this.rebuild();
    const latest = (runId: string, key: string) => {
      try {
        return this.deps.series.latest(runId, key);
      } catch {
        return undefined;
      }
    };
    const now = new Set<vscode.TextEditor>();
    for (const editor of vscode.window.visibleTextEditors) {
      const lines = on ? this.lines(editor.document) : undefined;
      if (!lines) {
        if (this.drawn.has(editor)) editor.setDecorations(this.decoration, []);
        continue;
      }
      const doc = editor.document;
      const options: vscode.DecorationOptions[] = [];
      for (const { line, text } of renderFile(lines, latest, this.trends)) {
        if (line >= doc.lineCount) continue;
        const end = doc.lineAt(line).range.end;
        options.push({ range: new vscode.Range(end, end), renderOptions: { after: { contentText: text } } });
      }
      editor.setDecorations(this.decoration, options);
      now.add(editor);
    }
    this.drawn = now;
  }

  private lines(doc: vscode.TextDocument): ReadonlyMap<number, LineEntry[]> | undefined {
    return doc.uri.scheme === 'file' && this.index.size ? this.index.get(this.keys.key(doc.uri.fsPath)) : undefined;
  }

  private async hover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!this.enabled()) return undefined;
    const entries = this.lines(doc)?.get(pos.line);
    if (!entries?.length) return undefined;
    const md = new vscode.MarkdownString();
    for (const e of entries.slice(0, 12)) {
      const run = this.deps.store.getRun(e.runId);
      let spark = '';
      try {
        const slice = await this.deps.series.query({ runId: e.runId, key: e.key, x: 'step', maxPoints: SPARK_POINTS });
        spark = sparkline(slice.y, SPARK_POINTS);
      } catch {
        spark = '';
      }
      const l = this.deps.series.latest(e.runId, e.key);
      const status = run ? ` (${run.status})` : '';
      md.appendMarkdown(`**${escapeMd(e.key)}** · run **${escapeMd(e.runName)}**${status}  \n`);
      if (spark) md.appendCodeblock(spark, 'text');
      if (l) md.appendMarkdown(`latest ${String(l.value)} at step ${l.step.toLocaleString('en-US')}\n\n`);
    }
    return new vscode.Hover(md, doc.lineAt(pos.line).range);
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

function toVs(d: { dispose(): unknown }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
