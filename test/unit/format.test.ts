// One number format everywhere (tree, legends, ticks, readout, compare): never `0.0003`
// beside `3.000e-4`.
import * as assert from 'assert';
import { formatStep, formatTick, formatValue, formatWallTime } from '../../src/webview/protocol/format';

describe('number format', () => {
  it('writes small and large values with a short exponent, the rest as decimals', () => {
    assert.strictEqual(formatValue(0.0003), '3e-4');
    assert.strictEqual(formatValue(0.00031234), '3.123e-4');
    assert.strictEqual(formatValue(-0.00025), '-2.5e-4');
    assert.strictEqual(formatValue(0.001), '0.001');
    assert.strictEqual(formatValue(0.123456789), '0.12346');
    assert.strictEqual(formatValue(12345.678), '12346');
    assert.strictEqual(formatValue(999_999), '1e+6');
    assert.strictEqual(formatValue(2.5e6), '2.5e+6');
    assert.strictEqual(formatValue(0), '0');
    assert.strictEqual(formatValue(-3), '-3');
  });

  it('is the same for ticks as for values, so one number is never written two ways', () => {
    for (const v of [0.0003, 3e-4, 0.5, 1e-7, 123.456, 2e7, -0.002]) assert.strictEqual(formatTick(v), formatValue(v));
    const written = new Set([0.0003, 3e-4, 0.0003].map(formatValue));
    assert.deepStrictEqual([...written], ['3e-4']);
  });

  it('names non-finite values and missing ones', () => {
    assert.strictEqual(formatValue(NaN), 'NaN');
    assert.strictEqual(formatValue(Infinity), '+Inf');
    assert.strictEqual(formatValue(-Infinity), '-Inf');
    assert.strictEqual(formatValue(null), '–');
    assert.strictEqual(formatValue(undefined), '–');
  });

  it('writes steps as integers and wall times to the second', () => {
    assert.strictEqual(formatStep(1200), '1200');
    assert.strictEqual(formatStep(2.5), '2.5');
    assert.match(formatWallTime(Date.UTC(2026, 11, 2, 20, 19, 25)), /^2026-12-0[23] \d\d:19:25$/);
    assert.strictEqual(formatWallTime(NaN), '–');
  });
});
