// The public types of Runwatch's exported API, version 1.
// This file stands alone (no imports) so it can ship as a types-only package:
// companion extensions copy it or depend on it, and never on Runwatch's code.

/** Something that can be undone; matches `vscode.Disposable`'s shape. */
export interface Disposable {
  dispose(): unknown;
}

// ---------------------------------------------------------------------------
// The event model: what a run is made of, as stored in the run log and as
// delivered to backends. Numbers are real numbers here (NaN and ±Infinity
// included); the wire protocol carries those three as strings.

export type RunStatus = 'running' | 'finished' | 'failed' | 'killed' | 'crashed';
export type FinalStatus = Exclude<RunStatus, 'running'>;
export type ParamValue = string | number | boolean | null;

export interface RunContext {
  host?: string;
  pid?: number;
  argv?: string[];
  cwd?: string;
  git?: { commit?: string; branch?: string; dirty?: boolean; remote?: string };
  python?: string;
  frameworks?: Record<string, string>;
  [key: string]: unknown;
}

/** Where a metric key was first logged: the person's file and line (frameworks' frames skipped). */
export interface SourceLocation {
  /** Absolute path where the code ran; a notebook's .ipynb for a Jupyter cell. */
  file: string;
  /** 1-based; for a Jupyter cell, within the cell. */
  line: number;
  function?: string;
  /** For a Jupyter cell: the kernel's name for the cell's code. */
  cell?: string;
}

export interface MetricPoint {
  key: string;
  value: number;
  /** Training step; integer, 0 or more. */
  step: number;
  /** Wall time, seconds since the Unix epoch (fractional). */
  time: number;
}

export type RunEvent =
  | {
      type: 'run.start';
      project: string;
      name: string;
      /** Seconds since the Unix epoch. */
      time: number;
      params: Record<string, ParamValue>;
      tags: Record<string, string>;
      parentRunId?: string;
      context: RunContext;
    }
  /** `sources`: where keys were first logged (sent once per key; may come with no points). */
  | { type: 'metrics'; points: MetricPoint[]; sources?: Record<string, SourceLocation> }
  | { type: 'params'; params: Record<string, ParamValue> }
  /** `removed`: tag names taken off the run (applied after `tags`); absent from older logs. */
  | { type: 'tags'; tags: Record<string, string>; removed?: string[] }
  | {
      type: 'artifact';
      name: string;
      /** Absolute path on the machine where the collector runs. */
      path: string;
      kind: string;
      metadata: Record<string, unknown>;
    }
  | { type: 'log'; stream: 'stdout' | 'stderr'; lines: string[]; time: number }
  | { type: 'run.end'; status: FinalStatus; time: number; reason?: string };

/**
 * One record of a run's log. `offset` is the record's index in that run's
 * append-only log: it never changes, so `(runId, offset)` is an idempotency key.
 */
export interface RunRecord {
  runId: string;
  offset: number;
  event: RunEvent;
}

export interface RunSummary {
  runId: string;
  project: string;
  name: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  lastStep?: number;
  params: Record<string, ParamValue>;
  tags: Record<string, string>;
  parentRunId?: string;
  context: RunContext;
  /** Metric key -> where it was first logged (the first location sent for a key wins). */
  sources?: Record<string, SourceLocation>;
}

// ---------------------------------------------------------------------------
// Plugins.

export type PluginKind = 'backend' | 'source' | 'processor';

/** A small JSON Schema subset used to validate a plugin's configuration. */
export interface ConfigSchema {
  type: 'object';
  properties: Record<string, ConfigProperty>;
  required?: string[];
}

export interface ConfigProperty {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array';
  description?: string;
  default?: string | number | boolean | string[];
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  items?: { type: 'string' | 'number' };
  /** Kept in SecretStorage and given through `PluginContext.secrets`, never in settings. */
  secret?: boolean;
  /** A string that names a folder: "Configure Backend…" offers a folder picker (and a text box). */
  format?: 'folder';
}

