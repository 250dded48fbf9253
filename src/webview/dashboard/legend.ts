// A chart's legend: per run its color, name, latest value (step in the tooltip), how many
// non-finite points it has and, when decimated, how many points are stored. At most two
// lines (CSS): more runs scroll inside the legend; every item is also in its tooltip.
import { decodeWireNumber } from '../../common/wireNumber';
import { formatValue } from '../protocol/format';
import type { RunInfo, SeriesData } from '../protocol/dashboard';
import { el, swatch, text } from './dom';

export function renderLegend(
  legend: HTMLElement,
  series: readonly SeriesData[],
  runs: ReadonlyMap<string, RunInfo>,
): void {
  legend.replaceChildren();
  const whole: string[] = [];
  for (const s of series) {
    const r = runs.get(s.runId);
    const item = el('span', 'legend-item');
    item.dataset.runId = s.runId;
    // Right-click: "Set Run Colour…" (package.json, webview/context).
    item.dataset.vscodeContext = JSON.stringify({ webviewSection: 'run', runId: s.runId });
    item.append(swatch(r?.color ?? '#888'), text(r?.name ?? s.runId, 'legend-name'));
    const value = text(s.latest ? formatValue(decodeWireNumber(s.latest.value)) : '–', 'legend-value');
    value.title = s.latest ? `step ${s.latest.step}` : '';
    item.append(value);
    if (s.nonFiniteX.length > 0) item.append(text(` ${s.nonFiniteX.length} non-finite`, 'legend-warn'));
    if (s.decimated) item.append(text(` (${s.total.toLocaleString()} pts)`, 'legend-count'));
    legend.append(item);
    whole.push(item.textContent ?? '');
  }
  legend.title = whole.join('\n');
}
