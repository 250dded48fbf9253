// Turns one text frame into a checked client message, or an error that says what
// was wrong. `metrics` frames carry most of the traffic (up to millions of points
// a second), so they are checked by hand with exactly the rules of the zod schema
// in src/protocol/v1.ts (a test compares both on many random frames); every other
// message goes through zod.
import type { ZodError } from 'zod';
import type { RunEvent } from '../api/types';
import { decodeWireNumber } from '../common/wireNumber';
import { packedRule, unpackColumn } from '../protocol/packedColumn';
import * as v1 from '../protocol/v1';

export interface FrameError {
  code: v1.ErrorCode;
  message: string;
  runId?: string;
  seq?: number;
  /** seq_gap only: the seq to resend from. */
  expected?: number;
}

export type ParsedFrame =
  | { kind: 'heartbeat'; time?: number; runIds?: string[] }
  | { kind: 'hello' }
  | { kind: 'run'; runId: string; seq: number; event: RunEvent; points: number }
  /** `type` is the frame's message type when it had a string one. */
  | { kind: 'error'; error: FrameError; type?: string };

const RUN_TYPES = new Set(['run.start', 'metrics', 'params', 'tags', 'artifact', 'log', 'run.end']);
const RUN_ID = /^[A-Za-z0-9._-]+$/;

export interface FrameLimits {
  maxBatchPoints: number;
}

/** Parses and checks a frame received after the handshake. */
export function parseFrame(text: string, limits: FrameLimits): ParsedFrame {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return fail(
      'bad_json',
      `the frame is not valid JSON (${(err as Error).message}); send one JSON object per text frame`,
    );
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return fail(
      'bad_json',
      `the frame must be a JSON object with a "type", not ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : typeof obj}`,
    );
  }
  const o = obj as Record<string, unknown>;
  const runId = typeof o.runId === 'string' ? o.runId : undefined;
  const seq = typeof o.seq === 'number' ? o.seq : undefined;
  const type = o.type;
  if (type === 'metrics') return withType(parseMetrics(o, runId, seq, limits), type);
  if (type === 'heartbeat') {
    const r = v1.Heartbeat.safeParse(o);
    return r.success
      ? { kind: 'heartbeat', time: r.data.time, runIds: r.data.runIds }
      : fail('bad_message', describe('heartbeat', r.error), runId, seq);
  }
  if (type === 'hello') {
    const r = v1.Hello.safeParse(o);
    return r.success ? { kind: 'hello' } : fail('bad_message', describe('hello', r.error), runId, seq);
  }
  if (typeof type !== 'string' || !RUN_TYPES.has(type)) {
    return withType(
      fail(
        'unknown_type',
        `unknown message type ${JSON.stringify(type) ?? 'undefined'}; expected one of run.start, metrics, params, tags, artifact, log, run.end, heartbeat`,
        runId,
        seq,
      ),
      typeof type === 'string' ? type : undefined,
    );
  }
  const r = v1.RunMessage.safeParse(o);
  if (!r.success) return withType(fail('bad_message', describe(type, r.error), runId, seq), type);
  const m = r.data;
  return { kind: 'run', runId: m.runId, seq: m.seq, event: toEvent(m), points: 0 };
}

function toEvent(m: v1.RunMessage): RunEvent {
  switch (m.type) {
    case 'run.start':
      return {
        type: 'run.start',
        project: m.project,
        name: m.name ?? m.runId,
        time: m.time,
        params: m.params ?? {},
        tags: m.tags ?? {},
        ...(m.parentRunId !== undefined ? { parentRunId: m.parentRunId } : {}),
        context: m.context ?? {},
      };
    case 'metrics':
      return { type: 'metrics', points: v1.metricsPoints(m), ...(m.sources ? { sources: m.sources } : {}) };
    case 'params':
      return { type: 'params', params: m.params };
    case 'tags':
      return { type: 'tags', tags: m.tags, ...(m.removed?.length ? { removed: m.removed } : {}) };
    case 'artifact':
      return { type: 'artifact', name: m.name, path: m.path, kind: m.kind, metadata: m.metadata };
    case 'log':
      return { type: 'log', stream: m.stream, lines: m.lines, time: m.time };
    case 'run.end':
      return {
        type: 'run.end',
        status: m.status,
        time: m.time,
        ...(m.reason !== undefined ? { reason: m.reason } : {}),
      };
  }
}

