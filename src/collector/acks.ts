// Seq bookkeeping and the per-run write gate: what may be stored and what an ack may cover.
//
// Per run, `held` is the highest seq such that it and every seq below it are
// durable (a seq refused for its content is made durable as a note in the run's
// log, so it counts). `accepted` >= held is what has been handed to the store or
// waits for it. A message is stored only when its seq is accepted + 1: a gap gets
// `seq_gap`, a seq at or below `accepted` is a duplicate. One store append per run
// is in flight at a time; what arrives meanwhile waits and goes into the next
// append as one group. So when an append fails, nothing after it can land before
// it: its seqs and everything waiting behind it are un-accepted (storage or
// seq_gap errors), and an ack never covers a seq that is not durable, even after
// a later seq is stored.
import type { RunEvent } from '../api/types';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import { UnknownRunError, type AppendItem, type RunStore } from '../store/runStore';
import type { FrameError } from './frames';

/** Where the outcome of a submitted message goes: the session that sent it. */
export interface Submitter {
  /** Queue a (cumulative) ack of the run for this connection. */
  ack(runId: string): void;
  error(err: FrameError): void;
  /** An accepted message left memory (stored or refused); releases its bytes for flow control. */
  settled(bytes: number): void;
}

export interface Submission {
  seq: number;
  event: RunEvent;
  /** The validated frame's text, stored as is for metrics (see AppendItem.wireJson). */
  wireJson?: string;
  /** Set when the message was refused for its content: the seq is consumed and this error is sent once that is durable. */
  refusal?: FrameError;
  bytes: number;
  from: Submitter;
}

interface RunQueue {
  runId: string;
  held: number;
  accepted: number;
  committing?: Submission[];
  waiting: Submission[];
  scheduled: boolean;
  /** Connections that sent something of this run while it was busy; each landing acks them. */
  interested: Set<Submitter>;
}

export type Offered = 'queued' | 'duplicate' | 'gap';

export class RunWriters {
  private readonly queues = new Map<string, RunQueue>();
  private readonly commits = new Set<Promise<void>>();

  constructor(
    private readonly store: RunStore,
    private readonly logger: Logger,
    /** Told after each landing (the liveness watcher drops runs that ended). */
    private readonly onLanded: (runId: string) => void,
  ) {}

  /** The store has the run, or its run.start waits to be stored. */
  hasRun(runId: string): boolean {
    if (this.store.hasRun(runId)) return true;
    const q = this.queues.get(runId);
    return q !== undefined && [...(q.committing ?? []), ...q.waiting].some((s) => s.event.type === 'run.start');
  }

  /** The seq an ack of the run may name now (0: none). */
  ackable(runId: string): number {
    return this.queues.get(runId)?.held ?? this.store.lastSeq(runId);
  }

  /** Takes one run message (or a refusal to record); 'queued' means `from.settled` will be called for it. */
  offer(runId: string, sub: Submission): Offered {
    const q = this.queueOf(runId);
    const { seq, from } = sub;
    if (seq <= q.accepted) {
      if (sub.refusal) from.error(sub.refusal);
      if (seq <= q.held) from.ack(runId);
      else q.interested.add(from);
      this.dropIfIdle(q);
      return 'duplicate';
    }
    if (seq > q.accepted + 1) {
      from.error(seqGap(runId, seq, q.accepted + 1));
      this.dropIfIdle(q);
      return 'gap';
    }
    q.accepted = seq;
    q.waiting.push(sub);
    q.interested.add(from);
    if (!q.committing && !q.scheduled) {
      q.scheduled = true;
      // Frames read in the same I/O phase join this append, as they would join one group commit.
      setImmediate(() => {
        q.scheduled = false;
        this.commit(q);
      });
    }
    return 'queued';
  }

  /** Forgets a deleted run (its later data gets unknown_run). */
  forget(runId: string): void {
    this.queues.delete(runId);
  }

  /** A connection went away: it gets no more acks. */
  release(from: Submitter): void {
    for (const q of this.queues.values()) q.interested.delete(from);
  }

