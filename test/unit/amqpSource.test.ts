// The AMQP source's acknowledgement rules against a fake broker connection (our code only; the real
// broker is in test/python/test_amqp.py): a message is acked only after the store's append resolved,
// in delivery order, with `multiple`; a refused message is acked only after its dead letter was
// confirmed; a store failure hands everything back (closes the connection, no ack) and reconnects.
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as amqp from 'amqplib';
import type { PluginContext, RunEvent, SourceSink } from '../../src/api/types';
import { AmqpSource } from '../../src/sources/amqp/source';
import { UnknownRunError } from '../../src/store/storeTypes';

class FakeChannel extends EventEmitter {
  consumer?: (m: amqp.ConsumeMessage | null) => void;
  acks: { tag: number; multiple: boolean }[] = [];
  dead: { queue: string; body: string; headers: Record<string, unknown> }[] = [];
  confirmDead = true;
  private tag = 0;
  assertExchange = async () => ({});
  assertQueue = async () => ({});
  bindQueue = async () => ({});
  prefetch = async () => ({});
  checkQueue = async (q: string) => ({
    queue: q,
    messageCount: q.endsWith('.dead') ? this.dead.length : 7,
    consumerCount: 1,
  });
  cancel = async () => ({});
  async consume(_q: string, cb: (m: amqp.ConsumeMessage | null) => void) {
    this.consumer = cb;
    return { consumerTag: 'c1' };
  }
  ackThrows = false;
  ack(m: amqp.Message, multiple?: boolean) {
    if (this.ackThrows) throw new Error('Channel closed');
    this.acks.push({ tag: m.fields.deliveryTag, multiple: !!multiple });
  }
  sendToQueue(queue: string, body: Buffer, opts: amqp.Options.Publish, cb: (err: unknown) => void) {
    this.dead.push({ queue, body: body.toString(), headers: opts.headers as Record<string, unknown> });
    setImmediate(() => cb(this.confirmDead ? null : new Error('nack')));
    return true;
  }
  deliver(body: unknown, headers?: Record<string, unknown>) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const m = {
      content: Buffer.from(text),
      fields: { deliveryTag: ++this.tag, routingKey: 'p.r', exchange: 'runwatch', redelivered: false },
      properties: { headers },
    } as unknown as amqp.ConsumeMessage;
    this.consumer?.(m);
  }
}

class FakeConnection extends EventEmitter {
  closed = 0;
  constructor(readonly ch: FakeChannel) {
    super();
  }
  createConfirmChannel = async () => this.ch;
  close = async () => {
    this.closed++;
    this.emit('close');
  };
}

interface Harness {
  source: AmqpSource;
  connections: FakeConnection[];
  appends: { runId: string; seqs: number[]; resolve: () => void; reject: (e: unknown) => void }[];
}

async function started(config: Record<string, unknown> = {}): Promise<Harness> {
  const connections: FakeConnection[] = [];
  const appends: Harness['appends'] = [];
  const source = new AmqpSource(async () => {
    const c = new FakeConnection(new FakeChannel());
    connections.push(c);
    return c as unknown as amqp.ChannelModel;
  });
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const ctx: PluginContext = {
    config: { url: 'amqp://guest@127.0.0.1:5672', queue: 'q', ...config },
    secrets: { get: async (k) => (k === 'password' ? 'pw' : undefined) },
    logger: quiet,
    notify() {},
    storageDir: '/nonexistent',
  };
  await source.initialize(ctx);
  const sink: SourceSink = {
    startRun: () => 'x',
    emit() {},
    append: (runId, items: { seq?: number; event: RunEvent }[]) =>
      new Promise<void>((resolve, reject) =>
        appends.push({ runId, seqs: items.map((i) => i.seq ?? 0), resolve, reject }),
      ),
    flush: async () => {},
  };
  await source.start(sink);
  return { source, connections, appends };
}

const tick = () => new Promise((r) => setImmediate(r));
const start = (runId: string) => ({ type: 'run.start', runId, seq: 1, project: 'p', time: 1 });
const metrics = (runId: string, seq: number) => ({
  type: 'metrics',
  runId,
  seq,
  points: [{ key: 'k', value: seq, step: seq, time: 1 }],
});

