// The AMQP backend against a fake broker connection (our code only; the real broker is in
// test/python/test_amqp.py): a batch resolves only once the broker confirmed every message, a nack
// or a returned (unroutable) message fails the batch so the sink runner retries it from the cursor,
// and each message carries the routing key, the headers and persistence.
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as amqp from 'amqplib';
import type { PluginContext, RunBatch } from '../../src/api/types';
import { AmqpBackend } from '../../src/backends/amqp/backend';

class FakeChannel extends EventEmitter {
  published: { exchange: string; key: string; body: string; opts: amqp.Options.Publish }[] = [];
  confirm: () => Promise<void> = async () => {};
  onPublish?: (key: string) => void;
  assertExchange = async () => ({});
  assertQueue = async () => ({});
  bindQueue = async () => ({});
  checkQueue = async (q: string) => ({ queue: q, messageCount: 3, consumerCount: 2 });
  publish(exchange: string, key: string, body: Buffer, opts: amqp.Options.Publish) {
    this.published.push({ exchange, key, body: body.toString(), opts });
    this.onPublish?.(key);
    return true;
  }
  waitForConfirms() {
    return this.confirm();
  }
}

async function backend(config: Record<string, unknown> = {}) {
  const ch = new FakeChannel();
  const conn = Object.assign(new EventEmitter(), { createConfirmChannel: async () => ch, close: async () => {} });
  const b = new AmqpBackend(async () => conn as unknown as amqp.ChannelModel);
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const ctx: PluginContext = {
    config: { url: 'amqp://u@h:5672', exchange: 'out', queue: '', ...config },
    secrets: { get: async () => undefined },
    logger: quiet,
    notify() {},
    storageDir: '/nonexistent',
  };
  await b.initialize(ctx);
  return { b, ch };
}

const batch: RunBatch = {
  run: {
    runId: 'r1',
    project: 'vision.x',
    name: 'n',
    status: 'running',
    startTime: 1,
    params: {},
    tags: {},
    context: {},
  },
  records: [
    { runId: 'r1', offset: 4, event: { type: 'metrics', points: [{ key: 'l', value: NaN, step: 1, time: 2 }] } },
    { runId: 'r1', offset: 5, event: { type: 'run.end', status: 'finished', time: 3 } },
  ],
};

describe('AMQP backend', () => {
  it('publishes each record persistent and mandatory, with its headers, and resolves on confirm', async () => {
    const { b, ch } = await backend();
    let confirmed = false;
    ch.confirm = () => new Promise((r) => setTimeout(() => ((confirmed = true), r()), 20));
    await b.write(batch);
    assert.ok(confirmed, 'write resolved only after the confirms');
    assert.equal(ch.published.length, 2);
    const [m] = ch.published;
    assert.equal(m.exchange, 'out');
    assert.equal(m.key, 'vision_x.r1');
    assert.equal(m.opts.persistent, true);
    assert.equal(m.opts.mandatory, true);
    assert.deepEqual(m.opts.headers, { 'runwatch-protocol': 1, 'runwatch-run-id': 'r1', 'runwatch-seq': 5 });
    assert.deepEqual(JSON.parse(m.body), {
      type: 'metrics',
      runId: 'r1',
      seq: 5,
      points: [{ key: 'l', value: 'NaN', step: 1, time: 2 }],
    });
    assert.match((await b.healthCheck()).details, /connected to amqp:\/\/u@h:5672.*exchange out; 2 published/);
    await b.dispose();
  });

  it('a nack fails the batch (the cursor stays)', async () => {
    const { b, ch } = await backend();
    ch.confirm = async () => {
      throw new Error('message nacked');
    };
    await assert.rejects(b.write(batch), /did not confirm every message of r1: message nacked/);
    await b.dispose();
  });

  it('a message no queue takes (returned) fails the batch, naming the fix', async () => {
    const { b, ch } = await backend();
    ch.onPublish = (key) => ch.emit('return', { fields: { routingKey: key } });
    await assert.rejects(b.write(batch), /no queue is bound to exchange out for vision_x\.r1.*set "queue"/);
    ch.onPublish = undefined;
    await b.write(batch); // once a queue is bound the retry goes through
    await b.dispose();
  });

  it('a bad URL fails initialize with a message', async () => {
    await assert.rejects(backend({ url: 'http://h' }), /must start with amqp:\/\//);
  });
});
