// How a compare cell is written: one number format (protocol/format.ts) for params and
// metrics alike, a dash where a run lacks the value, and each final metric's step. No DOM:
// unit-tested in Node.
import { decodeWireNumber } from '../../common/wireNumber';
import type { MetricCell, ParamCell } from '../protocol/compare';
import { formatStep, formatValue } from '../protocol/format';

/** What a cell shows where the run has no such param or metric (format.ts's dash). */
export const MISSING = formatValue(undefined);

export function paramText(cell: ParamCell): string {
  if (cell === null) return MISSING;
  const v = cell.value;
  if (typeof v === 'number') return formatValue(v);
  if (v === null) return 'null';
  return String(v);
}

export function metricText(cell: MetricCell): { value: string; step: string } {
  if (cell === null) return { value: MISSING, step: '' };
  const n = decodeWireNumber(cell.value);
  return { value: n === undefined ? String(cell.value) : formatValue(n), step: `step ${formatStep(cell.step)}` };
}
