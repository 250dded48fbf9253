// The sink runner against a real RunStore: fault isolation (throwing, hanging and
// slow backends), the breaker opening and closing, and resuming at the cursor
// after a restart with exact counts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mock } from 'node:test';
import type { BackendPlugin, PluginLogger, RunBatch, RunEvent, RunRecord } from '../../src/api/types';
import { silentLogger } from '../../src/common/logger';
import { CursorStore } from '../../src/core/cursorStore';
import { Hub, type BackendStatus } from '../../src/core/hub';
import { buildPipeline } from '../../src/core/processors';
import { DEFAULT_SINK_OPTIONS, SinkRunner, type RecordSource, type SinkOptions } from '../../src/core/sinkRunner';
import { RunStore } from '../../src/store/runStore';
import { waitFor } from '../support/waitFor';

const WAIT = { timeoutMs: 60_000, intervalMs: 20 };

const quiet: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const FAST = {
  batchSize: 5,
  maxQueueBatches: 2,
  writeTimeoutMs: 300,
  backoff: { baseMs: 5, maxMs: 40 },
  breaker: { failureThreshold: 3, coolDownMs: 300 },
};

/** An external system that remembers what it holds, across backend instances. */
class Remote {
  readonly held = new Map<string, Set<number>>();
  duplicatesOffered = 0;
  count(): number {
    let n = 0;
    for (const s of this.held.values()) n += s.size;
    return n;
  }
}

function recordingBackend(
  id: string,
  remote: Remote,
  opts: { delayMs?: number; failing?: () => boolean; hang?: boolean } = {},
) {
  const calls: RunBatch[] = [];
  const plugin: BackendPlugin = {
    metadata: { id, displayName: id, version: '1', kind: 'backend', capabilities: [] },
    async initialize() {},
    async write(batch) {
      calls.push(batch);
      if (opts.hang) return new Promise<void>(() => undefined);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.failing?.()) throw new Error(`${id} is down`);
      const s = remote.held.get(batch.run.runId) ?? new Set<number>();
      remote.held.set(batch.run.runId, s);
      // Idempotent on (runId, offset), as the API asks backends to be.
      for (const r of batch.records) {
        if (s.has(r.offset)) remote.duplicatesOffered++;
        s.add(r.offset);
      }
    },
    async healthCheck() {
      return { healthy: true, details: 'ok' };
    },
    dispose() {},
  };
  return { plugin, calls };
}

function start(project = 'p'): RunEvent {
  return {
    type: 'run.start',
    project,
    name: 'r',
    time: 1,
    params: { lr: 0.1, api_key: 'sk-123' },
    tags: {},
    context: {},
  };
}
function metrics(step: number): RunEvent {
  return { type: 'metrics', points: [{ key: 'loss', value: 1 / (step + 1), step, time: 1000 + step }] };
}

