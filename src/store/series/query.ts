// Answering a SeriesQuery from a loaded series: sorted axes by index ranges over the pyramid, an
// unsorted axis by a chunked scan that buckets by x value (O(n) reads, bounded memory).
import * as fs from 'fs';
import { nonFiniteKind } from '../../common/wireNumber';
import { XBucketDecimator, type XY, decimateRows, decimateWithPyramid, planDecimation } from '../decimate';
import { RawWindows, type MinMaxPyramid, type RawRows } from '../pyramid';
import { readRows } from './format';
import type { NonFiniteList } from './nonFinite';
import type { SeriesAxis, SeriesSlice } from './types';

const SCAN_ROWS = 65536;

export function emptySlice(): SeriesSlice {
  return {
    x: new Float64Array(0),
    y: new Float64Array(0),
    nonFinite: { x: new Float64Array(0), kind: new Uint8Array(0) },
    total: 0,
    decimated: false,
    xRange: [NaN, NaN],
  };
}

/** Keeps at most `max` markers, evenly spread, so a NaN-only series can't flood the chart. */
function thinMarkers(x: number[], kind: number[], max: number): SeriesSlice['nonFinite'] {
  const n = x.length;
  const take = Math.min(n, Math.max(0, max));
  const out = { x: new Float64Array(take), kind: new Uint8Array(take) };
  for (let j = 0; j < take; j++) {
    const i = take === n ? j : Math.floor((j * n) / take);
    out.x[j] = x[i];
    out.kind[j] = kind[i];
  }
  return out;
}

/**
 * A whole series of at most maxPoints rows on a sorted axis, from one read of its file: the raw
 * finite points in [from, to] and the non-finite ones as markers, as querySorted answers it.
 */
export async function querySmall(
  file: string,
  count: number,
  axis: SeriesAxis,
  from: number,
  to: number,
): Promise<SeriesSlice> {
  let fd: fs.promises.FileHandle;
  try {
    fd = await fs.promises.open(file, 'r');
  } catch {
    return emptySlice(); // deleted meanwhile
  }
  let rows: RawRows;
  try {
    rows = await readRows(fd, 0, count);
  } finally {
    await fd.close();
  }
  const xs = axis === 'step' ? rows.step : rows.time;
  // As querySorted's bounds: the first x >= from, the first x > to (an open end: the whole series).
  let i0 = 0;
  if (from !== -Infinity) while (i0 < count && !(xs[i0] >= from)) i0++;
  let i1 = count;
  if (to !== Infinity) for (i1 = i0; i1 < count && !(xs[i1] > to);) i1++;
  if (i1 <= i0) return emptySlice();
  const n = i1 - i0;
  const part: RawRows =
    n === count
      ? rows
      : {
          start: i0,
          step: rows.step.subarray(i0, i1),
          time: rows.time.subarray(i0, i1),
          value: rows.value.subarray(i0, i1),
        };
  const xy = decimateRows(part, axis, n);
  const mx: number[] = [];
  const mk: number[] = [];
  for (let i = i0; i < i1; i++) {
    const v = rows.value[i];
    if (!(v === v && v !== Infinity && v !== -Infinity)) {
      mx.push(xs[i]);
      mk.push(nonFiniteKind(v));
    }
  }
  return {
    x: xy.x,
    y: xy.y,
    nonFinite: thinMarkers(mx, mk, n),
    total: n,
    decimated: false,
    xRange: [xs[i0], xs[i1 - 1]],
  };
}

