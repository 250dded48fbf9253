// One backend's delivery loop. It reads the run log from the backend's own cursor
// (the log is the data path; append notifications only wake it up), keeps a small
// bounded queue of read-ahead batches, and writes them one at a time with a
// per-write timeout, retry with exponential backoff and jitter, and a circuit
// breaker. Each backend has its own runner, so a slow, hanging or throwing backend
// only ever delays itself; ingest never waits on any of this. Nor does it share the
// host with it: a runner with nothing to do lets a burst of appends finish (up to a
// bound) before it reads, so a fast training loop's acks never queue behind reading,
// encoding and cursor fsyncs for every backend.
import type { BackendPlugin, RunRecord, RunSummary } from '../api/types';
import type { Disposable } from '../common/disposable';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import type { CursorStore } from './cursorStore';
import type { Pipeline } from './processors';
import {
  BrokenCircuitError,
  exponentialBackoff,
  sleep,
  withTimeout,
  WriteBreaker,
  type BackoffOptions,
  type BreakerOptions,
  type BreakerState,
} from './resilience';

/** Where the runner reads records from, each backend from its own cursor (`RunStore` is one). */
export interface RecordSource {
  listRuns(): RunSummary[];
  getRun(runId: string): RunSummary | undefined;
  read(runId: string, fromOffset: number, maxRecords: number): Promise<RunRecord[]>;
  recordCount(runId: string): number;
  onDidAppend(listener: (runId: string, records: RunRecord[]) => void): Disposable;
}

export interface SinkOptions {
  /** Most records of one run per `write` call. */
  batchSize: number;
  /**
   * About the most metric points per `write` call (a record can hold thousands): bounds
   * the memory a queue holds and the decoding a slow or failing backend costs the host.
   */
  maxBatchPoints: number;
  /** Most batches read ahead and held in memory per backend. */
  maxQueueBatches: number;
  /** A `write` that takes longer counts as failed (and is retried). */
  writeTimeoutMs: number;
  backoff: BackoffOptions;
  breaker: BreakerOptions;
  /**
   * An idle runner that is woken waits until no append has come for `quietMs`, but at
   * most `maxWaitMs`; then it delivers until caught up without waiting again. 0: no wait.
   */
  settle: { quietMs: number; maxWaitMs: number };
  random?: () => number;
}

export const DEFAULT_SINK_OPTIONS: SinkOptions = {
  batchSize: 500,
  maxBatchPoints: 10_000,
  maxQueueBatches: 4,
  writeTimeoutMs: 30_000,
  backoff: { baseMs: 250, maxMs: 30_000 },
  breaker: { failureThreshold: 5, coolDownMs: 30_000 },
  settle: { quietMs: 250, maxWaitMs: 1000 },
};

export interface SinkStats {
  /** Records in the log not yet delivered (acknowledged by the backend). */
  lag: number;
  /** Records read ahead and waiting in memory. */
  queueDepth: number;
  breaker: BreakerState;
  consecutiveFailures: number;
  lastError?: string;
  /** Records whose delivery completed since this runner started. */
  delivered: number;
  /** `write` calls that failed or timed out since this runner started. */
  failedWrites: number;
}

interface Batch {
  runId: string;
  records: RunRecord[];
  /** Cursor value once this batch is delivered: last offset + 1. */
  next: number;
  /** The records after this backend's processors, computed on the first attempt. */
  processed?: RunRecord[];
}

export class SinkRunner {
  private readonly breaker: WriteBreaker;
  private readonly abort = new AbortController();
  /** Runs that may have records past the read position, in round-robin order. */
  private readonly pending = new Set<string>();
  /** Runs notified since their last read began: an empty read must not drop them. */
  private readonly touched = new Set<string>();
  private readonly readPos = new Map<string, number>();
  /** Metric points per record in each run's last read: sizes the next read to maxBatchPoints. */
  private readonly pointsPerRecord = new Map<string, number>();
  private readonly queue: Batch[] = [];
  private wake: (() => void) | undefined;
  /** performance.now() of the last append notification. */
  private lastNotify = -Infinity;
  private loopDone: Promise<void> | undefined;
  private lastError: string | undefined;
  private delivered = 0;
  private failedWrites = 0;

  constructor(
    readonly backend: BackendPlugin,
    private readonly log: RecordSource,
    private readonly cursors: CursorStore,
    private readonly pipeline: Pipeline,
    private readonly opts: SinkOptions,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.breaker = new WriteBreaker(opts.breaker);
  }

  get id(): string {
    return this.backend.metadata.id;
  }

  start(): void {
    if (this.loopDone) return;
    for (const run of this.log.listRuns()) this.pending.add(run.runId);
    this.loopDone = this.loop().catch((e: unknown) =>
      this.logger.error(`backend ${this.id}: delivery loop stopped: ${errorText(e)}`),
    );
  }

  /** A wake-up: the run has new records in the log. Never carries data. */
  notify(runId: string): void {
    this.pending.add(runId);
    this.touched.add(runId);
    this.lastNotify = performance.now();
    this.wake?.();
  }

  stats(): SinkStats {
    let lag = 0;
    for (const run of this.log.listRuns())
      lag += Math.max(0, this.log.recordCount(run.runId) - this.cursors.get(run.runId));
    return {
      lag,
      queueDepth: this.queue.reduce((n, b) => n + b.records.length, 0),
      breaker: this.breaker.state,
      consecutiveFailures: this.breaker.failures,
      lastError: this.lastError,
      delivered: this.delivered,
      failedWrites: this.failedWrites,
    };
  }

