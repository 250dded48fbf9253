// Step-axis ticks: integers only, 1·2·5 spacing, as many as fit.
import * as assert from 'assert';
import { INTEGER_INCREMENTS, chooseIncrement, integerTicks, ticksThatFit } from '../../src/webview/dashboard/ticks';

describe('step axis ticks', () => {
  it('never ticks at a fraction, even over a range of a few steps', () => {
    for (const [min, max] of [
      [0, 3],
      [0, 10],
      [-0.4, 7.6],
      [1, 2],
      [0, 1e7],
      [123, 4567],
    ]) {
      const ticks = integerTicks(min, max, 8);
      assert.ok(ticks.length > 0, `${min}..${max}`);
      for (const t of ticks) assert.ok(Number.isInteger(t), `${t} in ${min}..${max}`);
      assert.ok(ticks.length <= 9, `${ticks.length} ticks in ${min}..${max}`);
      assert.ok(ticks[0] >= min && ticks[ticks.length - 1] <= max);
    }
    assert.deepStrictEqual(integerTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
    assert.deepStrictEqual(integerTicks(0, 3, 10), [0, 1, 2, 3]);
  });

  it('picks 1·2·5 increments, the smallest that fits', () => {
    assert.deepStrictEqual(INTEGER_INCREMENTS.slice(0, 6), [1, 2, 5, 10, 20, 50]);
    assert.strictEqual(chooseIncrement(0, 100, 10), 10);
    assert.strictEqual(chooseIncrement(0, 101, 10), 20);
    assert.strictEqual(chooseIncrement(0, 9_000_000, 6), 2_000_000);
    assert.strictEqual(ticksThatFit(500, 50), 10);
    assert.strictEqual(ticksThatFit(10, 50), 2);
  });

  it('gives no ticks for an empty or broken range', () => {
    assert.deepStrictEqual(integerTicks(NaN, 3, 5), []);
    assert.deepStrictEqual(integerTicks(5, 3, 5), []);
  });
});
