// How a metric value is written wherever Runwatch shows one: the Runs tree (host), chart
// legends and the compare table (pages). Pure, so both sides import it.

/** Short, stable number formatting for legends, tables and tree items. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return Number(v.toPrecision(5)).toString();
}

/** An axis tick: like formatValue, but exponents without trailing zeros (3e-4, not 3.000e-4). */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && Number.isFinite(v) && (a >= 1e6 || a < 1e-3)) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return formatValue(v);
}
