// activate/deactivate: wiring only. Each section below belongs to one area
// (collector, store, views, plugins); the logic lives in the modules it calls.
import * as vscode from 'vscode';
import type { RunwatchExports } from './api/types';
import * as path from 'path';
import { RunStore } from './store/runStore';
import { resolveStoreDir, spoolDir } from './store/paths';
import { Collector } from './collector/collector';
import { removeDiscovery, writeDiscovery } from './collector/discovery';
import { applyTerminalEnv } from './ui/terminalEnv';
import { SpoolImporter } from './sources/spoolImporter';
import * as os from 'os';
import { SeriesStore } from './store/series';
import { registerViews } from './ui/views';
import { coalescedRunChanges, createExports } from './api/api';
import { watchContributions } from './api/discovery';
import { builtinBackends } from './backends';
import { Hub } from './core/hub';
import { pluginSettings, registerBackendUi } from './ui/backendCommands';

/** Stops the collector and closes the store; deactivate awaits it so accepted data is flushed. */
let shutdownIngest: (() => Promise<void>) | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<RunwatchExports> {
  const log = vscode.window.createOutputChannel('Runwatch', { log: true });
  context.subscriptions.push(log, vscode.commands.registerCommand('runwatch.showLog', () => log.show()));
  log.info(`Runwatch ${context.extension.packageJSON.version} activating`);

  // --- store (issue 3/4) ---
  const storeDir = resolveStoreDirFor(context);
  const storeLogger = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m), error: (m: string) => log.error(m) };
  let store: RunStore;
  try {
    store = await RunStore.open(storeDir, { logger: storeLogger });
  } catch (err) {
    const msg = `Runwatch could not open its run store in ${storeDir}: ${(err as Error).message}. Check the folder's permissions or set runwatch.store.path.`;
    log.error(msg);
    void vscode.window.showErrorMessage(msg);
    throw err;
  }
  log.info(`run store: ${storeDir} (${store.listRuns().length} runs)`);

  // --- collector and terminal environment (issue 3) ---
  const collectorConfig = vscode.workspace.getConfiguration('runwatch.collector');
  const collector = new Collector({
    store,
    host: collectorConfig.get<string>('host', '127.0.0.1'),
    port: collectorConfig.get<number>('port', 0),
    maxFrameBytes: collectorConfig.get<number>('maxFrameBytes', 8 * 1024 * 1024),
    heartbeatTimeoutMs: collectorConfig.get<number>('heartbeatTimeoutSeconds', 30) * 1000,
    version: String(context.extension.packageJSON.version),
    logger: storeLogger,
  });
  // The discovery file goes where scripts look (the workspace's .runwatch/) and beside the store.
  const firstFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const discoveryDirs = [...new Set([firstFolder ? path.join(firstFolder, '.runwatch') : undefined, storeDir].filter((d): d is string => !!d))];
  try {
    const info = await collector.start();
    const discovery = { url: info.url, token: info.token, pid: process.pid, version: String(context.extension.packageJSON.version), spoolDir: spoolDir(storeDir) };
    for (const dir of discoveryDirs) {
      await writeDiscovery(dir, discovery).catch((err: Error) => log.warn(`could not write the discovery file in ${dir}: ${err.message}`));
    }
    applyTerminalEnv(context.environmentVariableCollection, { url: info.url, token: info.token, spoolDir: discovery.spoolDir, extensionPath: context.extensionPath });
  } catch (err) {
    const msg = `Runwatch's collector could not start: ${(err as Error).message}. Check runwatch.collector.host and runwatch.collector.port (0 picks a free port).`;
    log.error(msg);
    void vscode.window.showWarningMessage(msg);
  }
  // Runs that Python clients spooled while no collector was reachable: this store's spool
  // folder (from the discovery file and terminal env) and the client's default one.
  const homeSpool = path.join(os.homedir(), '.runwatch', 'spool');
  const importers = [...new Set([spoolDir(storeDir), homeSpool])].map((dir) => new SpoolImporter(store, dir, { logger: storeLogger, create: dir !== homeSpool }));
  for (const imp of importers) void imp.start().catch((err: Error) => log.warn(`cannot watch the spool folder ${imp.spoolDir}: ${err.message}`));
  shutdownIngest = async () => {
    await Promise.all(importers.map((imp) => imp.dispose().catch(() => undefined)));
    await collector.stop().catch((err: Error) => log.error(`stopping the collector: ${err.message}`));
    for (const dir of discoveryDirs) removeDiscovery(dir);
    await store.close().catch((err: Error) => log.error(`closing the run store: ${err.message}`));
  };

  // --- views: runs tree, dashboard, status bar (issue 4) ---
  const series = SeriesStore.open(store, { logger: log });
  context.subscriptions.push({ dispose: () => void series.dispose() });
  registerViews(context, {
    store,
    series,
    collector,
    connection: () => collector.address,
    discoveryFile: discoveryDirs[0] && path.join(discoveryDirs[0], 'collector.json'),
    log,
  });

  // --- plugins, sink runner, backends (issue 5/6) ---
  // Cursors live beside the runs they point into (the store keeps runs under runs/).
  const hub = new Hub({
    store,
    stateDir: path.join(storeDir, 'backends'),
    logger: log,
    secrets: { get: async (key) => context.secrets.get(key) },
    notify: (pluginId, message) => void vscode.window.showWarningMessage(`Runwatch (${pluginId}): ${message}`),
  });
  // Settings before any plugin appears, so a source turned off never starts; errors are shown by registerBackendUi.
  void hub.configurePlugins(pluginSettings()).catch(() => undefined);
  for (const backend of builtinBackends({ storeDir, baseDir: firstFolder })) hub.registerPlugin(backend, 'builtin');
  context.subscriptions.push(watchContributions(hub, log, context.extension.id, vscode.extensions));
  registerBackendUi(context, hub, log);
  const stopIngest = shutdownIngest;
  shutdownIngest = async () => {
    // Backends stop first: their cursors are saved before the store closes.
    await hub.dispose().catch((err: Error) => log.error(`stopping backends: ${err.message}`));
    await stopIngest?.();
  };

  return createExports({
    registerPlugin: (plugin) => hub.registerPlugin(plugin, 'api'),
    listRuns: () => store.listRuns(),
    onRunsChanged: (listener) => coalescedRunChanges(store, listener),
    getCollectorInfo: () => {
      const a = collector.address;
      return a && { url: a.url, token: a.token };
    },
  });
}

export async function deactivate(): Promise<void> {
  // Disposables registered on the context are released by VS Code.
  const shutdown = shutdownIngest;
  shutdownIngest = undefined;
  await shutdown?.();
}

function resolveStoreDirFor(context: vscode.ExtensionContext): string {
  return resolveStoreDir({
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    globalStorage: context.globalStorageUri.fsPath,
    configured: vscode.workspace.getConfiguration('runwatch.store').get<string>('path', ''),
    home: os.homedir(),
  });
}
