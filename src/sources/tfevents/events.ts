// Event and Summary protobufs, decoded with protobufjs from the descriptor generated from the
// published .proto files (proto/, from the tensorboardX package). What a summary value is:
// a scalar (simple_value, or a scalar tensor of float, double or half), hparams (the hparams
// plugin's session start), text (the text plugin), or something not shown yet (images,
// histograms, audio, other plugins), which is counted rather than dropped silently.
import * as protobuf from 'protobufjs';

// JSON, not .proto text, so esbuild bundles it with no loader; see genDescriptor.ts.
const descriptor = require('./descriptor.json') as protobuf.INamespace;
const root = protobuf.Root.fromJSON(descriptor);
const EventType = root.lookupType('tensorboardX.Event');
const HParamsType = root.lookupType('tensorboardX.HParamsPluginData');

export type HParamValue = string | number | boolean | null;

export type SummaryItem =
  | { kind: 'scalar'; tag: string; step: number; time: number; value: number }
  | { kind: 'hparams'; params: Record<string, HParamValue> }
  | { kind: 'text'; tag: string; step: number; time: number; text: string }
  | { kind: 'other'; what: string; tag: string; step: number; time: number };

interface LongLike {
  toNumber(): number;
}
interface TensorMsg {
  dtype?: number;
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  half_val?: number[];
  string_val?: Uint8Array[];
}
interface ValueMsg {
  tag?: string;
  simple_value?: number;
  tensor?: TensorMsg;
  image?: unknown;
  histo?: unknown;
  audio?: unknown;
  obsolete_old_style_histogram?: Uint8Array;
  metadata?: { plugin_data?: { plugin_name?: string; content?: Uint8Array } };
}
interface EventMsg {
  wall_time?: number;
  step?: number | LongLike;
  summary?: { value?: ValueMsg[] };
}
// google.protobuf.Value as protobufjs defines it (its own camelCase copy of struct.proto).
interface StructValue {
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  listValue?: unknown;
  structValue?: unknown;
}

/** Whether a decoded message holds field `k`: decoded fields are own properties, defaults sit on the prototype. */
const has = (m: object, k: string) => Object.prototype.hasOwnProperty.call(m, k);

const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_STRING = 7;
const DT_HALF = 19;

/** IEEE 754 half precision, from its 16 bits. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The single number in a scalar tensor, or undefined when it is not one of float, double or half. */
function tensorScalar(t: TensorMsg): number | undefined {
  const c = t.tensor_content;
  const view = c && c.length ? new DataView(c.buffer, c.byteOffset, c.byteLength) : undefined;
  switch (t.dtype) {
    case DT_FLOAT:
      if (t.float_val?.length === 1) return t.float_val[0];
      return view?.byteLength === 4 ? view.getFloat32(0, true) : undefined;
    case DT_DOUBLE:
      if (t.double_val?.length === 1) return t.double_val[0];
      return view?.byteLength === 8 ? view.getFloat64(0, true) : undefined;
    case DT_HALF:
      if (t.half_val?.length === 1) return halfToNumber(t.half_val[0]);
      return view?.byteLength === 2 ? halfToNumber(view.getUint16(0, true)) : undefined;
    default:
      return undefined;
  }
}

function structValue(v: StructValue): HParamValue {
  if (has(v, 'numberValue')) return v.numberValue ?? null;
  if (has(v, 'stringValue')) return v.stringValue ?? null;
  if (has(v, 'boolValue')) return v.boolValue ?? null;
  if (has(v, 'listValue') || has(v, 'structValue')) return JSON.stringify(v.listValue ?? v.structValue);
  return null;
}

function hparams(content: Uint8Array | undefined): Record<string, HParamValue> | undefined {
  if (!content?.length) return undefined;
  const m = HParamsType.decode(content) as unknown as {
    session_start_info?: { hparams?: Record<string, StructValue> };
  };
  const hp = m.session_start_info?.hparams;
  if (!hp) return undefined; // experiment / session end: nothing to show as params yet
  const out: Record<string, HParamValue> = {};
  for (const [k, v] of Object.entries(hp)) out[k] = structValue(v);
  return out;
}

const utf8 = new TextDecoder();

function otherKind(v: ValueMsg, plugin: string | undefined): string {
  if (plugin) return plugin;
  if (has(v, 'image')) return 'image';
  if (has(v, 'histo') || has(v, 'obsolete_old_style_histogram')) return 'histogram';
  if (has(v, 'audio')) return 'audio';
  return has(v, 'tensor') ? 'tensor' : 'unknown';
}

/**
 * What one event record holds. Throws when the bytes are not an Event (the caller reports
 * that with the file and record). Events without a summary (file_version, graphs) give nothing.
 */
export function decodeEvent(data: Uint8Array): SummaryItem[] {
  const e = EventType.decode(data) as unknown as EventMsg;
  const values = e.summary?.value;
  if (!values?.length) return [];
  const time = e.wall_time ?? 0;
  const step = typeof e.step === 'object' ? e.step.toNumber() : (e.step ?? 0);
  const out: SummaryItem[] = [];
  for (const v of values) {
    const tag = v.tag ?? '';
    const plugin = v.metadata?.plugin_data?.plugin_name || undefined;
    if (has(v, 'simple_value') && v.simple_value !== undefined) {
      out.push({ kind: 'scalar', tag, step, time, value: v.simple_value });
      continue;
    }
    if (plugin === 'hparams') {
      const params = hparams(v.metadata?.plugin_data?.content);
      if (params) out.push({ kind: 'hparams', params });
      continue;
    }
    const t = has(v, 'tensor') ? v.tensor : undefined;
    if (t && (plugin === 'scalars' || plugin === undefined)) {
      const value = tensorScalar(t);
      if (value !== undefined) {
        out.push({ kind: 'scalar', tag, step, time, value });
        continue;
      }
    }
    if (t && plugin === 'text' && t.dtype === DT_STRING) {
      const text = (t.string_val ?? []).map((b) => utf8.decode(b)).join('\n');
      out.push({ kind: 'text', tag, step, time, text });
      continue;
    }
    out.push({ kind: 'other', what: otherKind(v, plugin), tag, step, time });
  }
  return out;
}
