// The memory budget for loaded pyramids: least recently queried ones are dropped while over it (they
// reload from snapshot + rows on their next query).
import type { RunSeries, Series } from './format';

/** Loaded pyramids beyond this many bytes are dropped, least recently queried first. */
export const DEFAULT_MAX_LOADED_BYTES = 64 * 1024 * 1024;

const loadedBytes = (s: Series) => (s.pyramid?.bytes() ?? 0) + (s.nonFinite?.bytes() ?? 0);

export function memoryBytes(runs: Iterable<RunSeries>): number {
  let n = 0;
  for (const r of runs) for (const s of r.series.values()) n += loadedBytes(s);
  return n;
}

/**
 * Drops the least recently queried pyramids while over `max`. Safe at any time: a query holds its own
 * references, and a series without a pyramid just appends rows until the next query loads it again.
 * Returns the bytes still loaded.
 */
export function trimLoaded(runs: Iterable<RunSeries>, keep: Series, max: number): number {
  const loaded: Series[] = [];
  let total = 0;
  for (const r of runs)
    for (const s of r.series.values())
      if (s.pyramid && s.nonFinite) {
        s.budgeted = true;
        total += loadedBytes(s);
        if (s !== keep && !s.loading) loaded.push(s);
      }
  if (total <= max) return total;
  loaded.sort((a, b) => a.lastUsed - b.lastUsed);
  for (const s of loaded) {
    if (total <= max) break;
    total -= loadedBytes(s);
    s.pyramid = undefined;
    s.nonFinite = undefined;
    s.budgeted = false;
  }
  return total;
}
