import { strict as assert } from 'assert';
import { XBucketDecimator, decimateRows, decimateWithPyramid, planDecimation } from '../../src/store/decimate';
import { MinMaxPyramid, RawRows, RawWindows } from '../../src/store/pyramid';

const N = 10_000_000;
const SPIKE = 6_543_211;
const DIP = 2_345_679;
const NAN_AT = 7_000_003;
const INF_AT = 7_000_100;

/** A noisy curve, computed from the index so any raw window can be regenerated without storing 10M rows. */
function valueAt(i: number): number {
  if (i === SPIKE) return 50;
  if (i === DIP) return -50;
  if (i === NAN_AT) return NaN;
  if (i === INF_AT) return Infinity;
  const h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 16; // cheap hash noise in [0, 65535]
  return Math.sin(i * 1e-6) + (h / 65535 - 0.5) * 0.2;
}

function rowsOf(a: number, b: number): RawRows {
  const n = b - a;
  const rows: RawRows = { start: a, step: new Float64Array(n), time: new Float64Array(n), value: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    rows.step[i] = a + i;
    rows.time[i] = 1.7e9 + (a + i) * 0.01;
    rows.value[i] = valueAt(a + i);
  }
  return rows;
}

function assertSorted(x: Float64Array): void {
  for (let i = 1; i < x.length; i++) assert.ok(x[i - 1] <= x[i], `x not sorted at ${i}`);
}

describe('min/max decimation', () => {
  let pyr: MinMaxPyramid;

  before(function () {
    this.timeout(60_000); // a loaded 2-core CI box: the loop is ~1 s on a quiet one
    pyr = new MinMaxPyramid();
    for (let i = 0; i < N; i++) pyr.push(i, 1.7e9 + i * 0.01, valueAt(i));
  });

  it('keeps a one-point spike and a one-point dip among ten million points', () => {
    const maxPoints = 4000;
    const plan = planDecimation(pyr, 0, N, maxPoints);
    assert.equal(plan.kind, 'pyramid');
    if (plan.kind !== 'pyramid') return;
    const raw = new RawWindows(pyr.rawRangesFor(0, N).map(([a, b]) => rowsOf(a, b)));
    const out = decimateWithPyramid(pyr, 0, N, plan.groupSize, raw, 'step');
    assert.ok(out.decimated);
    assert.ok(out.x.length <= maxPoints && out.x.length >= maxPoints / 4, `${out.x.length} points`);
    assertSorted(out.x);
    let max = -Infinity;
    let min = Infinity;
    for (const v of out.y) {
      assert.ok(Number.isFinite(v), 'no NaN/Inf in y');
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    assert.equal(max, 50);
    assert.equal(min, -50);
    assert.equal(out.y[out.x.indexOf(SPIKE)], 50, 'the spike is drawn at its own step');
    assert.equal(out.y[out.x.indexOf(DIP)], -50, 'the dip is drawn at its own step');
  });

  it('keeps the spike on the time axis and in an unaligned sub-range', () => {
    const [i0, i1] = [SPIKE - 1_234_567, SPIKE + 987_653];
    const plan = planDecimation(pyr, i0, i1, 2000);
    assert.equal(plan.kind, 'pyramid');
    if (plan.kind !== 'pyramid') return;
    const raw = new RawWindows(pyr.rawRangesFor(i0, i1).map(([a, b]) => rowsOf(a, b)));
    const out = decimateWithPyramid(pyr, i0, i1, plan.groupSize, raw, 'time');
    assert.ok(out.x.length <= 2000);
    assertSorted(out.x);
    const j = out.y.indexOf(50);
    assert.ok(j >= 0, 'spike present');
    assert.equal(out.x[j], 1.7e9 + SPIKE * 0.01);
    assert.ok(
      out.x[0] >= 1.7e9 + i0 * 0.01 && out.x[out.x.length - 1] <= 1.7e9 + (i1 - 1) * 0.01,
      'nothing outside the range',
    );
  });

  it('NaN and Inf neither enter y nor poison the min/max of their bucket', () => {
    const [i0, i1] = [NAN_AT - 50, INF_AT + 50];
    const out = decimateRows(rowsOf(i0, i1), 'step', 10);
    assert.ok(out.decimated);
    const rows = rowsOf(i0, i1);
    let min = Infinity;
    let max = -Infinity;
    for (const v of rows.value) if (Number.isFinite(v)) [min, max] = [Math.min(min, v), Math.max(max, v)];
    assert.ok(out.y.every((v) => Number.isFinite(v)));
    assert.equal(Math.max(...out.y), max);
    assert.equal(Math.min(...out.y), min);
  });

  it('returns the raw points exactly when they fit, without the non-finite ones', () => {
    const rows = rowsOf(NAN_AT - 5, NAN_AT + 5);
    const plan = planDecimation(pyr, NAN_AT - 5, NAN_AT + 5, 100);
    assert.equal(plan.kind, 'raw');
    const out = decimateRows(rows, 'step', 100);
    assert.equal(out.decimated, false);
    assert.deepEqual(
      [...out.x],
      [...rows.step].filter((s) => s !== NAN_AT),
    );
    assert.deepEqual(
      [...out.y],
      [...rows.value].filter((v) => !Number.isNaN(v)),
    );
  });

  it('buckets by x value when x is out of order, and sorts the result', () => {
    // A resumed run: steps 0..999, then 500..1499 again with a spike at the second step 700.
    const d = new XBucketDecimator(0, 1499, 100);
    for (let s = 0; s < 1000; s++) d.add(s, 0);
    for (let s = 500; s < 1500; s++) d.add(s, s === 700 ? 9 : 1);
    const out = d.finish();
    assert.equal(d.total, 2000);
    assert.ok(out.decimated && out.x.length <= 100);
    assertSorted(out.x);
    assert.equal(Math.max(...out.y), 9);
    assert.equal(out.x[out.y.indexOf(9)], 700);
    const few = new XBucketDecimator(0, 10, 100);
    for (const s of [5, 3, 9, 3]) few.add(s, s);
    const exact = few.finish();
    assert.deepEqual([...exact.x], [3, 3, 5, 9]);
    assert.equal(exact.decimated, false);
  });
});
