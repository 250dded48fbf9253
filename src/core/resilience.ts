// Timeouts, backoff and the circuit breaker for calls into plugins, on cockatiel's
// policies. Two things stay ours on purpose: the retry loop (in the sink runner),
// because cockatiel's retry waits out its backoff even after the abort signal fired,
// so disposing a runner would hang for up to `backoff.maxMs`; and a jitter that is
// never zero and takes its random source from the caller, so tests can pin it.
// Cockatiel reads the time from Date.now() and waits with setTimeout, so tests run
// these on a fake clock that replaces both (node:test's mock.timers).
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  noJitterGenerator,
  timeout,
  type IBackoff,
} from 'cockatiel';

export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  baseMs: number;
  /** Upper bound of any single delay, ms. */
  maxMs: number;
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before a trial call, ms. */
  coolDownMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Thrown when the abort signal given to `withTimeout` fired first. */
export class AbortedError extends Error {
  constructor(what: string) {
    super(`${what} was abandoned: shutting down`);
    this.name = 'AbortedError';
  }
}

/**
 * Runs `work` and settles like it, or rejects with a TimeoutError after `ms` (an
 * AbortedError when `signal` fires first). A plugin's promise cannot be cancelled:
 * its late result is ignored.
 */
export async function withTimeout<T>(
  work: () => T | PromiseLike<T>,
  ms: number,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  try {
    return await timeout(ms, TimeoutStrategy.Aggressive).execute(() => work(), signal);
  } catch (e) {
    if (e instanceof TaskCancelledError) throw signal?.aborted ? new AbortedError(what) : new TimeoutError(what, ms);
    throw e;
  }
}

/**
 * Exponential backoff with "full jitter": attempt n waits a random time in
 * [1, min(max, base·2^(n-1))]. Jitter keeps many backends (or many VS Code windows)
 * from retrying in lockstep; never zero, since a tight retry loop against a broken
 * backend would burn a core. `next()` gives the first delay, its `next()` the second.
 */
export function exponentialBackoff(
  opts: BackoffOptions,
  random: () => number = Math.random,
): ExponentialBackoff<number> {
  return new ExponentialBackoff<number>({
    initialDelay: opts.baseMs,
    maxDelay: opts.maxMs,
    exponent: 2,
    generator: (state, o) => {
      const [ceiling, next] = noJitterGenerator(state, o);
      return [Math.max(1, Math.round(ceiling * random())), next];
    },
  });
}

/** The nth backoff delay (1-based) of `exponentialBackoff`. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  let b: IBackoff<unknown> = exponentialBackoff(opts, random).next();
  for (let i = 1; i < attempt; i++) b = b.next(undefined);
  return b.duration;
}

/**
 * A circuit breaker per backend: after K consecutive failures it opens and calls
 * are refused until a cool-down passes; then one trial call (half-open) decides
 * whether it closes again or re-opens for another cool-down. Cockatiel's policy
 * does the work; this adds what the runner and the views ask of it: how long until
 * a call may be tried, and "half-open" as soon as the cool-down has passed.
 */
export class WriteBreaker {
  private readonly counter: ConsecutiveBreaker;
  private readonly policy: CircuitBreakerPolicy;
  private openedAt = 0;

  constructor(private readonly opts: BreakerOptions) {
    this.counter = new ConsecutiveBreaker(opts.failureThreshold);
    this.policy = circuitBreaker(handleAll, { halfOpenAfter: opts.coolDownMs, breaker: this.counter });
    // Read in the same tick as cockatiel's own timestamp, so never earlier than it.
    this.policy.onBreak(() => (this.openedAt = Date.now()));
  }

  get state(): BreakerState {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return this.waitMs() > 0 ? 'open' : 'half-open';
    }
  }

  /** Consecutive failed calls (0 after a success). */
  get failures(): number {
    return this.counter.state;
  }

  /** Milliseconds until a call may be tried; 0 when one may be tried now. */
  waitMs(): number {
    if (this.policy.state !== CircuitState.Open) return 0;
    return Math.max(0, this.openedAt + this.opts.coolDownMs - Date.now());
  }

  /** Runs `fn` through the breaker; rejects with BrokenCircuitError while it is open. */
  execute<T>(fn: () => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    return this.policy.execute(() => fn(), signal);
  }
}

export { BrokenCircuitError };

/** A sleep that ends early when `signal` aborts, so disposal never waits out a backoff. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
