// Limits how often a panel is updated: the first change after a quiet spell flushes
// at once (low latency), later ones wait for the interval (at most N flushes a
// second). No `vscode` import, so it is unit-tested in plain Node.

export class Coalescer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = -Infinity;
  private paused = false;
  private pending = false;

  /** `intervalMs` is read on every schedule, so a changed setting applies at once. */
  constructor(
    private readonly intervalMs: () => number,
    private readonly flush: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: flush now or at the end of the current interval. */
  schedule(): void {
    this.pending = true;
    if (this.paused || this.timer) return;
    const wait = this.last + this.intervalMs() - this.now();
    if (wait <= 0) {
      // A zero-delay timer, not a sync call, so several changes from one event turn share a flush.
      this.timer = setTimeout(() => this.run(), 0);
    } else {
      this.timer = setTimeout(() => this.run(), wait);
    }
  }

  /** While paused (a hidden panel) changes accumulate; resuming flushes them once. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && this.pending) this.schedule();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
  }

  private run(): void {
    this.timer = undefined;
    if (this.paused || !this.pending) return;
    this.pending = false;
    this.last = this.now();
    this.flush();
  }
}
