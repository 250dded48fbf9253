// What the dashboard page exposes to end-to-end tests and benchmarks, and nothing else
// reads: probes.ts writes it, test/e2e and bench/ read it. No DOM types here, so the
// Node side can import it (the page's globals reach Node as `globalThis` in `evaluate`).
//
// On each chart container (`.chart`):
//   data-key        the metric key
//   data-points     JSON: run id → points drawn
//   data-last-step  JSON: run id → latest step
//   data-nonfinite  JSON: run id → NaN/±Inf markers drawn
//   data-total      JSON: run id → points stored
//   data-x-range    "min,max" of the x scale as drawn
//   data-zoomed     "true" while the user's zoom holds
//   data-drawn-at   ms epoch of the last draw
//   data-grouped    "true" while the chart draws group lines and bands instead of runs
//   data-bands      JSON BandProbe[] while grouped: each group's cells as drawn
// On the body: data-ready-at (ms epoch the page posted `ready`), data-first-series-ms and
// data-first-draw-ms (ms from the page's start), data-first-draw-at (ms epoch),
// data-load-timing (JSON LoadTiming), data-series-points (run points received in series
// messages since the page loaded; while grouped the host sends bands instead).

/** When the page's document started loading and its bundle was fetched (ms epoch). */
export interface LoadTiming {
  documentStart: number;
  /** VS Code's placeholder page in the frame (ours is written into it once it is parsed). */
  /** When the service worker was started for the placeholder's fetch (absent: it was running), and the fetch began. */
  placeholderWorkerStart?: number;
  placeholderFetchStart?: number;
  placeholderResponseStart?: number;
  placeholderResponseEnd?: number;
  placeholderParsed?: number;
  scriptFetchStart?: number;
  scriptFetchEnd?: number;
}

/** One group's line and band on a chart, cell by cell (null: no run had a value there). */
export interface BandProbe {
  label: string;
  color: string;
  /** Runs in the group, and those with a finite point of the chart's key. */
  members: number;
  runs: number;
  x: number[];
  center: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
}

/** One draw of one chart, for the latency benchmark. */
export interface DrawRecord {
  key: string;
  drawnAt: number;
  /** When the host posted the data drawn (host clock; same machine in the benchmark). */
  sentAt?: number;
  /** Run id → latest step drawn. */
  lastStep: Record<string, number>;
}

/** The page's globals for tests: `(globalThis as unknown as DashboardProbeGlobals).runwatchDraws`. */
export interface DashboardProbeGlobals {
  /** The recent draws, oldest first (trimmed to the last 10,000 past 20,000). */
  runwatchDraws: DrawRecord[];
}
