// The WebSocket collector: training scripts connect, present the token, and
// stream run messages. A message is acknowledged only once the RunStore holds it
// durably. It never imports `vscode`, so it also runs headless (tests, benchmarks,
// the CLI in dist/collector-cli.js).
//
// Liveness: every run a client writes to is "watched". While its client keeps
// sending (data or heartbeats) it stays alive; when the client goes quiet or
// disconnects, the run has one heartbeat timeout to be picked up again (a
// reconnecting client resends and takes it over), after which the collector
// appends `run.end` with status `crashed`. Runs found `running` in the store at
// start get the same grace period.
import * as crypto from 'crypto';
import * as http from 'http';
import type { Duplex } from 'stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { RunEvent } from '../api/types';
import * as v1 from '../protocol/v1';
import { UnknownRunError, type RunStore } from '../store/runStore';
import { readDiscovery } from './discovery';
import { parseFrame, type FrameError } from './frames';

export interface CollectorLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface CollectorOptions {
  store: RunStore;
  host?: string;
  /** 0 picks any free port. */
  port?: number;
  /** Every client must present it in `hello`; a random one is made when absent. */
  token?: string;
  maxFrameBytes?: number;
  maxBatchPoints?: number;
  heartbeatTimeoutMs?: number;
  /** How long a new connection may take to send `hello`. */
  helloTimeoutMs?: number;
  version?: string;
  logger?: CollectorLogger;
}

export interface CollectorInfo {
  url: string;
  port: number;
  token: string;
}

export interface CollectorState {
  port: number;
  /** Authenticated connections. */
  clients: number;
  /** Runs a connected client is writing to. */
  liveRuns: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_POINTS = 100_000;
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;

/** WebSocket close codes the collector uses (docs/protocol.md lists them). */
export const CloseCode = { normal: 1000, goingAway: 1001, policy: 1008, tooBig: 1009 } as const;

/**
 * Reading stops above this many bytes of frames waiting for the disk (on one
 * connection, or over all of them) and resumes below half. Frames waiting hold
 * their parsed points in memory; beyond this, more of them only adds GC work and
 * bigger, slower commits, while TCP backpressure costs the clients nothing.
 */
const MAX_INFLIGHT_BYTES = 32 * 1024 * 1024;

interface Session {
  id: number;
  ws: WebSocket;
  authed: boolean;
  lastSeen: number;
  inflightBytes: number;
  paused: boolean;
  pendingAcks: Set<string>;
  ackScheduled: boolean;
  helloTimer?: NodeJS.Timeout;
  runs: Set<string>;
}

interface Watch {
  owner?: Session;
  /** When an unowned run was last known alive. */
  since: number;
}

export class Collector {
  private readonly store: RunStore;
  private readonly host: string;
  private readonly port: number;
  readonly token: string;
  private readonly maxFrameBytes: number;
  private readonly maxBatchPoints: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly helloTimeoutMs: number;
  private readonly version: string;
  private readonly logger: CollectorLogger;
  private server?: http.Server;
  private wss?: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly watches = new Map<string, Watch>();
  private readonly inflight = new Set<Promise<unknown>>();
  private inflightBytes = 0;
  private sweepTimer?: NodeJS.Timeout;
  private sweepEveryMs = 1000;
  private lastSweep = 0;
  private nextSessionId = 1;
  private info?: CollectorInfo;
  private readonly stateListeners = new Set<(s: CollectorState) => void>();
  private stopping = false;
  private deletedSub?: { dispose(): void };

  constructor(options: CollectorOptions) {
    this.store = options.store;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.token = options.token || crypto.randomBytes(24).toString('base64url');
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxBatchPoints = options.maxBatchPoints ?? DEFAULT_MAX_BATCH_POINTS;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.version = options.version ?? '0.0.0';
    this.logger = options.logger ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
  }