  /** Resolves once nothing accepted is waiting for the store. */
  async drain(): Promise<void> {
    for (;;) {
      const busy = [...this.queues.values()].some((q) => q.committing || q.waiting.length > 0);
      if (!busy && this.commits.size === 0) return;
      if (this.commits.size > 0) await Promise.allSettled([...this.commits]);
      else await new Promise((r) => setImmediate(r));
    }
  }

  private queueOf(runId: string): RunQueue {
    let q = this.queues.get(runId);
    if (!q) {
      // Idle runs keep no state: the store's durable seq is the truth (refusals are durable notes).
      const held = this.store.lastSeq(runId);
      q = { runId, held, accepted: held, waiting: [], scheduled: false, interested: new Set() };
      this.queues.set(runId, q);
    }
    return q;
  }

  private dropIfIdle(q: RunQueue): void {
    if (!q.committing && q.waiting.length === 0 && this.queues.get(q.runId) === q) this.queues.delete(q.runId);
  }

  private commit(q: RunQueue): void {
    if (q.committing || q.waiting.length === 0 || this.queues.get(q.runId) !== q) return;
    const batch = q.waiting;
    q.waiting = [];
    q.committing = batch;
    let p: Promise<unknown>;
    try {
      p = this.store.append(q.runId, batch.map(toAppendItem));
    } catch (err) {
      p = Promise.reject(err);
    }
    const done = p.then(
      () => this.landed(q, batch),
      (err: unknown) => this.failed(q, batch, err),
    );
    this.commits.add(done);
    void done.finally(() => this.commits.delete(done));
  }

  private landed(q: RunQueue, batch: Submission[]): void {
    q.committing = undefined;
    q.held = batch[batch.length - 1].seq;
    const current = this.queues.get(q.runId) === q; // not deleted meanwhile
    // The next group goes to the disk first; acks and bookkeeping overlap with its write.
    if (current && q.waiting.length > 0) this.commit(q);
    for (const sub of batch) {
      if (sub.refusal) sub.from.error(sub.refusal);
      sub.from.settled(sub.bytes);
    }
    for (const s of q.interested) s.ack(q.runId);
    this.onLanded(q.runId);
    if (current && !q.committing && q.waiting.length === 0) {
      q.interested.clear();
      this.dropIfIdle(q);
    }
  }

  private failed(q: RunQueue, batch: Submission[], err: unknown): void {
    q.committing = undefined;
    const expected = q.held + 1;
    const unknown = err instanceof UnknownRunError;
    const why = errorText(err);
    if (!unknown)
      this.logger.error(
        `run ${q.runId} seqs ${batch[0].seq}..${batch[batch.length - 1].seq}: could not be stored: ${why}`,
      );
    for (const sub of batch) {
      sub.from.error(
        unknown
          ? { code: 'unknown_run', runId: q.runId, seq: sub.seq, message: why }
          : {
              code: 'storage',
              runId: q.runId,
              seq: sub.seq,
              message: `could not store this message (${why}); it is not acknowledged: resend from seq ${expected} later`,
            },
      );
      sub.from.settled(sub.bytes);
    }
    // What waited behind the failed append comes after a seq that is now missing.
    for (const sub of q.waiting) {
      sub.from.error(seqGap(q.runId, sub.seq, expected));
      sub.from.settled(sub.bytes);
    }
    q.waiting = [];
    q.accepted = q.held;
    q.interested.clear();
    this.dropIfIdle(q);
  }
}

export function seqGap(runId: string, seq: number, expected: number): FrameError {
  return {
    code: 'seq_gap',
    runId,
    seq,
    expected,
    message: `seq ${seq} of run "${runId}" is not stored: the collector holds this run up to seq ${expected - 1}; resend from seq ${expected} in order`,
  };
}

/** A refused message's seq is consumed by a note in the run's log, so the refusal survives a restart and acks stay true. */
export function refusalNote(refusal: FrameError, type: string): RunEvent {
  return {
    type: 'log',
    stream: 'stderr',
    lines: [
      `runwatch collector: message seq ${refusal.seq} (${type}) was refused and not stored: ${refusal.code}: ${refusal.message}`,
    ],
    time: Date.now() / 1000,
  };
}

function toAppendItem(sub: Submission): AppendItem {
  return { seq: sub.seq, event: sub.event, ...(sub.wireJson !== undefined ? { wireJson: sub.wireJson } : {}) };
}
