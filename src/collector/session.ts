// One client connection: the hello handshake, then each frame to its place (run
// messages to the write gate, heartbeats to the liveness watcher), acks coalesced
// per run, and reading paused while too many of its bytes wait for the disk.
import * as crypto from 'crypto';
import type { RawData, WebSocket } from 'ws';
import type { RunEvent } from '../api/types';
import type { Logger } from '../common/logger';
import * as v1 from '../protocol/v1';
import { refusalNote, type RunWriters, type Submitter } from './acks';
import { parseFrame, type FrameError } from './frames';
import type { Liveness, Owner } from './liveness';

/** WebSocket close codes the collector uses (docs/protocol.md lists them). */
export const CloseCode = { normal: 1000, goingAway: 1001, policy: 1008, tooBig: 1009 } as const;

/** What a session needs of its collector. */
export interface SessionHost {
  readonly writers: RunWriters;
  readonly liveness: Liveness;
  readonly logger: Logger;
  readonly token: string;
  readonly version: string;
  readonly maxFrameBytes: number;
  readonly maxBatchPoints: number;
  readonly heartbeatTimeoutMs: number;
  /** Bytes of frames (all connections) and of this one waiting for the disk changed. */
  flow: FlowControl;
  stateChanged(): void;
}

/**
 * Reading stops above this many bytes of frames waiting for the disk (on one
 * connection, or over all of them) and resumes below half. Frames waiting hold
 * their parsed points in memory; beyond this, more of them only adds GC work and
 * bigger, slower commits, while TCP backpressure costs the clients nothing.
 */
export const MAX_INFLIGHT_BYTES = 32 * 1024 * 1024;

export class FlowControl {
  bytes = 0;
  readonly sessions = new Set<Session>();

  add(s: Session, n: number): void {
    s.inflightBytes += n;
    this.bytes += n;
    if (!s.paused && (s.inflightBytes > MAX_INFLIGHT_BYTES || this.bytes > MAX_INFLIGHT_BYTES)) s.pause();
  }

  release(s: Session, n: number): void {
    s.inflightBytes -= n;
    this.bytes -= n;
    if (this.bytes >= MAX_INFLIGHT_BYTES / 2) return;
    for (const other of this.sessions) if (other.paused && other.inflightBytes < MAX_INFLIGHT_BYTES / 2) other.resume();
  }
}

/** Refusals for a message's content: its seq is consumed (recorded as a note), the run goes on. */
const CONTENT_REFUSALS = new Set<v1.ErrorCode>(['bad_message', 'too_many_points', 'unknown_type']);