  /** Starts listening; resolves with where clients connect. */
  async start(): Promise<CollectorInfo> {
    if (this.info) return this.info;
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Runwatch collector: connect with a WebSocket (see docs/protocol.md)\n');
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // Browsers always send Origin on a WebSocket upgrade; scripts do not. Refusing
      // it here means no web page can feed or read the collector.
      if (req.headers.origin !== undefined) {
        this.logger.warn(`refused a connection carrying Origin ${JSON.stringify(req.headers.origin)} (browser pages may not connect)`);
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nbrowser origins may not connect to the Runwatch collector\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error(`collector server error: ${err.message}`));
    this.server = server;
    this.wss = wss;
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.port;
    const hostForUrl = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.info = { url: `ws://${hostForUrl}:${port}`, port, token: this.token };
    // Runs left `running` by a previous process get one timeout to be resumed. Not
    // when another live collector (another VS Code window, a CLI) writes into this
    // store: those runs are its to end, and two writers on one log would corrupt it.
    const other = readDiscovery(this.store.dir);
    if (other && other.pid !== process.pid && pidAlive(other.pid)) {
      this.logger.warn(`another collector (pid ${other.pid}, ${other.url}) also writes into ${this.store.dir}; runs it left running are not timed out here`);
    } else {
      const now = Date.now();
      for (const run of this.store.listRuns()) if (run.status === 'running') this.watches.set(run.runId, { since: now });
    }
    this.sweepEveryMs = Math.max(50, Math.min(1000, Math.floor(this.heartbeatTimeoutMs / 4)));
    this.lastSweep = Date.now();
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepEveryMs);
    this.sweepTimer.unref?.();
    // A run deleted while its client still streams is no longer live (its data now gets unknown_run).
    this.deletedSub = this.store.onDidDeleteRun((runId) => {
      if (this.watches.delete(runId)) this.emitState();
    });
    this.logger.info(`collector listening on ${this.info.url} (heartbeat timeout ${this.heartbeatTimeoutMs / 1000}s, largest frame ${this.maxFrameBytes} bytes)`);
    this.emitState();
    return this.info;
  }

  /** Where clients connect, once started. */
  get address(): CollectorInfo | undefined {
    return this.info;
  }

  get state(): CollectorState {
    let clients = 0;
    for (const s of this.sessions) if (s.authed) clients++;
    let liveRuns = 0;
    for (const w of this.watches.values()) if (w.owner) liveRuns++;
    return { port: this.info?.port ?? 0, clients, liveRuns };
  }

  onDidChangeState(listener: (state: CollectorState) => void): { dispose(): void } {
    this.stateListeners.add(listener);
    return { dispose: () => void this.stateListeners.delete(listener) };
  }

  private emitState(): void {
    const s = this.state;
    for (const l of [...this.stateListeners]) {
      try {
        l(s);
      } catch (err) {
        this.logger.error(`a collector state listener failed: ${(err as Error).message}`);
      }
    }
  }

  private onConnection(ws: WebSocket): void {
    const session: Session = {
      id: this.nextSessionId++,
      ws,
      authed: false,
      lastSeen: Date.now(),
      inflightBytes: 0,
      paused: false,
      pendingAcks: new Set(),
      ackScheduled: false,
      runs: new Set(),
    };
    this.sessions.add(session);
    session.helloTimer = setTimeout(() => {
      if (!session.authed) ws.close(CloseCode.policy, `no hello within ${this.helloTimeoutMs / 1000}s: send hello with the token first`);
    }, this.helloTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(session, data, isBinary));
    ws.on('close', (code: number) => this.onClose(session, code));
    ws.on('error', (err: Error) => {
      // ws closes with 1009 itself when a frame is over maxPayload; say so in the log.
      this.logger.warn(`client #${session.id}: ${err.message}`);
    });
  }

  private onClose(session: Session, code: number): void {
    clearTimeout(session.helloTimer);
    this.sessions.delete(session);
    for (const runId of session.runs) {
      const w = this.watches.get(runId);
      if (w && w.owner === session) {
        w.owner = undefined;
        w.since = session.lastSeen;
      }
    }
    if (session.authed) {
      this.logger.info(`client #${session.id} disconnected (code ${code})`);
      this.emitState();
    }
  }

