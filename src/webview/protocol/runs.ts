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

/** Stable color per run id: a hash picks a hue, so a run keeps its color in every view. */
export function runColor(runId: string): string {
  let h = 2166136261;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  return `hsl(${hue}, 70%, 55%)`;
}