  /** Stops the loop; an in-flight `write` is abandoned (its batch is re-delivered next time). */
  async dispose(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loopDone;
    await this.cursors.flush().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let draining = false;
    while (!this.abort.signal.aborted) {
      if (!draining) {
        await this.settle();
        draining = true;
      }
      await this.fill();
      const head = this.queue[0];
      if (!head) {
        // A notification may have landed while the last read was settling.
        if (this.pending.size > 0) continue;
        draining = false;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      if (!(await this.deliver(head))) return;
      this.queue.shift();
    }
  }

  /** Waits while appends keep coming (see `SinkOptions.settle`). */
  private async settle(): Promise<void> {
    const { quietMs, maxWaitMs } = this.opts.settle;
    const start = performance.now();
    for (;;) {
      const now = performance.now();
      const left = Math.min(quietMs - (now - this.lastNotify), maxWaitMs - (now - start));
      if (left <= 0 || this.abort.signal.aborted) return;
      await sleep(left, this.abort.signal);
    }
  }

  /** Reads ahead from the log until the queue is full or every run is caught up. */
  private async fill(): Promise<void> {
    while (this.queue.length < this.opts.maxQueueBatches && this.pending.size > 0 && !this.abort.signal.aborted) {
      const runId = this.pending.values().next().value as string;
      this.touched.delete(runId);
      const from = this.readPos.get(runId) ?? this.cursors.get(runId);
      // A run's first read is small: its records may be large frames of points.
      const perRecord = this.pointsPerRecord.get(runId) ?? this.opts.maxBatchPoints / 8;
      const count = Math.max(
        1,
        Math.min(this.opts.batchSize, Math.floor(this.opts.maxBatchPoints / Math.max(1, perRecord))),
      );
      let records: RunRecord[];
      try {
        records = await this.log.read(runId, from, count);
      } catch (e) {
        // A run deleted or unreadable: skip it until it is appended to again.
        this.logger.warn(`backend ${this.id}: cannot read run ${runId}: ${errorText(e)}`);
        this.pending.delete(runId);
        continue;
      }
      // Round robin: a long run does not starve the others.
      this.pending.delete(runId);
      if (records.length === 0) {
        if (this.touched.has(runId)) this.pending.add(runId);
        continue;
      }
      this.pending.add(runId);
      let points = 0;
      for (const r of records) points += r.event.type === 'metrics' ? r.event.points.length : 1;
      this.pointsPerRecord.set(runId, points / records.length);
      const next = records[records.length - 1].offset + 1;
      this.readPos.set(runId, next);
      this.queue.push({ runId, records, next });
      this.onChange();
    }
  }

  private process(records: RunRecord[], run: RunSummary): RunRecord[] {
    const out: RunRecord[] = [];
    for (const r of records) {
      const event = this.pipeline.event(r.event, run);
      if (event) out.push(event === r.event ? r : { ...r, event });
    }
    return out;
  }

  /** Writes one batch until it succeeds; false when the runner was disposed first. */
  private async deliver(batch: Batch): Promise<boolean> {
    const signal = this.abort.signal;
    const backoff = exponentialBackoff(this.opts.backoff, this.opts.random);
    let delay = backoff.next();
    let attempt = 0;
    while (!signal.aborted) {
      const wait = this.breaker.waitMs();
      if (wait > 0) {
        await sleep(wait, signal);
        continue;
      }
      try {
        // The cursor is saved inside the breaker's call: a cursor that cannot be
        // saved fails the delivery like a failed write (the batch is sent again).
        await this.breaker.execute(() => this.writeAndAdvance(batch, signal), signal);
        this.lastError = undefined;
        this.delivered += batch.records.length;
        this.onChange();
        return true;
      } catch (e) {
        if (signal.aborted) return false;
        // Refused while open (the cool-down had not quite passed): wait, without counting a write.
        if (e instanceof BrokenCircuitError) {
          await sleep(Math.max(1, this.breaker.waitMs()), signal);
          continue;
        }
        attempt++;
        this.failedWrites++;
        this.lastError = errorText(e);
        const range = `[${batch.records[0].offset}..${batch.next - 1}]`;
        this.logger.warn(
          `backend ${this.id}: write of run ${batch.runId} ${range} failed ` +
            `(attempt ${attempt}, breaker ${this.breaker.state}): ${this.lastError}`,
        );
        this.onChange();
        if (this.breaker.state !== 'open') await sleep(delay.duration, signal);
        delay = delay.next(undefined);
      }
    }
    return false;
  }

  private async writeAndAdvance(batch: Batch, signal: AbortSignal): Promise<void> {
    const run = this.log.getRun(batch.runId) ?? placeholderRun(batch.runId);
    // Processed once per batch: a retry must send exactly what the first try sent,
    // and stateful processors (minimum interval) must not see the records twice.
    const records = (batch.processed ??= this.process(batch.records, run));
    // A batch the processors emptied is still "delivered": the cursor moves past it.
    if (records.length > 0) {
      const write = () => this.backend.write({ run: this.pipeline.summary(run), records });
      await withTimeout(write, this.opts.writeTimeoutMs, `backend ${this.id} write`, signal);
    }
    await this.cursors.advance(batch.runId, batch.next);
  }
}

function placeholderRun(runId: string): RunSummary {
  return { runId, project: '', name: runId, status: 'running', startTime: 0, params: {}, tags: {}, context: {} };
}
