// What the dashboard host sends of a series: the store's decimated slice for the x mode,
// cut to the range the page last asked for that key (its zoom), shifted for relative
// time, with the latest raw point for the legend. No `vscode` import: unit-tested in Node.
import type { RunSummary } from '../../api/types';
import { encodeWireNumber } from '../../common/wireNumber';
import { MAX_POINTS, type QueryMessage, type SeriesData, type XMode } from '../../webview/protocol/dashboard';
import type { ViewsDeps } from '../deps';

/** The range a page asked for one key, and the query that asked. */
interface KeyRange {
  from?: number;
  to?: number;
  requestId: number;
}

export class SeriesFeed {
  /** key → range the page zoomed to; live updates of that key stay within it. */
  private readonly ranges = new Map<string, KeyRange>();
  /** The last full-range slice sent per (x mode, run, key): a new page draws it at once. */
  private readonly last = new Map<string, SeriesData>();

  constructor(private readonly deps: Pick<ViewsDeps, 'store' | 'series' | 'log'>) {}

  /** Keeps the range of a `query` (none: the full range) for this key's later slices. */
  setRange(q: Pick<QueryMessage, 'key' | 'from' | 'to' | 'requestId'>): void {
    this.ranges.set(q.key, { from: q.from, to: q.to, requestId: q.requestId });
  }

  /** Forgets every range (a new page, or a new x axis, starts at the full range). */
  clearRanges(): void {
    this.ranges.clear();
  }

  /** The last full-range slices of `runIds` for `xMode` (a shown-again page draws them before any read). */
  cached(runIds: readonly string[], xMode: XMode): SeriesData[] {
    const out: SeriesData[] = [];
    for (const runId of runIds)
      for (const key of this.deps.series.keys(runId)) {
        const s = this.last.get(`${xMode}\0${runId}\0${key}`);
        if (s) out.push(s);
      }
    return out;
  }

  /**
   * Step and time of the same stored points of `key` for each run: the full-range slices on
   * both axes hold the same rows (same index buckets) when both are sorted; a run whose two
   * slices differ in length (a point arrived between the reads) is left out.
   */
  async axes(
    runIds: readonly string[],
    key: string,
  ): Promise<{ runId: string; step: Float64Array; time: Float64Array }[]> {
    const out: { runId: string; step: Float64Array; time: Float64Array }[] = [];
    await Promise.all(
      runIds.map(async (runId) => {
        try {
          const q = { runId, key, maxPoints: MAX_POINTS };
          const [s, t] = await Promise.all([
            this.deps.series.query({ ...q, x: 'step' }),
            this.deps.series.query({ ...q, x: 'time' }),
          ]);
          // Same rows only if the values match one for one (an unsorted axis buckets differently).
          if (s.x.length > 0 && s.total === t.total && sameValues(s.y, t.y)) {
            out.push({ runId, step: s.x, time: t.x });
          }
        } catch (err) {
          this.deps.log.warn(`dashboard: could not read the axes of ${key} of run ${runId}: ${String(err)}`);
        }
      }),
    );
    return out;
  }

  /** Forgets a run's cached slices (deleted). */
  forget(runId: string): void {
    for (const k of [...this.last.keys()]) if (k.split('\0')[1] === runId) this.last.delete(k);
  }

  /** The slices of `items` for `xMode`; a slice that cannot be read is logged and left out. */
  async read(items: readonly { runId: string; key: string }[], xMode: XMode): Promise<SeriesData[]> {
    const out: SeriesData[] = [];
    await Promise.all(
      items.map(async ({ runId, key }) => {
        const run = this.deps.store.getRun(runId);
        if (!run) return;
        try {
          const s = await this.slice(run, key, xMode);
          // A zoomed slice is not what a new page (full range) shows: drop the stale full one.
          if (s.rangeRequestId === undefined) this.last.set(`${xMode}\0${runId}\0${key}`, s);
          else this.last.delete(`${xMode}\0${runId}\0${key}`);
          out.push(s);
        } catch (err) {
          this.deps.log.warn(`dashboard: could not read ${key} of run ${runId}: ${String(err)}`);
        }
      }),
    );
    return out;
  }

  private async slice(run: RunSummary, key: string, xMode: XMode): Promise<SeriesData> {
    // Relative time is wall time shifted by the run's start, so the store answers in wall time.
    const offset = xMode === 'relative' ? run.startTime : 0;
    // Read before the first await: the slice is cut to the range asked so far and says so.
    const range = this.ranges.get(key);
    const slice = await this.deps.series.query({
      runId: run.runId,
      key,
      x: xMode === 'step' ? 'step' : 'time',
      from: range?.from !== undefined ? range.from + offset : undefined,
      to: range?.to !== undefined ? range.to + offset : undefined,
      maxPoints: MAX_POINTS,
    });
    let x = slice.x;
    let nonFiniteX = slice.nonFinite.x;
    if (offset) {
      x = x.map((v) => v - offset);
      nonFiniteX = nonFiniteX.map((v) => v - offset);
    }
    const latest = this.deps.series.latest(run.runId, key);
    return {
      runId: run.runId,
      key,
      xMode,
      x,
      y: slice.y,
      nonFiniteX,
      nonFiniteKind: slice.nonFinite.kind,
      total: slice.total,
      decimated: slice.decimated,
      latest: latest && { step: latest.step, value: encodeWireNumber(latest.value) },
      rangeRequestId: range?.requestId,
    };
  }
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
