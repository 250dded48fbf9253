// The one composition of Runwatch's headless parts: the run store, the collector
// (with its discovery files), the spool importers, the hub with its backends, and
// the series cache. Both composition roots use it: src/extension.ts (which only
// adapts VS Code around it: log channel, secrets, settings, views) and the headless
// CLI src/collector/cli.ts. No vscode import here.
//
// Shutdown has ONE order (see `shutdown`):
//   1. stop accepting: the spool importers stop, the collector closes its listener;
//   2. the collector drains: every message it accepted becomes durable and is acked,
//      then its connections close (clients resend anything unacked elsewhere);
//      the discovery files go, so no client looks for a collector that is gone;
//   3. the hub stops: backends finish their batch and save their cursors, which
//      point into the store, so the store must still be open and no longer growing;
//   4. the series cache writes its snapshots (it reads the store's logs);
//   5. the store closes last, once nothing reads or writes it, and frees the store lock
//      (so a window waiting to take the store over starts only after every write).
//
// One writer per store: a writer runtime holds the store's OS-level lock (the store
// takes it on open). A runtime that finds the store owned can open it as a READER:
// live views of the owner's runs, no collector, no importers, no backends, a series
// cache of its own outside the store; `takeOver()` waits for the owner to go away
// and returns a writer runtime in its place.
import * as path from 'path';
import type { Disposable } from '../common/disposable';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Collector, CollectorInfo, CollectorState } from '../collector/collector';
import { readDiscovery, removeDiscovery, writeDiscovery, type DiscoveryInfo } from '../collector/discovery';
import type { Hub } from '../core/hub';
import { AmqpSource } from '../sources/amqp/source';
import { SpoolImporter } from '../sources/spoolImporter';
import { registerLogFolderSource } from '../sources/tfevents/register';
import type { TfeventsSource } from '../sources/tfevents/source';
import { spoolDir } from '../store/paths';
import { RunStore, StoreLockedError } from '../store/runStore';
import { SeriesStore } from '../store/series';
import { waitForStoreLock, type StoreLock, type StoreLockOwner } from '../store/storeLock';
import { readEndpoint, saveEndpoint, startCollector } from './endpoint';
import { readerSeriesSource } from './readerSeries';

export type RuntimeRole = 'writer' | 'reader';

export interface CollectorConfig {
  host: string;
  /** 0: the port used last time for this store if free, else any free port. */
  port: number;
  /** An explicit token; else the one used last time for this store, else a new one. */
  token?: string;
  maxFrameBytes: number;
  heartbeatTimeoutMs: number;
  maxBatchPoints?: number;
}

export interface RuntimeOptions {
  storeDir: string;
  version: string;
  logger: Logger;
  collector: CollectorConfig;
  /** Folders that get the discovery file besides the store itself (the workspace's .runwatch/). */
  discoveryDirs?: string[];
  /** Spool folders to import from besides the store's own (the client's default ~/.runwatch/spool). */
  extraSpoolDirs?: string[];
  /** Starts the hub on the open store; its cursors and plugin storage go in `stateDir`. */
  startHub?: (store: RunStore, stateDir: string) => Promise<Hub | undefined>;
  /** Keep a series cache for charts (the extension does, the CLI does not). */
  series?: boolean;
  /** Remember the collector's port and token in the store, to come back on them (default true). */
  rememberEndpoint?: boolean;
  /**
   * 'writer' (default): own the store or fail with StoreLockedError; 'auto': own it if
   * nobody else does, else read it; 'reader': only read it.
   */
  role?: RuntimeRole | 'auto';
  /** Names this process in the store lock (readers of the store see it). */
  owner?: string;
  /** A reader's own series cache (never inside the store it reads); without it a reader has no charts. */
  readerCacheDir?: string;
  /** Workspace folders whose TensorBoard/CSV log folders become runs (a source on the hub; writers only). */
  logFolders?: string[];
  /** A lock already taken (a reader taking over), handed to the store. */
  lock?: StoreLock;
  /** 'auto': how long to wait for an owned store's lock before reading instead (default 0). */
  lockWaitMs?: number;
}

