// The built-in MLflow backend: streams Runwatch runs into an MLflow tracking server over its REST API (experiments
// by name, runs, log-batch, tags taken off, run status, artifacts through the mlflow-artifacts proxy).
//
// Exactly-once per (run, offset): a run's MLflow id and a cursor (the last record
// fully written, plus how far into a partly written one) are saved in
// storageDir after every request that succeeds, so a batch delivered again after
// an outage or a restart resumes where the last one stopped.
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type {
  BackendPlugin,
  HealthStatus,
  PluginContext,
  PluginMetadata,
  RunBatch,
  RunEvent,
  RunSummary,
} from '../../api/types';
import { errorText } from '../../common/errors';
import { artifactFiles, proxiedArtifactRoot, uploadFiles } from './artifacts';
import { MlflowError, MlflowHttp } from './http';
import { BatchChunk, limitsForVersion, type BatchItem, type MlflowLimits } from './limits';
import { deleteTag, recordOps, RUNWATCH_ID_TAG, systemTags } from './ops';
import { RunStates, type RunState } from './state';

export { artifactDest, proxiedArtifactRoot } from './artifacts';
export { RUNWATCH_ID_TAG } from './ops';

export const MLFLOW_BACKEND_ID = 'runwatch.mlflow';

/** Where an op sits in the log, so progress can be saved after the request that carried it. */
interface Pos {
  offset: number;
  /** Offset of the record before it in delivery order: fully written once this op is. */
  before: number;
  done: number;
  total: number;
}

export class MlflowBackend implements BackendPlugin {
  readonly metadata: PluginMetadata & { kind: 'backend' } = {
    id: MLFLOW_BACKEND_ID,
    displayName: 'MLflow',
    version: '1.0.0',
    kind: 'backend',
    description: 'Streams runs (metrics, params, tags, status, artifacts) to an MLflow tracking server.',
    capabilities: ['metrics', 'params', 'tags', 'artifacts', 'live'],
    configSchema: {
      type: 'object',
      properties: {
        trackingUri: { type: 'string', description: 'The tracking server, e.g. http://127.0.0.1:5000.' },
        experimentName: {
          type: 'string',
          default: '',
          description: "Experiment to log into (created when missing). Empty: the run's project.",
        },
        username: { type: 'string', secret: true, description: 'Basic auth user (with password).' },
        password: { type: 'string', secret: true, description: 'Basic auth password.' },
        token: {
          type: 'string',
          secret: true,
          description: 'Bearer token; used instead of username and password when set.',
        },
      },
      required: ['trackingUri'],
    },
  };

  private ctx!: PluginContext;
  private http!: MlflowHttp;
  private trackingUri = '';
  private experimentName = '';
  private states!: RunStates;
  private limits: MlflowLimits | undefined;
  private version: string | undefined;
  private readonly experiments = new Map<string, string>();
  private readonly told = new Set<string>();

