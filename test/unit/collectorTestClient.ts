// A small protocol-v1 client for the collector tests and the benchmark: raw
// connections that record every message and close, and a reliable client that
// numbers its messages, keeps what is unacknowledged and resends it after a
// reconnect (what the Python client does).
import WebSocket from 'ws';

export interface Received {
  type: string;
  [key: string]: unknown;
}

export interface Closed {
  code: number;
  reason: string;
}

export class TestConnection {
  readonly messages: Received[] = [];
  closed?: Closed;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: WebSocket.RawData) => {
      this.messages.push(JSON.parse(d.toString()) as Received);
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  /** Opens a connection (rejects with the HTTP status if the upgrade is refused). */
  static open(url: string, headers: Record<string, string> = {}): Promise<TestConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      const conn = new TestConnection(ws);
      ws.once('open', () => resolve(conn));
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** Opens and says hello; resolves after `welcome`. */
  static async connect(url: string, token: string): Promise<TestConnection> {
    const c = await TestConnection.open(url);
    c.send({ type: 'hello', client: 'node-test', version: '0', protocol: 1, token });
    await c.waitFor(() => c.messages.some((m) => m.type === 'welcome'), 'welcome');
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `cond` holds, re-checking on every message or close; fails after `timeoutMs`. */
  async waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitClosed(timeoutMs = 30_000): Promise<Closed> {
    return this.waitFor(() => this.closed !== undefined, 'close', timeoutMs).then(() => this.closed as Closed);
  }

  ackedSeq(runId: string): number {
    let seq = 0;
    for (const m of this.messages)
      if (m.type === 'ack' && m.runId === runId && (m.seq as number) > seq) seq = m.seq as number;
    return seq;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Waits for a condition that is not tied to a connection (store state, files). */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Numbers run messages per run, keeps every unacknowledged one, and after
 * `reconnect` resends them in order: the collector must drop the ones it holds.
 */
export class ReliableClient {
  conn?: TestConnection;
  private seq = 0;
  /** Every message sent, by seq; the ones above `acked` are resent after a reconnect. */
  private readonly sent = new Map<number, string>();
  acked = 0;
  /** Messages sent again after reconnects. */
  resent = 0;

  constructor(
    readonly runId: string,
    private readonly token: string,
  ) {}

  async connect(url: string): Promise<void> {
    this.conn = await TestConnection.connect(url, this.token);
    const conn = this.conn;
    conn.ws.on('message', () => this.collectAcks(conn));
    for (let s = this.acked + 1; s <= this.seq; s++) {
      conn.send(this.sent.get(s) as string);
      this.resent++;
    }
  }

  private collectAcks(conn: TestConnection): void {
    const a = conn.ackedSeq(this.runId);
    if (a > this.acked) this.acked = a;
  }

  /** Numbers and sends (or only keeps, while disconnected) one run message; returns its seq. */
  send(msg: Record<string, unknown>): number {
    const seq = ++this.seq;
    const text = JSON.stringify({ ...msg, runId: this.runId, seq });
    this.sent.set(seq, text);
    if (this.conn && !this.conn.closed && this.conn.ws.readyState === WebSocket.OPEN) this.conn.send(text);
    return seq;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get unackedCount(): number {
    return this.seq - this.acked;
  }

  /** Acts as if acks above `seq` were lost in flight, so the next reconnect resends what the collector already holds. */
  forgetAcksAbove(seq: number): void {
    this.acked = Math.min(this.acked, seq);
  }

  async waitAcked(seq: number, timeoutMs = 60_000): Promise<void> {
    const conn = this.conn;
    if (!conn) throw new Error('not connected');
    await conn.waitFor(
      () => {
        this.collectAcks(conn);
        return this.acked >= seq || conn.closed !== undefined;
      },
      `ack of ${seq}`,
      timeoutMs,
    );
    if (this.acked < seq) throw new Error(`connection closed before ack of ${seq} (acked ${this.acked})`);
  }
}
