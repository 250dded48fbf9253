// NaN and ±Infinity cannot be written in JSON, so on the wire (and in stored
// frames) they travel as the strings "NaN", "Infinity" and "-Infinity". This is
// the one codec for them; it imports nothing so the webview bundle can use it.

export type WireNonFinite = 'NaN' | 'Infinity' | '-Infinity';
export type WireNumber = number | WireNonFinite;

export const WIRE_NON_FINITE: readonly WireNonFinite[] = ['NaN', 'Infinity', '-Infinity'];

/** Kinds of non-finite values, as series slices and chart data carry them. */
export const enum NonFiniteKind {
  NaN = 0,
  PosInf = 1,
  NegInf = 2,
}

/** A wire value as a number, or undefined when it is neither a number nor one of the three strings. */
export function decodeWireNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return undefined;
}

export function encodeWireNumber(v: number): WireNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** The kind of a non-finite number; only meaningful when `!Number.isFinite(v)`. */
export function nonFiniteKind(v: number): NonFiniteKind {
  return Number.isNaN(v) ? NonFiniteKind.NaN : v > 0 ? NonFiniteKind.PosInf : NonFiniteKind.NegInf;
}

export function nonFiniteLabel(kind: NonFiniteKind): WireNonFinite {
  return kind === NonFiniteKind.NaN ? 'NaN' : kind === NonFiniteKind.PosInf ? 'Infinity' : '-Infinity';
}
