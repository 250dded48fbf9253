// Built-in processors, applied per backend on the way from the run log to the
// backend (so one backend can get a downsampled or filtered view while the log
// keeps everything). Configured in settings as
// `runwatch.backendConfig.<backendId>.processors`: a list of steps, run in order.
// Records whose event is dropped are not delivered, but the backend's cursor still
// moves past them, so offsets stay the idempotency key.
import type { MetricPoint, ProcessorPlugin, RunEvent, RunSummary } from '../api/types';

export type ProcessorSpec =
  /** Keep only metric keys matching one of the globs (`*` any run of characters, `?` one). */
  | { type: 'include'; keys: string[] }
  /** Drop metric keys matching one of the globs. */
  | { type: 'exclude'; keys: string[] }
  /** Rename metric keys: exact old name → new name. */
  | { type: 'rename'; map: Record<string, string> }
  /** Replace values of params and tags whose keys look secret; extra words optional. */
  | { type: 'mask'; words?: string[] }
  /**
   * Thin metric points per key: `every` keeps points whose step is a multiple of N
   * (deterministic, so a re-delivered batch thins the same way); `minIntervalSeconds`
   * keeps the first point of each key in each interval of wall time.
   */
  | { type: 'downsample'; every?: number; minIntervalSeconds?: number }
  /** A processor plugin registered through the API, by id. */
  | { type: 'plugin'; id: string };

/** Used when a backend's settings name no processors: secrets never leave unmasked by default. */
export const DEFAULT_PROCESSORS: ProcessorSpec[] = [{ type: 'mask' }];

export const MASK = '***';
const SECRET_WORDS = ['token', 'password', 'passwd', 'key', 'secret', 'apikey', 'credential', 'credentials'];

export interface Pipeline {
  event(event: RunEvent, run: RunSummary): RunEvent | undefined;
  /** The run summary handed to the backend with each batch (its params and tags are masked too). */
  summary(run: RunSummary): RunSummary;
}

/** Splits a key into lower-case words at `_ - . / space` and camelCase boundaries. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** True when one of the key's words is a secret word: `api_key`, `apiKey`, `DB_PASSWORD` yes; `learning_rate`, `keyboard` no. */
export function looksSecret(key: string, extraWords: readonly string[] = []): boolean {
  const words = new Set([...SECRET_WORDS, ...extraWords.map((w) => w.toLowerCase())]);
  return keyWords(key).some((w) => words.has(w));
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Checks a processors setting; returns one message per bad step, naming it. */
export function validateProcessors(specs: unknown): string[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) return ['"processors" must be a list of steps.'];
  const errors: string[] = [];
  specs.forEach((s: unknown, i) => {
    const at = `"processors[${i}]"`;
    if (typeof s !== 'object' || s === null) return errors.push(`${at} must be an object with a "type".`);
    const spec = s as Record<string, unknown>;
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    switch (spec.type) {
      case 'include':
      case 'exclude':
        if (!strings(spec.keys)) errors.push(`${at}.keys must be a list of glob patterns.`);
        break;
      case 'rename':
        if (
          typeof spec.map !== 'object' ||
          spec.map === null ||
          !Object.values(spec.map).every((v) => typeof v === 'string')
        )
          errors.push(`${at}.map must be an object of old name → new name.`);
        break;
      case 'mask':
        if (spec.words !== undefined && !strings(spec.words)) errors.push(`${at}.words must be a list of words.`);
        break;
      case 'downsample': {
        const every = spec.every,
          min = spec.minIntervalSeconds;
        if (every === undefined && min === undefined) errors.push(`${at} needs "every" or "minIntervalSeconds".`);
        if (every !== undefined && !(Number.isInteger(every) && (every as number) >= 1))
          errors.push(`${at}.every must be a whole number ≥ 1.`);
        if (min !== undefined && !(typeof min === 'number' && min > 0))
          errors.push(`${at}.minIntervalSeconds must be a number > 0.`);
        break;
      }
      case 'plugin':
        if (typeof spec.id !== 'string') errors.push(`${at}.id must be a processor plugin id.`);
        break;
      default:
        errors.push(
          `${at}.type must be one of include, exclude, rename, mask, downsample, plugin; got ${JSON.stringify(spec.type)}.`,
        );
    }
    return undefined;
  });
  return errors;
}

