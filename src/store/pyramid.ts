// A min/max pyramid over one series' raw points (kept in arrival order).
// Level 0 is the raw data (on disk, not here); level k >= 1 has one bucket per
// FANOUT^k consecutive raw points holding the finite min and max with the
// step and wall time where each occurs, and a count of NaN/±Inf. Memory is
// about 70 bytes per FANOUT raw points (arrays grow by doubling): for 10M
// points with FANOUT 64, at most ~18 MB.
//
// One file on purpose, a little over the usual size: the build, the append path and
// the window queries share the bucket layout and its typed arrays, and splitting
// them would scatter one tight, allocation-aware structure (as uPlot keeps its own).

export const FANOUT = 64;
const SNAPSHOT_MAGIC = 0x5257_5059; // 'RWPY'

/** Raw rows `[start, start + step.length)` of a series, as read from disk. */
export interface RawRows {
  start: number;
  step: Float64Array;
  time: Float64Array;
  value: Float64Array;
}

/** A running min/max over some points. `min`/`max` stay ±Infinity while no finite value was seen. */
export class Extremes {
  min = Infinity;
  max = -Infinity;
  stepAtMin = NaN;
  stepAtMax = NaN;
  timeAtMin = NaN;
  timeAtMax = NaN;
  nonFinite = 0;

  reset(): void {
    this.min = Infinity;
    this.max = -Infinity;
    this.stepAtMin = this.stepAtMax = this.timeAtMin = this.timeAtMax = NaN;
    this.nonFinite = 0;
  }

  /** Ties keep the earlier point, so results don't depend on how ranges are split. */
  addPoint(step: number, time: number, value: number): void {
    if (value !== value || value === Infinity || value === -Infinity) {
      this.nonFinite++;
      return;
    }
    if (value < this.min) {
      this.min = value;
      this.stepAtMin = step;
      this.timeAtMin = time;
    }
    if (value > this.max) {
      this.max = value;
      this.stepAtMax = step;
      this.timeAtMax = time;
    }
  }

  addBucket(l: Level, i: number): void {
    this.nonFinite += l.nonFinite[i];
    if (l.min[i] < this.min) {
      this.min = l.min[i];
      this.stepAtMin = l.stepAtMin[i];
      this.timeAtMin = l.timeAtMin[i];
    }
    if (l.max[i] > this.max) {
      this.max = l.max[i];
      this.stepAtMax = l.stepAtMax[i];
      this.timeAtMax = l.timeAtMax[i];
    }
  }

  get hasFinite(): boolean {
    return this.min <= this.max;
  }
}

function grow(a: Float64Array, cap: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}

/** One pyramid level as parallel typed arrays (struct of arrays keeps it compact and GC-free). */
export class Level {
  length = 0;
  min: Float64Array;
  max: Float64Array;
  stepAtMin: Float64Array;
  stepAtMax: Float64Array;
  timeAtMin: Float64Array;
  timeAtMax: Float64Array;
  nonFinite: Uint32Array;

  constructor(capacity = 16) {
    this.min = new Float64Array(capacity);
    this.max = new Float64Array(capacity);
    this.stepAtMin = new Float64Array(capacity);
    this.stepAtMax = new Float64Array(capacity);
    this.timeAtMin = new Float64Array(capacity);
    this.timeAtMax = new Float64Array(capacity);
    this.nonFinite = new Uint32Array(capacity);
  }

  get capacity(): number {
    return this.min.length;
  }

  /** Appends an empty bucket. */
  open(): number {
    if (this.length === this.capacity) {
      const cap = Math.max(16, this.capacity * 2);
      this.min = grow(this.min, cap);
      this.max = grow(this.max, cap);
      this.stepAtMin = grow(this.stepAtMin, cap);
      this.stepAtMax = grow(this.stepAtMax, cap);
      this.timeAtMin = grow(this.timeAtMin, cap);
      this.timeAtMax = grow(this.timeAtMax, cap);
      const nf = new Uint32Array(cap);
      nf.set(this.nonFinite);
      this.nonFinite = nf;
    }
    const i = this.length++;
    this.min[i] = Infinity;
    this.max[i] = -Infinity;
    this.stepAtMin[i] = this.stepAtMax[i] = this.timeAtMin[i] = this.timeAtMax[i] = NaN;
    this.nonFinite[i] = 0;
    return i;
  }

  addPoint(i: number, step: number, time: number, value: number): void {
    if (value !== value || value === Infinity || value === -Infinity) {
      this.nonFinite[i]++;
      return;
    }
    if (value < this.min[i]) {
      this.min[i] = value;
      this.stepAtMin[i] = step;
      this.timeAtMin[i] = time;
    }
    if (value > this.max[i]) {
      this.max[i] = value;
      this.stepAtMax[i] = step;
      this.timeAtMax[i] = time;
    }
  }

