// The run picker (a <details> listing every run with a checkbox) and the hint shown
// when there is nothing to chart.
import type { RunInfo } from '../protocol/dashboard';
import { checkbox, el, swatch, text } from './dom';

const NO_RUNS =
  'No runs yet. Start a training script that uses the runwatch Python client ' +
  '(see "Runwatch: Copy Connection Snippet"); it appears here live.';

export function renderRunsPicker(
  box: HTMLDetailsElement,
  emptyBox: HTMLElement,
  shown: ReadonlyMap<string, RunInfo>,
  all: readonly RunInfo[],
  toggle: (runId: string, show: boolean) => void,
): void {
  const open = box.open;
  box.replaceChildren();
  const summary = document.createElement('summary');
  summary.textContent = `Runs: ${shown.size} shown of ${all.length}`;
  box.append(summary);
  box.open = open;
  const list = el('div', 'runs-list');
  for (const r of all) {
    const row = checkbox(`run-${r.runId}`, '', (v) => toggle(r.runId, v));
    (row.querySelector('input') as HTMLInputElement).checked = shown.has(r.runId);
    row
      .querySelector('span')
      ?.append(swatch(r.color), text(`${r.project} / ${r.name}`), text(` ${r.status}`, 'status'));
    list.append(row);
  }
  box.append(list);
  emptyBox.textContent = all.length === 0 ? NO_RUNS : shown.size === 0 ? 'No run selected: pick runs above.' : '';
}
