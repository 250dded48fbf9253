// The editor features, registered from extension.ts in one call: inline values, Go to Source, Rerun in
// Terminal, Install Python Client, and the collector's environment for Python debug sessions (tasks get
// it from the terminals' environment collection, src/ui/terminalEnv.ts).
import * as vscode from 'vscode';
import type { RunsNode } from '../runsTree';
import { onDidChangeSettings } from '../config';
import type { RunStoreLike, SeriesLike } from '../deps';
import { registerGoToSource } from '../goToSource';
import { registerInstallClient } from '../installClient';
import { captureEnabled, touchesCapture } from '../launch/captureSetting';
import { registerDebugEnv } from '../launch/debugConfig';
import { registerRerun } from '../rerun';
import { applyTerminalEnv, type TerminalEnvInfo } from '../terminalEnv';
import { InlineValues } from './inlineValues';

export interface EditorDeps {
  store: RunStoreLike;
  series: SeriesLike;
  treeView?: vscode.TreeView<RunsNode>;
  /** The collector's address for new terminals and debug sessions (undefined before the runtime is up). */
  envInfo: () => Omit<TerminalEnvInfo, 'capture'> | undefined;
}

export function registerEditorFeatures(context: vscode.ExtensionContext, deps: EditorDeps): void {
  const tree = deps.treeView;
  const selectedRuns = () => [...new Set((tree?.selection ?? []).flatMap((n) => ('runId' in n ? [n.runId] : [])))];
  const info = () => {
    const i = deps.envInfo();
    return i && { ...i, capture: captureEnabled() };
  };
  const applyCapture = () => {
    const i = info();
    if (i) applyTerminalEnv(context.environmentVariableCollection, i);
  };
  applyCapture();
  context.subscriptions.push(
    new InlineValues({
      store: deps.store,
      series: deps.series,
      selectedRuns,
      onDidChangeSelection: tree ? (l) => tree.onDidChangeSelection(l) : undefined,
    }),
    ...registerDebugEnv(info),
    onDidChangeSettings(({ keys }) => touchesCapture(keys) && applyCapture()),
  );
  registerGoToSource(context, deps.store);
  registerRerun(context, deps.store);
  registerInstallClient(context);
}
