// The runs table's rows, built in the host from the store's run summaries and the series cache:
// params, tags, and per metric its last value and its min/max, both from the cache's bookkeeping
// (instant). A cache index written before it kept min/max has none: then a two-point query of the
// series' min/max pyramid finds them, remembered per series until its last point changes and
// filled in the background so the first rows go out at once. No `vscode`.
import type { RunSummary } from '../../api/types';
import { encodeWireNumber } from '../../common/wireNumber';
import type { WireRun, WireStats } from '../../webview/protocol/runsTable';
import type { SeriesLike } from '../deps';

interface Extremes {
  /** The series' last point when these were computed: they hold while it is the same. */
  stamp: string;
  min: number;
  max: number;
}

const CONCURRENCY = 16;

/** The series cache as rows need it; `extremes` (SeriesStore has it) answers min/max without a query. */
export type RowsSeries = Pick<SeriesLike, 'keys' | 'latest' | 'query'> & {
  extremes?(runId: string, key: string): [number, number] | undefined;
};

export class MetricExtremes {
  private readonly byRun = new Map<string, Map<string, Extremes>>();

  constructor(private readonly series: RowsSeries) {}

  private stamp(runId: string, key: string): string | undefined {
    const p = this.series.latest(runId, key);
    return p ? `${p.step}:${p.time}:${p.value}` : undefined;
  }

  /** Min and max known now for the series, if still current. */
  get(runId: string, key: string): Extremes | undefined {
    const kept = this.series.extremes?.(runId, key);
    if (kept) return { stamp: '', min: kept[0], max: kept[1] };
    const e = this.byRun.get(runId)?.get(key);
    return e && e.stamp === this.stamp(runId, key) ? e : undefined;
  }

  /** Whether any series of the run lacks current extremes. */
  stale(runId: string): boolean {
    return safeKeys(this.series, runId).some((k) => !this.get(runId, k));
  }

  forget(runId: string): void {
    this.byRun.delete(runId);
  }

  /** Computes what is missing for these runs; `onRun` is told each run whose extremes changed. */
  async fill(
    runIds: readonly string[],
    onRun: (runId: string) => void,
    cancelled: () => boolean = () => false,
  ): Promise<void> {
    const todo = runIds.filter((id) => this.stale(id));
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !cancelled()) {
        const runId = todo[next++];
        let changed = false;
        for (const key of safeKeys(this.series, runId)) {
          if (this.get(runId, key)) continue;
          const stamp = this.stamp(runId, key);
          if (stamp === undefined) continue;
          try {
            const s = await this.series.query({ runId, key, x: 'step', maxPoints: 2 });
            let min = Infinity;
            let max = -Infinity;
            for (const v of s.y) {
              if (v < min) min = v;
              if (v > max) max = v;
            }
            let m = this.byRun.get(runId);
            if (!m) this.byRun.set(runId, (m = new Map()));
            m.set(key, { stamp, min: min <= max ? min : NaN, max: min <= max ? max : NaN });
            changed = true;
          } catch {
            // The run was deleted meanwhile: nothing to show.
          }
        }
        if (changed) onRun(runId);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
}

function safeKeys(series: Pick<SeriesLike, 'keys'>, runId: string): string[] {
  try {
    return series.keys(runId);
  } catch {
    return [];
  }
}

const wire = (v: number | undefined): WireStats[number] =>
  v === undefined || Number.isNaN(v) ? (v === undefined ? null : 'NaN') : encodeWireNumber(v);

export function wireRun(
  r: RunSummary,
  series: Pick<SeriesLike, 'keys' | 'latest'>,
  extremes: MetricExtremes,
  color: string,
): WireRun {
  const metrics: Record<string, WireStats> = {};
  for (const key of safeKeys(series, r.runId)) {
    const last = series.latest(r.runId, key)?.value;
    const e = extremes.get(r.runId, key);
    // A min/max of NaN means no finite point: shown as missing, not as "NaN".
    metrics[key] = [
      wire(last),
      e && !Number.isNaN(e.min) ? wire(e.min) : null,
      e && !Number.isNaN(e.max) ? wire(e.max) : null,
    ];
  }
  return {
    runId: r.runId,
    name: r.name,
    project: r.project,
    status: r.status,
    startTime: r.startTime,
    ...(r.endTime !== undefined ? { endTime: r.endTime } : {}),
    ...(r.lastStep !== undefined ? { lastStep: r.lastStep } : {}),
    tags: r.tags,
    params: r.params,
    metrics,
    color,
  };
}
