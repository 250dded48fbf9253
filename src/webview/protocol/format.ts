// How a number is written wherever Runwatch shows one: the Runs tree (host), chart legends,
// axis ticks, the hover readout, the runs table and compare (pages). One rule, so `0.0003`
// and `3.000e-4` never stand side by side: plain decimals from 0.001 up to a million, and
// outside that an exponent with at most four significant digits and no trailing zeros
// (`3e-4`, `1.235e-7`, `2.5e+6`). Pure, so both sides import it.

/** Values at or above this (absolute) are written with an exponent. */
const EXP_ABOVE = 1e6;
/** Values below this (absolute, non-zero) are written with an exponent. */
const EXP_BELOW = 1e-3;

/** A metric or parameter value: NaN, +Inf and -Inf named; null/undefined as a dash. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return '0';
  // Rounded first: 999999.9 is written as 1e+6, not 1000000.
  const rounded = Number(v.toPrecision(5));
  const a = Math.abs(rounded);
  if (a >= EXP_ABOVE || a < EXP_BELOW) {
    const [mantissa, exp] = v.toExponential(3).split('e');
    return `${mantissa.replace(/\.?0+$/, '')}e${exp}`;
  }
  return rounded.toString();
}

/** An axis tick: the same rule as every other number (ticks sit beside legends and readouts). */
export function formatTick(v: number): string {
  return formatValue(v);
}

/** A step: an integer as is (steps are integers; a fraction is shown, never rounded away). */
export function formatStep(step: number): string {
  return Number.isInteger(step) ? String(step) : formatValue(step);
}

/** A wall time (ms since the epoch) as local date and time to the second: 2026-12-02 20:19:25. */
export function formatWallTime(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** Relative-time ticks: 12.5s, 3m20s, 1h5m. */
export function formatDuration(s: number): string {
  const sign = s < 0 ? '-' : '';
  s = Math.abs(s);
  if (s < 60) return `${sign}${Math.round(s * 10) / 10}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${sign}${m}m${Math.round(s % 60)}s`;
  return `${sign}${Math.floor(m / 60)}h${m % 60}m`;
}
