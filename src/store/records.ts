// What a log record's payload holds (`{"seq"?, "event"}` as UTF-8 JSON, non-finite values as the wire's
// strings) and how a run's summary is folded from its events. Pure functions, no I/O.
import type { MetricPoint, RunEvent, RunSummary, SourceLocation } from '../api/types';
import { decodeWireNumber, encodeWireNumber, type WireNumber } from '../common/wireNumber';
import { columnEntries } from '../protocol/packedColumn';

export function encodePayload(seq: number | undefined, event: RunEvent): Buffer {
  let ev: RunEvent = event;
  if (event.type === 'metrics') {
    const pts = event.points;
    let finite = true;
    for (let i = 0; i < pts.length; i++) {
      if (!Number.isFinite(pts[i].value)) {
        finite = false;
        break;
      }
    }
    if (!finite) {
      const wire = pts.map((p) => (Number.isFinite(p.value) ? p : { ...p, value: encodeWireNumber(p.value) }));
      ev = { ...event, points: wire as unknown as MetricPoint[] };
    }
  }
  return Buffer.from(JSON.stringify(seq === undefined ? { event: ev } : { seq, event: ev }));
}

/** A validated wire `metrics` message stored as received (see AppendItem.wireJson). */
export function encodeWirePayload(seq: number | undefined, wireJson: string): Buffer {
  return Buffer.from(seq === undefined ? `{"event":${wireJson}}` : `{"seq":${seq},"event":${wireJson}}`);
}

export function decodePayload(payload: Buffer): { seq?: number; event: RunEvent } {
  const rec = JSON.parse(payload.toString('utf8')) as { seq?: number; event: RunEvent };
  if (rec.event.type === 'metrics') {
    // Rebuilt point by point: a stored wire message carries extra fields (runId, seq, unknown keys),
    // and may be in the columnar form (`cols`, protocol v1), which is read back as the same points.
    const stored = rec.event as { points?: StoredPoint[]; cols?: StoredColumns; sources?: MetricSources };
    const points =
      stored.cols !== undefined && stored.points === undefined
        ? columnsToPoints(stored.cols)
        : objectsToPoints(stored.points ?? []);
    const event: RunEvent =
      stored.sources !== undefined ? { type: 'metrics', points, sources: stored.sources } : { type: 'metrics', points };
    return rec.seq === undefined ? { event } : { seq: rec.seq, event };
  }
  return rec;
}

type MetricSources = Record<string, SourceLocation>;
type StoredPoint = Omit<MetricPoint, 'value'> & { value: WireNumber };
interface StoredColumns {
  keys: string[];
  k: number[];
  /** Packed columns (a string each) hold their numbers as they are, NaN and ±Infinity included. */
  v: WireNumber[] | string;
  s: number[] | string;
  t: number[] | string;
}

function storedNumber(v: WireNumber): number {
  return decodeWireNumber(v) ?? Number(v);
}

function objectsToPoints(pts: StoredPoint[]): MetricPoint[] {
  const points = new Array<MetricPoint>(pts.length);
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    points[i] = { key: p.key, value: storedNumber(p.value), step: p.step, time: p.time };
  }
  return points;
}

/** A stored column as numbers (checked on the way in: a packed one decodes to k.length numbers). */
function storedColumn(col: readonly number[] | string, n: number): ArrayLike<number> {
  return columnEntries(col, n) ?? new Float64Array(n).fill(NaN);
}

function columnsToPoints(c: StoredColumns): MetricPoint[] {
  const { keys, k } = c;
  const n = k.length;
  const s = storedColumn(c.s, n);
  const t = storedColumn(c.t, n);
  const points = new Array<MetricPoint>(n);
  if (typeof c.v === 'string') {
    const v = storedColumn(c.v, n);
    for (let i = 0; i < n; i++) points[i] = { key: keys[k[i]], value: v[i], step: s[i], time: t[i] };
  } else {
    const v = c.v;
    for (let i = 0; i < n; i++) points[i] = { key: keys[k[i]], value: storedNumber(v[i]), step: s[i], time: t[i] };
  }
  return points;
}

/** Folds one event into a run's summary (pure: returns a new object when anything changes). */
export function reduce(prev: RunSummary | undefined, runId: string, ev: RunEvent): RunSummary {
  const s: RunSummary = prev
    ? { ...prev }
    : {
        runId,
        project: 'unknown',
        name: runId,
        status: 'running',
        startTime: 'time' in ev ? ev.time : Date.now() / 1000,
        params: {},
        tags: {},
        context: {},
      };
  switch (ev.type) {
    case 'run.start':
      s.project = ev.project;
      s.name = ev.name || s.name;
      if (!prev) s.startTime = ev.time;
      s.params = { ...s.params, ...ev.params };
      s.tags = { ...s.tags, ...ev.tags };
      if (ev.parentRunId) s.parentRunId = ev.parentRunId;
      s.context = { ...s.context, ...ev.context };
      s.status = 'running';
      delete s.endTime;
      break;
    case 'metrics': {
      let last = s.lastStep ?? -1;
      for (const p of ev.points) if (p.step > last) last = p.step;
      if (last >= 0) s.lastStep = last;
      // The first location of a key wins: it is where the key was first logged.
      if (ev.sources) s.sources = { ...ev.sources, ...s.sources };
      break;
    }
    case 'params':
      s.params = { ...s.params, ...ev.params };
      break;
    case 'tags':
      s.tags = { ...s.tags, ...ev.tags };
      for (const name of ev.removed ?? []) delete s.tags[name];
      break;
    case 'artifact':
    case 'log':
      break;
    case 'run.end':
      s.status = ev.status;
      s.endTime = ev.time;
      break;
  }
  // Data after a crash mark means the client came back: the run lives again.
  if (ev.type !== 'run.end' && s.status === 'crashed') {
    s.status = 'running';
    delete s.endTime;
  }
  return s;
}
