// The built-in TensorBoard source: every log directory found in the workspace is a run.
// On start it reads each folder from its saved cursors (historic folders are imported, once:
// run ids are stable and cursors persist), then polls for new folders and appended records.
// Problems in a file are logged once each, with the file, the record and its byte offset.
import * as path from 'node:path';
import type { HealthStatus, PluginContext, PluginMetadata, SourcePlugin, SourceSink } from '../../api/types';
import { errorText } from '../../common/errors';
import { DEFAULT_GLOBS, findLogDirs } from './find';
import { pollLogDir } from './logDirRun';
import { TfeventsStateFile } from './stateFile';

export const TFEVENTS_SOURCE_ID = 'runwatch.tensorboard-logs';

export interface TfeventsSourceOptions {
  workspaceRoot: string;
  /** Where the cursors are kept (a JSON file, e.g. under the store's folder). */
  stateFile: string;
  /**
   * Folders never read, asked on every poll: the TensorBoard backend's own log folder, so runs it
   * writes out are not read back in as new runs.
   */
  excludeDirs?: () => string[];
}

export class TfeventsSource implements SourcePlugin {
  readonly metadata: PluginMetadata & { kind: 'source' } = {
    id: TFEVENTS_SOURCE_ID,
    displayName: 'TensorBoard log folders',
    version: '1.0.0',
    kind: 'source',
    description: 'Shows each folder of events.out.tfevents.* files in the workspace as a run, tailed live.',
    capabilities: ['metrics', 'params', 'live'],
    configSchema: {
      type: 'object',
      properties: {
        globs: { type: 'array', items: { type: 'string' }, default: DEFAULT_GLOBS },
        pollMs: { type: 'integer', minimum: 200, default: 2000 },
      },
    },
  };
  private ctx?: PluginContext;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private states?: TfeventsStateFile;
  private lastError?: string;

  constructor(private readonly o: TfeventsSourceOptions) {}

  initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    return Promise.resolve();
  }

  async start(sink: SourceSink): Promise<void> {
    this.states = new TfeventsStateFile(this.o.stateFile);
    await this.pollOnce(sink);
    const ms = typeof this.ctx?.config.pollMs === 'number' ? this.ctx.config.pollMs : 2000;
    this.timer = setInterval(() => {
      this.polling ??= this.pollOnce(sink).finally(() => (this.polling = undefined));
    }, ms);
  }

  /** One pass over the workspace: new folders, appended records. */
  async pollOnce(sink: SourceSink): Promise<void> {
    const states = this.states ?? (this.states = new TfeventsStateFile(this.o.stateFile));
    const globs = Array.isArray(this.ctx?.config.globs) ? (this.ctx.config.globs as string[]) : DEFAULT_GLOBS;
    let failed: string | undefined;
    for (const dir of findLogDirs(this.o.workspaceRoot, globs, this.o.excludeDirs?.() ?? [])) {
      // One folder's failure (unreadable, state not writable) must not hold up the others.
      try {
        const key = path.relative(this.o.workspaceRoot, dir).split(path.sep).join('/') || '.';
        const r = pollLogDir(this.o.workspaceRoot, dir, states.get(key));
        for (const p of r.problems) this.ctx?.logger.warn(`${p.file}: ${p.message}`);
        for (const e of r.events) sink.emit(r.state.runId, e);
        if (r.events.length || r.problems.length || !states.get(key)) await states.set(key, r.state);
      } catch (e) {
        failed = `TensorBoard logs in ${dir}: ${errorText(e)}`;
        this.ctx?.logger.error(failed);
      }
    }
    this.lastError = failed;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  healthCheck(): Promise<HealthStatus> {
    return Promise.resolve(
      this.lastError ? { healthy: false, details: this.lastError } : { healthy: true, details: 'reading' },
    );
  }

  dispose(): Promise<void> {
    return this.stop();
  }
}
