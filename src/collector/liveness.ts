// The heartbeat/crashed watcher. Every run a client writes to is "watched". While
// the connection that owns it keeps sending (data or heartbeats) it stays alive;
// when that connection goes quiet or closes, the run has one heartbeat timeout to
// be taken over (by a reconnecting client that resends data, or whose heartbeat
// names the run in `runIds`), after which `run.end` with status `crashed` is
// appended. Runs found `running` in the store at start get the same grace period.
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import type { RunStore } from '../store/runStore';

/** What the watcher needs of a connection. */
export interface Owner {
  /** When its last frame arrived (ms). */
  lastSeen: number;
  readonly open: boolean;
}

interface Watch {
  owner?: Owner;
  /** When an unowned run was last known alive. */
  since: number;
}

export class Liveness {
  private readonly watches = new Map<string, Watch>();
  private timer?: NodeJS.Timeout;
  private readonly everyMs: number;
  private lastSweep = Date.now();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly store: RunStore,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly hooks: {
      /** The number of owned runs may have changed. */
      onChange: () => void;
      /** This process was stalled for `ms`: shift every connection's lastSeen by it. */
      onStall: (ms: number) => void;
    },
  ) {
    this.everyMs = Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4)));
  }

  start(watchRunning: boolean): void {
    if (watchRunning) {
      const now = Date.now();
      for (const run of this.store.listRuns())
        if (run.status === 'running') this.watches.set(run.runId, { since: now });
    }
    this.lastSweep = Date.now();
    this.timer = setInterval(() => this.sweep(), this.everyMs);
    this.timer.unref?.();
  }

  /** Runs whose owner is an open connection. */
  get liveRuns(): number {
    let n = 0;
    for (const w of this.watches.values()) if (w.owner) n++;
    return n;
  }

  /** `owner` writes to the run (anything but run.end): it owns the run from now on. */
  wrote(runId: string, owner: Owner): void {
    const w = this.watches.get(runId);
    if (w) w.owner = owner;
    else {
      this.watches.set(runId, { owner, since: Date.now() });
      this.hooks.onChange();
    }
  }

  /** A heartbeat names runs it keeps alive: only runs already watched are taken over (an ended run stays ended). */
  claim(runId: string, owner: Owner): boolean {
    const w = this.watches.get(runId);
    if (!w) return false;
    w.owner = owner;
    return true;
  }

  /** Any frame from `owner`: runs it wrote to that lost their owner (a quiet spell) are its again. */
  seen(runIds: Iterable<string>, owner: Owner): void {
    for (const runId of runIds) {
      const w = this.watches.get(runId);
      if (w && !w.owner) w.owner = owner;
    }
  }

  /** `owner` closed: its runs are unowned, alive as of its last frame. */
  closed(runIds: Iterable<string>, owner: Owner): void {
    for (const runId of runIds) {
      const w = this.watches.get(runId);
      if (w && w.owner === owner) {
        w.owner = undefined;
        w.since = owner.lastSeen;
      }
    }
  }

  /** The run ended or was deleted: nothing left to watch. */
  unwatch(runId: string): void {
    if (this.watches.delete(runId)) this.hooks.onChange();
  }

  /** After a landing: a run that is no longer running (ended, or a resend for a run already over) is not watched. */
  landed(runId: string): void {
    if (this.store.getRun(runId)?.status !== 'running') this.unwatch(runId);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private sweep(): void {
    const now = Date.now();
    // If this process was stalled (busy, or the machine slept), messages sent meanwhile
    // are still unread: do not count the stalled time against the clients.
    const stalled = now - this.lastSweep - this.everyMs;
    this.lastSweep = now;
    if (stalled > this.everyMs) {
      for (const w of this.watches.values()) w.since += stalled;
      this.hooks.onStall(stalled);
      return;
    }
    let changed = false;
    for (const [runId, w] of this.watches) {
      if (w.owner && !w.owner.open) {
        // Closing: from now on the run is unowned, alive as of its client's last message.
        w.since = w.owner.lastSeen;
        w.owner = undefined;
        changed = true;
      }
      const last = w.owner ? w.owner.lastSeen : w.since;
      if (now - last <= this.timeoutMs) continue;
      this.watches.delete(runId);
      changed = true;
      if (this.store.getRun(runId)?.status === 'running') this.markCrashed(runId, now);
    }
    if (changed) this.hooks.onChange();
  }

  private markCrashed(runId: string, now: number): void {
    const secs = Math.round(this.timeoutMs / 100) / 10;
    this.logger.warn(`run ${runId}: no message from its client for ${secs}s; marking it crashed`);
    const reason = `no message from the client for ${secs}s (heartbeat timeout)`;
    const p = this.store
      .append(runId, [{ event: { type: 'run.end', status: 'crashed', time: now / 1000, reason } }])
      .catch((err: unknown) => this.logger.error(`run ${runId}: could not mark it crashed: ${errorText(err)}`));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