  addBucket(i: number, from: Level, j: number): void {
    this.nonFinite[i] += from.nonFinite[j];
    if (from.min[j] < this.min[i]) {
      this.min[i] = from.min[j];
      this.stepAtMin[i] = from.stepAtMin[j];
      this.timeAtMin[i] = from.timeAtMin[j];
    }
    if (from.max[j] > this.max[i]) {
      this.max[i] = from.max[j];
      this.stepAtMax[i] = from.stepAtMax[j];
      this.timeAtMax[i] = from.timeAtMax[j];
    }
  }

  bytes(): number {
    return this.capacity * (6 * 8 + 4);
  }
}

/** Looks up raw rows by absolute index in a few windows read beforehand. */
export class RawWindows {
  constructor(readonly windows: RawRows[]) {}

  addTo(acc: Extremes, i: number): void {
    for (const w of this.windows) {
      const j = i - w.start;
      if (j >= 0 && j < w.value.length) {
        acc.addPoint(w.step[j], w.time[j], w.value[j]);
        return;
      }
    }
    throw new Error(`raw row ${i} was not read`);
  }
}

export class MinMaxPyramid {
  /** Raw points folded in. */
  count = 0;
  /** levels[k] is level k + 1: bucket j covers raw [j * F^(k+1), (j + 1) * F^(k+1)). */
  readonly levels: Level[] = [];
  /** Step and time of each level-1 bucket's first point: binary search for x ranges on sorted axes. */
  firstStep = new Float64Array(16);
  firstTime = new Float64Array(16);

  constructor(readonly fanout = FANOUT) {}

  push(step: number, time: number, value: number): void {
    const i = this.count++;
    const F = this.fanout;
    if (this.levels.length === 0) this.levels.push(new Level());
    let size = F;
    for (let k = 0; k < this.levels.length; k++, size *= F) {
      const l = this.levels[k];
      const b = Math.floor(i / size);
      if (b === l.length) {
        l.open();
        if (k === 0) this.noteFirst(b, step, time);
      }
      l.addPoint(b, step, time, value);
    }
    // A level with two buckets gets a parent, so the top level always has one bucket.
    const top = this.levels[this.levels.length - 1];
    if (top.length > 1) {
      const parent = new Level();
      parent.open();
      for (let j = 0; j < top.length; j++) parent.addBucket(0, top, j);
      this.levels.push(parent);
    }
  }

  /**
   * Same as push() for each row, faster: whole level-1 buckets are reduced in
   * a tight loop and then folded upward once, instead of every point visiting
   * every level.
   */
  pushRows(step: Float64Array, time: Float64Array, value: Float64Array, n = value.length): void {
    const F = this.fanout;
    let i = 0;
    while (i < n) {
      if (this.count % F !== 0 || n - i < F) {
        this.push(step[i], time[i], value[i]);
        i++;
        continue;
      }
      let min = Infinity;
      let max = -Infinity;
      let iMin = -1;
      let iMax = -1;
      let nonFinite = 0;
      for (let j = i, e = i + F; j < e; j++) {
        const v = value[j];
        if (v !== v || v === Infinity || v === -Infinity) nonFinite++;
        else {
          if (v < min) [min, iMin] = [v, j];
          if (v > max) [max, iMax] = [v, j];
        }
      }
      if (this.levels.length === 0) this.levels.push(new Level());
      const l1 = this.levels[0];
      const b = l1.open();
      this.noteFirst(b, step[i], time[i]);
      l1.nonFinite[b] = nonFinite;
      if (iMin >= 0) {
        l1.min[b] = min;
        l1.stepAtMin[b] = step[iMin];
        l1.timeAtMin[b] = time[iMin];
        l1.max[b] = max;
        l1.stepAtMax[b] = step[iMax];
        l1.timeAtMax[b] = time[iMax];
      }
      const first = this.count;
      this.count += F;
      let size = F * F;
      for (let k = 1; k < this.levels.length; k++, size *= F) {
        const l = this.levels[k];
        const pb = Math.floor(first / size);
        if (pb === l.length) l.open();
        l.addBucket(pb, l1, b);
      }
      const top = this.levels[this.levels.length - 1];
      if (top.length > 1) {
        const parent = new Level();
        parent.open();
        for (let j = 0; j < top.length; j++) parent.addBucket(0, top, j);
        this.levels.push(parent);
      }
      i += F;
    }
  }

  private noteFirst(b: number, step: number, time: number): void {
    if (b === this.firstStep.length) {
      this.firstStep = grow(this.firstStep, Math.max(16, b * 2));
      this.firstTime = grow(this.firstTime, Math.max(16, b * 2));
    }
    this.firstStep[b] = step;
    this.firstTime[b] = time;
  }

  /** Size in raw points of one bucket at `level` (0 = raw). */
  bucketSize(level: number): number {
    return this.fanout ** level;
  }

  /**
   * Folds raw range [a, b) into `acc` using whole buckets where they fit; only
   * the unaligned ends (fewer than FANOUT rows each) come from `raw`.
   */
  aggregate(a: number, b: number, raw: RawWindows, acc: Extremes): void {
    this.aggregateAt(0, a, b, raw, acc);
  }

