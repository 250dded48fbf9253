// The built-in AMQP source: run messages (protocol v1 JSON, one frame per message) from a RabbitMQ
// queue bound to a topic exchange, appended to the run store. A message is acknowledged to the broker
// only once the store holds it durably (SourceSink.append resolved), so a crash or a lost connection
// leaves it on the queue and it comes again; the store skips the seqs a run already holds, so a
// redelivery is harmless. Messages that are not protocol v1 go to a dead-letter queue with the reason
// in a header, and consuming goes on.
import * as amqp from 'amqplib';
import type { HealthStatus, PluginContext, PluginMetadata, SourcePlugin, SourceSink } from '../../api/types';
import { errorText } from '../../common/errors';
import { UnknownRunError } from '../../store/storeTypes';
import { AckWindow } from './ackWindow';
import { DEFAULT_EXCHANGE, DEFAULT_QUEUE, HEADER_REASON, brokerUrl } from './connection';
import { decodeMessage } from './decode';
import { RunBatcher, type Delivered } from './runBatcher';

export const AMQP_SOURCE_ID = 'runwatch.amqp-source';

/** How the source opens a connection: amqplib's `connect` (tests give a fake broker). */
export type AmqpConnect = (
  url: string,
  socketOptions: { timeout: number; noDelay: boolean },
) => Promise<amqp.ChannelModel>;

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

interface Settings {
  url: string;
  vhost: string;
  exchange: string;
  queue: string;
  bindingKey: string;
  deadLetterQueue: string;
  prefetch: number;
  maxBatchPoints: number;
}

/** One connection's state; a lost connection is dropped whole and a new one made. */
interface Link {
  conn: amqp.ChannelModel;
  ch: amqp.ConfirmChannel;
  window: AckWindow;
  byTag: Map<number, amqp.Message>;
  batcher: RunBatcher;
  consumerTag?: string;
  closed: boolean;
}

export class AmqpSource implements SourcePlugin {
  readonly metadata: PluginMetadata & { kind: 'source' } = {
    id: AMQP_SOURCE_ID,
    displayName: 'RabbitMQ (AMQP) source',
    version: '1.0.0',
    kind: 'source',
    description: 'Runs from other machines: protocol v1 messages consumed from a RabbitMQ queue.',
    capabilities: ['metrics', 'params', 'live'],
    configSchema: {
      type: 'object',
      properties: {
        url: {
          type: 'string',
          default: '',
          description: 'The broker, e.g. amqp://user@rabbit.example:5672. Empty: the source is idle.',
        },
        vhost: { type: 'string', default: '', description: "Virtual host. Empty: the URL's (or /)." },
        password: { type: 'string', secret: true, description: 'Password for the URL’s user.' },
        exchange: { type: 'string', default: DEFAULT_EXCHANGE, description: 'Topic exchange runs are published to.' },
        queue: { type: 'string', default: DEFAULT_QUEUE, description: 'Durable queue this Runwatch consumes.' },
        bindingKey: {
          type: 'string',
          default: '#',
          description: 'Binds the queue to the exchange: routing keys are <project>.<run id>; "#" takes all.',
        },
        deadLetterQueue: {
          type: 'string',
          default: '',
          description: 'Where refused messages go, with the reason in header runwatch-reason. Empty: <queue>.dead.',
        },
        prefetch: {
          type: 'integer',
          default: 256,
          minimum: 1,
          maximum: 65535,
          description: 'Messages in flight from the broker (not yet acknowledged).',
        },
        maxBatchPoints: {
          type: 'integer',
          default: 100000,
          minimum: 1,
          description: 'Most metric points one message may carry.',
        },
      },
    },
  };

  private ctx?: PluginContext;
  private s?: Settings;
  private password?: string;
  private sink?: SourceSink;
  private link?: Link;
  private running = false;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer?: NodeJS.Timeout;
  private lastError?: string;
  private shownUrl = '';
  private readonly inflight = new Set<Promise<unknown>>();
  private stored = 0;
  private deadLettered = 0;

  constructor(private readonly connectTo: AmqpConnect = (url, o) => amqp.connect(url, o)) {}