describe('sink runner', function () {
  this.timeout(120_000);
  let dir: string;
  let store: RunStore;
  const hubs: Hub[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-sink-'));
    store = await RunStore.open(path.join(dir, 'store'));
  });
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.dispose();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function hub(): Hub {
    const h = new Hub({
      store,
      stateDir: path.join(dir, 'state'),
      logger: quiet,
      sink: FAST,
      pluginCallTimeoutMs: 5_000,
    });
    hubs.push(h);
    return h;
  }
  const st = (h: Hub, id: string): BackendStatus => h.status().find((s) => s.id === id)!;

  it('a throwing, a hanging and a slow backend slow neither ingest nor a healthy backend', async () => {
    const h = hub();
    const good = new Remote(),
      slowRemote = new Remote(),
      other = new Remote();
    const g = recordingBackend('good', good);
    const slow = recordingBackend('slow', slowRemote, { delayMs: 1000 });
    h.registerPlugin(g.plugin);
    h.registerPlugin(slow.plugin);
    h.registerPlugin(recordingBackend('broken', other, { failing: () => true }).plugin);
    h.registerPlugin(recordingBackend('hanging', other, { hang: true }).plugin);
    await h.selectBackends(['good', 'slow', 'broken', 'hanging']);

    // 201 records at 5 per batch: the slow backend needs about 40 s to drain them.
    const runId = 'run-faults';
    await store.append(runId, [{ seq: 1, event: start() }]);
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) appends.push(store.append(runId, [{ seq: i + 2, event: metrics(i) }]));
    await Promise.all(appends); // ingest acknowledged everything…
    const total = store.recordCount(runId);
    assert.equal(total, 201);
    // …while the slow backend was still far behind: ingest did not wait for it.
    assert.ok(slowRemote.count() < total / 2, `slow backend already held ${slowRemote.count()} of ${total}`);

    await waitFor('the good backend to catch up', () => good.count() === total && st(h, 'good').lag === 0, WAIT);
    assert.ok(st(h, 'slow').lag > 0, 'the good backend caught up while the slow one was still behind');
    assert.equal(good.duplicatesOffered, 0);
    assert.equal(other.count(), 0);

    await waitFor(
      'the broken and hanging backends to open their breakers',
      () => st(h, 'broken').breaker !== 'closed' && st(h, 'hanging').breaker !== 'closed',
      WAIT,
    );
    assert.equal(st(h, 'broken').healthy, false);
    assert.match(st(h, 'broken').lastError ?? '', /always|down/);
    assert.match(st(h, 'hanging').lastError ?? '', /did not finish within 300 ms/);
    assert.equal(st(h, 'broken').lag, total);
    assert.ok(st(h, 'good').healthy);
    // The queue is bounded: never more than maxQueueBatches × batchSize records in memory.
    assert.ok(st(h, 'slow').queueDepth <= FAST.maxQueueBatches * FAST.batchSize);
  });

  it('sizes batches by metric points too: large frames do not make a slow or failing backend hold (and decode) thousands of points', async () => {
    const h = new Hub({
      store,
      stateDir: path.join(dir, 'state'),
      logger: quiet,
      sink: { ...FAST, batchSize: 500, maxBatchPoints: 3_000 },
      pluginCallTimeoutMs: 5_000,
    });
    hubs.push(h);
    const remote = new Remote();
    const b = recordingBackend('big', remote);
    h.registerPlugin(b.plugin);
    h.registerPlugin(recordingBackend('broken', new Remote(), { failing: () => true }).plugin);
    // The run is in the log before the backends start (as after an outage): they read it in batches.
    const runId = 'run-big-frames';
    await store.append(runId, [{ seq: 1, event: start() }]);
    const frame = (i: number): RunEvent => ({
      type: 'metrics',
      points: Array.from({ length: 1000 }, (_, j) => ({ key: 'loss', value: j, step: i * 1000 + j, time: 1000 + i })),
    });
    for (let i = 0; i < 40; i++) await store.append(runId, [{ seq: i + 2, event: frame(i) }]);
    const total = store.recordCount(runId);
    await h.selectBackends(['big', 'broken']);
    await waitFor('every record delivered', () => remote.count() === total, WAIT);
    assert.equal(remote.duplicatesOffered, 0);
    const points = (batch: RunBatch) =>
      batch.records.reduce((n, r) => n + (r.event.type === 'metrics' ? r.event.points.length : 1), 0);
    // The first read of a run is small; after it every batch stays within the budget.
    assert.ok(b.calls.length >= 12, `${b.calls.length} writes for 40,001 points`);
    for (const batch of b.calls) assert.ok(points(batch) <= 8_001, `a batch of ${points(batch)} points`);
    for (const batch of b.calls.slice(1))
      assert.ok(points(batch) <= 3_000, `a batch of ${points(batch)} points after the first`);
    // The failing backend holds its first small read (8 records) and then batches of 3, not the whole run.
    assert.ok(
      st(h, 'broken').queueDepth <= 8 + (FAST.maxQueueBatches - 1) * 3,
      `broken holds ${st(h, 'broken').queueDepth} records`,
    );
  });

  it('the breaker opens after consecutive failures and closes when the backend recovers, with every record once', async () => {
    const h = hub();
    const remote = new Remote();
    let down = true;
    const b = recordingBackend('flaky', remote, { failing: () => down });
    h.registerPlugin(b.plugin);
    await h.selectBackends(['flaky']);
    const breakerStates = new Set<string>();
    h.onDidChangeStatus(() => breakerStates.add(st(h, 'flaky').breaker));

    await store.append('run-flaky', [
      { event: start() },
      ...Array.from({ length: 30 }, (_, i) => ({ event: metrics(i) })),
    ]);
    await waitFor('the breaker to open', () => st(h, 'flaky').breaker === 'open', WAIT);
    assert.equal(st(h, 'flaky').healthy, false);
    const callsWhileOpen = b.calls.length;
    down = false;
    await waitFor('the backend to catch up', () => remote.count() === 31 && st(h, 'flaky').lag === 0, WAIT);
    assert.equal(st(h, 'flaky').breaker, 'closed');
    assert.ok(st(h, 'flaky').healthy);
    assert.ok(b.calls.length > callsWhileOpen);
    // What was retried arrives once in effect: the backend held each offset once.
    assert.deepEqual(
      [...remote.held.get('run-flaky')!].sort((x, y) => x - y),
      Array.from({ length: 31 }, (_, i) => i),
    );
  });

  it("a new hub on the same state folder resumes at each backend's cursor", async () => {
    const remoteA = new Remote(),
      remoteB = new Remote();
    const h1 = hub();
    h1.registerPlugin(recordingBackend('a', remoteA).plugin);
    h1.registerPlugin(recordingBackend('b', remoteB).plugin);
    await h1.selectBackends(['a', 'b']);
    await store.append('run-1', [{ event: start() }, ...Array.from({ length: 49 }, (_, i) => ({ event: metrics(i) }))]);
    await waitFor('both backends to catch up', () => remoteA.count() === 50 && remoteB.count() === 50, WAIT);
    await waitFor('lag 0', () => st(h1, 'a').lag === 0 && st(h1, 'b').lag === 0, WAIT);
    await h1.dispose();
    hubs.splice(hubs.indexOf(h1), 1);

    // Written while no hub runs: a second run and more of the first.
    await store.append(
      'run-1',
      Array.from({ length: 20 }, (_, i) => ({ event: metrics(100 + i) })),
    );
    await store.append('run-2', [{ event: start() }, ...Array.from({ length: 9 }, (_, i) => ({ event: metrics(i) }))]);

    const h2 = hub();
    const a2 = recordingBackend('a', remoteA);
    const b2 = recordingBackend('b', remoteB);
    h2.registerPlugin(a2.plugin);
    h2.registerPlugin(b2.plugin);
    await h2.selectBackends(['a', 'b']);
    await waitFor('resume', () => remoteA.count() === 80 && remoteB.count() === 80, WAIT);
    await waitFor('lag 0 after resume', () => st(h2, 'a').lag === 0 && st(h2, 'b').lag === 0, WAIT);
    // Only what was missing was sent: exactly 30 records, none from before the cursor.
    for (const calls of [a2.calls, b2.calls]) {
      const offered = calls.flatMap((c) => c.records.map((r) => `${r.runId}:${r.offset}`));
      assert.equal(offered.length, 30);
      assert.ok(
        calls
          .flatMap((c) => c.records)
          .filter((r) => r.runId === 'run-1')
          .every((r) => r.offset >= 50),
      );
    }
    assert.equal(remoteA.duplicatesOffered + remoteB.duplicatesOffered, 0);
  });

  it('a retried batch carries exactly what the first attempt carried (stateful processors included)', async () => {
    const h = hub();
    let failures = 2;
    const b = recordingBackend('retry', new Remote(), { failing: () => failures-- > 0 });
    h.registerPlugin(b.plugin);
    await h.selectBackends(['retry'], { retry: { processors: [{ type: 'downsample', minIntervalSeconds: 10 }] } });
    // Times 1000..1004: one 10-second bucket, so one point survives.
    await store.append('run-r', [{ event: start() }, ...Array.from({ length: 4 }, (_, i) => ({ event: metrics(i) }))]);
    await waitFor('delivery after two failures', () => st(h, 'retry').lag === 0, WAIT);
    assert.equal(b.calls.length, 3);
    const sent = b.calls.map((c) => JSON.stringify(c.records));
    assert.equal(sent[0], sent[1]);
    assert.equal(sent[1], sent[2]);
    const points = b.calls[2].records.flatMap((r) => (r.event.type === 'metrics' ? r.event.points : []));
    assert.deepEqual(
      points.map((p) => p.step),
      [0],
    );
  });

  it('an idle backend waits out a burst of appends, but at most maxWaitMs, then catches up while appends go on', async () => {
    const quietMs = 150;
    const maxWaitMs = 700;
    const h = new Hub({
      store,
      stateDir: path.join(dir, 'state'),
      logger: quiet,
      sink: { ...FAST, batchSize: 500, settle: { quietMs, maxWaitMs } },
      pluginCallTimeoutMs: 5_000,
    });
    hubs.push(h);
    const remote = new Remote();
    const b = recordingBackend('calm', remote);
    const writes: number[] = [];
    const write = b.plugin.write.bind(b.plugin);
    b.plugin.write = (batch) => (writes.push(performance.now()), write(batch));
    h.registerPlugin(b.plugin);
    await h.selectBackends(['calm']);
    const appended: number[] = [];
    const appendFor = async (ms: number): Promise<void> => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const i = appended.length;
        const t = performance.now(); // the append notifies the runner before it resolves
        await store.append('run-s', [{ event: i === 0 ? start() : metrics(i) }]);
        appended.push(t);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // The first write of a cycle comes only after appends paused for quietMs, or maxWaitMs after they began.
    // (Timed from when each append began, so a slow fsync on a loaded machine cannot fake a pause.)
    const waited = (from: number): void => {
      const w = writes[0];
      const before = appended.filter((t) => t <= w);
      const pause = w - before[before.length - 1];
      const since = w - appended[from];
      assert.ok(
        pause >= quietMs - 5 || since >= maxWaitMs - 5,
        `first write ${Math.round(pause)} ms after an append, ${Math.round(since)} ms into the burst`,
      );
    };
    await appendFor(400);
    await waitFor('caught up', () => st(h, 'calm').lag === 0, WAIT);
    waited(0);
    assert.equal(remote.count(), appended.length);
    // A long burst: delivered in cycles while it goes on, not only at its end.
    writes.length = 0;
    const from = appended.length;
    const t1 = performance.now();
    await appendFor(2500);
    const end = performance.now();
    await waitFor('caught up', () => st(h, 'calm').lag === 0, WAIT);
    waited(from);
    assert.ok(writes[0] - t1 < 2000, `first write ${Math.round(writes[0] - t1)} ms into a 2.5 s burst`);
    assert.ok(writes.filter((t) => t < end).length >= 2, 'delivery goes on during the burst');
    assert.equal(remote.count(), appended.length);
    assert.equal(remote.duplicatesOffered, 0);
  });

  it('applies processors per backend: one downsampled, the other complete, secrets masked for both', async () => {
    const h = hub();
    const full = recordingBackend('full', new Remote());
    const thin = recordingBackend('thin', new Remote());
    h.registerPlugin(full.plugin);
    h.registerPlugin(thin.plugin);
    await h.selectBackends(['full', 'thin'], {
      thin: { processors: [{ type: 'downsample', every: 10 }, { type: 'mask' }] },
    });
    await store.append('run-p', [{ event: start() }, ...Array.from({ length: 40 }, (_, i) => ({ event: metrics(i) }))]);
    await waitFor('both caught up', () => st(h, 'full').lag === 0 && st(h, 'thin').lag === 0, WAIT);
    const steps = (calls: RunBatch[]) =>
      calls
        .flatMap((c) => c.records)
        .flatMap((r) => (r.event.type === 'metrics' ? r.event.points.map((p) => p.step) : []));
    assert.equal(steps(full.calls).length, 40);
    assert.deepEqual(steps(thin.calls), [0, 10, 20, 30]);
    for (const calls of [full.calls, thin.calls]) {
      const first = calls[0];
      assert.equal(first.run.params.api_key, '***');
      assert.equal(first.run.params.lr, 0.1);
      const ev = first.records[0].event;
      assert.ok(ev.type === 'run.start' && ev.params.api_key === '***');
    }
    // The log itself keeps the real value: masking is on the way out only.
    const [rec] = await store.read('run-p', 0, 1);
    assert.ok(rec.event.type === 'run.start' && rec.event.params.api_key === 'sk-123');
  });
});

