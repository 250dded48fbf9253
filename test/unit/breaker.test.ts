// The resilience policies on a fake clock (node:test's mock.timers replaces
// setTimeout and Date, which cockatiel reads): no real waiting, exact times.
import * as assert from 'node:assert/strict';
import { mock } from 'node:test';
import { BrokenCircuitError, backoffDelay, TimeoutError, withTimeout, WriteBreaker } from '../../src/core/resilience';

const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('ok');

async function failures(b: WriteBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(b.execute(fail), /down/);
}

describe('circuit breaker', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000 }));
  afterEach(() => mock.timers.reset());

  it('stays closed below the threshold and opens at K consecutive failures', async () => {
    const b = new WriteBreaker({ failureThreshold: 3, coolDownMs: 1000 });
    await failures(b, 2);
    assert.equal(b.state, 'closed');
    assert.equal(b.failures, 2);
    assert.equal(b.waitMs(), 0);
    await failures(b, 1);
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(), 1000);
    // While open, calls are refused without reaching the backend.
    let called = false;
    await assert.rejects(
      b.execute(() => (called = true)),
      BrokenCircuitError,
    );
    assert.equal(called, false);
  });

  it('a success resets the count of consecutive failures', async () => {
    const b = new WriteBreaker({ failureThreshold: 2, coolDownMs: 1000 });
    await failures(b, 1);
    assert.equal(await b.execute(ok), 'ok');
    assert.equal(b.failures, 0);
    await failures(b, 1);
    assert.equal(b.state, 'closed');
  });

  it('turns half-open after the cool-down; a failed trial re-opens, a good one closes', async () => {
    const b = new WriteBreaker({ failureThreshold: 1, coolDownMs: 1000 });
    await failures(b, 1);
    mock.timers.tick(999);
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(), 1);
    await assert.rejects(b.execute(ok), BrokenCircuitError);
    mock.timers.tick(1);
    assert.equal(b.state, 'half-open');
    assert.equal(b.waitMs(), 0);
    await failures(b, 1);
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(), 1000);
    mock.timers.tick(1000);
    assert.equal(b.state, 'half-open');
    assert.equal(await b.execute(ok), 'ok');
    assert.equal(b.state, 'closed');
    assert.equal(b.failures, 0);
  });
});

describe('retry helpers', () => {
  afterEach(() => mock.timers.reset());

  it('backoff grows exponentially up to the cap, with full jitter', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, opts, () => 1)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.equal(
      backoffDelay(4, opts, () => 0.5),
      400,
    );
    assert.equal(
      backoffDelay(4, opts, () => 0),
      1,
    ); // never a zero-delay spin
  });

  it('withTimeout rejects a call that never settles at exactly its limit, and passes results through', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    let settled: unknown;
    const hung = withTimeout(() => new Promise(() => undefined), 20, 'x').catch((e: unknown) => (settled = e));
    mock.timers.tick(19);
    await Promise.resolve();
    assert.equal(settled, undefined);
    mock.timers.tick(1);
    await hung;
    const err = settled as unknown as Error;
    assert.ok(err instanceof TimeoutError);
    assert.match(err.message, /x did not finish within 20 ms/);
    assert.equal(await withTimeout(() => 7, 1000, 'y'), 7);
    await assert.rejects(
      withTimeout(() => Promise.reject(new Error('boom')), 1000, 'z'),
      /boom/,
    );
    await assert.rejects(
      withTimeout(
        () => {
          throw new Error('sync boom');
        },
        1000,
        'w',
      ),
      /sync boom/,
    );
  });
});
