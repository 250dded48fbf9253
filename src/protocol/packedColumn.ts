// A column of `cols` may travel packed: base64 of little-endian IEEE 754 numbers, float32
// or float64, the width following from the byte count and the number of points. A client
// that sends many points a second then formats no numbers and the collector parses none.

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** The n numbers a packed column holds, or undefined when it is not base64 of n float32 or float64 numbers. */
export function unpackColumn(text: string, n: number): Float32Array | Float64Array | undefined {
  if (n < 1) return undefined;
  const width = text.length === base64Length(4 * n) ? 4 : text.length === base64Length(8 * n) ? 8 : 0;
  if (width === 0 || !BASE64.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  if (buf.length !== width * n) return undefined;
  // Copied into an array of its own: the decoded bytes may start at an offset not aligned for the width.
  const bytes = new Uint8Array(buf.length);
  bytes.set(buf);
  const out = width === 4 ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
  return littleEndian ? out : swapped(out, bytes, width);
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapped(out: Float32Array | Float64Array, bytes: Uint8Array, width: number): Float32Array | Float64Array {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return out;
}

/** A column's entries: an array as it is, a packed column decoded (undefined when it is not n numbers). */
export function columnEntries<T>(col: readonly T[] | string, n: number): ArrayLike<T | number> | undefined {
  return typeof col === 'string' ? unpackColumn(col, n) : col;
}

/** What a packed column must be, for error messages. */
export function packedRule(n: number): string {
  return `base64 of ${n} little-endian float32 or float64 numbers (${base64Length(4 * n)} or ${base64Length(8 * n)} characters)`;
}

/** Packs numbers as float64, or float32 with width 4 (tests, and clients written in TypeScript). */
export function packColumn(values: readonly number[], width: 4 | 8 = 8): string {
  const arr = width === 4 ? new Float32Array(values) : new Float64Array(values);
  const bytes = new Uint8Array(arr.buffer);
  if (!littleEndian) for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return Buffer.from(bytes).toString('base64');
}
