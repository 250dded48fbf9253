// activate/deactivate: wiring only. The store, collector, series, hub and their one
// shutdown order are src/runtime/runtime.ts (shared with the headless CLI); this
// file adapts VS Code around it: the log channel, secrets, settings, terminals, views.
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { coalescedRunChanges, createExports } from './api/api';
import { watchContributions } from './api/discovery';
import type { RunwatchExports } from './api/types';
import { builtinBackends } from './backends';
import { setDefaultListenerErrorHandler } from './common/emitter';
import { errorText } from './common/errors';
import { Hub } from './core/hub';
import { CurrentRuntime } from './runtime/current';
import { PluginQueue } from './runtime/pluginQueue';
import { Runtime, type CollectorConfig, type RuntimeOptions } from './runtime/runtime';
import { collectorSettings, type RunwatchSettings } from './runtime/settings';
import { resolveStoreDir } from './store/paths';
import { pluginSettings, registerBackendUi } from './ui/backendCommands';
import { onDidChangeSettings, readSettings, setSettingsLogger } from './ui/config';
import { registerImportLogs } from './ui/importLogs';
import { registerEditorFeatures } from './ui/editor/register';
import { StoreRoleStatus } from './ui/storeRole';
import { applyTerminalEnv } from './ui/terminalEnv';
import { registerViews } from './ui/views';
import { resolvePythonInterpreter } from './ui/pythonInterpreter';

/** Shuts the runtime down in its one order; deactivate awaits it so accepted data is flushed. */
let shutdown: (() => Promise<void>) | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<RunwatchExports> {
  const version = String(context.extension.packageJSON.version);
  const log = vscode.window.createOutputChannel('Runwatch', { log: true });
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand('runwatch.showLog', () => log.show()),
  );
  log.info(`Runwatch ${version} activating`);
  setSettingsLogger(log);
  // A throwing listener (a view, a companion) is reported in our log under its event's name.
  const restoreListenerErrors = setDefaultListenerErrorHandler((e, name) =>
    log.error(`a listener of ${name} threw: ${errorText(e)}`),
  );
  context.subscriptions.push({ dispose: restoreListenerErrors });

  // --- the runtime: the store (owned, or read when another window owns it), collector, hub, series ---
  const settings = readSettings();
  const firstFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const storeDir = storeDirFor(context, settings);
  const plugins = new PluginQueue();
  const options: RuntimeOptions = {
    storeDir,
    version,
    logger: log,
    role: 'auto',
    lockWaitMs: 4000,
    owner: `VS Code window (extension host pid ${process.pid})`,
    collector: collectorConfig(settings),
    // The discovery file goes where scripts look (the workspace's .runwatch/) and beside the store.
    discoveryDirs: firstFolder ? [path.join(firstFolder, '.runwatch')] : [],
    // Runs the Python client spooled to its default folder while no collector was reachable.
    extraSpoolDirs: [path.join(os.homedir(), '.runwatch', 'spool')],
    series: true,
    logFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    readerCacheDir: path.join(context.globalStorageUri.fsPath, 'reader-cache'),
    startHub: async (store, stateDir) => {
      const hub = new Hub({
        store,
        stateDir,
        logger: log,
        secrets: { get: async (key) => context.secrets.get(key) },
        notify: (pluginId, message) => void vscode.window.showWarningMessage(`Runwatch (${pluginId}): ${message}`),
      });
      // Settings before any plugin appears, so a source turned off never starts; errors are shown by registerBackendUi.
      void hub.configurePlugins(pluginSettings()).catch(() => undefined);
      for (const backend of builtinBackends({
        storeDir,
        baseDir: firstFolder,
        python: { interpreter: resolvePythonInterpreter },
      }))
        hub.registerPlugin(backend, 'builtin');
      return hub;
    },
  };
  let first: Runtime;
  try {
    first = await Runtime.open(options);
  } catch (err) {
    const msg = `Runwatch could not open its run store in ${storeDir}: ${errorText(err)}. Check the folder's permissions or set runwatch.store.path.`;
    log.error(msg);
    void vscode.window.showErrorMessage(msg);
    throw err;
  }
  const current = new CurrentRuntime();
  current.set(first);
  const takeover = new AbortController();
  shutdown = async () => {
    takeover.abort();
    await current.runtime?.shutdown();
    current.dispose();
  };

  // --- terminals: the collector's address (this window's, or the owner's when reading) ---
  const terminalEnv = () => {
    const rt = current.runtime;
    if (!rt) return;
    const a = rt.address;
    applyTerminalEnv(context.environmentVariableCollection, {
      url: a?.url,
      token: a?.token,
      spoolDir: rt.spoolDir,
      extensionPath: context.extensionPath,
    });
  };
  context.subscriptions.push(current.onDidChangeAddress(() => terminalEnv()));
  terminalEnv();
  if (first.role === 'writer' && !first.address) {
    void vscode.window.showWarningMessage(
      `Runwatch's collector could not start: ${first.collectorError}. Check runwatch.collector.host and runwatch.collector.port (0 picks a free port).`,
    );
  }

  // --- views: runs tree, dashboard, status bar ---
  const views = registerViews(context, {
    store: current.store,
    series: current.series,
    collector: current.collector,
    connection: () => current.runtime?.address,
    discoveryFile: current.runtime?.discoveryFile,
    exportSource: () => current.runtime?.store,
    log,
  });

  registerImportLogs(context, () => current.runtime?.logFolders, log);
  registerEditorFeatures(context, {
    store: current.store,
    series: current.series,
    treeView: views.treeView,
    envInfo: () =>
      current.runtime && {
        url: current.runtime.address?.url,
        token: current.runtime.address?.token,
        spoolDir: current.runtime.spoolDir,
        extensionPath: context.extensionPath,
      },
  });

  // --- backends: the hub exists only where this window writes the store ---
  const role = new StoreRoleStatus(log);
  context.subscriptions.push(role);
  const wireHub = (rt: Runtime) => {
    if (!rt.hub) return;
    plugins.attach(rt.hub);
    context.subscriptions.push(watchContributions(rt.hub, log, context.extension.id, vscode.extensions));
    registerBackendUi(context, rt.hub, log);
  };
  if (first.role === 'writer') {
    wireHub(first);
  } else {
    role.reader(first.store.dir, first.owner);
    first.takeOver(takeover.signal).then(
      (rt) => {
        current.set(rt);
        role.writer(rt.store.dir, true);
        terminalEnv();
        wireHub(rt);
      },
      (err: unknown) => {
        if (!takeover.signal.aborted)
          log.error(`taking the run store over failed: ${errorText(err)}; reload the window to retry`);
      },
    );
  }

  // --- settings: each change takes effect, or says that a reload is needed ---
  context.subscriptions.push(
    onDidChangeSettings(({ effects }) => {
      const now = readSettings();
      if (effects.includes('store')) {
        const next = storeDirFor(context, now);
        if (next !== current.runtime?.store.dir) {
          const msg = `Runwatch: runwatch.store.path now names ${next}; reload the window to move the collector, backends and views there (until then they stay on ${current.runtime?.store.dir}).`;
          log.info(msg);
          void vscode.window
            .showInformationMessage(msg, 'Reload Window')
            .then((a) => a && vscode.commands.executeCommand('workbench.action.reloadWindow'));
        }
      }
      if (effects.includes('collector')) void restartCollector(current, collectorConfig(now), log);
    }),
  );

  return createExports({
    registerPlugin: (plugin) => plugins.register(plugin),
    listRuns: () => current.store.listRuns(),
    onRunsChanged: (listener) => coalescedRunChanges(current.store, listener),
    getCollectorInfo: () => {
      const a = current.runtime?.address;
      return a && { url: a.url, token: a.token };
    },
  });
}

