// A run as every webview shows it, and its color: the host builds these, the dashboard
// and compare pages draw them, so a run looks the same in each.
import type { RunStatus } from '../../api/types';

/** A run as a page needs it: enough to label, color and offset its lines. */
export interface RunInfo {
  runId: string;
  name: string;
  project: string;
  status: RunStatus;
  startTime: number;
  lastStep?: number;
  color: string;
}

/** A run's colour before any assignment: see palette.ts (`assignColors` for runs shown together). */
export { runColor } from './palette';
