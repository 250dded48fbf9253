// The AMQP source's and backend's own logic, without a broker: which deliveries may be acked,
// how a message body and its headers are checked, how a record becomes a message (and reads back
// as the same event), the broker URL. The broker itself is exercised by test/python/test_amqp.py.
import * as assert from 'node:assert/strict';
import type { RunRecord } from '../../src/api/types';
import { wireMessage } from '../../src/backends/amqp/wire';
import { AckWindow } from '../../src/sources/amqp/ackWindow';
import { brokerUrl, headerText, routingKey } from '../../src/sources/amqp/connection';
import { decodeMessage } from '../../src/sources/amqp/decode';
import { RunBatcher, type Delivered } from '../../src/sources/amqp/runBatcher';

const limits = { maxBatchPoints: 1000 };
const body = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

describe('AMQP: the ack window', () => {
  it('acks only the finished prefix of the delivery order', () => {
    const w = new AckWindow();
    for (const t of [1, 2, 3, 4, 5]) w.add(t);
    w.finish(2);
    w.finish(3);
    assert.equal(w.advance(), undefined, 'tag 1 is not finished: nothing may be acked');
    w.finish(1);
    assert.equal(w.advance(), 3);
    assert.equal(w.advance(), undefined, 'nothing new');
    w.finish(5);
    assert.equal(w.advance(), undefined);
    assert.equal(w.pending, 2);
    w.finish(4);
    assert.equal(w.advance(), 5);
    assert.equal(w.pending, 0);
    assert.equal(w.acked, 5);
  });

  it('keeps working over many deliveries (its list is compacted)', () => {
    const w = new AckWindow();
    for (let t = 1; t <= 5000; t++) {
      w.add(t);
      w.finish(t);
      if (t % 7 === 0) assert.equal(w.advance(), t);
    }
    assert.equal(w.advance(), 5000);
    assert.equal(w.pending, 0);
  });
});

describe('AMQP: decoding a message', () => {
  const start = { type: 'run.start', runId: 'r1', seq: 1, project: 'p', time: 1 };

  it('a run message, with or without the headers', () => {
    const d = decodeMessage(body(start), undefined, limits);
    assert.equal(d.kind, 'run');
    const h = decodeMessage(
      body(start),
      { 'runwatch-protocol': 1, 'runwatch-run-id': Buffer.from('r1'), 'runwatch-seq': 1 },
      limits,
    );
    assert.deepEqual(h, d);
    assert.ok(d.kind === 'run' && d.runId === 'r1' && d.seq === 1 && d.event.type === 'run.start');
  });

  it('refuses what is not protocol v1, saying why', () => {
    const reason = (b: Buffer, h?: Record<string, unknown>) => {
      const d = decodeMessage(b, h, limits);
      assert.equal(d.kind, 'bad');
      return d.kind === 'bad' ? d.reason : '';
    };
    assert.match(reason(body('{nope')), /not valid JSON/);
    assert.match(reason(body(start), { 'runwatch-protocol': 2 }), /runwatch-protocol is "2".*protocol 1/);
    assert.match(reason(body({ type: 'metrics', seq: 2, points: [] })), /no "runId"/);
    assert.match(reason(body(start), { 'runwatch-run-id': 'other' }), /runwatch-run-id is "other".*"r1"/);
    assert.match(reason(body(start), { 'runwatch-seq': 7 }), /runwatch-seq is 7/);
    assert.match(reason(body({ ...start, seq: 0 })), /seq/);
    assert.match(reason(body({ type: 'hello', client: 'c', version: '1', protocol: 1, token: 't' })), /hello/);
    assert.match(reason(body({ type: 'nonsense', runId: 'r1', seq: 1 })), /unknown message type/);
    const many = { type: 'metrics', runId: 'r1', seq: 2, points: [] as unknown[] };
    for (let i = 0; i < 1001; i++) many.points.push({ key: 'k', value: i, step: i, time: 1 });
    assert.match(reason(body(many)), /too_many_points|1000/);
  });

  it('a heartbeat is skipped, not refused', () => {
    assert.deepEqual(decodeMessage(body({ type: 'heartbeat', time: 1 }), undefined, limits), { kind: 'skip' });
  });

  it('header values as amqplib hands them over', () => {
    assert.equal(headerText(Buffer.from('x')), 'x');
    assert.equal(headerText(3), '3');
    assert.equal(headerText({ '!': 'long', value: 5 }), '5');
    assert.equal(headerText(undefined), undefined);
  });
});

describe('AMQP: a record as a message (backend) reads back as the same event (source)', () => {
  it('every event type, NaN and ±Infinity included, with run id and seq headers', () => {
    const events: RunRecord['event'][] = [
      { type: 'run.start', project: 'p', name: 'n', time: 1, params: { lr: 0.1 }, tags: { a: 'b' }, context: {} },
      {
        type: 'metrics',
        points: [
          { key: 'loss', value: 0.5, step: 1, time: 2 },
          { key: 'loss', value: NaN, step: 2, time: 3 },
          { key: 'loss', value: Infinity, step: 3, time: 3 },
          { key: 'loss', value: -Infinity, step: 4, time: 3 },
        ],
      },
      { type: 'params', params: { b: true } },
      { type: 'tags', tags: { t: 'u' } },
      { type: 'log', stream: 'stdout', lines: ['hi'], time: 4 },
      { type: 'run.end', status: 'finished', time: 5 },
    ];
    events.forEach((event, offset) => {
      const m = wireMessage({ runId: 'run-1', offset, event });
      assert.equal(m.seq, offset + 1);
      assert.deepEqual(m.headers, { 'runwatch-protocol': 1, 'runwatch-run-id': 'run-1', 'runwatch-seq': offset + 1 });
      const d = decodeMessage(m.body, m.headers, limits);
      assert.ok(d.kind === 'run', JSON.stringify(d));
      assert.equal(d.seq, offset + 1);
      assert.deepEqual(d.event, event);
    });
  });
});

describe('AMQP: broker URL and routing key', () => {
  it('puts the vhost in the path and the secret password in, masked when shown', () => {
    const u = brokerUrl({ url: 'amqp://alice@rabbit:5672', vhost: 'team/a', password: 'p@ss:w', heartbeatSeconds: 10 });
    assert.equal(u.url, 'amqp://alice:p%40ss%3Aw@rabbit:5672/team%2Fa?heartbeat=10');
    assert.equal(u.shown, 'amqp://alice:***@rabbit:5672/team%2Fa?heartbeat=10');
    assert.equal(brokerUrl({ url: 'amqps://h' }).url, 'amqps://h');
    assert.throws(() => brokerUrl({ url: 'http://h' }), /amqp:\/\//);
    assert.throws(() => brokerUrl({ url: 'not a url' }), /not a URL/);
  });

  it('routing keys are <project>.<run id>, the project without dots', () => {
    assert.equal(routingKey('vision.resnet run', 'abc'), 'vision_resnet_run.abc');
  });
});

describe('AMQP: deliveries of one turn are grouped by run', () => {
  it('one flush per run, in order', async () => {
    const calls: [string, number[]][] = [];
    const b = new RunBatcher((runId, items: Delivered[]) => calls.push([runId, items.map((i) => i.seq)]));
    const ev = { type: 'params', params: {} } as const;
    b.add('a', { seq: 1, event: ev, tag: 1 });
    b.add('b', { seq: 1, event: ev, tag: 2 });
    b.add('a', { seq: 2, event: ev, tag: 3 });
    assert.equal(calls.length, 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [
      ['a', [1, 2]],
      ['b', [1]],
    ]);
  });
});