export async function deactivate(): Promise<void> {
  // Disposables registered on the context are released by VS Code.
  const s = shutdown;
  shutdown = undefined;
  await s?.();
}

/** A changed runwatch.collector.* setting: the collector rebinds, and says where it listens now. */
async function restartCollector(
  current: CurrentRuntime,
  config: CollectorConfig,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const rt = current.runtime;
  if (!rt) return;
  if (rt.role === 'reader') {
    void vscode.window.showInformationMessage(
      `Runwatch: this window only reads ${rt.store.dir}; the collector settings apply in the window that owns it (or here once this window takes it over).`,
    );
    return;
  }
  try {
    const info = await rt.restartCollector(config);
    const msg = `Runwatch: the collector now listens on ${info.url}; new terminals and the discovery file have the new address.`;
    log.info(msg);
    void vscode.window.showInformationMessage(msg);
  } catch (err) {
    void vscode.window.showWarningMessage(
      `Runwatch's collector could not start on ${config.host}:${config.port}: ${errorText(err)}. Check runwatch.collector.host and runwatch.collector.port (0 picks a free port).`,
    );
  }
}

function collectorConfig(s: RunwatchSettings): CollectorConfig {
  return collectorSettings(s);
}

function storeDirFor(context: vscode.ExtensionContext, s: RunwatchSettings): string {
  return resolveStoreDir({
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    globalStorage: context.globalStorageUri.fsPath,
    configured: s['store.path'],
    home: os.homedir(),
  });
}
