import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MetricPoint, RunEvent, RunRecord } from '../../src/api/types';
import { RunStore } from '../../src/store/runStore';
import { setDefaultListenerErrorHandler } from '../../src/common/emitter';
import { NonFiniteKind } from '../../src/common/wireNumber';
import { SeriesSource, SeriesStore } from '../../src/store/series';

const RUN = 'run-0001';
const T0 = 1_700_000_000;

function startEvent(): RunEvent {
  return { type: 'run.start', project: 'p', name: 'n', time: T0, params: {}, tags: {}, context: {} };
}

function metrics(points: MetricPoint[]): { event: RunEvent } {
  return { event: { type: 'metrics', points } };
}

/** `n` points of `key` from step `from`, 500 per record, value = f(step). */
function batches(key: string, from: number, n: number, f: (s: number) => number): { event: RunEvent }[] {
  const out: { event: RunEvent }[] = [];
  for (let a = from; a < from + n; a += 500) {
    const pts: MetricPoint[] = [];
    for (let s = a; s < Math.min(from + n, a + 500); s++) pts.push({ key, step: s, time: T0 + s * 0.1, value: f(s) });
    out.push(metrics(pts));
  }
  return out;
}

describe('SeriesStore', () => {
  let tmp: string;
  let store: RunStore;
  let series: SeriesStore | undefined;

  beforeEach(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rw-series-'));
    store = await RunStore.open(tmp, { sync: false });
    series = undefined;
  });

  afterEach(async () => {
    await series?.dispose();
    await store.close();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  it('folds appended metrics into per-key series: keys, latest, exact zoomed-in slices', async () => {
    series = SeriesStore.open(store);
    const changed: string[] = [];
    series.onDidChange((runId, keys) => changed.push(`${runId}:${keys.join(',')}`));
    await store.append(RUN, [{ event: startEvent() }]);
    await store.append(
      RUN,
      batches('train/loss', 0, 10_000, (s) => 1 / (1 + s)),
    );
    await store.append(RUN, [metrics([{ key: 'val/acc', step: 10, time: T0 + 5, value: 0.5 }])]);
    await series.whenIdle();
    assert.deepEqual(series.keys(RUN), ['train/loss', 'val/acc']);
    assert.deepEqual(series.latest(RUN, 'train/loss'), { step: 9999, value: 1 / 10_000, time: T0 + 999.9 });
    assert.ok(changed.includes(`${RUN}:val/acc`));

    const zoom = await series.query({
      runId: RUN,
      key: 'train/loss',
      x: 'step',
      from: 5000,
      to: 5100,
      maxPoints: 1000,
    });
    assert.equal(zoom.decimated, false);
    assert.equal(zoom.total, 101);
    assert.deepEqual(
      [...zoom.x],
      Array.from({ length: 101 }, (_, i) => 5000 + i),
    );
    assert.deepEqual(
      [...zoom.y],
      Array.from({ length: 101 }, (_, i) => 1 / (5001 + i)),
    );
    assert.deepEqual(zoom.xRange, [5000, 5100]);

    const byTime = await series.query({
      runId: RUN,
      key: 'train/loss',
      x: 'time',
      from: T0 + 100,
      to: T0 + 100.45,
      maxPoints: 1000,
    });
    assert.deepEqual(
      [...byTime.x],
      [0, 1, 2, 3, 4].map((i) => T0 + (1000 + i) * 0.1),
    );

    const all = await series.query({ runId: RUN, key: 'train/loss', x: 'step', maxPoints: 200 });
    assert.equal(all.total, 10_000);
    assert.ok(all.decimated && all.x.length <= 200);
    assert.equal(Math.max(...all.y), 1, 'the first (largest) value survives');
    assert.equal(Math.min(...all.y), 1 / 10_000);
    assert.deepEqual(all.xRange, [0, 9999]);

    const none = await series.query({ runId: RUN, key: 'nope', x: 'step', maxPoints: 100 });
    assert.equal(none.total, 0);
  });

  it('a slice names its first and last stored x whether or not the rows it read hold them', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    await store.append(
      RUN,
      batches('m', 0, 10_000, (s) => Math.sin(s)),
    );
    await series.whenIdle();
    // Decimated over the pyramid (edges on and off bucket bounds), and raw.
    const ranges: [number, number, number][] = [
      [0, 9999, 100],
      [1234, 8765, 100],
      [1024, 8191, 50],
      [3, 9996, 3000],
      [5000, 5010, 1000],
    ];
    for (const [from, to, maxPoints] of ranges) {
      const byStep = await series.query({ runId: RUN, key: 'm', x: 'step', from, to, maxPoints });
      assert.deepEqual(byStep.xRange, [from, to], `steps ${from}..${to}`);
      assert.equal(byStep.total, to - from + 1);
      const byTime = await series.query({
        runId: RUN,
        key: 'm',
        x: 'time',
        from: T0 + from * 0.1 - 0.01,
        to: T0 + to * 0.1 + 0.01,
        maxPoints,
      });
      assert.deepEqual(byTime.xRange, [T0 + from * 0.1, T0 + to * 0.1], `times of steps ${from}..${to}`);
    }
  });

  it('a throwing onDidChange listener is reported as itself, not as a cache fault, and real faults still warn', async () => {
    const warnings: string[] = [];
    const listenerErrors: string[] = [];
    setDefaultListenerErrorHandler((err, name) => listenerErrors.push(`${name}: ${String(err)}`));
    try {
      series = SeriesStore.open(store, { logger: { warn: (m) => warnings.push(m) } });
      series.onDidChange(() => {
        throw new Error('dashboard broke');
      });
      const seen: string[] = [];
      series.onDidChange((runId) => seen.push(runId));
      await store.append(RUN, [{ event: startEvent() }, ...batches('k', 0, 10, (x) => x)]);
      await series.whenIdle();
      assert.deepEqual(warnings, [], 'a listener error was reported as a series cache fault');
      assert.ok(listenerErrors.some((e) => e.includes('series.onDidChange') && e.includes('dashboard broke')));
      assert.ok(seen.length > 0, 'the other listeners still ran');
      assert.equal((await series.query({ runId: RUN, key: 'k', x: 'step', maxPoints: 100 })).total, 10);
      // A real cache fault is still said: the series folder replaced by a file.
      const seriesDir = path.join(store.runDir(RUN), 'series');
      fs.rmSync(seriesDir, { recursive: true, force: true });
      fs.writeFileSync(seriesDir, 'not a folder');
      await store.append(
        RUN,
        batches('k2', 0, 10, (x) => x),
      );
      await series.whenIdle();
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /series cache of run/);
    } finally {
      setDefaultListenerErrorHandler((err, name) => console.error(`runwatch: a listener of ${name} threw:`, err));
    }
  });

  it('a spike among 300k points survives a whole-series query read from disk', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    const spikeAt = 123_457;
    // Records of 5,000 points keep the log small and the test fast.
    for (let a = 0; a < 300_000; a += 5000) {
      const pts: MetricPoint[] = [];
      for (let s = a; s < a + 5000; s++)
        pts.push({ key: 'loss', step: s, time: T0 + s, value: s === spikeAt ? 1e6 : Math.sin(s / 1000) });
      await store.append(RUN, [metrics(pts)]);
    }
    await series.whenIdle();
    const q = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 2000 });
    assert.ok(q.decimated && q.x.length <= 2000);
    assert.equal(Math.max(...q.y), 1e6);
    assert.equal(q.x[q.y.indexOf(1e6)], spikeAt);
    const mid = await series.query({ runId: RUN, key: 'loss', x: 'step', from: 100_001, to: 250_003, maxPoints: 2000 });
    assert.equal(mid.total, 150_003);
    assert.equal(Math.max(...mid.y), 1e6);
    assert.ok(mid.x[0] >= 100_001 && mid.x[mid.x.length - 1] <= 250_003);
  });

  it('puts NaN and ±Infinity in markers, never in y', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    const vals = [1, NaN, 2, Infinity, 3, -Infinity, 4];
    await store.append(RUN, [metrics(vals.map((value, step) => ({ key: 'k', step, time: T0 + step, value })))]);
    await series.whenIdle();
    const q = await series.query({ runId: RUN, key: 'k', x: 'step', maxPoints: 100 });
    assert.deepEqual([...q.x], [0, 2, 4, 6]);
    assert.deepEqual([...q.y], [1, 2, 3, 4]);
    assert.deepEqual([...q.nonFinite.x], [1, 3, 5]);
    assert.deepEqual([...q.nonFinite.kind], [NonFiniteKind.NaN, NonFiniteKind.PosInf, NonFiniteKind.NegInf]);
    assert.equal(q.total, 7);
    const small = await series.query({ runId: RUN, key: 'k', x: 'step', maxPoints: 2 });
    assert.deepEqual([...small.y].sort(), [1, 4], 'min and max come from finite values only');
  });

  it('sorts by step when a resumed run logs earlier steps again', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    await store.append(
      RUN,
      batches('loss', 0, 100, () => 1),
    );
    await store.append(
      RUN,
      batches('loss', 50, 100, (s) => (s === 60 ? 7 : 2)),
    );
    await series.whenIdle();
    const q = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 1000 });
    assert.equal(q.total, 200);
    for (let i = 1; i < q.x.length; i++) assert.ok(q.x[i - 1] <= q.x[i]);
    const part = await series.query({ runId: RUN, key: 'loss', x: 'step', from: 55, to: 64, maxPoints: 1000 });
    assert.equal(part.total, 20, 'both passes over steps 55..64');
    assert.equal(Math.max(...part.y), 7);
    // Time still only grows, so the time axis takes the pyramid path.
    const t = await series.query({ runId: RUN, key: 'loss', x: 'time', maxPoints: 1000 });
    assert.equal(t.total, 200);
  });

  it('persists, and after a restart catches up from the folded offset without duplicates', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    await store.append(
      RUN,
      batches('loss', 0, 1000, (s) => s),
    );
    await series.whenIdle();
    await series.dispose();
    series = undefined;
    const idxFile = path.join(store.runDir(RUN), 'series', 'index.json');
    const idx = JSON.parse(await fs.promises.readFile(idxFile, 'utf8')) as {
      folded: number;
      series: Record<string, { count: number; file: string }>;
    };
    assert.equal(idx.folded, store.recordCount(RUN));
    assert.equal(idx.series.loss.count, 1000);

    // While no SeriesStore listens: more points, and a torn extra row as if we crashed after a write but before the index save.
    await store.append(
      RUN,
      batches('loss', 1000, 1000, (s) => s),
    );
    await store.append(
      RUN,
      batches('acc', 0, 10, () => 0.5),
    );
    await fs.promises.appendFile(path.join(store.runDir(RUN), 'series', idx.series.loss.file), Buffer.alloc(24 * 3, 1));
    await store.close();

    store = await RunStore.open(tmp, { sync: false });
    series = SeriesStore.open(store);
    await series.whenIdle();
    assert.deepEqual(series.keys(RUN), ['acc', 'loss']);
    const q = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 5000 });
    assert.equal(q.total, 2000);
    assert.deepEqual(
      [...q.x],
      Array.from({ length: 2000 }, (_, i) => i),
    );
    assert.deepEqual(
      [...q.y],
      Array.from({ length: 2000 }, (_, i) => i),
    );

    // A series file shorter than its index says: the run's cache is rebuilt from the log.
    await series.dispose();
    await fs.promises.truncate(path.join(store.runDir(RUN), 'series', idx.series.loss.file), 24 * 10);
    series = SeriesStore.open(store);
    await series.whenIdle();
    const r = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 5000 });
    assert.equal(r.total, 2000);
    assert.equal(series.latest(RUN, 'acc')?.value, 0.5);
  });

  it('snapshots big pyramids, and a reopened store uses the snapshot plus the rows after it', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    const f = (s: number) => (s === 150_100 ? NaN : s === 77_777 ? 1e9 : Math.cos(s));
    for (let a = 0; a < 150_000; a += 5000) await store.append(RUN, batches('loss', a, 5000, f));
    await series.whenIdle();
    await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 100 });
    await series.dispose();
    const dir = path.join(store.runDir(RUN), 'series');
    assert.ok(fs.existsSync(path.join(dir, 's0.pyr')), 'snapshot written');
    await store.append(RUN, batches('loss', 150_000, 1000, f));

    // Blank the spike in the rows the snapshot covers: only a pyramid read from the snapshot still knows it.
    const fd = await fs.promises.open(path.join(dir, 's0.col'), 'r+');
    await fd.write(new Uint8Array(new Float64Array([0]).buffer), 0, 8, 77_777 * 24 + 16);
    await fd.close();

    series = SeriesStore.open(store);
    await series.whenIdle();
    const q = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 400 });
    assert.equal(q.total, 151_000);
    assert.equal(Math.max(...q.y), 1e9);
    assert.equal(q.x[q.y.indexOf(1e9)], 77_777);
    assert.deepEqual([...q.nonFinite.x], [150_100], 'markers from after the snapshot');
    const tail = await series.query({ runId: RUN, key: 'loss', x: 'step', from: 149_990, to: 150_010, maxPoints: 400 });
    assert.deepEqual(
      [...tail.y],
      Array.from({ length: 21 }, (_, i) => Math.cos(149_990 + i)),
    );

    // A damaged snapshot is ignored: the pyramid is rebuilt from the rows.
    await series.dispose();
    await fs.promises.writeFile(path.join(dir, 's0.pyr'), Buffer.alloc(64));
    series = SeriesStore.open(store);
    const again = await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 400 });
    assert.equal(again.total, 151_000);
    assert.equal(Math.max(...again.y), 1, 'rebuilt from the (blanked) rows');
  });

  it('drops least recently queried pyramids over budget and reloads them on demand', async () => {
    series = SeriesStore.open(store);
    series.maxLoadedBytes = 1; // everything but the series just queried goes (same as the maxLoadedBytes option)
    await store.append(RUN, [{ event: startEvent() }]);
    await store.append(RUN, [...batches('a', 0, 3000, (s) => s), ...batches('b', 0, 3000, (s) => -s)]);
    await series.whenIdle();
    await series.query({ runId: RUN, key: 'a', x: 'step', maxPoints: 10 });
    await series.query({ runId: RUN, key: 'b', x: 'step', maxPoints: 10 });
    assert.ok(series.memoryBytes() < 3000 * 2, `only b's pyramid is held (${series.memoryBytes()} bytes)`);
    await store.append(
      RUN,
      batches('a', 3000, 10, () => 1e6),
    ); // appended while a has no pyramid
    await series.whenIdle();
    const a = await series.query({ runId: RUN, key: 'a', x: 'step', maxPoints: 10 });
    assert.equal(a.total, 3010);
    assert.equal(Math.max(...a.y), 1e6);
    assert.equal(Math.min(...a.y), 0);
  });

  it('rebuilds a run whose log became shorter than what was folded', async () => {
    // A hand-made source: the log is an array we can replace.
    const runDir = path.join(tmp, 'fake-run');
    await fs.promises.mkdir(runDir);
    let log: RunRecord[] = [1, 2, 3].map((v, i) => ({
      runId: RUN,
      offset: i,
      event: metrics([{ key: 'k', step: i, time: T0 + i, value: v }]).event,
    }));
    const source: SeriesSource = {
      runDir: () => runDir,
      listRuns: () => [
        { runId: RUN, project: 'p', name: 'n', status: 'finished', startTime: T0, params: {}, tags: {}, context: {} },
      ],
      read: async (_id, from, max) => log.slice(from, from + max),
      recordCount: () => log.length,
      onDidAppend: () => ({ dispose: () => undefined }),
    };
    let s = SeriesStore.open(source);
    await s.whenIdle();
    assert.equal((await s.query({ runId: RUN, key: 'k', x: 'step', maxPoints: 10 })).total, 3);
    await s.dispose();
    log = [{ runId: RUN, offset: 0, event: metrics([{ key: 'k', step: 0, time: T0, value: 9 }]).event }];
    s = SeriesStore.open(source);
    await s.whenIdle();
    const q = await s.query({ runId: RUN, key: 'k', x: 'step', maxPoints: 10 });
    assert.deepEqual([...q.y], [9]);
    await s.dispose();
  });

  it('forgets a deleted run', async () => {
    series = SeriesStore.open(store);
    await store.append(RUN, [{ event: startEvent() }]);
    await store.append(
      RUN,
      batches('loss', 0, 10, (s) => s),
    );
    await series.whenIdle();
    assert.deepEqual(series.keys(RUN), ['loss']);
    await store.deleteRun(RUN);
    assert.deepEqual(series.keys(RUN), []);
    assert.equal((await series.query({ runId: RUN, key: 'loss', x: 'step', maxPoints: 10 })).total, 0);
  });
});
