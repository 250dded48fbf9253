// The built-in AMQP backend: publishes every record of the chosen runs to a RabbitMQ topic exchange
// (routing key `<project>.<run id>`), one protocol v1 message each, persistent and mandatory, on a
// channel in publisher-confirm mode. `write` resolves only once the broker confirmed the whole batch,
// so the sink runner moves this backend's cursor only then; a batch that failed (no broker, a nack,
// no queue bound to take a message) is retried from the cursor. A retried batch may publish a record
// twice: consumers skip seqs they hold (the runwatch-run-id and runwatch-seq headers; another
// Runwatch's AMQP source does).
import * as amqp from 'amqplib';
import type { BackendPlugin, HealthStatus, PluginContext, PluginMetadata, RunBatch } from '../../api/types';
import { errorText } from '../../common/errors';
import { DEFAULT_EXCHANGE, brokerUrl, routingKey } from '../../sources/amqp/connection';
import { wireMessage } from './wire';

export const AMQP_BACKEND_ID = 'runwatch.amqp';

/** How the backend opens a connection: amqplib's `connect` (tests give a fake broker). */
export type AmqpConnect = (
  url: string,
  socketOptions: { timeout: number; noDelay: boolean },
) => Promise<amqp.ChannelModel>;

interface Link {
  conn: amqp.ChannelModel;
  ch: amqp.ConfirmChannel;
  closed: boolean;
  /** Set when the broker returned a message as unroutable since the last batch began. */
  returned?: string;
}

export class AmqpBackend implements BackendPlugin {
  readonly metadata: PluginMetadata & { kind: 'backend' } = {
    id: AMQP_BACKEND_ID,
    displayName: 'RabbitMQ (AMQP)',
    version: '1.0.0',
    kind: 'backend',
    description: 'Publishes every run to a RabbitMQ exchange as protocol v1 messages, with publisher confirms.',
    capabilities: ['metrics', 'params', 'artifacts', 'live'],
    configSchema: {
      type: 'object',
      properties: {
        url: { type: 'string', description: 'The broker, e.g. amqp://user@rabbit.example:5672.' },
        vhost: { type: 'string', default: '', description: "Virtual host. Empty: the URL's (or /)." },
        password: { type: 'string', secret: true, description: 'Password for the URL’s user.' },
        exchange: { type: 'string', default: DEFAULT_EXCHANGE, description: 'Topic exchange to publish to.' },
        queue: {
          type: 'string',
          default: '',
          description:
            'A durable queue to declare and bind ("#"), so runs wait for a consumer that is not there yet. ' +
            'Empty: none; a message no queue takes is retried until one is bound.',
        },
      },
      required: ['url'],
    },
  };

  private ctx?: PluginContext;
  private url = '';
  private shown = '';
  private exchange = DEFAULT_EXCHANGE;
  private queue = '';
  private link?: Link;
  private connecting?: Promise<Link>;
  private lastError?: string;
  private published = 0;

  constructor(private readonly connectTo: AmqpConnect = (url, o) => amqp.connect(url, o)) {}

  async initialize(context: PluginContext): Promise<void> {
    this.ctx = context;
    const c = context.config;
    const password = await context.secrets.get('password');
    const vhost = typeof c.vhost === 'string' ? c.vhost : '';
    // A bad URL fails here, with a message; a broker that is down is retried by the writes.
    const u = brokerUrl({ url: String(c.url ?? ''), vhost, password, heartbeatSeconds: 10 });
    this.url = u.url;
    this.shown = u.shown;
    this.exchange = typeof c.exchange === 'string' && c.exchange ? c.exchange : DEFAULT_EXCHANGE;
    this.queue = typeof c.queue === 'string' ? c.queue : '';
  }

  async write(batch: RunBatch): Promise<void> {
    if (!batch.records.length) return;
    const link = await this.connected();
    link.returned = undefined;
    const key = routingKey(batch.run.project, batch.run.runId);
    for (const r of batch.records) {
      const m = wireMessage(r);
      const ok = link.ch.publish(this.exchange, key, m.body, {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId: `${r.runId}:${m.seq}`,
        headers: m.headers,
      });
      // The channel's buffer is full: wait for it to drain rather than grow without bound.
      if (!ok)
        await new Promise<void>((resolve) => {
          link.ch.once('drain', resolve);
          link.ch.once('close', resolve);
        });
      if (link.closed) throw new Error(`lost ${this.shown} while publishing: ${this.lastError ?? 'closed'}`);
    }
    try {
      await link.ch.waitForConfirms();
    } catch (e) {
      throw new Error(`${this.shown} did not confirm every message of ${batch.run.runId}: ${errorText(e)}`);
    }
    // A returned message was confirmed too (it was handled: dropped); the batch is not delivered.
    if (link.returned) throw new Error(link.returned);
    this.published += batch.records.length;
  }

  async healthCheck(): Promise<HealthStatus> {
    try {
      const link = await this.connected();
      const q = this.queue ? await link.ch.checkQueue(this.queue) : undefined;
      const queue = q ? `; queue ${this.queue}: ${q.messageCount} waiting, ${q.consumerCount} consumers` : '';
      const last = this.lastError ? `; last error: ${this.lastError}` : '';
      return {
        healthy: true,
        details: `connected to ${this.shown}, exchange ${this.exchange}; ${this.published} published${queue}${last}`,
      };
    } catch (e) {
      return { healthy: false, details: `cannot publish to ${this.shown}: ${errorText(e)}` };
    }
  }

  async dispose(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    if (link && !link.closed) {
      link.closed = true;
      await link.conn.close().catch(() => undefined);
    }
  }

  private connected(): Promise<Link> {
    if (this.link && !this.link.closed) return Promise.resolve(this.link);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Link> {
    const conn = await this.connectTo(this.url, { timeout: 10000, noDelay: true });
    try {
      const ch = await conn.createConfirmChannel();
      const link: Link = { conn, ch, closed: false };
      const lost = (why: string) => {
        if (link.closed) return;
        link.closed = true;
        this.lastError ??= why;
        this.ctx?.logger.warn(`lost ${this.shown}: ${this.lastError}`);
        if (this.link === link) this.link = undefined;
      };
      conn.on('error', (e: Error) => (this.lastError = errorText(e)));
      conn.on('close', () => lost('the connection closed'));
      ch.on('error', (e: Error) => (this.lastError = errorText(e)));
      ch.on('close', () => lost('the channel closed'));
      ch.on('return', (m: amqp.Message) => {
        link.returned = `no queue is bound to exchange ${this.exchange} for ${m.fields.routingKey}: unroutable; retrying (bind a queue, or set "queue")`;
      });
      await ch.assertExchange(this.exchange, 'topic', { durable: true });
      if (this.queue) {
        await ch.assertQueue(this.queue, { durable: true });
        await ch.bindQueue(this.queue, this.exchange, '#');
      }
      this.lastError = undefined;
      this.link = link;
      return link;
    } catch (e) {
      await conn.close().catch(() => undefined);
      throw e;
    }
  }
}