type Step = {
  points?: (points: MetricPoint[]) => MetricPoint[];
  values?: <T>(values: Record<string, T>) => Record<string, T | string>;
  event?: (event: RunEvent, run: RunSummary) => RunEvent | undefined;
};

/**
 * Builds one backend's pipeline. State (for `minIntervalSeconds`) lives in the
 * pipeline, so each backend's thinning is its own.
 */
export function buildPipeline(
  specs: readonly ProcessorSpec[],
  lookupPlugin: (id: string) => ProcessorPlugin | undefined = () => undefined,
): Pipeline {
  const steps: Step[] = specs.map((spec) => makeStep(spec, lookupPlugin));
  const maskValues = <T>(values: Record<string, T>): Record<string, T | string> => {
    let out: Record<string, T | string> = values;
    for (const s of steps) if (s.values) out = s.values(out);
    return out;
  };
  return {
    event(event, run) {
      let e: RunEvent | undefined = event;
      for (const s of steps) {
        if (!e) return undefined;
        if (s.event) e = s.event(e, run);
        else if (s.points && e.type === 'metrics') {
          const points = s.points(e.points);
          e = points.length ? { ...e, points } : undefined;
        } else if (s.values) {
          if (e.type === 'run.start')
            e = { ...e, params: s.values(e.params) as typeof e.params, tags: s.values(e.tags) as typeof e.tags };
          else if (e.type === 'params') e = { ...e, params: s.values(e.params) as typeof e.params };
          else if (e.type === 'tags') e = { ...e, tags: s.values(e.tags) as typeof e.tags };
        }
      }
      return e;
    },
    summary(run) {
      return {
        ...run,
        params: maskValues(run.params) as RunSummary['params'],
        tags: maskValues(run.tags) as RunSummary['tags'],
      };
    },
  };
}

function makeStep(spec: ProcessorSpec, lookupPlugin: (id: string) => ProcessorPlugin | undefined): Step {
  switch (spec.type) {
    case 'include': {
      const res = spec.keys.map(globToRegExp);
      return { points: (ps) => ps.filter((p) => res.some((r) => r.test(p.key))) };
    }
    case 'exclude': {
      const res = spec.keys.map(globToRegExp);
      return { points: (ps) => ps.filter((p) => !res.some((r) => r.test(p.key))) };
    }
    case 'rename':
      return { points: (ps) => ps.map((p) => (spec.map[p.key] !== undefined ? { ...p, key: spec.map[p.key] } : p)) };
    case 'mask': {
      const extra = spec.words ?? [];
      return {
        values: <T>(values: Record<string, T>) => {
          const out: Record<string, T | string> = {};
          for (const [k, v] of Object.entries(values))
            out[k] = looksSecret(k, extra) && v !== null && v !== '' ? MASK : v;
          return out;
        },
      };
    }
    case 'downsample': {
      const every = spec.every;
      const interval = spec.minIntervalSeconds;
      const lastBucket = new Map<string, number>();
      return {
        points: (ps) =>
          ps.filter((p) => {
            if (every && every > 1 && p.step % every !== 0) return false;
            if (interval) {
              const bucket = Math.floor(p.time / interval);
              if (lastBucket.get(p.key) === bucket) return false;
              lastBucket.set(p.key, bucket);
            }
            return true;
          }),
      };
    }
    case 'plugin':
      return {
        event: (e, run) => {
          // Fail closed: a missing or throwing processor fails the batch (retried, breaker),
          // rather than letting unfiltered data through.
          const plugin = lookupPlugin(spec.id);
          if (!plugin) throw new Error(`processor plugin "${spec.id}" is not registered`);
          return plugin.process(e, run);
        },
      };
  }
}
