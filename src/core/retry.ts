// Backoff and timeouts for backend writes. Kept tiny and pure so the sink runner's
// timing policy can be tested without clocks.

export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  baseMs: number;
  /** Upper bound of any single delay, ms. */
  maxMs: number;
}

/**
 * Exponential backoff with "full jitter": a random delay in [0, min(max, base·2^n)].
 * Jitter keeps many backends (or many VS Code windows) from retrying in lockstep.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  // Never zero: a tight retry loop against a broken backend would burn a core.
  return Math.max(1, Math.round(ceiling * random()));
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Resolves or rejects like `work`, or rejects with a TimeoutError after `ms`.
 * The work itself is not cancelled (a plugin's promise cannot be); its late result is ignored.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

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