  private aggregateAt(k: number, p: number, q: number, raw: RawWindows, acc: Extremes): void {
    if (p >= q) return;
    const F = this.fanout;
    const p1 = Math.ceil(p / F) * F;
    const q1 = Math.floor(q / F) * F;
    if (k >= this.levels.length || p1 >= q1) {
      this.addDirect(k, p, q, raw, acc);
      return;
    }
    // Left to right, so ties keep the earliest point whatever the split.
    this.addDirect(k, p, p1, raw, acc);
    this.aggregateAt(k + 1, p1 / F, q1 / F, raw, acc);
    this.addDirect(k, q1, q, raw, acc);
  }

  private addDirect(k: number, p: number, q: number, raw: RawWindows, acc: Extremes): void {
    if (k === 0) for (let i = p; i < q; i++) raw.addTo(acc, i);
    else {
      const l = this.levels[k - 1];
      for (let i = p; i < q; i++) acc.addBucket(l, i);
    }
  }

  /**
   * Raw ranges that `aggregate(a, b)` (and any split of [a, b) at multiples of
   * FANOUT) reads from `raw`: the unaligned ends.
   */
  rawRangesFor(a: number, b: number): [number, number][] {
    const F = this.fanout;
    if (b - a <= 2 * F) return [[a, b]];
    const a1 = Math.ceil(a / F) * F;
    const b1 = Math.floor(b / F) * F;
    const out: [number, number][] = [];
    if (a1 > a) out.push([a, a1]);
    if (b > b1) out.push([b1, b]);
    return out;
  }

  /**
   * For a sorted axis: the level-1 bucket to scan for the first raw index whose
   * x is >= x0 (strict=false) or > x0 (strict=true); -1 when it is index 0.
   */
  bucketFor(axis: 'step' | 'time', x0: number, strict: boolean): number {
    const first = axis === 'step' ? this.firstStep : this.firstTime;
    const n = this.levels.length ? this.levels[0].length : 0;
    // Last bucket whose first x is < x0 (or <= x0 when strict): the answer is in it or at the next bucket's start.
    let lo = 0;
    let hi = n; // invariant: buckets < lo qualify, >= hi don't
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ok = strict ? first[mid] <= x0 : first[mid] < x0;
      if (ok) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * A snapshot (all f64, so it can be read back as one Float64Array): header
   * [magic, version, fanout, count, levels, length of each level], then level 1's
   * first steps and times, then each level's seven arrays.
   */
  serialize(): Float64Array {
    const lens = this.levels.map((l) => l.length);
    const n1 = lens[0] ?? 0;
    const total = 5 + lens.length + 2 * n1 + 7 * lens.reduce((a, b) => a + b, 0);
    const out = new Float64Array(total);
    out.set([SNAPSHOT_MAGIC, 1, this.fanout, this.count, lens.length, ...lens]);
    let o = 5 + lens.length;
    out.set(this.firstStep.subarray(0, n1), o);
    out.set(this.firstTime.subarray(0, n1), (o += n1));
    o += n1;
    for (const l of this.levels) {
      for (const a of [l.min, l.max, l.stepAtMin, l.stepAtMax, l.timeAtMin, l.timeAtMax, l.nonFinite]) {
        out.set(a.subarray(0, l.length), o);
        o += l.length;
      }
    }
    return out;
  }

  /** Reads a `serialize()` snapshot; undefined when it isn't one (wrong magic, version or size). */
  static deserialize(a: Float64Array): MinMaxPyramid | undefined {
    if (a.length < 5 || a[0] !== SNAPSHOT_MAGIC || a[1] !== 1) return undefined;
    const [fanout, count, nLevels] = [a[2], a[3], a[4]];
    if (!(fanout >= 2) || !(nLevels >= 0) || a.length < 5 + nLevels) return undefined;
    const lens = Array.from(a.subarray(5, 5 + nLevels));
    const n1 = lens[0] ?? 0;
    if (a.length !== 5 + nLevels + 2 * n1 + 7 * lens.reduce((x, y) => x + y, 0)) return undefined;
    if (count > 0 ? n1 !== Math.ceil(count / fanout) : nLevels !== 0) return undefined;
    const p = new MinMaxPyramid(fanout);
    p.count = count;
    let o = 5 + nLevels;
    p.firstStep = a.slice(o, o + n1);
    p.firstTime = a.slice(o + n1, o + 2 * n1);
    o += 2 * n1;
    for (const len of lens) {
      const l = new Level(0);
      const take = () => a.slice(o, (o += len));
      [l.min, l.max, l.stepAtMin, l.stepAtMax, l.timeAtMin, l.timeAtMax] = [
        take(),
        take(),
        take(),
        take(),
        take(),
        take(),
      ];
      l.nonFinite = Uint32Array.from(take());
      l.length = len;
      p.levels.push(l);
    }
    return p;
  }

  bytes(): number {
    let n = (this.firstStep.length + this.firstTime.length) * 8;
    for (const l of this.levels) n += l.bytes();
    return n;
  }
}