/** The hand-written twin of `v1.Metrics`, both forms (same rules; unknown keys are dropped, like zod does). */
function parseMetrics(
  o: Record<string, unknown>,
  runId: string | undefined,
  seq: number | undefined,
  limits: FrameLimits,
): ParsedFrame {
  const bad = (message: string) => fail('bad_message', `metrics: ${message}`, runId, seq);
  const rid = o.runId;
  if (typeof rid !== 'string') return bad(`"runId" must be a string, got ${kind(rid)}`);
  if (rid.length < 1 || rid.length > 128 || !RUN_ID.test(rid) || rid === '.' || rid === '..') {
    return bad(
      `"runId" ${JSON.stringify(rid.slice(0, 140))} is not allowed: 1 to 128 of letters, digits, ".", "_" and "-" (a UUID is best)`,
    );
  }
  const s = o.seq;
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1)
    return bad(`"seq" must be an integer from 1 to ${v1.MAX_INT_TEXT}, got ${kind(s)}`);
  const pts = o.points;
  if (o.sources !== undefined) {
    // Once per key per run: zod is fast enough here.
    const r = v1.Sources.safeParse(o.sources);
    if (!r.success) return bad(`"sources": ${describeIssues(r.error)}`);
    if (o.cols === undefined && pts === undefined) {
      return { kind: 'run', runId: rid, seq: s, event: { type: 'metrics', points: [], sources: r.data }, points: 0 };
    }
    return withSources(metricsBody(o, rid, s, limits, bad), r.data);
  }
  return metricsBody(o, rid, s, limits, bad);
}

function withSources(frame: ParsedFrame, sources: Record<string, v1.SourceLocation>): ParsedFrame {
  return frame.kind === 'run' && frame.event.type === 'metrics'
    ? { ...frame, event: { ...frame.event, sources } }
    : frame;
}

function metricsBody(
  o: Record<string, unknown>,
  rid: string,
  s: number,
  limits: FrameLimits,
  bad: (message: string) => ParsedFrame,
): ParsedFrame {
  const pts = o.points;
  if (o.cols !== undefined) {
    if (pts !== undefined) return bad('send exactly one of "points" and "cols", not both');
    return parseColumns(o.cols, rid, s, limits, bad);
  }
  if (!Array.isArray(pts))
    return bad(`"points" must be an array of {key, value, step, time} (or send "cols"), got ${kind(pts)}`);
  if (pts.length < 1) return bad('"points" is empty; send at least one point');
  if (pts.length > limits.maxBatchPoints) return tooManyPoints(pts.length, limits, rid, s);
  const points = new Array<{ key: string; value: number; step: number; time: number }>(pts.length);
  for (let i = 0; i < pts.length; i++) {
    const p: unknown = pts[i];
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      return bad(`points[${i}] must be an object {key, value, step, time}, got ${kind(p)}`);
    const { key, value, step, time } = p as Record<string, unknown>;
    if (!isKey(key)) return bad(`points[${i}].key ${KEY_RULE}, got ${kind(key)}`);
    const v = wireValue(value);
    if (v === undefined) return bad(`points[${i}].value ${valueRule(value)}`);
    if (!isStep(step)) return bad(`points[${i}].step ${STEP_RULE}, got ${kind(step)}`);
    if (!isTime(time)) return bad(`points[${i}].time ${timeRule(time)}`);
    points[i] = { key, value: v, step, time };
  }
  return { kind: 'run', runId: rid, seq: s, event: { type: 'metrics', points }, points: points.length };
}

