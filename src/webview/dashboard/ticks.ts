// Tick choice for the charts' axes (pure, unit-tested): steps are integers, so the step axis
// ticks only at integers (never 2.5 or 7.5 early in a run), spaced 1·2·5 × 10^k.

/** Integer tick increments for the step axis: 1, 2, 5, 10, 20, 50, … up to 5e15. */
export const INTEGER_INCREMENTS: readonly number[] = (() => {
  const out: number[] = [];
  for (let p = 1; p <= 1e15; p *= 10) out.push(p, 2 * p, 5 * p);
  return out;
})();

/** The smallest increment of `increments` that gives at most `maxTicks` ticks over [min, max]. */
export function chooseIncrement(min: number, max: number, maxTicks: number, increments = INTEGER_INCREMENTS): number {
  const span = Math.max(0, max - min);
  const room = Math.max(1, Math.floor(maxTicks));
  for (const inc of increments) if (span / inc <= room) return inc;
  return increments[increments.length - 1];
}

/** Integer ticks over [min, max]: multiples of the chosen increment, at most about `maxTicks` of them. */
export function integerTicks(min: number, max: number, maxTicks: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) return [];
  const inc = chooseIncrement(min, max, maxTicks);
  const out: number[] = [];
  for (let v = Math.ceil(min / inc) * inc; v <= max; v += inc) out.push(v);
  return out;
}

/** How many ticks fit along `lengthPx` when each wants `spacePx`. */
export function ticksThatFit(lengthPx: number, spacePx: number): number {
  return Math.max(2, Math.floor(lengthPx / Math.max(1, spacePx)));
}
