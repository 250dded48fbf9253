// A Runwatch record as MLflow operations: metrics, params and tags (sent in
// log-batch requests), tags taken off, artifacts and the run's end. The same record
// always gives the same list, so saved progress can count how many of its operations are done.
import * as os from 'node:os';
import type { PluginLogger, RunContext, RunEvent } from '../../api/types';
import { MlflowError, type MlflowHttp } from './http';
import { metricValue, paramString, sanitizeKey, type BatchItem, type MlflowLimits } from './limits';

/** The tag that ties an MLflow run to its Runwatch run, so a lost state file does not mean a second run. */
export const RUNWATCH_ID_TAG = 'runwatch.runId';

const STATUS: Record<string, string> = { finished: 'FINISHED', failed: 'FAILED', killed: 'KILLED', crashed: 'FAILED' };

export type Op =
  | BatchItem
  | { kind: 'untag'; key: string }
  | { kind: 'artifact'; name: string; path: string }
  | { kind: 'end'; status: string; time: number };

/** Tells the person something once per key (truncation, rewritten names). */
export type TellOnce = (key: string, message: string) => void;

const ARTIFACT_HINT = 'To keep a long value whole, log it as an artifact (run.log_artifact).';

/** A record as a list of operations, always the same for the same record (progress counts them). */
export function recordOps(
  event: RunEvent,
  limits: MlflowLimits,
  version: string | undefined,
  tellOnce: TellOnce,
): Op[] {
  const key = (k: string): string => {
    const s = sanitizeKey(k, limits.keyLength);
    if (s !== k) tellOnce('key', `names MLflow does not accept are rewritten (e.g. "${k}" → "${s}").`);
    return s;
  };
  const param = (k: string, v: string | number | boolean | null): Op => {
    let value = paramString(v);
    if (value.length > limits.paramValueLength) {
      tellOnce(
        'param-trunc',
        `MLflow ${version ?? '(version unknown)'} keeps param values up to ${limits.paramValueLength} characters; ` +
          `longer ones are truncated (first: "${k}"). ${ARTIFACT_HINT}`,
      );
      value = value.slice(0, limits.paramValueLength);
    }
    return { kind: 'param', entry: { key: key(k), value } };
  };
  const tag = (k: string, v: string): Op => {
    let value = String(v);
    if (value.length > limits.tagValueLength) {
      tellOnce(
        'tag-trunc',
        `tag values longer than ${limits.tagValueLength} characters are truncated (first: "${k}"). ${ARTIFACT_HINT}`,
      );
      value = value.slice(0, limits.tagValueLength);
    }
    return { kind: 'tag', entry: { key: key(k), value } };
  };
  switch (event.type) {
    case 'run.start':
      return [
        ...Object.entries(event.params).map(([k, v]) => param(k, v)),
        ...Object.entries(event.tags).map(([k, v]) => tag(k, v)),
      ];
    case 'params':
      return Object.entries(event.params).map(([k, v]) => param(k, v));
    case 'tags':
      // Removals come after the merge, as in the run log; each is its own request.
      return [
        ...Object.entries(event.tags).map(([k, v]) => tag(k, v)),
        ...(event.removed ?? []).map((k): Op => ({ kind: 'untag', key: key(k) })),
      ];
    case 'metrics':
      return event.points.map((p) => ({
        kind: 'metric' as const,
        entry: {
          key: key(p.key),
          value: metricValue(p.value),
          timestamp: Math.round(p.time * 1000),
          step: Math.trunc(p.step),
        },
      }));
    case 'artifact':
      return [{ kind: 'artifact', name: event.name, path: event.path }];
    case 'run.end': {
      const out: Op[] = [];
      if (event.status === 'crashed') out.push(tag('runwatch.status', 'crashed'));
      if (event.reason) out.push(tag('runwatch.endReason', event.reason));
      out.push({ kind: 'end', status: STATUS[event.status] ?? 'FAILED', time: event.time });
      return out;
    }
    case 'log':
      return [];
  }
}

/** The tags a new MLflow run is created with: its Runwatch id, name, source, user, git and parent. */
export function systemTags(
  runId: string,
  info: { name: string; parentRunId?: string; context: RunContext },
  limits: MlflowLimits,
  parentMlflowRunId: string | undefined,
): { key: string; value: string }[] {
  const tags: Record<string, string> = {
    [RUNWATCH_ID_TAG]: runId,
    'mlflow.runName': info.name,
    'mlflow.source.type': 'LOCAL',
    'mlflow.source.name': info.context.argv?.[0] ?? 'runwatch',
  };
  const user = typeof info.context.user === 'string' ? info.context.user : localUser();
  if (user) tags['mlflow.user'] = user;
  const git = info.context.git;
  if (git?.commit) tags['mlflow.source.git.commit'] = git.commit;
  if (git?.branch) tags['mlflow.source.git.branch'] = git.branch;
  if (git?.remote) tags['mlflow.source.git.repoURL'] = git.remote;
  if (info.parentRunId) {
    tags['runwatch.parentRunId'] = info.parentRunId;
    if (parentMlflowRunId) tags['mlflow.parentRunId'] = parentMlflowRunId;
  }
  return Object.entries(tags).map(([key, value]) => ({ key, value: value.slice(0, limits.tagValueLength) }));
}

/** The collector runs where training runs (extensionKind workspace), so its user is the run's user. */
function localUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * Takes a tag off an MLflow run. One that is not there is done: never set, or deleted by the
 * request before an outage whose answer was lost. Any other refusal (the run deleted in MLflow)
 * cannot succeed on a retry either: it is logged and skipped, so it does not hold the run back.
 */
export async function deleteTag(
  http: MlflowHttp,
  mlflowRunId: string,
  key: string,
  logger: Pick<PluginLogger, 'error'>,
): Promise<void> {
  try {
    await http.call('POST', 'runs/delete-tag', { run_id: mlflowRunId, key });
  } catch (err) {
    if (!(err instanceof MlflowError) || !err.permanent) throw err;
    if (err.code === 'RESOURCE_DOES_NOT_EXIST') return;
    logger.error(`MLflow refused to remove tag "${key}" from run ${mlflowRunId}; skipped: ${err.message}`);
  }
}