export interface PluginMetadata {
  id: string;
  displayName: string;
  version: string;
  kind: PluginKind;
  description?: string;
  /** Free-form capability names, e.g. 'metrics', 'params', 'artifacts', 'live'. */
  capabilities: string[];
  configSchema?: ConfigSchema;
}

export interface PluginLogger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

export interface PluginSecrets {
  get(key: string): Promise<string | undefined>;
}

export interface PluginContext {
  /** The plugin's settings, validated against its `configSchema`, defaults filled in. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly secrets: PluginSecrets;
  readonly logger: PluginLogger;
  /**
   * Tells the person something they should act on (a limit hit, data changed on the way):
   * a warning notification in VS Code, once per distinct message while the window lives;
   * logged as a warning too (headless: logged only).
   */
  notify(message: string): void;
  /** A folder the plugin may write to; it persists across restarts. */
  readonly storageDir: string;
}

export interface HealthStatus {
  healthy: boolean;
  details: string;
}

interface PluginBase {
  readonly metadata: PluginMetadata;
  initialize(context: PluginContext): Promise<void>;
  healthCheck(): Promise<HealthStatus>;
  dispose(): Promise<void> | void;
}

/**
 * A backend consumes runs. Runwatch calls `write` with batches of one run's
 * records in log order, from the backend's own cursor; a batch whose promise
 * rejects is retried (with backoff) until it resolves. A batch may be delivered
 * again after a restart or a failure: skip records whose `(runId, offset)` you
 * already hold.
 */
export interface BackendPlugin extends PluginBase {
  readonly metadata: PluginMetadata & { kind: 'backend' };
  write(batch: RunBatch): Promise<void>;
}

export interface RunBatch {
  run: RunSummary;
  records: RunRecord[];
}

/** Where a source sends what it produces. */
export interface SourceSink {
  startRun(run: {
    runId?: string;
    project: string;
    name: string;
    params?: Record<string, ParamValue>;
    tags?: Record<string, string>;
  }): string;
  /** Fire and forget: the event is appended in order with the run's others; failures are logged. */
  emit(runId: string, event: RunEvent): void;
  /**
   * Appends events in order with the run's others and resolves once they are durable in the store, so
   * a source can advance its own cursor (or acknowledge a broker) only then. Items carrying a `seq` the
   * run already holds are skipped, which makes redelivery harmless. Rejects when the store refuses.
   */
  append(runId: string, items: { seq?: number; event: RunEvent }[]): Promise<void>;
  /** Resolves once everything emitted or appended so far is durable (or has failed and been logged). */
  flush(): Promise<void>;
}

/** A source produces events (system metrics, file formats, streams). */
export interface SourcePlugin extends PluginBase {
  readonly metadata: PluginMetadata & { kind: 'source' };
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A processor filters or transforms events on their way to backends. Return the
 * event (changed or not), or undefined to drop it.
 */
export interface ProcessorPlugin extends PluginBase {
  readonly metadata: PluginMetadata & { kind: 'processor' };
  process(event: RunEvent, run: RunSummary): RunEvent | undefined;
}

export type Plugin = BackendPlugin | SourcePlugin | ProcessorPlugin;

/** How a companion's `package.json` declares its plugins, under `contributes.runwatch.plugins`. */
export interface ContributedPlugin {
  id: string;
  displayName: string;
  kind: PluginKind;
  description?: string;
  capabilities?: string[];
  configSchema?: ConfigSchema;
}

// ---------------------------------------------------------------------------
// The API object.

export interface RunwatchApiV1 {
  readonly version: 1;
  /** Registers a plugin; the id must match one the extension contributes (or be new). */
  registerPlugin(plugin: Plugin): Disposable;
  /** Every run in the store, newest first. */
  listRuns(): RunSummary[];
  /** Fires when a run starts, changes status or gets new data (coalesced). */
  onDidChangeRuns(listener: (runIds: string[]) => void): Disposable;
  /** The collector's address and token, for clients started outside VS Code. */
  getCollectorInfo(): { url: string; token: string } | undefined;
}

export interface RunwatchExports {
  /** Throws an Error naming the supported versions when `version` is not one of them. */
  getApi(version: 1): RunwatchApiV1;
}
