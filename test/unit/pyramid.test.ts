import { strict as assert } from 'assert';
import { Extremes, MinMaxPyramid, RawRows, RawWindows } from '../../src/store/pyramid';

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSeries(n: number, seed: number): RawRows {
  const r = rng(seed);
  const rows: RawRows = { start: 0, step: new Float64Array(n), time: new Float64Array(n), value: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    rows.step[i] = i;
    rows.time[i] = 1000 + i * 0.5;
    const u = r();
    // Coarse values make ties common, so the "earliest wins" rule is exercised.
    rows.value[i] = u < 0.01 ? NaN : u < 0.015 ? Infinity : u < 0.02 ? -Infinity : Math.round(r() * 200) - 100;
  }
  return rows;
}

function bruteForce(rows: RawRows, a: number, b: number): Extremes {
  const acc = new Extremes();
  for (let i = a; i < b; i++) acc.addPoint(rows.step[i], rows.time[i], rows.value[i]);
  return acc;
}

describe('MinMaxPyramid', () => {
  for (const fanout of [4, 64]) {
    it(`aggregates random ranges exactly like a brute-force scan (fanout ${fanout})`, () => {
      const n = 40_000;
      const rows = randomSeries(n, fanout);
      const pyr = new MinMaxPyramid(fanout);
      for (let i = 0; i < n; i++) pyr.push(rows.step[i], rows.time[i], rows.value[i]);
      assert.equal(pyr.count, n);
      assert.equal(pyr.levels[pyr.levels.length - 1].length, 1, 'the top level has one bucket');
      const raw = new RawWindows([rows]);
      const r = rng(7);
      for (let t = 0; t < 400; t++) {
        let a = Math.floor(r() * n);
        let b = Math.floor(r() * (n + 1));
        if (a > b) [a, b] = [b, a];
        const want = bruteForce(rows, a, b);
        const got = new Extremes();
        pyr.aggregate(a, b, raw, got);
        assert.deepEqual({ ...got }, { ...want }, `range [${a}, ${b})`);
      }
    });
  }

  it('pushRows builds the same pyramid as pushing point by point', () => {
    const rows = randomSeries(30_000, 5);
    const a = new MinMaxPyramid(8);
    const b = new MinMaxPyramid(8);
    for (let i = 0; i < rows.value.length; i++) a.push(rows.step[i], rows.time[i], rows.value[i]);
    // Uneven chunks, so buckets are split across calls.
    for (let s = 0, k = 1; s < rows.value.length; s += k * 37, k++) {
      const e = Math.min(rows.value.length, s + k * 37);
      b.pushRows(rows.step.subarray(s, e), rows.time.subarray(s, e), rows.value.subarray(s, e));
    }
    assert.deepEqual(b.serialize(), a.serialize());
  });

  it('reads only the unaligned ends from raw rows', () => {
    const n = 10_000;
    const rows = randomSeries(n, 3);
    const pyr = new MinMaxPyramid(64);
    for (let i = 0; i < n; i++) pyr.push(rows.step[i], rows.time[i], rows.value[i]);
    const [a, b] = [100, 9_000];
    const ranges = pyr.rawRangesFor(a, b);
    assert.deepEqual(ranges, [
      [100, 128],
      [8960, 9000],
    ]);
    // Windows holding only those ranges are enough (RawWindows throws on any other row).
    const windows = new RawWindows(
      ranges.map(([p, q]) => ({
        start: p,
        step: rows.step.slice(p, q),
        time: rows.time.slice(p, q),
        value: rows.value.slice(p, q),
      })),
    );
    const got = new Extremes();
    pyr.aggregate(a, b, windows, got);
    assert.deepEqual({ ...got }, { ...bruteForce(rows, a, b) });
  });

  it('finds x ranges on a sorted axis through level-1 first values', () => {
    const pyr = new MinMaxPyramid(4);
    for (let i = 0; i < 100; i++) pyr.push(i * 10, i, 0);
    // Buckets start at steps 0, 40, 80, ...: x0 = 45 lies in bucket 1 (first step 40).
    assert.equal(pyr.bucketFor('step', 45, false), 1);
    assert.equal(pyr.bucketFor('step', 40, false), 0, 'x >= 40 may start in bucket 0 (bucket 1 starts exactly at 40)');
    assert.equal(pyr.bucketFor('step', 40, true), 1);
    assert.equal(pyr.bucketFor('step', -1, false), -1);
    assert.equal(pyr.bucketFor('time', 1e9, true), 24);
  });

  it('round-trips through a snapshot and keeps growing from it', () => {
    const rows = randomSeries(20_000, 11);
    const a = new MinMaxPyramid(8);
    for (let i = 0; i < 12_345; i++) a.push(rows.step[i], rows.time[i], rows.value[i]);
    const b = MinMaxPyramid.deserialize(a.serialize());
    assert.ok(b);
    assert.equal(MinMaxPyramid.deserialize(a.serialize().subarray(1)), undefined, 'a damaged snapshot is refused');
    for (let i = 12_345; i < 20_000; i++) {
      a.push(rows.step[i], rows.time[i], rows.value[i]);
      b.push(rows.step[i], rows.time[i], rows.value[i]);
    }
    assert.deepEqual(b.serialize(), a.serialize());
    const got = new Extremes();
    b.aggregate(0, 20_000, new RawWindows([rows]), got);
    assert.deepEqual({ ...got }, { ...bruteForce(rows, 0, 20_000) });
  });

  it('keeps 10M points in under 24 MB', () => {
    const pyr = new MinMaxPyramid();
    const n = 10_000_000;
    for (let i = 0; i < n; i++) pyr.push(i, i, i & 1023);
    assert.ok(pyr.bytes() < 24 * 1024 * 1024, `pyramid holds ${pyr.bytes()} bytes`);
    const acc = new Extremes();
    pyr.aggregate(0, n - (n % 64), new RawWindows([]), acc);
    assert.equal(acc.max, 1023);
    assert.equal(acc.min, 0);
  });
});