export class Runtime {
  private collectorRef?: Collector;
  private hubRef?: Hub;
  private seriesRef?: SeriesStore;
  private importers: SpoolImporter[] = [];
  private readonly discoveryDirs: string[];
  private readonly listeners = new Set<(info: CollectorInfo | undefined) => void>();
  private readonly stateListeners = new Set<(state: CollectorState) => void>();
  private stateSub?: Disposable;
  private closing?: Promise<void>;
  /** Why the collector is not listening, for views and messages. */
  collectorError?: string;
  /** The log-folder source, for "Import TensorBoard Logs…" (a writer with a hub and workspace folders). */
  logFolders?: TfeventsSource;

  private ownerTimer?: NodeJS.Timeout;
  private ownerAddress?: DiscoveryInfo;

  private constructor(
    readonly store: RunStore,
    private readonly opts: RuntimeOptions,
    /** Who holds the store, when this runtime only reads it. */
    readonly owner?: StoreLockOwner,
  ) {
    this.discoveryDirs = [...new Set([store.dir, ...(opts.discoveryDirs ?? [])])];
  }

  get role(): RuntimeRole {
    return this.store.mode;
  }

  /**
   * Opens the store (a failure here is fatal: nothing works without it), then starts the
   * collector, the importers, the hub and the series cache; a collector that cannot
   * listen is reported (collectorError) and the rest runs, so the views still work.
   */
  static async open(opts: RuntimeOptions): Promise<Runtime> {
    const role = opts.role ?? 'writer';
    if (role !== 'reader') {
      try {
        const store = await RunStore.open(opts.storeDir, { logger: opts.logger, owner: opts.owner, lock: opts.lock });
        return await Runtime.startWriter(store, opts);
      } catch (err) {
        if (!(err instanceof StoreLockedError) || role === 'writer') throw err;
        // On a window reload the old extension host may still be closing the store: give it a moment
        // before settling for reading, so a reload does not look like a second window.
        if (opts.lockWaitMs && !opts.lock) {
          const signal = AbortSignal.timeout(opts.lockWaitMs);
          const lock = await waitForStoreLock(opts.storeDir, signal, opts.owner, 250).catch(() => undefined);
          if (lock) return Runtime.open({ ...opts, role: 'writer', lock });
        }
        return Runtime.openReader(opts, err.holder);
      }
    }
    return Runtime.openReader(opts, undefined);
  }

  private static async openReader(opts: RuntimeOptions, owner: StoreLockOwner | undefined): Promise<Runtime> {
    const store = await RunStore.open(opts.storeDir, { logger: opts.logger, mode: 'reader' });
    const rt = new Runtime(store, opts, owner);
    const who = owner ? `${owner.owner}, pid ${owner.pid}` : 'another process';
    opts.logger.info(
      `run store: ${store.dir} is owned by ${who}; reading it (${store.listRuns().length} runs), no collector here`,
    );
    if (opts.series && opts.readerCacheDir) {
      rt.seriesRef = SeriesStore.open(readerSeriesSource(store, opts.readerCacheDir), { logger: opts.logger });
    }
    // Terminals here use the owner's collector: follow its discovery file.
    rt.ownerAddress = readDiscovery(store.dir);
    rt.ownerTimer = setInterval(() => rt.followOwner(), 1000);
    rt.ownerTimer.unref?.();
    return rt;
  }

  private followOwner(): void {
    const d = readDiscovery(this.store.dir);
    if (d?.url === this.ownerAddress?.url && d?.token === this.ownerAddress?.token) return;
    this.ownerAddress = d;
    this.fire(this.address);
  }

