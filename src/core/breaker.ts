// A circuit breaker per backend: after K consecutive failures it opens and the
// runner stops calling the backend until a cool-down passes; then one trial call
// (half-open) decides whether it closes again or re-opens for another cool-down.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before a trial call, ms. */
  coolDownMs: number;
}

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt = 0;
  private current: BreakerState = 'closed';

  constructor(
    private readonly opts: BreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    // Open turns half-open by itself once the cool-down has passed.
    if (this.current === 'open' && this.now() - this.openedAt >= this.opts.coolDownMs) this.current = 'half-open';
    return this.current;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** Milliseconds until a call may be tried; 0 when one may be tried now. */
  waitMs(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.opts.coolDownMs - this.now()) : 0;
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.current = 'closed';
  }

  recordFailure(): void {
    this.consecutiveFailures++;
    // A failed trial re-opens at once; otherwise open after the threshold.
    if (this.state === 'half-open' || this.consecutiveFailures >= this.opts.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }
}
