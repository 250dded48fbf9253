// The dashboard's test probes (described in probeContract.ts), all in this one module:
// they listen to the model's and the charts' events and write data attributes and a draw
// log. main.ts installs them; nothing else of the page reads what they write.
import type { Event } from '../../common/emitter';
import type { Chart } from './chart';
import type { GroupBandData } from '../protocol/dashboard';
import type { BandProbe, DashboardProbeGlobals, DrawRecord } from './probeContract';
import type { DashboardModel } from './state';

const MAX_DRAWS = 20_000;

export interface ProbeSources {
  model: DashboardModel;
  onDidUpdate: Event<Chart>;
  onDidDraw: Event<Chart>;
}

export function installProbes({ model, onDidUpdate, onDidDraw }: ProbeSources): void {
  const startedAt = performance.now();
  const body = document.body;
  const draws: DrawRecord[] = [];
  (window as unknown as DashboardProbeGlobals).runwatchDraws = draws;
  body.dataset.readyAt = String(Date.now());
  // Where a page load's time goes before our script runs: the document's navigation start
  // (VS Code creating the frame is before it) and our bundle's fetch, as epoch ms.
  const origin = performance.timeOrigin;
  const script = performance.getEntriesByType('resource').find((e) => e.name.includes('dashboard.js')) as
    PerformanceResourceTiming | undefined;
  // VS Code loads an empty placeholder page into the frame, then writes ours into it: the
  // navigation entry is the placeholder's (when its response came, when it was parsed).
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  body.dataset.loadTiming = JSON.stringify({
    documentStart: origin,
    // The service worker's part of the placeholder's fetch: started (a new worker) and asked.
    placeholderWorkerStart: nav && nav.workerStart > 0 ? origin + nav.workerStart : undefined,
    placeholderFetchStart: nav ? origin + nav.fetchStart : undefined,
    placeholderResponseStart: nav ? origin + nav.responseStart : undefined,
    placeholderResponseEnd: nav ? origin + nav.responseEnd : undefined,
    placeholderParsed: nav ? origin + nav.domContentLoadedEventStart : undefined,
    scriptFetchStart: script ? origin + script.startTime : undefined,
    scriptFetchEnd: script ? origin + script.responseEnd : undefined,
  });
  let lastSentAt: number | undefined;
  let firstDrawDone = false;
  let seriesPoints = 0;

  model.onDidReceiveSeries((msg) => {
    lastSentAt = msg.sentAt;
    for (const s of msg.series) seriesPoints += s.x.length;
    body.dataset.seriesPoints = String(seriesPoints);
    if (msg.series.length > 0 && body.dataset.firstSeriesMs === undefined) {
      body.dataset.firstSeriesMs = String(performance.now() - startedAt);
    }
  });

  onDidUpdate((chart) => {
    const d = chart.box.dataset;
    d.points = JSON.stringify(byRun(chart, (s) => s.x.length));
    d.lastStep = JSON.stringify(lastSteps(chart));
    d.nonfinite = JSON.stringify(byRun(chart, (s) => s.nonFiniteX.length));
    d.total = JSON.stringify(byRun(chart, (s) => s.total));
    const bands = chart.bands;
    d.grouped = String(bands !== undefined);
    if (bands) d.bands = JSON.stringify(bands.map(probeBand));
    else delete d.bands;
  });

  onDidDraw((chart) => {
    const drawnAt = Date.now();
    const d = chart.box.dataset;
    d.drawnAt = String(drawnAt);
    const { min, max } = chart.xRange;
    d.xRange = `${min},${max}`;
    d.zoomed = String(chart.zoom !== undefined);
    draws.push({ key: chart.key, drawnAt, lastStep: lastSteps(chart), sentAt: lastSentAt });
    if (draws.length > MAX_DRAWS) draws.splice(0, draws.length - MAX_DRAWS / 2);
    if (!firstDrawDone && chart.series.length > 0) {
      firstDrawDone = true;
      body.dataset.firstDrawMs = String(performance.now() - startedAt);
      body.dataset.firstDrawAt = String(drawnAt);
    }
  });
}

function byRun(chart: Chart, value: (s: Chart['series'][number]) => number): Record<string, number> {
  return Object.fromEntries(chart.series.map((s) => [s.runId, value(s)]));
}

function lastSteps(chart: Chart): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of chart.series) if (s.latest) out[s.runId] = s.latest.step;
  return out;
}

function probeBand(b: GroupBandData): BandProbe {
  const list = (a: Float64Array) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
  return {
    label: b.label,
    color: b.color,
    members: b.members,
    runs: b.runs,
    x: Array.from(b.x),
    center: list(b.center),
    lo: list(b.lo),
    hi: list(b.hi),
  };
}
