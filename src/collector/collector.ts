// The WebSocket collector: training scripts connect, present the token, and
// stream run messages. A message is acknowledged only once the RunStore holds it
// durably, and an ack never covers a seq that is not (acks.ts). It never imports
// `vscode`, so it also runs headless (tests, benchmarks, the CLI in
// dist/collector-cli.js). Per connection: session.ts; liveness and `crashed`:
// liveness.ts.
import * as crypto from 'crypto';
import * as http from 'http';
import type { Duplex } from 'stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Disposable } from '../common/disposable';
import { Emitter } from '../common/emitter';
import { silentLogger, type Logger } from '../common/logger';
import type { RunStore } from '../store/runStore';
import { RunWriters } from './acks';
import { Liveness } from './liveness';
import { CloseCode, FlowControl, Session, type SessionHost } from './session';

export { CloseCode } from './session';

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
  logger?: Logger;
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

export class Collector implements SessionHost {
  readonly store: RunStore;
  readonly token: string;
  readonly maxFrameBytes: number;
  readonly maxBatchPoints: number;
  readonly heartbeatTimeoutMs: number;
  readonly version: string;
  readonly logger: Logger;
  readonly writers: RunWriters;
  readonly liveness: Liveness;
  readonly flow = new FlowControl();
  private readonly host: string;
  private readonly port: number;
  private readonly helloTimeoutMs: number;
  private server?: http.Server;
  private wss?: WebSocketServer;
  private nextSessionId = 1;
  private info?: CollectorInfo;
  private readonly stateEmitter = new Emitter<CollectorState>({ name: 'collector.onDidChangeState' });
  private stopping = false;
  private deletedSub?: Disposable;

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
    this.logger = options.logger ?? silentLogger;
    this.liveness = new Liveness(this.store, this.heartbeatTimeoutMs, this.logger, {
      onChange: () => this.stateChanged(),
      onStall: (ms) => {
        for (const s of this.flow.sessions) s.lastSeen += ms;
      },
    });
    this.writers = new RunWriters(this.store, this.logger, (runId) => this.liveness.landed(runId));
  }

  /** Starts listening; resolves with where clients connect. */
  async start(): Promise<CollectorInfo> {
    if (this.info) return this.info;
    const server = http.createServer((_req, res) => {
      res
        .writeHead(426, { 'content-type': 'text/plain' })
        .end('Runwatch collector: connect with a WebSocket (see docs/protocol.md)\n');
    });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // Browsers always send Origin on a WebSocket upgrade; scripts do not. Refusing
      // it here means no web page can feed or read the collector.
      if (req.headers.origin !== undefined) {
        this.logger.warn(
          `refused a connection carrying Origin ${JSON.stringify(req.headers.origin)} (browser pages may not connect)`,
        );
        socket.end(
          'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nbrowser origins may not connect to the Runwatch collector\n',
        );
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
    // Runs left `running` by a previous process get one timeout to be resumed. The store's
    // lock means no other live collector writes here, so every such run is ours to end.
    this.liveness.start(true);
    // A run deleted while its client still streams is no longer live (its data now gets unknown_run).
    this.deletedSub = this.store.onDidDeleteRun((runId) => {
      this.writers.forget(runId);
      this.liveness.unwatch(runId);
    });
    this.logger.info(
      `collector listening on ${this.info.url} (heartbeat timeout ${this.heartbeatTimeoutMs / 1000}s, largest frame ${this.maxFrameBytes} bytes)`,
    );
    this.stateChanged();
    return this.info;
  }

  /** Where clients connect, once started. */
  get address(): CollectorInfo | undefined {
    return this.info;
  }

  get state(): CollectorState {
    let clients = 0;
    for (const s of this.flow.sessions) if (s.authed) clients++;
    return { port: this.info?.port ?? 0, clients, liveRuns: this.liveness.liveRuns };
  }

  onDidChangeState(listener: (state: CollectorState) => void): Disposable {
    return this.stateEmitter.event(listener);
  }

  stateChanged(): void {
    this.stateEmitter.fire(this.state);
  }

  private onConnection(ws: WebSocket): void {
    const session = new Session(this.nextSessionId++, ws, this, this.helloTimeoutMs);
    this.flow.sessions.add(session);
    ws.on('close', (code: number) => {
      this.flow.sessions.delete(session);
      session.closed(code);
      if (session.authed) this.stateChanged();
    });
  }

  /** Stops accepting, waits for what was accepted to become durable (and be acked), then closes connections. */
  async stop(): Promise<void> {
    if (this.stopping || !this.server) return;
    this.stopping = true;
    this.deletedSub?.dispose();
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await this.liveness.stop();
    await this.writers.drain();
    // Let queued acks go out before the sockets close.
    await new Promise((r) => setImmediate(r));
    for (const s of this.flow.sessions) s.close(CloseCode.goingAway, 'collector stopping');
    const deadline = Date.now() + 2000;
    while (this.flow.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.flow.sessions) s.ws.terminate();
    server.closeAllConnections?.();
    this.wss?.close();
    await closed;
    this.stateEmitter.dispose();
    this.logger.info('collector stopped');
  }
}
