// NaN/±Inf points of a loaded series, in arrival order (usually a handful): they are kept out of the
// pyramid and drawn as markers.
import { nonFiniteKind } from '../../common/wireNumber';

export class NonFiniteList {
  n = 0;
  idx = new Float64Array(8);
  step = new Float64Array(8);
  time = new Float64Array(8);
  kind = new Uint8Array(8);

  push(i: number, step: number, time: number, value: number): void {
    if (this.n === this.idx.length) {
      const cap = this.n * 2;
      const g = (a: Float64Array) => {
        const b = new Float64Array(cap);
        b.set(a);
        return b;
      };
      this.idx = g(this.idx);
      this.step = g(this.step);
      this.time = g(this.time);
      const k = new Uint8Array(cap);
      k.set(this.kind);
      this.kind = k;
    }
    this.idx[this.n] = i;
    this.step[this.n] = step;
    this.time[this.n] = time;
    this.kind[this.n++] = nonFiniteKind(value);
  }

  /** First position whose raw index is >= i. */
  lowerBound(i: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idx[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  bytes(): number {
    return this.idx.length * 25;
  }
}