  async initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    const uri = context.config.trackingUri;
    if (typeof uri !== 'string' || uri === '')
      throw new Error('MLflow backend: set "trackingUri" (e.g. http://127.0.0.1:5000).');
    this.trackingUri = uri.replace(/\/+$/, '');
    const exp = context.config.experimentName;
    this.experimentName = typeof exp === 'string' ? exp : '';
    // Requests time out before the hub's 30 s write timeout, so a hung server shows as a failed write.
    this.http = new MlflowHttp(this.trackingUri, await this.authorization(), 25_000);
    // One state folder per server: pointing the backend at another server starts afresh there.
    const serverKey = crypto.createHash('sha256').update(this.trackingUri).digest('hex').slice(0, 12);
    this.states = new RunStates(path.join(context.storageDir, 'mlflow-runs', serverKey), this.trackingUri);
  }

  private async authorization(): Promise<string | undefined> {
    const s = this.ctx.secrets;
    const token = await s.get('token');
    if (token) return `Bearer ${token}`;
    const user = await s.get('username');
    const pass = await s.get('password');
    if (user) return `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
    return undefined;
  }

  /** Tells the user something once per backend lifetime (limits, truncation, skipped data). */
  private tellOnce(key: string, message: string): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    this.ctx.notify(`MLflow: ${message}`);
  }

  async healthCheck(): Promise<HealthStatus> {
    try {
      this.http.setAuthorization(await this.authorization());
      const health = await this.http.request('GET', 'health');
      if (health.status !== 200)
        return { healthy: false, details: `${this.trackingUri}/health answered HTTP ${health.status}` };
      const version = await this.http.request('GET', 'version');
      // A cheap authenticated call, so wrong credentials show up here rather than on the first run.
      await this.http.call('POST', 'experiments/search', { max_results: 1 });
      const v = version.status === 200 ? version.body.trim() : 'unknown version';
      return { healthy: true, details: `MLflow ${v} at ${this.trackingUri}` };
    } catch (err) {
      const m = errorText(err);
      return {
        healthy: false,
        details: err instanceof MlflowError ? m : `MLflow at ${this.trackingUri} unreachable: ${m}`,
      };
    }
  }

  /** Reads /version once and picks the limits; tells the user when param values will be cut shorter than 6,000. */
  private async serverLimits(): Promise<MlflowLimits> {
    if (this.limits) return this.limits;
    let version: string | undefined;
    try {
      const res = await this.http.request('GET', 'version');
      if (res.status === 200) version = res.body.trim();
    } catch (err) {
      throw new MlflowError(`MLflow at ${this.trackingUri} unreachable: ${errorText(err)}`, 0);
    }
    this.version = version;
    this.limits = limitsForVersion(version);
    return this.limits;
  }

  private async experimentId(name: string): Promise<string> {
    const cached = this.experiments.get(name);
    if (cached) return cached;
    type Exp = { experiment: { experiment_id: string; lifecycle_stage?: string } };
    const get = async (): Promise<string | undefined> => {
      try {
        const r = await this.http.call<Exp>('GET', 'experiments/get-by-name', { experiment_name: name });
        if (r.experiment.lifecycle_stage === 'deleted') {
          throw new MlflowError(
            `MLflow experiment "${name}" is deleted; restore it or choose another experiment name.`,
            400,
            'DELETED',
          );
        }
        return r.experiment.experiment_id;
      } catch (err) {
        if (err instanceof MlflowError && err.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw err;
      }
    };
    let id = await get();
    if (!id) {
      try {
        id = (await this.http.call<{ experiment_id: string }>('POST', 'experiments/create', { name })).experiment_id;
      } catch (err) {
        // Another writer created it in the meantime.
        if (!(err instanceof MlflowError && err.code === 'RESOURCE_ALREADY_EXISTS')) throw err;
        id = await get();
        if (!id) throw err;
      }
    }
    this.experiments.set(name, id);
    return id;
  }

  /** The MLflow run for a Runwatch run: from the saved state, from the id tag, or created now. */
  private async ensureRun(batch: RunBatch): Promise<RunState> {
    const runId = batch.run.runId;
    const existing = this.states.get(runId);
    if (existing) return existing;
    const limits = await this.serverLimits();
    const start = batch.records.find((r) => r.event.type === 'run.start')?.event as
      Extract<RunEvent, { type: 'run.start' }> | undefined;
    const info = {
      project: start?.project ?? batch.run.project,
      name: start?.name ?? batch.run.name,
      time: start?.time ?? batch.run.startTime,
      parentRunId: start?.parentRunId ?? batch.run.parentRunId,
      context: start?.context ?? batch.run.context,
    };
    const experimentId = await this.experimentId(this.experimentName || info.project || 'Default');
    type RunInfo = { run: { info: { run_id: string; artifact_uri: string } } };
    type Search = { runs?: RunInfo['run'][] };
    const found = await this.http.call<Search>('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.\`${RUNWATCH_ID_TAG}\` = '${runId.replace(/'/g, '')}'`,
      max_results: 1,
    });
    let info2 = found.runs?.[0]?.info;
    if (!info2) {
      const created = await this.http.call<RunInfo>('POST', 'runs/create', {
        experiment_id: experimentId,
        run_name: info.name,
        start_time: Math.round(info.time * 1000),
        tags: systemTags(
          runId,
          info,
          limits,
          info.parentRunId ? this.states.get(info.parentRunId)?.mlflowRunId : undefined,
        ),
      });
      info2 = created.run.info;
    }
    const st: RunState = {
      trackingUri: this.trackingUri,
      experimentId,
      mlflowRunId: info2.run_id,
      artifactUri: info2.artifact_uri,
      offset: -1,
      params: {},
      parentLinked: info.parentRunId ? this.states.get(info.parentRunId) !== undefined : undefined,
    };
    // Losing this mapping would make the next delivery start a second MLflow run.
    this.states.save(runId, st);
    if (info.parentRunId && st.parentLinked === false) this.states.awaitParent(info.parentRunId, runId);
    return st;
  }

  /** Sets `mlflow.parentRunId` on the children made before this run's MLflow run. */
  private async linkChildren(parentId: string, parent: RunState): Promise<void> {
    for (const childId of this.states.waitingFor(parentId)) {
      const child = this.states.get(childId);
      if (child && child.parentLinked === false) await this.linkParent(childId, child, parent);
      this.states.linked(parentId, childId);
    }
  }

  private async linkParent(childId: string, child: RunState, parent: RunState): Promise<void> {
    await this.http.call('POST', 'runs/set-tag', {
      run_id: child.mlflowRunId,
      key: 'mlflow.parentRunId',
      value: parent.mlflowRunId,
    });
    child.parentLinked = true;
    this.states.save(childId, child);
  }

  private readonly running = new Map<string, Promise<void>>();
  /** Runs whose waiting children (see `RunStates.awaitParent`) were linked in this session. */
  private readonly childrenLinked = new Set<string>();

  /**
   * One write per run at a time: the hub may give up on a slow write and retry
   * while the first is still sending, and two writers of one cursor would send twice.
   */
  async write(batch: RunBatch): Promise<void> {
    const runId = batch.run.runId;
    const prev = this.running.get(runId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.writeNow(batch));
    this.running.set(runId, next);
    try {
      await next;
    } finally {
      if (this.running.get(runId) === next) this.running.delete(runId);
    }
  }

  private async writeNow(batch: RunBatch): Promise<void> {
    const runId = batch.run.runId;
    const st = await this.ensureRun(batch);
    // Once per run and session, and again after a failed try: a child made first waits for this.
    if (!this.childrenLinked.has(runId)) {
      await this.linkChildren(runId, st);
      this.childrenLinked.add(runId);
    }
    const limits = await this.serverLimits();
    const parentId = batch.run.parentRunId;
    if (parentId && st.parentLinked === false) {
      const parent = this.states.get(parentId);
      if (parent) {
        await this.linkParent(runId, st, parent);
        this.states.linked(parentId, runId);
      }
    }
    const fresh = batch.records.filter((r) => r.offset > st.offset);
    if (fresh.length === 0) return;

    let chunk = new BatchChunk(limits);
    let chunkEnd: Pos | undefined;
    let chunkParams: Record<string, string> = {};
    const markDone = (p: Pos): void => {
      if (p.done >= p.total) {
        st.offset = p.offset;
        st.partial = undefined;
      } else {
        st.offset = p.before;
        st.partial = { offset: p.offset, done: p.done };
      }
    };
    const flush = async (): Promise<void> => {
      if (chunk.size > 0) await this.sendChunk(runId, st, chunk);
      Object.assign(st.params, chunkParams);
      if (chunkEnd) {
        markDone(chunkEnd);
        this.states.save(runId, st);
      }
      chunk = new BatchChunk(limits);
      chunkEnd = undefined;
      chunkParams = {};
    };

    let before = st.offset;
    for (const rec of fresh) {
      const ops = recordOps(rec.event, limits, this.version, (key, message) => this.tellOnce(key, message));
      const first = st.partial?.offset === rec.offset ? st.partial.done : 0;
      for (let i = first; i < ops.length; i++) {
        const op = ops[i];
        const pos: Pos = { offset: rec.offset, before, done: i + 1, total: ops.length };
        if (op.kind === 'metric' || op.kind === 'param' || op.kind === 'tag') {
          if (op.kind === 'param') {
            const prev = chunkParams[op.entry.key] ?? st.params[op.entry.key];
            if (prev !== undefined) {
              if (prev !== op.entry.value) {
                this.tellOnce(
                  `param-change:${runId}:${op.entry.key}`,
                  `param "${op.entry.key}" of run ${batch.run.name} changed value; MLflow keeps the first ("${prev}").`,
                );
              }
              chunkEnd = pos;
              continue;
            }
            chunkParams[op.entry.key] = op.entry.value;
          }
          if (!chunk.fits(op)) {
            if (op.kind === 'param') delete chunkParams[op.entry.key];
            await flush();
            if (op.kind === 'param') chunkParams[op.entry.key] = op.entry.value;
          }
          chunk.add(op);
          chunkEnd = pos;
        } else {
          await flush();
          if (op.kind === 'artifact') await this.uploadArtifact(batch.run, st, op.name, op.path);
          else if (op.kind === 'untag') await deleteTag(this.http, st.mlflowRunId, op.key, this.ctx.logger);
          else await this.endRun(runId, st, op.status, op.time);
          markDone(pos);
          this.states.save(runId, st);
        }
      }
      if (ops.length === first) {
        // Nothing (left) to send for this record: it is done as soon as what precedes it is.
        chunkEnd = { offset: rec.offset, before, done: 0, total: 0 };
      }
      before = rec.offset;
    }
    await flush();
  }

  private async endRun(runId: string, st: RunState, status: string, time: number): Promise<void> {
    try {
      await this.http.call('POST', 'runs/update', {
        run_id: st.mlflowRunId,
        status,
        end_time: Math.round(time * 1000),
      });
    } catch (err) {
      // E.g. the run was deleted in MLflow meanwhile: retrying cannot help, so say it and move on.
      if (!(err instanceof MlflowError) || !err.permanent) throw err;
      this.ctx.logger.error(`MLflow refused to end run ${runId} as ${status}; skipped: ${err.message}`);
    }
  }

  /**
   * Sends one log-batch. A request MLflow refuses as invalid is split in halves to
   * find the items at fault, which are reported and dropped: retrying them could
   * never succeed and would hold back the rest of the run.
   */
  private async sendChunk(runId: string, st: RunState, chunk: BatchChunk): Promise<void> {
    try {
      await this.http.call('POST', 'runs/log-batch', chunk.body(st.mlflowRunId));
    } catch (err) {
      if (!(err instanceof MlflowError) || !err.permanent) throw err;
      const items: BatchItem[] = [
        ...chunk.metrics.map((entry) => ({ kind: 'metric' as const, entry })),
        ...chunk.params.map((entry) => ({ kind: 'param' as const, entry })),
        ...chunk.tags.map((entry) => ({ kind: 'tag' as const, entry })),
      ];
      if (items.length === 1) {
        this.ctx.logger.error(
          `MLflow refused ${items[0].kind} "${items[0].entry.key}" of run ${runId}; it is skipped: ${err.message}`,
        );
        return;
      }
      const limits = await this.serverLimits();
      const half = Math.ceil(items.length / 2);
      for (const part of [items.slice(0, half), items.slice(half)]) {
        const c = new BatchChunk(limits);
        for (const it of part) c.add(it);
        await this.sendChunk(runId, st, c);
      }
    }
  }

  private async uploadArtifact(run: RunSummary, st: RunState, name: string, file: string): Promise<void> {
    const root = proxiedArtifactRoot(st.artifactUri);
    if (root === undefined) {
      this.tellOnce(
        'no-proxy',
        `the server stores artifacts at ${st.artifactUri}, not through its artifact proxy; artifacts are not uploaded (start the server with --serve-artifacts).`,
      );
      return;
    }
    const files = artifactFiles(name, file);
    if (!files) {
      this.ctx.logger.warn(`MLflow: artifact "${name}" of run ${run.name} is gone from ${file}; skipped.`);
      return;
    }
    await uploadFiles(this.http, root, files);
  }

  dispose(): void {
    this.http?.destroy();
  }
}
