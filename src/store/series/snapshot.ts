// Pyramid snapshots (`sN.pyr`) and lazy loading: a series' pyramid is built on its first query, from the
// snapshot (when there is one) plus the rows after it, so the first draw after a restart needn't rescan.
import * as fs from 'fs';
import { writeFileAtomic } from '../../common/atomicWrite';
import { MinMaxPyramid } from '../pyramid';
import { readRows, type Series } from './format';
import { NonFiniteList } from './nonFinite';

/** Series at least this long get a pyramid snapshot. */
export const SNAPSHOT_MIN_ROWS = 100_000;
const SCAN_ROWS = 65536;

/** A snapshot file: [pyramid length, pyramid..., marker count n, n indices, n steps, n times, n kinds], all f64. */
export function encodeSnapshot(pyr: MinMaxPyramid, nf: NonFiniteList): Float64Array {
  const p = pyr.serialize();
  const n = nf.n;
  const out = new Float64Array(2 + p.length + 4 * n);
  out[0] = p.length;
  out.set(p, 1);
  let o = 1 + p.length;
  out[o++] = n;
  for (const a of [nf.idx, nf.step, nf.time, Float64Array.from(nf.kind.subarray(0, n))]) {
    out.set(a.subarray(0, n), o);
    o += n;
  }
  return out;
}

export function decodeSnapshot(a: Float64Array): { pyr: MinMaxPyramid; nf: NonFiniteList } | undefined {
  const pl = a[0];
  if (!(pl >= 0) || a.length < pl + 2) return undefined;
  const pyr = MinMaxPyramid.deserialize(a.subarray(1, 1 + pl));
  const n = a[1 + pl];
  if (!pyr || !(n >= 0) || a.length !== 2 + pl + 4 * n) return undefined;
  const nf = new NonFiniteList();
  if (n === 0) return { pyr, nf };
  let o = 2 + pl;
  const take = () => a.slice(o, (o += n));
  [nf.idx, nf.step, nf.time] = [take(), take(), take()];
  nf.kind = Uint8Array.from(take());
  nf.n = n;
  return { pyr, nf };
}

async function readSnapshot(file: string): Promise<{ pyr: MinMaxPyramid; nf: NonFiniteList } | undefined> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch {
    return undefined;
  }
  if (buf.byteLength % 8 !== 0) return undefined;
  // Float64Array needs 8-byte alignment; copy when the buffer doesn't have it.
  const a =
    buf.byteOffset % 8 === 0
      ? new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8)
      : new Float64Array(new Uint8Array(buf).buffer);
  return decodeSnapshot(a);
}

/**
 * Not durable: a snapshot is a cache of a cache (rebuilt from the .col file when missing or unusable),
 * so an fsync would cost for nothing; the rename keeps a reader from seeing half of one.
 */
export async function writeSnapshot(s: Series): Promise<void> {
  if (!s.pyramid || !s.nonFinite) return;
  const data = encodeSnapshot(s.pyramid, s.nonFinite);
  const count = s.pyramid.count;
  await writeFileAtomic(s.snapshotFile, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), {
    durable: false,
  });
  s.snapshotCount = count;
}

/** Builds the series' pyramid and marker list from its snapshot and rows (call inside the run's queue). */
export async function loadPyramid(s: Series): Promise<void> {
  if (s.pyramid) return;
  let pyr = new MinMaxPyramid();
  let nf = new NonFiniteList();
  const snap = s.count >= SNAPSHOT_MIN_ROWS ? await readSnapshot(s.snapshotFile) : undefined;
  // A snapshot longer than the file comes from rows cut on open: unusable.
  if (snap && snap.pyr.count <= s.count && snap.pyr.fanout === pyr.fanout) {
    ({ pyr, nf } = snap);
    s.snapshotCount = pyr.count;
  }
  if (s.count > pyr.count) {
    const fd = await fs.promises.open(s.file, 'r');
    try {
      for (let a = pyr.count; a < s.count; a += SCAN_ROWS) {
        const rows = await readRows(fd, a, Math.min(s.count, a + SCAN_ROWS));
        for (let i = 0; i < rows.value.length; i++) {
          const v = rows.value[i];
          if (!(v === v && v !== Infinity && v !== -Infinity)) nf.push(a + i, rows.step[i], rows.time[i], v);
        }
        pyr.pushRows(rows.step, rows.time, rows.value);
      }
    } finally {
      await fd.close();
    }
  }
  s.nonFinite = nf;
  s.pyramid = pyr;
  if (pyr.count >= SNAPSHOT_MIN_ROWS && pyr.count - s.snapshotCount >= SNAPSHOT_MIN_ROWS) await writeSnapshot(s);
}