describe('sink runner timing, on a fake clock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-sink-clock-'));
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  });
  afterEach(() => {
    mock.timers.reset();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Lets promise chains and file IO (a cursor's fsync) finish without moving the fake
   * clock: setImmediate and performance.now are not faked. With `until`, keeps going
   * until it holds (up to 5 s of real time).
   */
  async function settle(until?: () => boolean): Promise<void> {
    const end = performance.now() + 5_000;
    for (let i = 0; i < 50 || (until && !until() && performance.now() < end); i++) {
      await new Promise((r) => setImmediate(r));
    }
  }

  function memorySource(records: RunRecord[]): RecordSource {
    const run = {
      runId: 'r',
      project: 'p',
      name: 'r',
      status: 'running' as const,
      startTime: 0,
      params: {},
      tags: {},
      context: {},
    };
    return {
      listRuns: () => [run],
      getRun: () => run,
      read: async (_runId, from, max) => records.slice(from, from + max),
      recordCount: () => records.length,
      onDidAppend: () => ({ dispose() {} }),
    };
  }

  function runner(backend: BackendPlugin, opts: Partial<SinkOptions> = {}): SinkRunner {
    const records: RunRecord[] = [0, 1, 2].map((i) => ({ runId: 'r', offset: i, event: metrics(i) }));
    const options: SinkOptions = {
      ...DEFAULT_SINK_OPTIONS,
      batchSize: 10,
      writeTimeoutMs: 1000,
      backoff: { baseMs: 100, maxMs: 1000 },
      breaker: { failureThreshold: 3, coolDownMs: 5000 },
      random: () => 1,
      ...opts,
    };
    const cursors = new CursorStore(path.join(dir, 'state'), backend.metadata.id);
    return new SinkRunner(backend, memorySource(records), cursors, buildPipeline([]), options, silentLogger, () => {});
  }

  function scripted(script: ('throw' | 'hang' | 'ok')[]): { plugin: BackendPlugin; times: number[] } {
    const times: number[] = [];
    const plugin: BackendPlugin = {
      metadata: { id: 'clocked', displayName: 'clocked', version: '1', kind: 'backend', capabilities: [] },
      async initialize() {},
      async write() {
        const step = script[times.length] ?? 'ok';
        times.push(Date.now());
        if (step === 'throw') throw new Error('down');
        if (step === 'hang') return new Promise<void>(() => undefined);
      },
      async healthCheck() {
        return { healthy: true, details: 'ok' };
      },
      dispose() {},
    };
    return { plugin, times };
  }

  it('backs off exactly, times a hung write out at its limit, waits out the cool-down, then one trial closes it', async () => {
    const b = scripted(['throw', 'hang', 'throw', 'ok']);
    const r = runner(b.plugin);
    r.start();
    await settle();
    assert.deepEqual(b.times, [0]);
    mock.timers.tick(99);
    await settle();
    assert.deepEqual(b.times, [0], 'no retry before the first backoff (100 ms) is over');
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(b.times, [0, 100]);
    // The hung write fails at exactly writeTimeoutMs; the next backoff is 200 ms.
    mock.timers.tick(1000);
    await settle();
    assert.match(r.stats().lastError ?? '', /did not finish within 1000 ms/);
    mock.timers.tick(200);
    await settle();
    assert.deepEqual(b.times, [0, 100, 1300]);
    assert.equal(r.stats().breaker, 'open');
    assert.equal(r.stats().consecutiveFailures, 3);
    assert.equal(r.stats().failedWrites, 3);
    // Open: no call at all for the whole cool-down.
    mock.timers.tick(4999);
    await settle();
    assert.deepEqual(b.times, [0, 100, 1300]);
    assert.equal(r.stats().breaker, 'open');
    mock.timers.tick(1);
    await settle(() => r.stats().delivered === 3);
    assert.deepEqual(b.times, [0, 100, 1300, 6300], 'one trial right when the cool-down ends');
    assert.equal(r.stats().breaker, 'closed');
    assert.equal(r.stats().consecutiveFailures, 0);
    assert.equal(r.stats().delivered, 3);
    assert.equal(r.stats().lag, 0);
    await r.dispose();
  });

  it('dispose does not wait out a backoff or a hung write', async () => {
    const b = scripted(['throw']);
    const r = runner(b.plugin, { backoff: { baseMs: 30_000, maxMs: 30_000 } });
    r.start();
    await settle();
    assert.equal(b.times.length, 1);
    let disposed = false;
    void r.dispose().then(() => (disposed = true));
    await settle();
    assert.ok(disposed, 'disposed in the middle of a 30 s backoff without the clock moving');

    const h = scripted(['hang']);
    const r2 = runner(h.plugin, { writeTimeoutMs: 60_000 });
    r2.start();
    await settle();
    assert.equal(h.times.length, 1);
    let disposed2 = false;
    void r2.dispose().then(() => (disposed2 = true));
    await settle();
    assert.ok(disposed2, 'a hung write is abandoned at dispose');
  });
});
