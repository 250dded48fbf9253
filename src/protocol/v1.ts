// Wire protocol v1: JSON text frames over one WebSocket. The schemas are the
// single source of truth; the TypeScript types are inferred from them.
// docs/protocol.md explains each message with examples.
//
// Edges, the same in the hand-written check of `metrics` (src/collector/frames.ts):
// - Lengths of keys, names and other text are counted in Unicode code points (what
//   Python's `len()` counts), not UTF-16 units.
// - A JSON number too large for a 64-bit float (`1e400`) parses as ±Infinity; it is
//   refused with a message that says so, not stored as Infinity. Infinity as a
//   value is sent as the string "Infinity".
// - Integers (seq, step) are at most 2^53 − 1, the largest integer a double holds exactly.
// - Every field without `.optional()` or `.default()` is required.
import { z } from 'zod';
import { WIRE_NON_FINITE, decodeWireNumber } from '../common/wireNumber';
import { columnEntries, packedRule, unpackColumn } from './packedColumn';

export const PROTOCOL_VERSION = 1;

/** Messages for numbers that JSON overflowed and integers past 2^53 − 1; frames.ts says the same. */
export const OVERFLOW_HINT = 'too large for a 64-bit float (a JSON number like 1e400 overflows to Infinity)';
export const MAX_INT_TEXT = '2^53 − 1 (9007199254740991)';

function numberMessage(what: string): (iss: { input?: unknown }) => string {
  return (iss) =>
    typeof iss.input === 'number' && !Number.isNaN(iss.input) && !Number.isFinite(iss.input)
      ? `${what} is ${OVERFLOW_HINT}`
      : `${what} must be a number`;
}

/** A finite JSON number, with a message naming overflow when JSON made it ±Infinity. */
const Num = (what = 'the number') => z.number({ error: numberMessage(what) });
/** A non-negative integer of at most 2^53 − 1. */
const Int = (what: string) =>
  Num(what)
    .int({
      error: (iss) =>
        typeof iss.input === 'number' && Number.isInteger(iss.input)
          ? `${what} must be at most ${MAX_INT_TEXT}`
          : `${what} must be an integer`,
    })
    .nonnegative({ error: `${what} must be 0 or more` });

/** NaN and ±Infinity cannot be written in JSON, so they travel as these strings. */
export const WireNumber = z.union([Num('a value'), z.enum(WIRE_NON_FINITE as ['NaN', 'Infinity', '-Infinity'])], {
  error: (iss) =>
    typeof iss.input === 'number'
      ? `the value is ${OVERFLOW_HINT}; send "Infinity" or "-Infinity" as a string if you mean it`
      : 'a value must be a number or one of "NaN", "Infinity", "-Infinity"',
});
export type WireNumber = z.infer<typeof WireNumber>;

/** Length in Unicode code points (Python's len), not UTF-16 units. */
export function codePoints(s: string): number {
  // Fast path: a string of n UTF-16 units has at most n code points.
  if (s.length <= 1) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Text of `min` to `max` code points. */
function Text(max: number, min = 0) {
  return z
    .string()
    .refine((s) => s.length <= max || codePoints(s) <= max, {
      error: `at most ${max} characters (Unicode code points)`,
    })
    .refine((s) => codePoints(s) >= min, { error: min === 1 ? 'must not be empty' : `at least ${min} characters` });
}

// Run ids name folders in the store, so "." and ".." are refused too.
const RunId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'run ids use letters, digits, ".", "_" and "-" (a UUID is best)')
  .refine((id) => id !== '.' && id !== '..', 'a run id cannot be "." or ".."');
/** Per-run sequence number the client gives each run-scoped message, from 1 up. */
const Seq = Int('seq').min(1, { error: 'seq must be 1 or more' });
/** Seconds since the Unix epoch. */
const Time = Num('time').nonnegative({ error: 'time must be 0 or more (seconds since the Unix epoch)' });
const ParamValue = z.union([z.string(), Num('a param value'), z.boolean(), z.null()]);
/** A metric name: 1 to 250 code points. */
export const MAX_KEY_CODE_POINTS = 250;
const Key = Text(MAX_KEY_CODE_POINTS, 1);

