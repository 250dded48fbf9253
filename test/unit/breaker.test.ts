import * as assert from 'node:assert/strict';
import { CircuitBreaker } from '../../src/core/breaker';
import { backoffDelay, TimeoutError, withTimeout } from '../../src/core/retry';

describe('circuit breaker', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000));

  it('stays closed below the threshold and opens at K consecutive failures', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1000 }, clock);
    b.recordFailure();
    b.recordFailure();
    assert.equal(b.state, 'closed');
    assert.equal(b.waitMs(), 0);
    b.recordFailure();
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(), 1000);
  });

  it('a success resets the count of consecutive failures', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 1000 }, clock);
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    assert.equal(b.state, 'closed');
  });

  it('turns half-open after the cool-down; a failed trial re-opens, a good one closes', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 1000 }, clock);
    b.recordFailure();
    now += 999;
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(), 1);
    now += 1;
    assert.equal(b.state, 'half-open');
    assert.equal(b.waitMs(), 0);
    b.recordFailure();
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(), 1000);
    now += 1000;
    assert.equal(b.state, 'half-open');
    b.recordSuccess();
    assert.equal(b.state, 'closed');
    assert.equal(b.failures, 0);
  });
});

describe('retry helpers', () => {
  it('backoff grows exponentially up to the cap, with full jitter', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, opts, () => 1)), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(backoffDelay(4, opts, () => 0.5), 400);
    assert.equal(backoffDelay(4, opts, () => 0), 1); // never a zero-delay spin
  });

  it('withTimeout rejects a promise that never settles, and passes results through', async () => {
    await assert.rejects(withTimeout(new Promise(() => undefined), 20, 'x'), (e: unknown) => e instanceof TimeoutError && /x did not finish within 20 ms/.test(e.message));
    assert.equal(await withTimeout(Promise.resolve(7), 1000, 'y'), 7);
    await assert.rejects(withTimeout(Promise.reject(new Error('boom')), 1000, 'z'), /boom/);
  });
});
