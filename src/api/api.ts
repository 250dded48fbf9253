// The exported API's implementation. `createExports` builds what `activate()`
// returns; it does not import vscode, so it is tested in plain Node too.
import { Emitter } from '../common/emitter';
import type { Disposable, Plugin, RunSummary, RunwatchApiV1, RunwatchExports } from './types';

export const SUPPORTED_API_VERSIONS: readonly number[] = [1];

/** What the API needs from the running extension. */
export interface ApiHost {
  registerPlugin(plugin: Plugin): Disposable;
  listRuns(): RunSummary[];
  /** Fires with run ids (may repeat) when runs start, change or get data. */
  onRunsChanged(listener: (runIds: string[]) => void): Disposable;
  getCollectorInfo(): { url: string; token: string } | undefined;
}

export function createExports(host: ApiHost): RunwatchExports {
  const v1: RunwatchApiV1 = Object.freeze({
    version: 1 as const,
    registerPlugin: (plugin: Plugin) => {
      checkPluginShape(plugin);
      return host.registerPlugin(plugin);
    },
    listRuns: () => host.listRuns(),
    onDidChangeRuns: (listener: (runIds: string[]) => void) => host.onRunsChanged(listener),
    getCollectorInfo: () => host.getCollectorInfo(),
  });
  return {
    getApi(version: number): RunwatchApiV1 {
      if (version === 1) return v1;
      throw new Error(
        `Runwatch API version ${JSON.stringify(version)} is not available; this Runwatch supports version ${SUPPORTED_API_VERSIONS.join(', ')}. ` +
          'Call getApi(1), or update Runwatch if your extension needs a newer API.',
      );
    },
  } as RunwatchExports;
}

/** Plugins come from other extensions' JavaScript: check the shape, and say what is missing. */
export function checkPluginShape(plugin: unknown): asserts plugin is Plugin {
  const p = plugin as Partial<Record<string, unknown>> & { metadata?: Partial<Record<string, unknown>> };
  const what = `Runwatch registerPlugin(${typeof p?.metadata?.id === 'string' ? `"${p.metadata.id}"` : ''})`;
  if (!p || typeof p !== 'object' || !p.metadata || typeof p.metadata !== 'object')
    throw new Error(`${what}: the plugin needs a "metadata" object.`);
  for (const field of ['id', 'displayName', 'version', 'kind'] as const)
    if (typeof p.metadata[field] !== 'string') throw new Error(`${what}: metadata.${field} must be a string.`);
  if (!Array.isArray(p.metadata.capabilities))
    throw new Error(`${what}: metadata.capabilities must be a list (it may be empty).`);
  const methods: Record<string, string[]> = { backend: ['write'], source: ['start', 'stop'], processor: ['process'] };
  const kind = p.metadata.kind as string;
  if (!methods[kind])
    throw new Error(`${what}: metadata.kind must be "backend", "source" or "processor", got ${JSON.stringify(kind)}.`);
  for (const m of ['initialize', 'healthCheck', 'dispose', ...methods[kind]])
    if (typeof p[m] !== 'function') throw new Error(`${what}: a ${kind} plugin needs a ${m}() method.`);
}

/** The store events the API turns into `onDidChangeRuns` (RunStore has them all). */
export interface RunEvents {
  onDidAppend(listener: (runId: string) => void): Disposable;
  onDidChangeRun(listener: (run: RunSummary) => void): Disposable;
  onDidDeleteRun(listener: (runId: string) => void): Disposable;
}

/**
 * `onDidChangeRuns` for one listener: run ids gathered and handed over at most every
 * `ms`. A throwing companion listener does not break ours; it is reported like any
 * listener's error (src/common/emitter.ts), as "api.onDidChangeRuns".
 */
export function coalescedRunChanges(
  events: RunEvents,
  listener: (runIds: string[]) => void,
  ms = 250,
  onListenerError?: (error: unknown, name: string) => void,
): Disposable {
  const out = new Emitter<string[]>({ name: 'api.onDidChangeRuns', onListenerError });
  out.event(listener);
  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const note = (runId: string) => {
    pending.add(runId);
    timer ??= setTimeout(() => {
      timer = undefined;
      const ids = [...pending];
      pending.clear();
      out.fire(ids);
    }, ms);
  };
  const subs = [events.onDidAppend(note), events.onDidChangeRun((r) => note(r.runId)), events.onDidDeleteRun(note)];
  return {
    dispose: () => {
      if (timer) clearTimeout(timer);
      for (const s of subs) s.dispose();
      out.dispose();
    },
  };
}
