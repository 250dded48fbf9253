// The collector over real sockets: refusals, acks only after durability, dedupe
// of resends after a reconnect, heartbeat timeout -> crashed.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunRecord } from '../../src/api/types';
import { spawn } from 'child_process';
import { Collector } from '../../src/collector/collector';
import { writeDiscovery } from '../../src/collector/discovery';
import { packColumn } from '../../src/protocol/packedColumn';
import { RunStore } from '../../src/store/runStore';
import { ReliableClient, TestConnection, waitUntil } from './collectorTestClient';

const TOKEN = 'test-token-123';

function runStart(project = 'p') {
  return { type: 'run.start', project, name: 'test run', time: 1700000000, params: { lr: 0.01 } };
}

function batch(from: number, n: number) {
  return {
    type: 'metrics',
    points: Array.from({ length: n }, (_, i) => ({
      key: 'loss',
      value: (from + i) * 0.5,
      step: from + i,
      time: 1700000000 + from + i,
    })),
  };
}

function pointsOf(records: RunRecord[]): { step: number; value: number }[] {
  return records.flatMap((r) =>
    r.event.type === 'metrics' ? r.event.points.map((p) => ({ step: p.step, value: p.value })) : [],
  );
}

describe('collector', function () {
  this.timeout(60_000);
  let dir: string;
  let store: RunStore;
  let collector: Collector;
  let url: string;

  async function startCollector(opts: { heartbeatTimeoutMs?: number; maxFrameBytes?: number } = {}) {
    store = await RunStore.open(dir);
    collector = new Collector({ store, token: TOKEN, ...opts });
    url = (await collector.start()).url;
  }

  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-coll-'))));
  afterEach(async () => {
    await collector?.stop();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1, welcomes a client with the right token and limits', async () => {
    await startCollector({ heartbeatTimeoutMs: 9000, maxFrameBytes: 100_000 });
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    const c = await TestConnection.connect(url, TOKEN);
    const w = c.messages[0];
    assert.equal(w.type, 'welcome');
    assert.equal(w.protocol, 1);
    assert.deepEqual(w.limits, { maxFrameBytes: 100_000, maxBatchPoints: 100_000 });
    assert.equal(w.heartbeatIntervalMs, 3000);
    c.send({ type: 'heartbeat' });
    await c.waitFor(() => c.messages.some((m) => m.type === 'heartbeat'), 'heartbeat reply');
    c.close();
  });

  it('refuses a hello without a token, with a wrong token, or any other first message: close 1008 with a reason', async () => {
    await startCollector();
    const noToken = await TestConnection.open(url);
    noToken.send({ type: 'hello', client: 'x', version: '0', protocol: 1 });
    const a = await noToken.waitClosed();
    assert.equal(a.code, 1008);
    assert.match(a.reason, /missing token/);

    const wrong = await TestConnection.open(url);
    wrong.send({ type: 'hello', client: 'x', version: '0', protocol: 1, token: 'nope' });
    const b = await wrong.waitClosed();
    assert.equal(b.code, 1008);
    assert.match(b.reason, /wrong token/);

    const early = await TestConnection.open(url);
    early.send({ ...runStart(), runId: 'r', seq: 1 });
    const c = await early.waitClosed();
    assert.equal(c.code, 1008);
    assert.match(c.reason, /first message must be hello/);
    assert.equal(wrong.messages.length + noToken.messages.length + early.messages.length, 0);
    assert.equal(store.listRuns().length, 0);
  });

  it('refuses an upgrade carrying a browser Origin before any WebSocket exists', async () => {
    await startCollector();
    await assert.rejects(TestConnection.open(url, { Origin: 'https://evil.example' }), /HTTP 403/);
    await assert.rejects(TestConnection.open(url, { Origin: 'null' }), /HTTP 403/);
    // Without Origin the same collector still serves.
    (await TestConnection.connect(url, TOKEN)).close();
  });

  it('closes an oversized frame with 1009 and loses nothing already accepted', async () => {
    await startCollector({ maxFrameBytes: 4096 });
    const c = new ReliableClient('big-run', TOKEN);
    await c.connect(url);
    c.send(runStart());
    const s = c.send(batch(0, 10));
    await c.waitAcked(s);
    c.conn!.send({ ...batch(10, 200), runId: 'big-run', seq: 3 });
    const closed = await c.conn!.waitClosed();
    assert.equal(closed.code, 1009);
    const recs = await store.read('big-run', 0, 100);
    assert.equal(recs.length, 2);
    assert.equal(pointsOf(recs).length, 10);
  });

  it('answers malformed frames with errors naming code and seq, and keeps the connection', async () => {
    await startCollector();
    const c = await TestConnection.connect(url, TOKEN);
    c.send('{not json');
    c.send({ type: 'metrics', runId: 'r', seq: 5, points: [{ key: 'a', value: 'oops', step: 1, time: 1 }] });
    c.send({ type: 'launch', runId: 'r', seq: 6 });
    c.send({ type: 'params', runId: 'never-started', seq: 7, params: { a: 1 } });
    c.send({ ...batch(0, 100_001), runId: 'r', seq: 8 });
    await c.waitFor(() => c.messages.filter((m) => m.type === 'error').length === 5, '5 errors');
    const errs = c.messages.filter((m) => m.type === 'error');
    assert.deepEqual(
      errs.map((e) => [e.code, e.seq]),
      [
        ['bad_json', undefined],
        ['bad_message', 5],
        ['unknown_type', 6],
        ['unknown_run', 7],
        ['too_many_points', 8],
      ],
    );
    assert.match(errs[1].message as string, /points\[0\]\.value must be a number/);
    assert.equal(c.closed, undefined);
    // Still serving on the same connection.
    c.send({ ...runStart(), runId: 'ok', seq: 1 });
    await c.waitFor(() => c.ackedSeq('ok') === 1, 'ack');
    c.close();
  });

  it('acknowledges only what the store holds durably, cumulatively per run', async () => {
    await startCollector();
    const c = new ReliableClient('run-a', TOKEN);
    await c.connect(url);
    c.send(runStart());
    for (let i = 0; i < 50; i++) c.send(batch(i * 10, 10));
    // Every ack must be covered by what an independent reader of the log sees at that moment.
    const checks: Promise<void>[] = [];
    c.conn!.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'ack') {
        checks.push(
          (async () => {
            assert.ok(store.lastSeq('run-a') >= m.seq);
            const recs = await store.read('run-a', 0, 1000);
            assert.ok(recs.length >= m.seq, `ack ${m.seq} with only ${recs.length} records in the log`);
          })(),
        );
      }
    });
    await c.waitAcked(51);
    await Promise.all(checks);
    assert.ok(checks.length >= 1);
    const acks = c.conn!.messages.filter((m) => m.type === 'ack').map((m) => m.seq as number);
    assert.deepEqual(
      acks,
      [...acks].sort((x, y) => x - y),
      'acks never go backwards',
    );
    c.conn!.close();
  });

  it('drops what it already holds when a client reconnects and resends: every point exactly once', async () => {
    await startCollector();
    const c = new ReliableClient('resend-run', TOKEN);
    await c.connect(url);
    c.send(runStart());
    for (let i = 0; i < 40; i++) c.send(batch(i * 25, 25));
    await c.waitAcked(41);
    // Vanish; acks above 10 count as lost in flight, so 11..41 are resent though the collector holds them.
    c.conn!.close();
    await c.conn!.waitClosed();
    c.forgetAcksAbove(10);
    for (let i = 40; i < 60; i++) c.send(batch(i * 25, 25)); // kept while disconnected
    await c.connect(url);
    await c.waitAcked(c.lastSeq);
    assert.equal(c.resent, 51);
    const recs = await store.read('resend-run', 0, 10_000);
    assert.equal(recs.length, 61);
    const pts = pointsOf(recs);
    assert.equal(pts.length, 60 * 25);
    pts.forEach((p, i) => assert.deepEqual(p, { step: i, value: i * 0.5 }));
    c.conn!.close();
  });

  it('stores metrics frames as received but reads back clean events (extra fields dropped, NaN decoded), the same as onDidAppend saw', async () => {
    await startCollector();
    const seen: RunRecord[] = [];
    store.onDidAppend((_id, recs) => seen.push(...recs));
    const c = new ReliableClient('wire', TOKEN);
    await c.connect(url);
    c.send(runStart());
    const s = c.send({
      type: 'metrics',
      note: 'ignored',
      points: [
        { key: 'a', value: 'NaN', step: 3, time: 5, junk: [1, 2] },
        { key: 'b', value: -2.5, step: 4, time: 6 },
      ],
    });
    await c.waitAcked(s);
    const [rec] = await store.read('wire', 1, 1);
    assert.equal(rec.event.type, 'metrics');
    const pts = rec.event.type === 'metrics' ? rec.event.points : [];
    assert.equal(pts.length, 2);
    assert.ok(Number.isNaN(pts[0].value));
    assert.deepEqual({ ...pts[0], value: 0 }, { key: 'a', value: 0, step: 3, time: 5 });
    assert.deepEqual(pts[1], { key: 'b', value: -2.5, step: 4, time: 6 });
    assert.deepEqual(Object.keys(rec.event), ['type', 'points']);
    assert.deepEqual(seen[1], rec);
    c.conn!.close();
  });

  it('a columnar (cols) metrics frame, with its columns as numbers or packed, gives the same points as the object form: through onDidAppend, a read, and a read after reopening the store', async () => {
    await startCollector();
    const seen = new Map<string, RunRecord[]>();
    store.onDidAppend((id, recs) => seen.set(id, [...(seen.get(id) ?? []), ...recs]));
    const objects = [
      { key: 'train/loss', value: 0.5, step: 0, time: 1732252800.1 },
      { key: 'train/acc', value: 'NaN', step: 0, time: 1732252800.1 },
      { key: 'train/loss', value: 'Infinity', step: 1, time: 1732252800.2 },
      { key: 'train/acc', value: '-Infinity', step: 1, time: 1732252800.2 },
      { key: 'lr', value: 3e-4, step: 7, time: 0 },
    ];
    const cols = {
      keys: ['train/loss', 'train/acc', 'lr'],
      k: [0, 1, 0, 1, 2],
      v: [0.5, 'NaN', 'Infinity', '-Infinity', 3e-4],
      s: [0, 0, 1, 1, 7],
      t: [1732252800.1, 1732252800.1, 1732252800.2, 1732252800.2, 0],
    };
    for (const [runId, body] of [
      ['as-objects', { points: objects }],
      ['as-cols', { cols, note: 'ignored' }],
      [
        'as-packed',
        {
          cols: {
            ...cols,
            v: packColumn([0.5, NaN, Infinity, -Infinity, 3e-4]),
            s: packColumn(cols.s, 4),
            t: packColumn(cols.t),
          },
        },
      ],
    ] as const) {
      const c = new ReliableClient(runId, TOKEN);
      await c.connect(url);
      c.send(runStart());
      await c.waitAcked(c.send({ type: 'metrics', ...body }));
      c.conn!.close();
    }
    const expected = objects.map((p) => ({ ...p, value: typeof p.value === 'number' ? p.value : Number(p.value) }));
    const pointsAt = (recs: RunRecord[]) => recs.flatMap((r) => (r.event.type === 'metrics' ? r.event.points : []));
    for (const runId of ['as-objects', 'as-cols', 'as-packed']) {
      assert.deepEqual(pointsAt(seen.get(runId) ?? []), expected, `${runId}: onDidAppend`);
      assert.deepEqual(pointsAt(await store.read(runId, 0, 10)), expected, `${runId}: read`);
    }
    // Stored as received: the log holds the columns themselves.
    const raw = fs.readFileSync(path.join(dir, 'runs', 'as-cols', 'log.rwl'), 'utf8');
    assert.ok(raw.includes('"cols":{"keys":["train/loss","train/acc","lr"]'), 'the cols frame is stored as received');
    await collector.stop();
    await store.close();
    // Reopened, and again with meta.json gone, so the summary is rebuilt by replaying the log.
    for (const dropMeta of [false, true]) {
      if (dropMeta)
        for (const runId of ['as-objects', 'as-cols', 'as-packed'])
          fs.rmSync(path.join(dir, 'runs', runId, 'meta.json'));
      store = await RunStore.open(dir);
      for (const runId of ['as-objects', 'as-cols', 'as-packed']) {
        const recs = await store.read(runId, 0, 10);
        assert.deepEqual(
          pointsAt(recs),
          expected,
          `${runId}: read after reopening${dropMeta ? ' without meta.json' : ''}`,
        );
        assert.deepEqual(Object.keys(recs[1].event), ['type', 'points']);
        assert.equal(store.getRun(runId)?.lastStep, 7);
        assert.equal(store.lastSeq(runId), 2);
      }
      await store.close();
    }
    await startCollector(); // for afterEach
  });

  it('marks a run crashed after the heartbeat timeout when its client vanishes, keeping every acked point', async () => {
    await startCollector({ heartbeatTimeoutMs: 500 });
    const c = new ReliableClient('doomed', TOKEN);
    await c.connect(url);
    c.send(runStart());
    for (let i = 0; i < 20; i++) c.send(batch(i * 50, 50));
    await c.waitAcked(21);
    c.conn!.close(); // no run.end
    await waitUntil(() => store.getRun('doomed')?.status === 'crashed', 'run marked crashed');
    const recs = await store.read('doomed', 0, 1000);
    assert.equal(pointsOf(recs).length, 20 * 50);
    const last = recs[recs.length - 1].event;
    assert.equal(last.type, 'run.end');
    assert.equal(last.type === 'run.end' && last.status, 'crashed');
    assert.ok(store.getRun('doomed')!.endTime! > 0);
  });

  it('keeps a run alive while its client sends heartbeats, and when it reconnects within the timeout', async () => {
    await startCollector({ heartbeatTimeoutMs: 3000 });
    const c = new ReliableClient('resumed', TOKEN);
    await c.connect(url);
    c.send(runStart());
    await c.waitAcked(1);
    c.conn!.close();
    await c.connect(url); // straight back, well within the timeout
    const until = Date.now() + 4500; // longer than the timeout in total
    let step = 0;
    while (Date.now() < until) {
      c.conn!.send({ type: 'heartbeat', time: Date.now() / 1000 });
      c.send(batch(step++, 1));
      await new Promise((r) => setTimeout(r, 200));
    }
    const end = c.send({ type: 'run.end', status: 'finished', time: 1700000100 });
    await c.waitAcked(end);
    assert.equal(store.getRun('resumed')!.status, 'finished');
    const recs = await store.read('resumed', 0, 1000);
    assert.ok(!recs.some((r) => r.event.type === 'run.end' && r.event.status === 'crashed'), 'never marked crashed');
    c.conn!.close();
  });

  it('does not count time its own process was stalled against a client (busy event loop, machine asleep)', async () => {
    await startCollector({ heartbeatTimeoutMs: 400 });
    const c = new ReliableClient('stalled', TOKEN);
    await c.connect(url);
    c.send(runStart());
    await c.waitAcked(1);
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      // Block the event loop (collector and client share this process) for far longer than the timeout.
    }
    c.conn!.send({ type: 'heartbeat' });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      c.conn!.send({ type: 'heartbeat' });
    }
    const end = c.send({ type: 'run.end', status: 'finished', time: 2 });
    await c.waitAcked(end);
    const recs = await store.read('stalled', 0, 100);
    assert.ok(!recs.some((r) => r.event.type === 'run.end' && r.event.status === 'crashed'), 'never marked crashed');
    c.conn!.close();
  });

  it('gives runs left running by a previous collector one timeout, then marks them crashed', async () => {
    const s0 = await RunStore.open(dir);
    await s0.append('orphan', [
      { seq: 1, event: { type: 'run.start', project: 'p', name: 'o', time: 1, params: {}, tags: {}, context: {} } },
    ]);
    await s0.close();
    await startCollector({ heartbeatTimeoutMs: 300 });
    await waitUntil(() => store.getRun('orphan')?.status === 'crashed', 'orphan crashed');
  });

  // The store's lock keeps a second writer out, so a discovery file naming a live pid is stale
  // (the pid was reused): its runs left running are still ended, never stuck "running".
  it('ends runs left running even when a stale discovery file names a live process', async () => {
    const s0 = await RunStore.open(dir);
    await s0.append('theirs', [
      { seq: 1, event: { type: 'run.start', project: 'p', name: 'o', time: 1, params: {}, tags: {}, context: {} } },
    ]);
    await s0.close();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    try {
      await writeDiscovery(dir, {
        url: 'ws://127.0.0.1:1',
        token: 'x',
        pid: other.pid!,
        version: '0',
        spoolDir: path.join(dir, 'spool'),
      });
      const warnings: string[] = [];
      store = await RunStore.open(dir);
      collector = new Collector({
        store,
        token: TOKEN,
        heartbeatTimeoutMs: 200,
        logger: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined },
      });
      await collector.start();
      await waitUntil(() => store.getRun('theirs')?.status === 'crashed', 'the orphaned run crashed');
      assert.ok(!warnings.some((w) => w.includes('another collector')), warnings.join('\n'));
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('reports its state: clients and live runs', async () => {
    await startCollector();
    const seen: { clients: number; liveRuns: number }[] = [];
    collector.onDidChangeState((s) => seen.push({ clients: s.clients, liveRuns: s.liveRuns }));
    const c = new ReliableClient('stateful', TOKEN);
    await c.connect(url);
    c.send(runStart());
    await c.waitAcked(1);
    assert.deepEqual(collector.state.clients, 1);
    assert.deepEqual(collector.state.liveRuns, 1);
    const end = c.send({ type: 'run.end', status: 'finished', time: 2 });
    await c.waitAcked(end);
    await waitUntil(() => collector.state.liveRuns === 0, 'no live runs');
    c.conn!.close();
    await waitUntil(() => collector.state.clients === 0, 'no clients');
    assert.ok(seen.some((s) => s.clients === 1 && s.liveRuns === 1));
  });

  it('a run deleted while its client streams is no longer live, and its further data is refused with unknown_run', async () => {
    await startCollector();
    const c = new ReliableClient('deleted-live', TOKEN);
    await c.connect(url);
    c.send(runStart());
    await c.waitAcked(1);
    assert.equal(collector.state.liveRuns, 1);
    await store.deleteRun('deleted-live');
    assert.equal(collector.state.liveRuns, 0, 'deleting the run ends its watch at once');
    c.send({ type: 'metrics', points: [{ key: 'k', value: 1, step: 0, time: 1 }] });
    await waitUntil(
      () => c.conn!.messages.some((m) => m.type === 'error' && m.code === 'unknown_run'),
      'unknown_run for the deleted run',
    );
    assert.equal(store.hasRun('deleted-live'), false);
    c.conn!.close();
  });
});