export const Hello = z.object({
  type: z.literal('hello'),
  /** Required: the client's name. */
  client: Text(100),
  /** Required: the client's version. */
  version: Text(50),
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
  project: Text(250, 1),
  name: Text(250).optional(),
  time: Time,
  params: z.record(z.string(), ParamValue).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  parentRunId: RunId.optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});

export const Point = z.object({
  key: Key,
  value: WireNumber,
  step: Int('step'),
  /** Required. */
  time: Time,
});

/**
 * The columnar form of a batch: point i is (keys[k[i]], v[i], s[i], t[i]). Half the
 * bytes of the object form and much cheaper to parse; the Python client sends it.
 * `v`, `s` and `t` may each be packed instead (src/protocol/packedColumn.ts): a value
 * packed may be NaN or ±Infinity as it is.
 */
export const MetricColumns = z
  .object({
    keys: z.array(Key).min(1),
    k: z.array(Int('an index')).min(1),
    v: z.union([z.array(WireNumber).min(1), z.string()]),
    s: z.union([z.array(Int('step')).min(1), z.string()]),
    t: z.union([z.array(Time).min(1), z.string()]),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.keys.forEach((key, i) => {
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['keys', i], message: 'keys must be distinct' });
      seen.add(key);
    });
    const n = c.k.length;
    for (const col of ['v', 's', 't'] as const) {
      const x = c[col];
      if (typeof x === 'string') {
        const nums = unpackColumn(x, n);
        if (nums === undefined)
          ctx.addIssue({ code: 'custom', path: [col], message: `packed, must be ${packedRule(n)}` });
        else if (col === 's' && !nums.every((v) => Number.isSafeInteger(v) && v >= 0))
          ctx.addIssue({ code: 'custom', path: [col], message: 'steps must be integers from 0 to 2^53 - 1' });
        else if (col === 't' && !nums.every((v) => Number.isFinite(v) && v >= 0))
          ctx.addIssue({ code: 'custom', path: [col], message: 'times must be seconds since the Unix epoch' });
      } else if (x.length !== n)
        ctx.addIssue({ code: 'custom', path: [col], message: `must have as many entries as k (${n})` });
    }
    c.k.forEach((ki, i) => {
      if (ki >= c.keys.length)
        ctx.addIssue({ code: 'custom', path: ['k', i], message: `must index keys (0 to ${c.keys.length - 1})` });
    });
  });

/** The most keys one `sources` map may name (the Python client stops locating keys there). */
export const MAX_SOURCE_KEYS = 10000;

/** Where a metric key was first logged: the person's file and line (a framework's frames skipped). */
export const SourceLocation = z.object({
  /** Absolute path on the machine that ran the code (a notebook's .ipynb for a Jupyter cell). */
  file: Text(4096, 1),
  line: Int('line').min(1, { error: 'line must be 1 or more' }),
  function: Text(250).optional(),
  /** For a Jupyter cell: the kernel's name for the cell's code (`line` counts within the cell). */
  cell: Text(4096).optional(),
});
export type SourceLocation = z.infer<typeof SourceLocation>;

