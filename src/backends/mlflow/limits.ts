// MLflow's request limits and naming rules, and the chunking of log-batch
// requests within them. Pure functions, so they are unit-tested without a server.

export interface MlflowLimits {
  metricsPerBatch: number;
  paramsPerBatch: number;
  tagsPerBatch: number;
  itemsPerBatch: number;
  /** Bytes of one log-batch request body; MLflow refuses more than 1,000,000; we keep a margin. */
  bytesPerBatch: number;
  keyLength: number;
  paramValueLength: number;
  tagValueLength: number;
}

const BASE: MlflowLimits = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  itemsPerBatch: 1000,
  bytesPerBatch: 900_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
};

/** Parses "2.9.2" or "3.17.2.dev0" into [major, minor]; undefined when it is not a version. */
export function parseVersion(text: string | undefined): [number, number] | undefined {
  const m = /^\s*(\d+)\.(\d+)/.exec(text ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Limits for a server version. Param values: 6,000 characters since MLflow 2.8,
 * 500 since 1.28, 250 before. An unknown version gets the old, safe limits.
 */
export function limitsForVersion(version: string | undefined): MlflowLimits {
  const v = parseVersion(version);
  if (!v) return { ...BASE, paramValueLength: 500, tagValueLength: 5000 };
  const [major, minor] = v;
  if (major > 2 || (major === 2 && minor >= 8)) return { ...BASE };
  if (major === 2 || (major === 1 && minor >= 28)) return { ...BASE, paramValueLength: 500, tagValueLength: 5000 };
  return { ...BASE, paramValueLength: 250, tagValueLength: 5000 };
}

/**
 * Makes a metric, param or tag key acceptable to MLflow: letters, digits and
 * `_ - . space /` only, no empty, `.` or `..` path segments, at most `maxLength`.
 * Returns the key unchanged when it already is.
 */
export function sanitizeKey(key: string, maxLength = 250): string {
  let k = key.replace(/[^A-Za-z0-9_\-. /]/g, '_');
  const segments = k
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((s) => (s === '..' ? '__' : s));
  k = segments.join('/');
  if (k === '') k = '_';
  return k.length > maxLength ? k.slice(0, maxLength) : k;
}

/** MLflow's JSON (protobuf JSON mapping) carries non-finite doubles as these strings. */
export function metricValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** A param value as MLflow's Python client would write it (`str(value)`). */
export function paramString(value: string | number | boolean | null): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

export interface MetricEntry {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}
export interface KeyValue {
  key: string;
  value: string;
}

export type BatchItem =
  { kind: 'metric'; entry: MetricEntry } | { kind: 'param'; entry: KeyValue } | { kind: 'tag'; entry: KeyValue };

/** Accumulates items into one log-batch request and says when the next one would not fit. */
export class BatchChunk {
  readonly metrics: MetricEntry[] = [];
  readonly params: KeyValue[] = [];
  readonly tags: KeyValue[] = [];
  private bytes = 64; // {"run_id":"…","metrics":[],"params":[],"tags":[]}

  constructor(private readonly limits: MlflowLimits) {}

  get size(): number {
    return this.metrics.length + this.params.length + this.tags.length;
  }

  static itemBytes(item: BatchItem): number {
    return Buffer.byteLength(JSON.stringify(item.entry)) + 1;
  }

  fits(item: BatchItem): boolean {
    const l = this.limits;
    if (this.size === 0) return true; // a single item always goes (it is within limits once truncated)
    if (this.size + 1 > l.itemsPerBatch) return false;
    if (this.bytes + BatchChunk.itemBytes(item) > l.bytesPerBatch) return false;
    if (item.kind === 'metric') return this.metrics.length < l.metricsPerBatch;
    if (item.kind === 'param') return this.params.length < l.paramsPerBatch;
    return this.tags.length < l.tagsPerBatch;
  }

  add(item: BatchItem): void {
    this.bytes += BatchChunk.itemBytes(item);
    if (item.kind === 'metric') this.metrics.push(item.entry);
    else if (item.kind === 'param') this.params.push(item.entry);
    else {
      // The same tag twice in one request: the later value wins, as it would in two requests.
      const i = this.tags.findIndex((t) => t.key === item.entry.key);
      if (i >= 0) this.tags[i] = item.entry;
      else this.tags.push(item.entry);
    }
  }

  body(runId: string): { run_id: string; metrics: MetricEntry[]; params: KeyValue[]; tags: KeyValue[] } {
    return { run_id: runId, metrics: this.metrics, params: this.params, tags: this.tags };
  }
}

/** Splits items into log-batch request bodies within the limits, keeping their order. */
export function chunkItems(items: BatchItem[], limits: MlflowLimits): BatchChunk[] {
  const out: BatchChunk[] = [];
  let cur = new BatchChunk(limits);
  for (const it of items) {
    if (!cur.fits(it)) {
      out.push(cur);
      cur = new BatchChunk(limits);
    }
    cur.add(it);
  }
  if (cur.size > 0) out.push(cur);
  return out;
}