  async initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    const c = context.config;
    const queue = str(c.queue, DEFAULT_QUEUE);
    this.s = {
      url: str(c.url, ''),
      vhost: str(c.vhost, ''),
      exchange: str(c.exchange, DEFAULT_EXCHANGE),
      queue,
      bindingKey: str(c.bindingKey, '#'),
      deadLetterQueue: str(c.deadLetterQueue, '') || `${queue}.dead`,
      prefetch: num(c.prefetch, 256),
      maxBatchPoints: num(c.maxBatchPoints, 100000),
    };
    this.password = await context.secrets.get('password');
    if (this.s.url) this.shownUrl = brokerUrl({ url: this.s.url, vhost: this.s.vhost }).shown;
  }

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    if (!this.s?.url) return; // idle until a URL is set
    this.running = true;
    // A broker that is down now is retried in the background: the source runs regardless.
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    const link = this.link;
    if (link?.consumerTag && !link.closed) await link.ch.cancel(link.consumerTag).catch(() => undefined);
    link?.batcher.flush();
    // What is being appended finishes and is acknowledged; the rest stays on the queue.
    await Promise.allSettled([...this.inflight]);
    if (link) {
      this.ackReady(link);
      this.drop(link);
      await link.conn.close().catch(() => undefined);
    }
  }

  dispose(): Promise<void> {
    return this.stop();
  }

  async healthCheck(): Promise<HealthStatus> {
    const s = this.s;
    if (!s?.url)
      return {
        healthy: true,
        details: 'idle: no broker URL set (Configure Backend… → RabbitMQ (AMQP) source, or runwatch.sources → url)',
      };
    const link = this.link;
    if (!link || link.closed)
      return { healthy: false, details: `not connected to ${this.shownUrl}: ${this.lastError ?? 'connecting'}` };
    try {
      const q = await link.ch.checkQueue(s.queue);
      const dl = await link.ch.checkQueue(s.deadLetterQueue);
      const last = this.lastError ? `; last error: ${this.lastError}` : '';
      return {
        healthy: true,
        details:
          `connected to ${this.shownUrl}; queue ${s.queue}: ${q.messageCount} waiting, ${q.consumerCount} consumers, ` +
          `${link.window.pending} in flight; ${this.stored} stored; dead letters: ${dl.messageCount}${last}`,
      };
    } catch (e) {
      return { healthy: false, details: `connected to ${this.shownUrl}, but: ${errorText(e)}` };
    }
  }

  // ---------------------------------------------------------------- connection

  private async connect(): Promise<void> {
    const s = this.s;
    if (!s || !this.running) return;
    let conn: amqp.ChannelModel | undefined;
    try {
      const { url } = brokerUrl({ url: s.url, vhost: s.vhost, password: this.password, heartbeatSeconds: 10 });
      conn = await this.connectTo(url, { timeout: 10000, noDelay: true });
      const ch = await conn.createConfirmChannel();
      const batcher = new RunBatcher((runId, items) => this.store(link, runId, items));
      const link: Link = { conn, ch, window: new AckWindow(), byTag: new Map(), batcher, closed: false };
      const lost = (why: string) => this.lost(link, why);
      conn.on('error', (e: Error) => (this.lastError = errorText(e)));
      conn.on('close', () => lost('the connection closed'));
      ch.on('error', (e: Error) => (this.lastError = errorText(e)));
      ch.on('close', () => lost('the channel closed'));
      await ch.assertExchange(s.exchange, 'topic', { durable: true });
      await ch.assertQueue(s.queue, { durable: true });
      await ch.assertQueue(s.deadLetterQueue, { durable: true });
      await ch.bindQueue(s.queue, s.exchange, s.bindingKey);
      await ch.prefetch(s.prefetch);
      this.link = link;
      const ok = await ch.consume(s.queue, (m) => (m ? this.onMessage(link, m) : lost('consumer cancelled')));
      link.consumerTag = ok.consumerTag;
      this.retryMs = RETRY_FIRST_MS;
      this.ctx?.logger.info(`consuming ${s.queue} (exchange ${s.exchange}, key ${s.bindingKey}) at ${this.shownUrl}`);
    } catch (e) {
      this.lastError = errorText(e);
      this.ctx?.logger.warn(`cannot consume from ${this.shownUrl}: ${this.lastError}; retrying`);
      await conn?.close().catch(() => undefined);
      this.retryLater();
    }
  }

  private retryLater(): void {
    if (!this.running) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  /** The link is gone: unacknowledged messages return to the queue by themselves. */
  private lost(link: Link, why: string): void {
    if (link.closed) return;
    this.drop(link);
    if (this.link === link) this.link = undefined;
    // A cancelled consumer leaves the connection open: close it, the next one replaces it.
    void link.conn.close().catch(() => undefined);
    if (!this.running) return;
    this.lastError = this.lastError ?? why;
    this.ctx?.logger.warn(`lost ${this.shownUrl} (${this.lastError}); reconnecting`);
    this.retryLater();
  }

  private drop(link: Link): void {
    link.closed = true;
    link.byTag.clear();
  }

  // ---------------------------------------------------------------- messages

  private onMessage(link: Link, m: amqp.ConsumeMessage): void {
    if (link.closed) return;
    const tag = m.fields.deliveryTag;
    link.window.add(tag);
    link.byTag.set(tag, m);
    const s = this.s as Settings;
    const headers = m.properties.headers as Record<string, unknown> | undefined;
    const d = decodeMessage(m.content, headers, { maxBatchPoints: s.maxBatchPoints });
    if (d.kind === 'skip') return this.finished(link, [tag]);
    if (d.kind === 'bad') return this.deadLetter(link, m, d.reason);
    link.batcher.add(d.runId, { seq: d.seq, event: d.event, tag, text: d.text });
  }

  private store(link: Link, runId: string, items: Delivered[]): void {
    const sink = this.sink as SourceSink;
    const p = sink
      .append(
        runId,
        // A checked metrics body is stored as received, as the collector does (no second serialisation,
        // a quarter of this path's CPU); a store that ignores `wireJson` serialises the event instead.
        items.map(({ seq, event, text }) =>
          event.type === 'metrics' ? { seq, event, wireJson: text } : { seq, event },
        ),
      )
      .then(
        () => {
          this.stored += items.length;
          this.finished(
            link,
            items.map((i) => i.tag),
          );
        },
        (e: unknown) => {
          if (e instanceof UnknownRunError) {
            const why = `run "${runId}" was never started: its run.start (seq 1) must come before its other messages`;
            for (const i of items) {
              const m = link.byTag.get(i.tag);
              if (m) this.deadLetter(link, m, why);
            }
            return;
          }
          // The store refused (a full disk, say): hand everything back to the queue, try again later.
          this.fail(link, `the run store refused ${runId}: ${errorText(e)}`);
        },
      );
    this.track(p);
  }

  private deadLetter(link: Link, m: amqp.Message, reason: string): void {
    const s = this.s as Settings;
    const tag = m.fields.deliveryTag;
    this.ctx?.logger.warn(`message ${m.fields.routingKey} (tag ${tag}) to ${s.deadLetterQueue}: ${reason}`);
    const headers = {
      ...(m.properties.headers ?? {}),
      [HEADER_REASON]: reason.slice(0, 2000),
      'runwatch-routing-key': m.fields.routingKey,
      'runwatch-exchange': m.fields.exchange,
    };
    const p = new Promise<void>((resolve) => {
      try {
        link.ch.sendToQueue(
          s.deadLetterQueue,
          m.content,
          { persistent: true, headers, contentType: m.properties.contentType as string | undefined },
          (err: unknown) => {
            if (err) this.fail(link, `the dead-letter queue ${s.deadLetterQueue} refused a message: ${errorText(err)}`);
            else {
              this.deadLettered++;
              this.finished(link, [tag]);
            }
            resolve();
          },
        );
      } catch (e) {
        this.fail(link, `cannot dead-letter: ${errorText(e)}`);
        resolve();
      }
    });
    this.track(p);
  }

  private finished(link: Link, tags: number[]): void {
    if (link.closed) return; // acks belong to their channel: the messages are redelivered on the next
    for (const t of tags) link.window.finish(t);
    this.ackReady(link);
  }

  private ackReady(link: Link): void {
    if (link.closed) return;
    const upTo = link.window.advance();
    if (upTo === undefined) return;
    const m = link.byTag.get(upTo);
    for (const t of [...link.byTag.keys()]) if (t <= upTo) link.byTag.delete(t);
    if (!m) return;
    try {
      link.ch.ack(m, true);
    } catch (e) {
      // The channel closed under us: the broker hands these messages out again.
      this.lost(link, errorText(e));
    }
  }

  private fail(link: Link, why: string): void {
    this.lastError = why;
    this.ctx?.logger.error(why);
    if (link.closed) return;
    this.drop(link);
    if (this.link === link) this.link = undefined;
    // Closing the channel returns every unacknowledged message to the queue, in order.
    void link.conn.close().catch(() => undefined);
    this.retryLater();
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch((e: unknown) => this.ctx?.logger.error(`AMQP source: ${errorText(e)}`));
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }
}

function str(v: unknown, d: string): string {
  return typeof v === 'string' ? v : d;
}

function num(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : d;
}