/** Metric key -> where it was first logged; sent once per key per run, before or with its first points. */
export const Sources = z.record(z.string(), SourceLocation).superRefine((m, ctx) => {
  const keys = Object.keys(m);
  if (keys.length > MAX_SOURCE_KEYS)
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_SOURCE_KEYS} keys in one sources map` });
  for (const key of keys) {
    if (key.length < 1 || codePoints(key) > MAX_KEY_CODE_POINTS)
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `keys are metric names of 1 to ${MAX_KEY_CODE_POINTS} characters`,
      });
  }
});

const MetricsBase = { type: z.literal('metrics'), runId: RunId, seq: Seq };

/**
 * `metrics` carries exactly one of `points` (objects) or `cols` (columns), or neither when it
 * carries `sources` (optional otherwise). The loose object in front gives the discriminated
 * unions below their `type`; the union then checks (and strips) the rest, so the inferred
 * type is one form or another.
 */
export const Metrics = z.looseObject(MetricsBase).pipe(
  z.union([
    z.object({
      ...MetricsBase,
      points: z.array(Point).min(1),
      cols: z.never().optional(),
      sources: Sources.optional(),
    }),
    z.object({ ...MetricsBase, cols: MetricColumns, points: z.never().optional(), sources: Sources.optional() }),
    z.object({ ...MetricsBase, sources: Sources, points: z.never().optional(), cols: z.never().optional() }),
  ]),
);

/** The points of a checked `metrics` message, in order, whichever form it came in. */
export function metricsPoints(m: Metrics): { key: string; value: number; step: number; time: number }[] {
  if (!m.cols && !m.points) return [];
  if (m.cols) {
    const { keys, k } = m.cols;
    const n = k.length;
    const col = (x: readonly (number | string)[] | string) => columnEntries(x, n) ?? [];
    const [v, s, t] = [col(m.cols.v), col(m.cols.s), col(m.cols.t)];
    return k.map((ki, i) => ({
      key: keys[ki],
      value: decodeWireNumber(v[i]) as number,
      step: s[i] as number,
      time: t[i] as number,
    }));
  }
  return m.points.map((p) => ({ key: p.key, value: decodeWireNumber(p.value) as number, step: p.step, time: p.time }));
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
  /** Tag names to take off the run (after `tags` is merged). */
  removed: z.array(z.string()).optional(),
});

export const Artifact = z.object({
  type: z.literal('artifact'),
  runId: RunId,
  seq: Seq,
  name: Text(500, 1),
  path: Text(Number.MAX_SAFE_INTEGER, 1),
  kind: Text(50).default('file'),
  metadata: z.record(z.string(), z.unknown()).default({}),
});

export const Log = z.object({
  type: z.literal('log'),
  runId: RunId,
  seq: Seq,
  stream: z.enum(['stdout', 'stderr']),
  lines: z.array(z.string()),
  /** Required. */
  time: Time,
});

export const RunEnd = z.object({
  type: z.literal('run.end'),
  runId: RunId,
  seq: Seq,
  status: z.enum(['finished', 'failed', 'killed']),
  /** Required. */
  time: Time,
  reason: Text(10000).optional(),
});

/** At most this many runs may be named in one heartbeat. */
export const MAX_HEARTBEAT_RUNS = 1000;

/**
 * `runIds` names the runs the client writes to: the heartbeat keeps them alive even
 * on a connection that has sent nothing else (a client that reconnected with
 * nothing new to send). Without it, a heartbeat keeps alive the runs its
 * connection wrote to.
 */
export const Heartbeat = z.object({
  type: z.literal('heartbeat'),
  time: Num('time').optional(),
  runIds: z.array(RunId).max(MAX_HEARTBEAT_RUNS).optional(),
});

export const Ack = z.object({ type: z.literal('ack'), runId: RunId, seq: Seq });

export const ErrorCode = z.enum([
  'bad_json', // not JSON, or not an object
  'bad_message', // JSON, but does not match the schema
  'unknown_type',
  'not_authenticated', // a message before hello
  'unknown_run', // data for a run that was never started
  'too_many_points',
  'storage', // the store could not take it; resend from this seq later
  'internal',
  'seq_gap', // a seq above the next one expected (or after a refused one): resend from `expected`
]);

export const ErrorMsg = z.object({
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
  runId: z.string().optional(),
  seq: z.number().optional(),
  /** For seq_gap: the seq the collector expects next for the run; resend from it. */
  expected: z.number().optional(),
});

/** Everything a client may send after `hello`. */
export const ClientMessage = z.discriminatedUnion('type', [
  RunStart,
  Metrics,
  Params,
  Tags,
  Artifact,
  Log,
  RunEnd,
  Heartbeat,
]);
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