/** The columnar form: point i is (keys[k[i]], v[i], s[i], t[i]). Same rules as `v1.MetricColumns`. */
function parseColumns(
  cols: unknown,
  rid: string,
  seq: number,
  limits: FrameLimits,
  bad: (message: string) => ParsedFrame,
): ParsedFrame {
  if (typeof cols !== 'object' || cols === null || Array.isArray(cols))
    return bad(`"cols" must be an object {keys, k, v, s, t}, got ${kind(cols)}`);
  const c = cols as Record<string, unknown>;
  const { keys, k } = c;
  if (!Array.isArray(keys)) return bad(`cols.keys must be an array of metric names, got ${kind(keys)}`);
  if (keys.length < 1) return bad('cols.keys is empty; name at least one metric');
  const seen = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    const key: unknown = keys[i];
    if (!isKey(key)) return bad(`cols.keys[${i}] ${KEY_RULE}, got ${kind(key)}`);
    if (seen.has(key)) return bad(`cols.keys[${i}] ${kind(key)} appears twice; keys must be distinct`);
    seen.add(key);
  }
  if (!Array.isArray(k)) return bad(`cols.k must be an array of indexes into cols.keys, got ${kind(k)}`);
  const n = k.length;
  if (n < 1) return bad('cols.k is empty; send at least one point');
  // A packed column (base64 of float32 or float64 numbers) is decoded here; an array is read as it is.
  const column = (x: unknown, name: string, what: string): ArrayLike<unknown> | string => {
    if (typeof x === 'string') return unpackColumn(x, n) ?? `cols.${name} is packed but is not ${packedRule(n)}`;
    if (!Array.isArray(x)) return `cols.${name} must be an array of ${what} or a packed column, got ${kind(x)}`;
    return x;
  };
  const v = column(c.v, 'v', 'values');
  if (typeof v === 'string') return bad(v);
  const s = column(c.s, 's', 'steps');
  if (typeof s === 'string') return bad(s);
  const t = column(c.t, 't', 'times');
  if (typeof t === 'string') return bad(t);
  if (v.length !== n || s.length !== n || t.length !== n) {
    return bad(`cols.k, v, s and t must have the same length; got ${n}, ${v.length}, ${s.length} and ${t.length}`);
  }
  if (n > limits.maxBatchPoints) return tooManyPoints(n, limits, rid, seq);
  const packedValues = !Array.isArray(v);
  const nk = keys.length;
  const names = keys as string[];
  const points = new Array<{ key: string; value: number; step: number; time: number }>(n);
  for (let i = 0; i < n; i++) {
    const ki: unknown = k[i];
    if (typeof ki !== 'number' || !Number.isInteger(ki) || ki < 0 || ki >= nk) {
      return bad(`cols.k[${i}] must be an integer index into cols.keys (0 to ${nk - 1}), got ${kind(ki)}`);
    }
    const value: unknown = v[i];
    // A packed value is a float as it is, NaN and ±Infinity included.
    const val = packedValues ? (value as number) : wireValue(value);
    if (val === undefined) return bad(`cols.v[${i}] ${valueRule(value)}`);
    const step: unknown = s[i];
    if (!isStep(step)) return bad(`cols.s[${i}] ${STEP_RULE}, got ${kind(step)}`);
    const time: unknown = t[i];
    if (!isTime(time)) return bad(`cols.t[${i}] ${timeRule(time)}`);
    points[i] = { key: names[ki], value: val, step, time };
  }
  return { kind: 'run', runId: rid, seq, event: { type: 'metrics', points }, points: n };
}

const KEY_RULE = `must be a string of 1 to ${v1.MAX_KEY_CODE_POINTS} characters (Unicode code points)`;
const STEP_RULE = `must be an integer from 0 to ${v1.MAX_INT_TEXT}`;

function isKey(key: unknown): key is string {
  // Code points never outnumber UTF-16 units, so only long strings need counting.
  return (
    typeof key === 'string' &&
    key.length >= 1 &&
    (key.length <= v1.MAX_KEY_CODE_POINTS || v1.codePoints(key) <= v1.MAX_KEY_CODE_POINTS)
  );
}

function isStep(step: unknown): step is number {
  return typeof step === 'number' && Number.isSafeInteger(step) && step >= 0;
}

function isTime(time: unknown): time is number {
  return typeof time === 'number' && Number.isFinite(time) && time >= 0;
}

/** A wire value as a number (NaN and ±Infinity travel as strings); undefined for anything else, and for JSON overflow. */
function wireValue(value: unknown): number | undefined {
  // A JSON number is never infinite unless it overflowed (1e400): refuse it rather than store Infinity.
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return decodeWireNumber(value);
}

function valueRule(value: unknown): string {
  if (typeof value === 'number')
    return `is ${v1.OVERFLOW_HINT}; send "Infinity" or "-Infinity" as a string if you mean it`;
  return `must be a number or one of "NaN", "Infinity", "-Infinity", got ${kind(value)}`;
}

function timeRule(time: unknown): string {
  if (time === undefined) return 'is required: seconds since the Unix epoch (a number 0 or more)';
  if (typeof time === 'number' && !Number.isNaN(time) && !Number.isFinite(time)) return `is ${v1.OVERFLOW_HINT}`;
  return `must be seconds since the Unix epoch (a number 0 or more), got ${kind(time)}`;
}

function withType(frame: ParsedFrame, type: string | undefined): ParsedFrame {
  return frame.kind === 'error' && type !== undefined ? { ...frame, type } : frame;
}

function tooManyPoints(n: number, limits: FrameLimits, runId: string, seq: number): ParsedFrame {
  return fail(
    'too_many_points',
    `metrics: ${n} points in one frame, more than the limit of ${limits.maxBatchPoints}; split the batch`,
    runId,
    seq,
  );
}

function kind(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return String(v);
  return typeof v;
}

function describeIssues(err: ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(map)'}: ${i.message}`)
    .join('; ');
}

function describe(type: string, err: ZodError): string {
  const parts = err.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`);
  const more = err.issues.length > 3 ? ` (and ${err.issues.length - 3} more)` : '';
  return `${type}: ${parts.join('; ')}${more}; see docs/protocol.md`;
}

function fail(code: v1.ErrorCode, message: string, runId?: string, seq?: number): ParsedFrame {
  return {
    kind: 'error',
    error: { code, message, ...(runId !== undefined ? { runId } : {}), ...(seq !== undefined ? { seq } : {}) },
  };
}