  private onMessage(session: Session, data: RawData, isBinary: boolean): void {
    session.lastSeen = Date.now();
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    if (!session.authed) return this.onHello(session, text, isBinary);
    if (isBinary) return this.sendError(session, { code: 'bad_json', message: 'binary frames are not part of the protocol; send JSON as text frames' });
    // Any frame shows the client is alive: keep its runs from timing out.
    for (const runId of session.runs) {
      const w = this.watches.get(runId);
      if (w && !w.owner) w.owner = session;
    }
    const frame = parseFrame(text, { maxBatchPoints: this.maxBatchPoints });
    switch (frame.kind) {
      case 'error':
        return this.sendError(session, frame.error);
      case 'heartbeat':
        return this.send(session, { type: 'heartbeat', time: Date.now() / 1000 });
      case 'hello':
        return this.sendError(session, { code: 'bad_message', message: 'already authenticated: hello is only sent once, as the first message' });
      case 'run':
        return this.onRunMessage(session, frame.runId, frame.seq, frame.event, text);
    }
  }

  private onHello(session: Session, text: string, isBinary: boolean): void {
    const refuse = (reason: string) => {
      this.logger.warn(`client #${session.id} refused: ${reason}`);
      session.ws.close(CloseCode.policy, reason.slice(0, 120));
    };
    let obj: unknown;
    try {
      obj = isBinary ? undefined : JSON.parse(text);
    } catch {
      obj = undefined;
    }
    const o = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : undefined;
    if (!o || o.type !== 'hello') return refuse('the first message must be hello with the token (see docs/protocol.md)');
    if (o.token === undefined || o.token === '') return refuse('missing token: hello must carry the token from RUNWATCH_TOKEN');
    if (o.protocol !== v1.PROTOCOL_VERSION) return refuse(`protocol ${JSON.stringify(o.protocol)} is not supported; this collector speaks ${v1.PROTOCOL_VERSION}`);
    const r = v1.Hello.safeParse(o);
    if (!r.success) return refuse(`bad hello: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    if (!tokensEqual(r.data.token, this.token)) return refuse('wrong token: use the token in RUNWATCH_TOKEN or .runwatch/collector.json');
    clearTimeout(session.helloTimer);
    session.authed = true;
    this.send(session, {
      type: 'welcome',
      server: 'runwatch-collector',
      version: this.version,
      protocol: v1.PROTOCOL_VERSION,
      limits: { maxFrameBytes: this.maxFrameBytes, maxBatchPoints: this.maxBatchPoints },
      heartbeatIntervalMs: Math.max(250, Math.floor(this.heartbeatTimeoutMs / 3)),
    });
    this.logger.info(`client #${session.id} connected: ${r.data.client} ${r.data.version}`);
    this.emitState();
  }

  private onRunMessage(session: Session, runId: string, seq: number, event: RunEvent, text: string): void {
    const bytes = text.length;
    if (!this.store.hasRun(runId) && event.type !== 'run.start') {
      return this.sendError(session, { code: 'unknown_run', runId, seq, message: `run "${runId}" was never started: send run.start (with its seq) before its data` });
    }
    session.runs.add(runId);
    if (event.type !== 'run.end') {
      const w = this.watches.get(runId);
      if (w) w.owner = session;
      else {
        this.watches.set(runId, { owner: session, since: Date.now() });
        this.emitState();
      }
    }
    session.inflightBytes += bytes;
    this.inflightBytes += bytes;
    if (!session.paused && (session.inflightBytes > MAX_INFLIGHT_BYTES || this.inflightBytes > MAX_INFLIGHT_BYTES)) {
      session.paused = true;
      session.ws.pause();
    }
    // A metrics frame is stored as received (it was just validated), saving a second serialisation.
    const p = this.store.append(runId, [{ seq, event, ...(event.type === 'metrics' ? { wireJson: text } : {}) }]).then(
      () => {
        // Ended (or a resend for a run already over): nothing left to watch.
        if (this.store.getRun(runId)?.status !== 'running' && this.watches.delete(runId)) this.emitState();
        this.queueAck(session, runId);
      },
      (err: unknown) => {
        if (err instanceof UnknownRunError) {
          this.sendError(session, { code: 'unknown_run', runId, seq, message: err.message });
        } else {
          const msg = err instanceof Error ? err.message : String(err);
          this.logger.error(`run ${runId} seq ${seq}: could not be stored: ${msg}`);
          this.sendError(session, { code: 'storage', runId, seq, message: `could not store this message (${msg}); it is not acknowledged: resend it later` });
        }
      },
    );
    const tracked = p.finally(() => {
      this.inflight.delete(tracked);
      session.inflightBytes -= bytes;
      this.inflightBytes -= bytes;
      if (this.inflightBytes < MAX_INFLIGHT_BYTES / 2) {
        for (const other of this.sessions) {
          if (other.paused && other.inflightBytes < MAX_INFLIGHT_BYTES / 2) {
            other.paused = false;
            other.ws.resume();
          }
        }
      }
    });
    this.inflight.add(tracked);
  }

  /** Acks are cumulative per run, so all that became durable together go out as one ack per run. */
  private queueAck(session: Session, runId: string): void {
    session.pendingAcks.add(runId);
    if (session.ackScheduled) return;
    session.ackScheduled = true;
    setImmediate(() => {
      session.ackScheduled = false;
      const runs = [...session.pendingAcks];
      session.pendingAcks.clear();
      for (const r of runs) {
        const seq = this.store.lastSeq(r);
        if (seq > 0) this.send(session, { type: 'ack', runId: r, seq });
      }
    });
  }

  private sweep(): void {
    const now = Date.now();
    // If this process was stalled (busy, or the machine slept), messages sent meanwhile
    // are still unread: do not count the stalled time against the clients.
    const stalled = now - this.lastSweep - this.sweepEveryMs;
    this.lastSweep = now;
    if (stalled > this.sweepEveryMs) {
      for (const s of this.sessions) s.lastSeen += stalled;
      for (const w of this.watches.values()) w.since += stalled;
      return;
    }
    let changed = false;
    for (const [runId, w] of this.watches) {
      if (w.owner && w.owner.ws.readyState !== w.owner.ws.OPEN) {
        // Closing: from now on the run is unowned, alive as of its client's last message.
        w.since = w.owner.lastSeen;
        w.owner = undefined;
        changed = true;
      }
      const last = w.owner ? w.owner.lastSeen : w.since;
      if (now - last <= this.heartbeatTimeoutMs) continue;
      this.watches.delete(runId);
      changed = true;
      const run = this.store.getRun(runId);
      if (!run || run.status !== 'running') continue;
      const secs = Math.round(this.heartbeatTimeoutMs / 100) / 10;
      this.logger.warn(`run ${runId}: no message from its client for ${secs}s; marking it crashed`);
      const p = this.store
        .append(runId, [{ event: { type: 'run.end', status: 'crashed', time: now / 1000, reason: `no message from the client for ${secs}s (heartbeat timeout)` } }])
        .catch((err: unknown) => this.logger.error(`run ${runId}: could not mark it crashed: ${(err as Error).message}`));
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
    if (changed) this.emitState();
  }

  private send(session: Session, msg: v1.ServerMessage): void {
    if (session.ws.readyState !== session.ws.OPEN) return;
    session.ws.send(JSON.stringify(msg));
  }

  private sendError(session: Session, err: FrameError): void {
    this.send(session, { type: 'error', ...err });
  }

  /** Stops accepting, waits for what was accepted to become durable (and be acked), then closes connections. */
  async stop(): Promise<void> {
    if (this.stopping || !this.server) return;
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.deletedSub?.dispose();
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    // Let queued acks go out before the sockets close.
    await new Promise((r) => setImmediate(r));
    for (const s of this.sessions) {
      clearTimeout(s.helloTimer);
      s.ws.close(CloseCode.goingAway, 'collector stopping');
    }
    const deadline = Date.now() + 2000;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sessions) s.ws.terminate();
    server.closeAllConnections?.();
    this.wss?.close();
    await closed;
    this.logger.info('collector stopped');
  }
}

function tokensEqual(a: string, b: string): boolean {
  // Compare digests so the time taken does not reveal how much of the token matched.
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
