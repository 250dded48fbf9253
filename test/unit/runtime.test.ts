// The runtime both composition roots use, in plain Node with real parts: a writer and
// an 'auto' runtime on one store (the second reads, live, with no collector of its own
// and the owner's address), the reader taking over when the writer shuts down (on the
// port and token the writer had), and the one shutdown order.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Hub } from '../../src/core/hub';
import { memoryLogger } from '../../src/common/logger';
import { Runtime, type RuntimeOptions } from '../../src/runtime/runtime';
import { ReliableClient, waitUntil } from './collectorTestClient';

const collector = { host: '127.0.0.1', port: 0, maxFrameBytes: 1 << 20, heartbeatTimeoutMs: 30_000 };

describe('runtime', function () {
  this.timeout(60_000);
  let dir: string;
  const open: Runtime[] = [];
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-runtime-'))));
  afterEach(async () => {
    for (const rt of open.splice(0)) await rt.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const opts = (extra: Partial<RuntimeOptions> = {}): RuntimeOptions => ({
    storeDir: path.join(dir, 'store'),
    version: 'test',
    logger: memoryLogger(),
    collector,
    series: true,
    readerCacheDir: path.join(dir, 'reader-cache'),
    ...extra,
  });

  it('a second runtime on an owned store reads it live, runs no collector, and takes over on the same address', async () => {
    const writer = await Runtime.open(opts({ owner: 'window one' }));
    open.push(writer);
    assert.equal(writer.role, 'writer');
    const address = writer.address!;
    const reader = await Runtime.open(opts({ role: 'auto', owner: 'window two' }));
    open.push(reader);
    assert.equal(reader.role, 'reader');
    assert.equal(reader.owner?.owner, 'window one');
    assert.equal(reader.collector, undefined, 'no collector of its own');
    assert.deepEqual(reader.address, address, "its terminals get the owner's collector");

    const c = new ReliableClient('live', address.token);
    await c.connect(address.url);
    c.send({ type: 'run.start', project: 'p', time: 1 });
    await c.waitAcked(c.send({ type: 'metrics', points: [{ key: 'loss', value: 1, step: 0, time: 1 }] }));
    await waitUntil(() => reader.store.getRun('live') !== undefined, 'the reader sees the run');
    await waitUntil(() => reader.series!.keys('live').includes('loss'), "the reader's charts have its series");
    assert.ok(
      !fs.existsSync(path.join(dir, 'store', 'runs', 'live', 'series')) || writer.series,
      'reader cache elsewhere',
    );
    assert.ok(fs.readdirSync(path.join(dir, 'reader-cache')).length > 0, "the reader's series cache is its own");
    c.conn?.close();

    const taking = reader.takeOver();
    await writer.shutdown();
    const next = await taking;
    open.push(next);
    assert.equal(next.role, 'writer');
    assert.deepEqual([next.address?.port, next.address?.token], [address.port, address.token]);
    assert.equal(next.store.getRun('live')?.runId, 'live');
  });

  it('a writer on an owned store is refused, naming the owner', async () => {
    open.push(await Runtime.open(opts({ owner: 'the first' })));
    await assert.rejects(Runtime.open(opts()), /in use by the first/);
  });

  it('shuts down in one order: collector, then backends, then series, then the store', async () => {
    const order: string[] = [];
    const rt = await Runtime.open(
      opts({
        startHub: async () =>
          ({ dispose: async () => void order.push(`hub (collector ${rt.address ? 'up' : 'down'})`) }) as unknown as Hub,
      }),
    );
    const store = rt.store;
    const closeStore = store.close.bind(store);
    store.close = async () => {
      order.push('store');
      return closeStore();
    };
    const series = rt.series!;
    const disposeSeries = series.dispose.bind(series);
    series.dispose = async () => {
      order.push('series');
      return disposeSeries();
    };
    rt.onDidChangeAddress((a) => a === undefined && order.push('collector'));
    await rt.shutdown();
    assert.deepEqual(order, ['collector', 'hub (collector down)', 'series', 'store']);
    assert.ok(!fs.existsSync(path.join(dir, 'store', 'collector.json')), 'discovery file removed');
  });
});
