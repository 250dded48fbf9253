// Wire protocol v1: JSON text frames over one WebSocket. The schemas are the
// single source of truth; the TypeScript types are inferred from them.
// docs/protocol.md explains each message with examples.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/** NaN and ±Infinity cannot be written in JSON, so they travel as these strings. */
export const WireNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
export type WireNumber = z.infer<typeof WireNumber>;

export function decodeNumber(v: WireNumber): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
}

export function encodeNumber(v: number): WireNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

// Run ids name folders in the store, so "." and ".." are refused too.
const RunId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'run ids use letters, digits, ".", "_" and "-" (a UUID is best)')
  .refine((id) => id !== '.' && id !== '..', 'a run id cannot be "." or ".."');
/** Per-run sequence number the client gives each run-scoped message, from 1 up. */
const Seq = z.number().int().min(1);
const Time = z.number().finite().nonnegative();
const ParamValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Key = z.string().min(1).max(250);

export const Hello = z.object({
  type: z.literal('hello'),
  client: z.string().max(100),
  version: z.string().max(50),
  protocol: z.literal(PROTOCOL_VERSION),
  token: z.string(),
});

export const Welcome = z.object({
  type: z.literal('welcome'),
  server: z.string(),
  version: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  limits: z.object({ maxFrameBytes: z.number().int(), maxBatchPoints: z.number().int() }),
  heartbeatIntervalMs: z.number().int(),
});

export const RunStart = z.object({
  type: z.literal('run.start'),
  runId: RunId,
  seq: Seq,
  project: z.string().min(1).max(250),
  name: z.string().max(250).optional(),
  time: Time,
  params: z.record(z.string(), ParamValue).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  parentRunId: RunId.optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});

export const Point = z.object({
  key: Key,
  value: WireNumber,
  step: z.number().int().nonnegative(),
  time: Time,
});

/**
 * The columnar form of a batch: point i is (keys[k[i]], v[i], s[i], t[i]). Half the
 * bytes of the object form and much cheaper to parse; the Python client sends it.
 */
export const MetricColumns = z
  .object({
    keys: z.array(Key).min(1),
    k: z.array(z.number().int().nonnegative()).min(1),
    v: z.array(WireNumber).min(1),
    s: z.array(z.number().int().nonnegative()).min(1),
    t: z.array(Time).min(1),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.keys.forEach((key, i) => {
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['keys', i], message: 'keys must be distinct' });
      seen.add(key);
    });
    const n = c.k.length;
    for (const col of ['v', 's', 't'] as const) {
      if (c[col].length !== n) ctx.addIssue({ code: 'custom', path: [col], message: `must have as many entries as k (${n})` });
    }
    c.k.forEach((ki, i) => {
      if (ki >= c.keys.length) ctx.addIssue({ code: 'custom', path: ['k', i], message: `must index keys (0 to ${c.keys.length - 1})` });
    });
  });

const MetricsBase = { type: z.literal('metrics'), runId: RunId, seq: Seq };

/**
 * `metrics` carries exactly one of `points` (objects) or `cols` (columns). The loose
 * object in front gives the discriminated unions below their `type`; the union then
 * checks (and strips) the rest, so the inferred type is one form or the other.
 */
export const Metrics = z.looseObject(MetricsBase).pipe(
  z.union([
    z.object({ ...MetricsBase, points: z.array(Point).min(1), cols: z.never().optional() }),
    z.object({ ...MetricsBase, cols: MetricColumns, points: z.never().optional() }),
  ]),
);

/** The points of a checked `metrics` message, in order, whichever form it came in. */
export function metricsPoints(m: Metrics): { key: string; value: number; step: number; time: number }[] {
  if (m.cols) {
    const { keys, k, v, s, t } = m.cols;
    return k.map((ki, i) => ({ key: keys[ki], value: decodeNumber(v[i]), step: s[i], time: t[i] }));
  }
  return m.points.map((p) => ({ key: p.key, value: decodeNumber(p.value), step: p.step, time: p.time }));
}

export const Params = z.object({
  type: z.literal('params'),
  runId: RunId,
  seq: Seq,
  params: z.record(z.string(), ParamValue),
});

export const Tags = z.object({
  type: z.literal('tags'),
  runId: RunId,
  seq: Seq,
  tags: z.record(z.string(), z.string()),
});

export const Artifact = z.object({
  type: z.literal('artifact'),
  runId: RunId,
  seq: Seq,
  name: z.string().min(1).max(500),
  path: z.string().min(1),
  kind: z.string().max(50).default('file'),
  metadata: z.record(z.string(), z.unknown()).default({}),
});

export const Log = z.object({
  type: z.literal('log'),
  runId: RunId,
  seq: Seq,
  stream: z.enum(['stdout', 'stderr']),
  lines: z.array(z.string()),
  time: Time,
});

export const RunEnd = z.object({
  type: z.literal('run.end'),
  runId: RunId,
  seq: Seq,
  status: z.enum(['finished', 'failed', 'killed']),
  time: Time,
  reason: z.string().max(10000).optional(),
});

export const Heartbeat = z.object({ type: z.literal('heartbeat'), time: z.number().optional() });

export const Ack = z.object({ type: z.literal('ack'), runId: RunId, seq: Seq });

export const ErrorCode = z.enum([
  'bad_json', // not JSON, or not an object
  'bad_message', // JSON, but does not match the schema
  'unknown_type',
  'not_authenticated', // a message before hello
  'unknown_run', // data for a run that was never started
  'too_many_points',
  'storage', // the store could not take it; resend later
  'internal',
]);

export const ErrorMsg = z.object({
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
  runId: z.string().optional(),
  seq: z.number().optional(),
});

/** Everything a client may send after `hello`. */
export const ClientMessage = z.discriminatedUnion('type', [RunStart, Metrics, Params, Tags, Artifact, Log, RunEnd, Heartbeat]);
/** Run-scoped client messages: they carry runId and seq, and are acknowledged once durable. */
export const RunMessage = z.discriminatedUnion('type', [RunStart, Metrics, Params, Tags, Artifact, Log, RunEnd]);
export const ServerMessage = z.discriminatedUnion('type', [Welcome, Ack, ErrorMsg, Heartbeat]);

export type Hello = z.infer<typeof Hello>;
export type Welcome = z.infer<typeof Welcome>;
export type RunStart = z.infer<typeof RunStart>;
export type Point = z.infer<typeof Point>;
export type MetricColumns = z.infer<typeof MetricColumns>;
export type Metrics = z.infer<typeof Metrics>;
export type Params = z.infer<typeof Params>;
export type Tags = z.infer<typeof Tags>;
export type Artifact = z.infer<typeof Artifact>;
export type Log = z.infer<typeof Log>;
export type RunEnd = z.infer<typeof RunEnd>;
export type Heartbeat = z.infer<typeof Heartbeat>;
export type Ack = z.infer<typeof Ack>;
export type ErrorCode = z.infer<typeof ErrorCode>;
export type ErrorMsg = z.infer<typeof ErrorMsg>;
export type ClientMessage = z.infer<typeof ClientMessage>;
export type RunMessage = z.infer<typeof RunMessage>;
export type ServerMessage = z.infer<typeof ServerMessage>;