export async function querySorted(
  fd: fs.promises.FileHandle,
  pyr: MinMaxPyramid,
  nf: NonFiniteList,
  count: number,
  axis: SeriesAxis,
  from: number,
  to: number,
  maxPoints: number,
): Promise<SeriesSlice> {
  const i0 = from === -Infinity ? 0 : await firstIndex(fd, pyr, count, axis, from, false);
  const i1 = to === Infinity ? count : await firstIndex(fd, pyr, count, axis, to, true);
  if (i1 <= i0) return emptySlice();
  const plan = planDecimation(pyr, i0, i1, maxPoints);
  let xy: XY;
  let read: RawRows[];
  if (plan.kind === 'raw') {
    read = [await readRows(fd, i0, i1)];
    xy = decimateRows(read[0], axis, maxPoints);
  } else {
    read = await Promise.all(pyr.rawRangesFor(i0, i1).map(([a, b]) => readRows(fd, a, b)));
    xy = decimateWithPyramid(pyr, i0, i1, plan.groupSize, new RawWindows(read), axis);
  }
  // The range's first and last x, from the rows just read where they hold them (a raw slice always
  // does): each read is a round trip to the file, and most slices need only the one above.
  const [x0, x1] = await Promise.all([xAt(fd, read, axis, i0), xAt(fd, read, axis, i1 - 1)]);
  const mx: number[] = [];
  const mk: number[] = [];
  const xs = axis === 'step' ? nf.step : nf.time;
  for (let j = nf.lowerBound(i0); j < nf.n && nf.idx[j] < i1; j++) {
    mx.push(xs[j]);
    mk.push(nf.kind[j]);
  }
  return {
    x: xy.x,
    y: xy.y,
    nonFinite: thinMarkers(mx, mk, maxPoints),
    total: i1 - i0,
    decimated: xy.decimated,
    xRange: [x0, x1],
  };
}

/** Row `i`'s x: from `read` when one of them holds it, else read from the file. */
async function xAt(fd: fs.promises.FileHandle, read: RawRows[], axis: SeriesAxis, i: number): Promise<number> {
  let rows = read.find((r) => i >= r.start && i < r.start + r.value.length);
  rows ??= await readRows(fd, i, i + 1);
  return (axis === 'step' ? rows.step : rows.time)[i - rows.start];
}

/** First raw index whose x is >= x0 (or > x0 when strict), on a sorted axis. */
async function firstIndex(
  fd: fs.promises.FileHandle,
  pyr: MinMaxPyramid,
  count: number,
  axis: SeriesAxis,
  x0: number,
  strict: boolean,
): Promise<number> {
  const b = pyr.bucketFor(axis, x0, strict);
  if (b < 0) return 0;
  const a = b * pyr.fanout;
  const rows = await readRows(fd, a, Math.min(count, a + pyr.fanout));
  const xs = axis === 'step' ? rows.step : rows.time;
  for (let i = 0; i < xs.length; i++) if (strict ? xs[i] > x0 : xs[i] >= x0) return a + i;
  return a + xs.length;
}

export async function queryUnsorted(
  fd: fs.promises.FileHandle,
  nf: NonFiniteList,
  count: number,
  axis: SeriesAxis,
  from: number,
  to: number,
  maxPoints: number,
): Promise<SeriesSlice> {
  const dec = new XBucketDecimator(from, to, maxPoints);
  for (let a = 0; a < count; a += SCAN_ROWS) {
    const rows = await readRows(fd, a, Math.min(count, a + SCAN_ROWS));
    const xs = axis === 'step' ? rows.step : rows.time;
    for (let i = 0; i < xs.length; i++) dec.add(xs[i], rows.value[i]);
  }
  if (dec.total === 0) return emptySlice();
  const xy = dec.finish();
  const xs = axis === 'step' ? nf.step : nf.time;
  const order: number[] = [];
  for (let j = 0; j < nf.n; j++) if (xs[j] >= from && xs[j] <= to) order.push(j);
  order.sort((p, r) => xs[p] - xs[r] || p - r);
  return {
    x: xy.x,
    y: xy.y,
    nonFinite: thinMarkers(
      order.map((j) => xs[j]),
      order.map((j) => nf.kind[j]),
      maxPoints,
    ),
    total: dec.total,
    decimated: xy.decimated,
    xRange: [dec.lo, dec.hi],
  };
}