describe('AMQP source: acknowledgements', () => {
  it('acks only after the append resolved, once per turn, with multiple', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver(start('a'));
    ch.deliver(metrics('a', 2));
    ch.deliver(metrics('a', 3));
    await tick();
    assert.equal(h.appends.length, 1, 'one append for the turn');
    assert.deepEqual(h.appends[0].seqs, [1, 2, 3]);
    assert.deepEqual(ch.acks, [], 'nothing acked before the store holds it');
    h.appends[0].resolve();
    await tick();
    assert.deepEqual(ch.acks, [{ tag: 3, multiple: true }]);
    await h.source.stop();
  });

  it('acks in delivery order when runs finish out of order', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver(start('a'));
    ch.deliver(start('b'));
    await tick();
    const [a, b] = h.appends;
    b.resolve();
    await tick();
    assert.deepEqual(ch.acks, [], 'tag 1 (run a) is not durable yet');
    a.resolve();
    await tick();
    assert.deepEqual(ch.acks, [{ tag: 2, multiple: true }]);
    await h.source.stop();
  });

  it('a bad message is acked after its dead letter is confirmed, carrying the reason; later ones flow', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver('not json');
    ch.deliver(start('a'), { 'runwatch-protocol': 1 });
    await tick();
    assert.equal(ch.dead.length, 1);
    assert.equal(ch.dead[0].queue, 'q.dead');
    assert.equal(ch.dead[0].body, 'not json');
    assert.match(String(ch.dead[0].headers['runwatch-reason']), /not valid JSON/);
    await tick();
    assert.deepEqual(ch.acks, [{ tag: 1, multiple: true }]);
    h.appends[0].resolve();
    await tick();
    assert.deepEqual(ch.acks.at(-1), { tag: 2, multiple: true });
    await h.source.stop();
  });

  it('data for a run that never started is dead-lettered, not retried forever', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver(metrics('ghost', 2));
    await tick();
    h.appends[0].reject(new UnknownRunError('ghost'));
    await tick();
    await tick();
    assert.match(String(ch.dead[0].headers['runwatch-reason']), /never started/);
    assert.deepEqual(ch.acks, [{ tag: 1, multiple: true }]);
    await h.source.stop();
  });

  it('a store failure acks nothing, hands the messages back (closes) and reconnects', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver(start('a'));
    await tick();
    h.appends[0].reject(new Error('ENOSPC: no space left on device'));
    await tick();
    assert.deepEqual(ch.acks, []);
    assert.equal(h.connections[0].closed, 1);
    const health = await h.source.healthCheck();
    assert.equal(health.healthy, false);
    assert.match(health.details, /ENOSPC/);
    await new Promise((r) => setTimeout(r, 400)); // the first retry comes after 250 ms
    assert.equal(h.connections.length, 2, 'connected again');
    await h.source.stop();
  });

  it('an ack on a channel that closed meanwhile drops the link and reconnects, without throwing', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver(start('a'));
    await tick();
    ch.ackThrows = true;
    h.appends[0].resolve();
    await tick();
    assert.match((await h.source.healthCheck()).details, /not connected/);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(h.connections.length, 2);
    await h.source.stop();
  });

  it('a cancelled consumer (its queue deleted) closes that connection and consumes again on a new one', async () => {
    const h = await started();
    h.connections[0].ch.consumer?.(null);
    assert.equal(h.connections[0].closed, 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(h.connections.length, 2);
    assert.ok(h.connections[1].ch.consumer, 'consuming on the new connection');
    await h.source.stop();
  });

  it('stop() waits for appends under way and acks them', async () => {
    const h = await started();
    const ch = h.connections[0].ch;
    ch.deliver(start('a'));
    await tick();
    const stopping = h.source.stop();
    await tick();
    h.appends[0].resolve();
    await stopping;
    assert.deepEqual(ch.acks, [{ tag: 1, multiple: true }]);
  });

  it('health names the queue depth, consumers and dead letters; idle without a URL', async () => {
    const h = await started();
    const health = await h.source.healthCheck();
    assert.equal(health.healthy, true);
    assert.match(health.details, /^connected to amqp:\/\/guest@127\.0\.0\.1:5672;/);
    assert.doesNotMatch(health.details, /pw/, 'the secret password is never shown');
    assert.match(health.details, /queue q: 7 waiting, 1 consumers/);
    assert.match(health.details, /dead letters: 0/);
    await h.source.stop();
    const idle = await started({ url: '' });
    assert.equal(idle.connections.length, 0);
    assert.match((await idle.source.healthCheck()).details, /idle: no broker URL/);
  });
});
