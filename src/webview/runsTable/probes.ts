// What e2e tests and benchmarks read from the runs table page, all written here as data attributes
// on <body>: when the rows first arrived and were first drawn, how many rows pass the filter, how
// many row elements are in the DOM, how long the last refresh took, and the filter's error.
// Production code never reads them.
import type { RunsTableState } from '../protocol/runsTable';
import type { Compiled } from './filterExpr';
import type { ViewResult } from './rowsModel';
import type { RunsTableView } from './table';

export interface ProbeSources {
  table: RunsTableView;
  runsCount(): number;
  view(): ViewResult;
  compiled(): Compiled;
}

export interface RunsTableProbes {
  received(rows: number): void;
  refreshed(ms: number, state: RunsTableState): void;
}

export function installProbes(src: ProbeSources): RunsTableProbes {
  const startedAt = performance.now();
  const d = document.body.dataset;
  d.readyAt = String(Date.now());
  let firstDrawn = false;
  return {
    received(rows) {
      if (d.firstRowsMs === undefined && rows > 0) d.firstRowsMs = String(performance.now() - startedAt);
    },
    refreshed(ms, state) {
      const view = src.view();
      d.runs = String(src.runsCount());
      d.shown = String(view.runs.length);
      d.items = String(view.items.length);
      d.domRows = String(src.table.drawnRows);
      d.refreshMs = String(ms);
      d.refreshedAt = String(Date.now());
      d.state = JSON.stringify(state);
      const c = src.compiled();
      d.filterError = c.ok ? '' : JSON.stringify(c.error);
      if (!firstDrawn && src.table.drawnRows > 0) {
        firstDrawn = true;
        d.firstDrawMs = String(performance.now() - startedAt);
      }
    },
  };
}