export class Session implements Submitter, Owner {
  authed = false;
  lastSeen = Date.now();
  inflightBytes = 0;
  paused = false;
  /** Runs this connection wrote to or named in a heartbeat. */
  readonly runs = new Set<string>();
  private readonly pendingAcks = new Set<string>();
  private ackScheduled = false;
  private helloTimer?: NodeJS.Timeout;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    private readonly host: SessionHost,
    helloTimeoutMs: number,
  ) {
    this.helloTimer = setTimeout(() => {
      if (!this.authed)
        ws.close(CloseCode.policy, `no hello within ${helloTimeoutMs / 1000}s: send hello with the token first`);
    }, helloTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error) => {
      // ws closes with 1009 itself when a frame is over maxPayload; say so in the log.
      host.logger.warn(`client #${id}: ${err.message}`);
    });
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  pause(): void {
    this.paused = true;
    this.ws.pause();
  }

  resume(): void {
    this.paused = false;
    this.ws.resume();
  }

  /** The socket closed: its runs get one timeout to be taken over. */
  closed(code: number): void {
    clearTimeout(this.helloTimer);
    this.host.liveness.closed(this.runs, this);
    this.host.writers.release(this);
    if (this.authed) this.host.logger.info(`client #${this.id} disconnected (code ${code})`);
  }

  close(code: number, reason: string): void {
    clearTimeout(this.helloTimer);
    this.ws.close(code, reason);
  }

  // --- Submitter: what the write gate tells this connection ---

  /** Acks are cumulative per run, so all that became durable together go out as one ack per run. */
  ack(runId: string): void {
    this.pendingAcks.add(runId);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      const runs = [...this.pendingAcks];
      this.pendingAcks.clear();
      for (const r of runs) {
        const seq = this.host.writers.ackable(r);
        if (seq > 0) this.send({ type: 'ack', runId: r, seq });
      }
    });
  }

  error(err: FrameError): void {
    this.send({ type: 'error', ...err });
  }

  settled(bytes: number): void {
    this.host.flow.release(this, bytes);
  }

  private send(msg: v1.ServerMessage): void {
    if (this.open) this.ws.send(JSON.stringify(msg));
  }

  // --- frames ---

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastSeen = Date.now();
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    if (!this.authed) return this.onHello(text, isBinary);
    if (isBinary)
      return this.error({
        code: 'bad_json',
        message: 'binary frames are not part of the protocol; send JSON as text frames',
      });
    // Any frame shows the client is alive: keep its runs from timing out.
    this.host.liveness.seen(this.runs, this);
    const frame = parseFrame(text, { maxBatchPoints: this.host.maxBatchPoints });
    switch (frame.kind) {
      case 'error':
        return this.onRefused(frame.error, frame.type);
      case 'heartbeat':
        for (const runId of frame.runIds ?? []) if (this.host.liveness.claim(runId, this)) this.runs.add(runId);
        return this.send({ type: 'heartbeat', time: Date.now() / 1000 });
      case 'hello':
        return this.error({
          code: 'bad_message',
          message: 'already authenticated: hello is only sent once, as the first message',
        });
      case 'run':
        return this.onRunMessage(frame.runId, frame.seq, frame.event, text);
    }
  }

  private onHello(text: string, isBinary: boolean): void {
    const refuse = (reason: string) => {
      this.host.logger.warn(`client #${this.id} refused: ${reason}`);
      this.close(CloseCode.policy, reason.slice(0, 120));
    };
    let obj: unknown;
    try {
      obj = isBinary ? undefined : JSON.parse(text);
    } catch {
      obj = undefined;
    }
    const o = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : undefined;
    if (!o || o.type !== 'hello')
      return refuse('the first message must be hello with the token (see docs/protocol.md)');
    if (o.token === undefined || o.token === '')
      return refuse('missing token: hello must carry the token from RUNWATCH_TOKEN');
    if (o.protocol !== v1.PROTOCOL_VERSION) {
      return refuse(
        `protocol ${JSON.stringify(o.protocol)} is not supported; this collector speaks ${v1.PROTOCOL_VERSION}`,
      );
    }
    const r = v1.Hello.safeParse(o);
    if (!r.success)
      return refuse(`bad hello: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    if (!tokensEqual(r.data.token, this.host.token))
      return refuse('wrong token: use the token in RUNWATCH_TOKEN or .runwatch/collector.json');
    clearTimeout(this.helloTimer);
    this.authed = true;
    const { maxFrameBytes, maxBatchPoints } = this.host;
    this.send({
      type: 'welcome',
      server: 'runwatch-collector',
      version: this.host.version,
      protocol: v1.PROTOCOL_VERSION,
      limits: { maxFrameBytes, maxBatchPoints },
      heartbeatIntervalMs: Math.max(250, Math.floor(this.host.heartbeatTimeoutMs / 3)),
    });
    this.host.logger.info(`client #${this.id} connected: ${r.data.client} ${r.data.version}`);
    this.host.stateChanged();
  }

  /** A frame refused for its content consumes its seq, in order, when it names a run that exists. */
  private onRefused(err: FrameError, type: string | undefined): void {
    const { runId, seq } = err;
    // Only run-scoped frames (and unknown types) have a seq to consume; a bad heartbeat or hello does not.
    const consumable =
      type !== undefined &&
      CONTENT_REFUSALS.has(err.code) &&
      runId !== undefined &&
      seq !== undefined &&
      Number.isSafeInteger(seq) &&
      seq >= 1 &&
      this.host.writers.hasRun(runId);
    if (!consumable) return this.error(err);
    const bytes = 256;
    const r = this.host.writers.offer(runId, {
      seq,
      event: refusalNote(err, type),
      refusal: err,
      bytes,
      from: this,
    });
    if (r === 'queued') this.host.flow.add(this, bytes);
  }

  private onRunMessage(runId: string, seq: number, event: RunEvent, text: string): void {
    const { writers, liveness } = this.host;
    if (event.type !== 'run.start' && !writers.hasRun(runId)) {
      return this.error({
        code: 'unknown_run',
        runId,
        seq,
        message: `run "${runId}" was never started: send run.start (with its seq) before its data`,
      });
    }
    this.runs.add(runId);
    if (event.type !== 'run.end') liveness.wrote(runId, this);
    const bytes = text.length;
    // A metrics frame is stored as received (it was just validated), saving a second serialisation.
    const wireJson = event.type === 'metrics' ? text : undefined;
    if (writers.offer(runId, { seq, event, wireJson, bytes, from: this }) === 'queued') this.host.flow.add(this, bytes);
  }
}

function tokensEqual(a: string, b: string): boolean {
  // Compare digests so the time taken does not reveal how much of the token matched.
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}