  /**
   * A reader: waits until the owner lets go of the store (it exits, is killed, or closes
   * the store), then shuts this reader down and opens the store as its writer.
   */
  async takeOver(signal?: AbortSignal): Promise<Runtime> {
    if (this.role === 'writer') return this;
    const lock = await waitForStoreLock(this.store.dir, signal, this.opts.owner);
    try {
      await this.shutdown();
      this.opts.logger.info(`the owner of ${this.store.dir} went away: this process now writes it`);
      return await Runtime.open({ ...this.opts, role: 'writer', lock });
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async startWriter(store: RunStore, opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(store, opts);
    opts.logger.info(`run store: ${store.dir} (${store.listRuns().length} runs)`);
    await rt.startCollector(opts.collector).catch(() => undefined);
    rt.startImporters();
    if (opts.series) rt.seriesRef = SeriesStore.open(store, { logger: opts.logger });
    if (opts.startHub) {
      try {
        rt.hubRef = await opts.startHub(store, path.join(store.dir, 'backends'));
        if (rt.hubRef && opts.logFolders?.length)
          rt.logFolders = registerLogFolderSource(rt.hubRef, store, opts.logFolders);
        // Idle until runwatch.sources["runwatch.amqp-source"].url names a broker.
        rt.hubRef?.registerPlugin(new AmqpSource(), 'builtin');
      } catch (err) {
        // Backends that could start do run; ingest goes on regardless.
        opts.logger.error(`backends: ${errorText(err)}`);
      }
    }
    return rt;
  }

  get collector(): Collector | undefined {
    return this.collectorRef;
  }

  get hub(): Hub | undefined {
    return this.hubRef;
  }

  get series(): SeriesStore | undefined {
    return this.seriesRef;
  }

  /** Where clients connect (a reader: the owner's collector); undefined while none is listening. */
  get address(): CollectorInfo | undefined {
    if (this.role === 'reader') {
      const d = this.ownerAddress;
      const port = d ? Number(/:(\d+)\/?$/.exec(d.url)?.[1] ?? 0) : 0;
      return d && { url: d.url, token: d.token, port };
    }
    return this.collectorRef?.address;
  }

  get spoolDir(): string {
    return spoolDir(this.store.dir);
  }

  /** The discovery file scripts started under the workspace find. */
  get discoveryFile(): string {
    return path.join(this.discoveryDirs[this.discoveryDirs.length - 1], 'collector.json');
  }

  /** The collector's state now (port 0 while it is not listening). */
  get collectorState(): CollectorState {
    return this.collectorRef?.state ?? { port: 0, clients: 0, liveRuns: 0 };
  }

  /** The collector's state changes, across restarts of the collector. */
  onDidChangeCollectorState(listener: (state: CollectorState) => void): Disposable {
    this.stateListeners.add(listener);
    return { dispose: () => this.stateListeners.delete(listener) };
  }

  /** Told the collector's new address after a (re)start, or undefined when it stopped. */
  onDidChangeAddress(listener: (info: CollectorInfo | undefined) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /**
   * Stops the collector (if any) and starts it with `config`: a change of host or port
   * rebinds it, and the discovery files and listeners learn the new address.
   */
  async restartCollector(config: CollectorConfig): Promise<CollectorInfo> {
    if (this.closing) throw new Error('Runwatch is shutting down');
    if (this.role === 'reader')
      throw new Error(`this process only reads ${this.store.dir}: its owner runs the collector`);
    await this.stopCollector();
    return this.startCollector(config);
  }

  private async startCollector(config: CollectorConfig): Promise<CollectorInfo> {
    const { logger, version } = this.opts;
    const remember = this.opts.rememberEndpoint !== false;
    try {
      const { collector, info, reused } = await startCollector({
        store: this.store,
        host: config.host,
        port: config.port,
        token: config.token,
        maxFrameBytes: config.maxFrameBytes,
        heartbeatTimeoutMs: config.heartbeatTimeoutMs,
        maxBatchPoints: config.maxBatchPoints,
        version,
        logger,
        remembered: remember ? readEndpoint(this.store.dir) : undefined,
      });
      this.collectorRef = collector;
      this.collectorError = undefined;
      this.stateSub = collector.onDidChangeState((st) => this.fireState(st));
      this.fireState(collector.state);
      if (reused)
        logger.info(`collector back on ${info.url} with the same token (terminals opened before still reach it)`);
      if (remember) {
        await saveEndpoint(this.store.dir, { host: config.host, port: info.port, token: info.token }).catch(
          (err: unknown) =>
            logger.warn(`could not remember the collector's port and token in ${this.store.dir}: ${errorText(err)}`),
        );
      }
      const discovery: DiscoveryInfo = {
        url: info.url,
        token: info.token,
        pid: process.pid,
        version,
        spoolDir: this.spoolDir,
      };
      for (const dir of this.discoveryDirs) {
        await writeDiscovery(dir, discovery).catch((err: unknown) =>
          logger.warn(`could not write the discovery file in ${dir}: ${errorText(err)}`),
        );
      }
      this.fire(info);
      return info;
    } catch (err) {
      this.collectorError = errorText(err);
      logger.error(`the collector could not start on ${config.host}:${config.port}: ${this.collectorError}`);
      this.fire(undefined);
      throw err;
    }
  }

  private async stopCollector(): Promise<void> {
    const c = this.collectorRef;
    if (!c) return;
    this.collectorRef = undefined;
    this.stateSub?.dispose();
    this.fireState(this.collectorState);
    await c.stop().catch((err: unknown) => this.opts.logger.error(`stopping the collector: ${errorText(err)}`));
    for (const dir of this.discoveryDirs) removeDiscovery(dir);
    this.fire(undefined);
  }

  private startImporters(): void {
    const own = this.spoolDir;
    const dirs = [...new Set([own, ...(this.opts.extraSpoolDirs ?? [])])];
    this.importers = dirs.map(
      (dir) => new SpoolImporter(this.store, dir, { logger: this.opts.logger, create: dir === own }),
    );
    for (const imp of this.importers) {
      void imp
        .start()
        .catch((err: unknown) =>
          this.opts.logger.warn(`cannot watch the spool folder ${imp.spoolDir}: ${errorText(err)}`),
        );
    }
  }

  private fireState(state: CollectorState): void {
    for (const l of [...this.stateListeners]) {
      try {
        l(state);
      } catch (err) {
        this.opts.logger.error(`a collector state listener failed: ${errorText(err)}`);
      }
    }
  }

  private fire(info: CollectorInfo | undefined): void {
    for (const l of [...this.listeners]) {
      try {
        l(info);
      } catch (err) {
        this.opts.logger.error(`a collector address listener failed: ${errorText(err)}`);
      }
    }
  }

  /** The one shutdown order (top of this file says why). Safe to call twice. */
  shutdown(): Promise<void> {
    this.closing ??= this.doShutdown();
    return this.closing;
  }

  private async doShutdown(): Promise<void> {
    const log = this.opts.logger;
    const step = async (what: string, f: () => Promise<unknown> | unknown) => {
      try {
        await f();
      } catch (err) {
        log.error(`${what}: ${errorText(err)}`);
      }
    };
    if (this.ownerTimer) clearInterval(this.ownerTimer);
    await step('stopping the spool importers', () => Promise.all(this.importers.map((i) => i.dispose())));
    await step('stopping the collector', () => this.stopCollector());
    await step('stopping backends', () => this.hubRef?.dispose());
    await step('closing the series cache', () => this.seriesRef?.dispose());
    await step('closing the run store', () => this.store.close());
    this.listeners.clear();
    this.stateListeners.clear();
  }
}

/** The collector another process runs on this store, as its discovery file says (undefined if none is alive). */
export function ownerOf(storeDir: string): DiscoveryInfo | undefined {
  const d = readDiscovery(storeDir);
  if (!d || d.pid === process.pid) return undefined;
  try {
    process.kill(d.pid, 0);
    return d;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? d : undefined;
  }
}
