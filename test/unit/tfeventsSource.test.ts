// The TensorBoard log-folder source over a real workspace folder with event files written by
// tensorboard's own writer: folders found (and skipped ones not), each one run, imported once
// even by a fresh source on the same saved cursors, and new files and folders picked up live.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PluginContext, RunEvent, SourceSink } from '../../src/api/types';
import { findLogDirs, globToRegExp } from '../../src/sources/tfevents/find';
import { runIdentity } from '../../src/sources/tfevents/logDirRun';
import { TfeventsSource } from '../../src/sources/tfevents/source';
import { tempDir } from '../support/tempDir';
import { waitFor } from '../support/waitFor';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.RUNWATCH_TEST_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const HELPER = path.join(ROOT, 'test/python/make_tfevents.py');

function bulk(dir: string, n: number): void {
  const r = spawnSync(PYTHON, [HELPER, 'bulk', dir, String(n)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** A sink that records what the source emits (our own interface; the hub's sink is tested elsewhere). */
function recordingSink(): SourceSink & { events: { runId: string; event: RunEvent }[] } {
  const events: { runId: string; event: RunEvent }[] = [];
  return {
    events,
    startRun: () => assert.fail('the source emits its own run.start with the log’s first wall time'),
    emit: (runId, event) => void events.push({ runId, event }),
    append: (runId, items) => Promise.resolve(void events.push(...items.map(({ event }) => ({ runId, event })))),
    flush: () => Promise.resolve(),
  };
}

function context(config: Record<string, unknown>, warnings: string[]): PluginContext {
  const logger = { trace() {}, debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
  return { config, logger, notify() {} } as unknown as PluginContext;
}

const pointsOf = (evs: { event: RunEvent }[]) => evs.flatMap((e) => (e.event.type === 'metrics' ? e.event.points : []));

describe('TensorBoard log-folder source', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  let ws: string;
  before(function () {
    if (!fs.existsSync(PYTHON)) this.skip();
    tmp = tempDir('tfsrc');
    ws = path.join(tmp.dir, 'ws');
    bulk(path.join(ws, 'lightning_logs', 'version_0'), 30);
    bulk(path.join(ws, 'runs', 'exp1'), 20);
    bulk(path.join(ws, 'node_modules', 'pkg', 'logs'), 5);
    bulk(path.join(ws, '.git', 'logs'), 5);
    bulk(path.join(ws, 'env3', 'lib', 'logs'), 5);
    fs.writeFileSync(path.join(ws, 'env3', 'pyvenv.cfg'), 'home = /usr/bin\n');
  });
  after(() => tmp?.remove());

  it('globs: ** spans folders, * stays within a name', () => {
    const re = globToRegExp('**/events.out.tfevents.*');
    assert.ok(re.test('events.out.tfevents.1'));
    assert.ok(re.test('a/b/events.out.tfevents.1'));
    assert.ok(!globToRegExp('runs/*/events.out.tfevents.*').test('runs/a/b/events.out.tfevents.1'));
    assert.ok(globToRegExp('runs/*/events.out.tfevents.*').test('runs/a/events.out.tfevents.1'));
  });

  it('finds log folders, skipping .git, node_modules and virtual environments; globs narrow it', () => {
    const rel = (ds: string[]) => ds.map((d) => path.relative(ws, d));
    assert.deepEqual(rel(findLogDirs(ws)), [path.join('lightning_logs', 'version_0'), path.join('runs', 'exp1')]);
    assert.deepEqual(rel(findLogDirs(ws, ['runs/**'])), [path.join('runs', 'exp1')]);
    // The TensorBoard backend's own output folder is excluded, so exported runs are not read back in.
    assert.deepEqual(rel(findLogDirs(ws, undefined, [path.join(ws, 'runs')])), [
      path.join('lightning_logs', 'version_0'),
    ]);
  });

  it('imports each folder as one run, once, and tails new files and folders', async () => {
    const stateFile = path.join(tmp.dir, 'state', 'tfevents.json');
    const warnings: string[] = [];
    const src = new TfeventsSource({ roots: [ws], stateFile, settleMs: 0, walkMs: 0 });
    await src.initialize(context({ pollMs: 200 }, warnings));
    const sink = recordingSink();
    await src.start(sink);
    try {
      const v0 = runIdentity(ws, path.join(ws, 'lightning_logs', 'version_0'));
      const starts = sink.events.filter((e) => e.event.type === 'run.start');
      assert.deepEqual(
        starts.map((s) => [s.runId, s.event.type === 'run.start' && [s.event.project, s.event.name]]),
        [
          [v0.runId, ['lightning_logs', 'version_0']],
          [runIdentity(ws, path.join(ws, 'runs', 'exp1')).runId, ['runs', 'exp1']],
        ],
      );
      assert.equal(pointsOf(sink.events.filter((e) => e.runId === v0.runId)).length, 30);
      // A second event file in the same folder (a resumed run) and a new folder, while it runs.
      const before = sink.events.length;
      bulk(path.join(ws, 'lightning_logs', 'version_0'), 7);
      bulk(path.join(ws, 'lightning_logs', 'version_1'), 4);
      await waitFor('the 11 new points', () => pointsOf(sink.events.slice(before)).length === 11, 10_000);
      const added = sink.events.slice(before);
      assert.equal(pointsOf(added.filter((e) => e.runId === v0.runId)).length, 7);
      assert.equal(added.filter((e) => e.event.type === 'run.start').length, 1, 'only version_1 starts');
    } finally {
      await src.stop();
    }
    // A fresh source on the same saved cursors: nothing is imported twice.
    const again = new TfeventsSource({ roots: [ws], stateFile, settleMs: 0, walkMs: 0 });
    await again.initialize(context({}, warnings));
    const sink2 = recordingSink();
    await again.pollOnce(sink2);
    assert.deepEqual(sink2.events, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(await again.healthCheck(), { healthy: true, details: 'reading' });
  });

  describe('cursors move only once the store holds the events', () => {
    /** A store as the sink sees it: seqs at or below the run's last are skipped (the store's rule). */
    function storeSink(): SourceSink & { held: Map<string, RunEvent[]>; lastSeq: Map<string, number> } {
      const held = new Map<string, RunEvent[]>();
      const lastSeq = new Map<string, number>();
      return {
        held,
        lastSeq,
        startRun: () => assert.fail('not used'),
        emit: () => assert.fail('emit is fire-and-forget: the source must append and wait'),
        append: (runId, items) => {
          for (const { seq, event } of items) {
            if (seq !== undefined && seq <= (lastSeq.get(runId) ?? 0)) continue;
            if (seq !== undefined) lastSeq.set(runId, seq);
            held.set(runId, [...(held.get(runId) ?? []), event]);
          }
          return Promise.resolve();
        },
        flush: () => Promise.resolve(),
      };
    }
    const heldPoints = (s: ReturnType<typeof storeSink>, runId: string) =>
      pointsOf((s.held.get(runId) ?? []).map((event) => ({ event })));
    const saved = (file: string) =>
      JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;

    it('an append not yet durable: the saved cursor has not moved; once it resolves, it has', async () => {
      const w = path.join(tmp.dir, 'durable-ws');
      bulk(path.join(w, 'runs', 'a'), 12);
      const stateFile = path.join(tmp.dir, 'durable-state.json');
      const src = new TfeventsSource({ roots: [w], stateFile, settleMs: 0 });
      await src.initialize(context({}, []));
      const inner = storeSink();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let appends = 0;
      const sink: SourceSink = {
        ...inner,
        append: async (runId, items) => {
          appends++;
          await gate;
          return inner.append(runId, items);
        },
      };
      const polled = src.pollOnce(sink);
      await waitFor('the source to append', () => appends > 0, 10_000);
      const mid = saved(stateFile)['runs/a'];
      assert.deepEqual(mid.files, {}, 'no cursor saved before the events are durable');
      assert.equal(mid.seq, 0);
      assert.ok(mid.pending, 'the stretch being appended is written down first');
      release();
      await polled;
      const after = saved(stateFile)['runs/a'];
      assert.equal(after.pending, undefined);
      assert.equal(after.seq, 2, 'run.start and one metrics event');
      assert.equal(heldPoints(inner, runIdentity(w, path.join(w, 'runs', 'a')).runId).length, 12);
    });

    it('a crash after the append, before the cursor moved: read again into the same seqs, nothing twice or lost', async () => {
      const w = path.join(tmp.dir, 'crash-ws');
      const dir = path.join(w, 'runs', 'b');
      bulk(dir, 25);
      const stateFile = path.join(tmp.dir, 'crash-state.json');
      const store = storeSink();
      const src = new TfeventsSource({ roots: [w], stateFile, settleMs: 0 });
      await src.initialize(context({}, []));
      // The store takes the events, then the window dies before the source saves its cursor.
      const crashing: SourceSink = {
        ...store,
        append: async (runId, items) => {
          await store.append(runId, items);
          throw new Error('the extension host died here');
        },
      };
      await src.pollOnce(crashing);
      const runId = runIdentity(w, dir).runId;
      assert.equal(heldPoints(store, runId).length, 25);
      assert.ok(saved(stateFile)['runs/b'].pending);
      bulk(dir, 9); // the log grows while nothing reads it
      const again = new TfeventsSource({ roots: [w], stateFile, settleMs: 0 });
      await again.initialize(context({}, []));
      await again.pollOnce(store);
      const pts = heldPoints(store, runId);
      assert.equal(pts.length, 34, 'every point once');
      assert.equal(store.held.get(runId)?.filter((e) => e.type === 'run.start').length, 1);
      assert.equal(saved(stateFile)['runs/b'].pending, undefined);
    });

    it('a big log goes in stretches, each stored before the next is read; a crash between them loses nothing', async () => {
      const w = path.join(tmp.dir, 'stretch-ws');
      const dir = path.join(w, 'runs', 's');
      bulk(dir, 60);
      const csv = path.join(w, 'runs', 'k', 'history.csv');
      fs.mkdirSync(path.dirname(csv), { recursive: true });
      const rows = Array.from({ length: 50 }, (_, i) => `${i},${i / 2}`);
      fs.writeFileSync(csv, `epoch,loss\n${rows.join('\n')}\n`);
      const stateFile = path.join(tmp.dir, 'stretch-state.json');
      const store = storeSink();
      let calls = 0;
      const sizes: number[] = [];
      const crashing: SourceSink = {
        ...store,
        append: async (runId, items) => {
          await store.append(runId, items);
          sizes.push(pointsOf(items).length);
          if (++calls === 3) throw new Error('the extension host died here');
        },
      };
      const opts = { roots: [w], stateFile, settleMs: 0, stretchBytes: 300 };
      const src = new TfeventsSource(opts);
      await src.initialize(context({}, []));
      await src.pollOnce(crashing);
      assert.ok(sizes.length >= 3 && sizes.every((n) => n < 60), `stretches of ${sizes.join(', ')} points`);
      const again = new TfeventsSource(opts);
      await again.initialize(context({}, []));
      await again.pollOnce(store);
      const tbRun = runIdentity(w, dir).runId;
      assert.equal(heldPoints(store, tbRun).length, 60, 'every point once');
      const csvRun = [...store.held.keys()].find((k) => k !== tbRun) ?? '';
      assert.deepEqual(
        heldPoints(store, csvRun).map((p) => p.step),
        rows.map((_, i) => i),
      );
    });

    it('a big log starts with a small stretch, each next one twice the last up to stretchBytes', async () => {
      const w = path.join(tmp.dir, 'grow-ws');
      const dir = path.join(w, 'runs', 'g');
      bulk(dir, 400);
      const store = storeSink();
      const sizes: number[] = [];
      const sink: SourceSink = {
        ...store,
        append: async (runId, items) => {
          await store.append(runId, items);
          sizes.push(pointsOf(items).length);
        },
      };
      const opts = { roots: [w], stateFile: path.join(tmp.dir, 'grow-state.json'), settleMs: 0 };
      const src = new TfeventsSource({ ...opts, firstStretchBytes: 200, stretchBytes: 1600 });
      await src.initialize(context({}, []));
      await src.pollOnce(sink);
      assert.equal(heldPoints(store, runIdentity(w, dir).runId).length, 400, 'every point once');
      assert.ok(sizes.length >= 5, `stretches of ${sizes.join(', ')} points`);
      // 200, 400, 800, then 1600 bytes a stretch (records are read whole, so about as many points).
      const [a, b, c, d] = sizes;
      assert.ok(b > 1.5 * a && c > 1.5 * b && d > 1.5 * c, `growing stretches: ${sizes.join(', ')}`);
      assert.ok(Math.max(...sizes.slice(0, -1)) <= 1.2 * d, `capped at stretchBytes: ${sizes.join(', ')}`);
    });

    it('a stretch goes to the store in pieces; a crash between two pieces loses nothing and adds nothing', async () => {
      const w = path.join(tmp.dir, 'pieces-ws');
      const dir = path.join(w, 'runs', 'p');
      bulk(dir, 5000);
      const stateFile = path.join(tmp.dir, 'pieces-state.json');
      const store = storeSink();
      let calls = 0;
      const pieces: number[] = [];
      const crashing: SourceSink = {
        ...store,
        append: async (runId, items) => {
          pieces.push(items.length);
          // The extension host dies after the 2nd piece of the 1st stretch is stored.
          await store.append(runId, items);
          if (++calls === 2) throw new Error('the extension host died here');
        },
      };
      const opts = { roots: [w], stateFile, settleMs: 0, firstStretchBytes: 1 << 20, appendEvents: 2 };
      const src = new TfeventsSource(opts);
      await src.initialize(context({}, []));
      await src.pollOnce(crashing);
      assert.deepEqual(pieces, [2, 2], 'at most appendEvents events an append');
      assert.ok(saved(stateFile)['runs/p'].pending, 'the stretch is still pending');
      const again = new TfeventsSource(opts);
      await again.initialize(context({}, []));
      await again.pollOnce(store);
      const runId = runIdentity(w, dir).runId;
      const held = store.held.get(runId) ?? [];
      assert.equal(held.filter((e) => e.type === 'run.start').length, 1);
      assert.deepEqual(
        heldPoints(store, runId).map((p) => `${p.key}@${p.step}`),
        Array.from({ length: 5000 }, (_, i) => `m${i % 10}@${Math.floor(i / 10)}`),
        'every point once, in order',
      );
      assert.equal(store.lastSeq.get(runId), held.length, 'every event has its own seq, none skipped');
    });

    it('a refused append: nothing lost, the next poll delivers it', async () => {
      const w = path.join(tmp.dir, 'refuse-ws');
      const dir = path.join(w, 'logs');
      bulk(dir, 10);
      const stateFile = path.join(tmp.dir, 'refuse-state.json');
      const store = storeSink();
      let refuse = true;
      const errors: string[] = [];
      const sink: SourceSink = {
        ...store,
        append: (runId, items) => (refuse ? Promise.reject(new Error('disk full')) : store.append(runId, items)),
      };
      const src = new TfeventsSource({ roots: [w], stateFile, settleMs: 0 });
      const ctx = context({}, []);
      (ctx.logger as { error: (m: string) => void }).error = (m: string) => void errors.push(m);
      await src.initialize(ctx);
      await src.pollOnce(sink);
      assert.match(errors.join('\n'), /disk full/);
      assert.equal((await src.healthCheck()).healthy, false);
      refuse = false;
      await src.pollOnce(sink);
      assert.equal(heldPoints(store, runIdentity(w, dir).runId).length, 10);
      assert.equal((await src.healthCheck()).healthy, true);
    });
  });

  describe('historic and live, captured runs', () => {
    const old = (dir: string) => {
      const t = new Date(Date.now() - 3600_000);
      for (const f of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, f), t, t);
    };

    it('a historic folder waits for the import; once imported it is tailed', async () => {
      const w = path.join(tmp.dir, 'hist-ws');
      const dir = path.join(w, 'old_runs', 'exp');
      bulk(dir, 8);
      old(dir);
      const src = new TfeventsSource({
        roots: [w],
        stateFile: path.join(tmp.dir, 'hist.json'),
        settleMs: 0,
        walkMs: 0,
      });
      await src.initialize(context({ pollMs: 200 }, []));
      const sink = recordingSink();
      await src.start(sink);
      try {
        assert.deepEqual(sink.events, [], 'an hour-old folder is not imported by itself');
        const c = await src.candidates();
        assert.deepEqual(
          c.map((x) => [x.kind, x.path, x.project, x.name]),
          [['tfevents', dir, 'old_runs', 'exp']],
        );
        const r = await src.importPaths([dir]);
        assert.deepEqual(
          r.map((x) => [x.path, x.points]),
          [[dir, 8]],
        );
        assert.deepEqual(await src.candidates(), []);
        const types = () => sink.events.map((e) => (e.event.type === 'run.end' ? e.event.status : e.event.type));
        assert.deepEqual(types(), ['run.start', 'metrics', 'finished'], 'a log nothing writes any more is finished');
        // (assert.deepEqual(sink.events, []) above narrowed its type; it has grown since.)
        const end = (sink.events as { event: RunEvent }[])[2].event;
        const lastPoint = Math.max(...pointsOf(sink.events).map((p) => p.time));
        assert.ok(end.type === 'run.end' && end.time >= lastPoint, 'it ends no earlier than its last point');
        bulk(dir, 3);
        await waitFor('the 3 new points tailed', () => pointsOf(sink.events).length === 11, 10_000);
        assert.deepEqual(types().slice(3), ['run.start', 'metrics'], 'growing again: running again');
      } finally {
        await src.stop();
      }
    });

    it('a folder outside the workspace can be imported by its path', async () => {
      const outside = path.join(tmp.dir, 'elsewhere', 'tb');
      bulk(outside, 4);
      const src = new TfeventsSource({
        roots: [path.join(tmp.dir, 'empty-ws')],
        stateFile: path.join(tmp.dir, 'out.json'),
      });
      await src.initialize(context({}, []));
      const sink = recordingSink();
      await src.start(sink);
      try {
        const r = await src.importPaths([outside]);
        assert.equal(r[0].points, 4);
        const start = sink.events.find((e) => e.event.type === 'run.start')?.event;
        assert.equal(start?.type === 'run.start' && start.name, 'tb');
        assert.deepEqual(await src.importPaths([path.join(tmp.dir, 'elsewhere')]), [
          {
            path: path.join(tmp.dir, 'elsewhere'),
            points: 0,
            problems: 0,
            skipped: 'no event files, metrics.csv or trainer_state.json',
          },
        ]);
      } finally {
        await src.stop();
      }
    });

    it('a log a captured run streams is never imported; a just-changed new folder waits for its run.start', async () => {
      const w = path.join(tmp.dir, 'cap-ws');
      const dir = path.join(w, 'runs', 'live');
      bulk(dir, 5);
      const captured = new Set<string>();
      const src = new TfeventsSource({
        roots: [w],
        stateFile: path.join(tmp.dir, 'cap.json'),
        capturedDirs: () => captured,
        settleMs: 1500,
        walkMs: 0,
      });
      await src.initialize(context({ pollMs: 60_000 }, []));
      const sink = recordingSink();
      await src.start(sink);
      assert.deepEqual(sink.events, [], 'seen seconds after it changed: looked at again later');
      captured.add(dir); // the capture's run.start arrives meanwhile
      await new Promise((r) => setTimeout(r, 1600));
      await src.pollOnce(sink);
      assert.deepEqual(sink.events, []);
      assert.deepEqual(await src.candidates(), []);
      assert.equal((await src.importPaths([dir]))[0].skipped, 'a captured run already streams it');
      // Not captured: imported once it has settled.
      const other = path.join(w, 'runs', 'plain');
      bulk(other, 6);
      await src.pollOnce(sink);
      assert.equal(pointsOf(sink.events).length, 0);
      await new Promise((r) => setTimeout(r, 1600));
      await src.pollOnce(sink);
      assert.equal(pointsOf(sink.events).length, 6);
      await src.stop();
    });
  });

  it('bad files in an imported folder: each reported once (file, record, byte offset), the rest imported', async () => {
    const w = path.join(tmp.dir, 'bad-ws');
    const dir = path.join(w, 'runs', 'bad');
    const good = path.join(tmp.dir, 'bad-src');
    const f = fs.readFileSync(spawnSync(PYTHON, [HELPER, 'bulk', good, '20'], { encoding: 'utf8' }).stdout.trim());
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'events.out.tfevents.1.cut'), f.subarray(0, f.length - 5));
    const flipped = Buffer.from(f);
    flipped[flipped.length - 3] ^= 0xff; // the last record's data CRC
    fs.writeFileSync(path.join(dir, 'events.out.tfevents.2.flip'), flipped);
    fs.writeFileSync(path.join(dir, 'events.out.tfevents.3.empty'), '');
    const t = new Date(Date.now() - 3600_000);
    for (const n of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, n), t, t);
    const warnings: string[] = [];
    const src = new TfeventsSource({ roots: [w], stateFile: path.join(tmp.dir, 'bad.json'), walkMs: 0 });
    await src.initialize(context({ pollMs: 60_000 }, warnings));
    const sink = recordingSink();
    await src.start(sink);
    try {
      const r = await src.importPaths([dir]);
      assert.equal(r[0].points, 19 + 19, 'each file loses only its last record');
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.match(
        warnings.find((x) => x.includes('.cut')) ?? '',
        /\.cut: record 20 at byte \d+: the file ends inside it/,
      );
      assert.match(
        warnings.find((x) => x.includes('.flip')) ?? '',
        /\.flip: record 20 at byte \d+: data .* fails its CRC/,
      );
      await src.pollOnce();
      await src.pollOnce();
      assert.equal(warnings.length, 2, 'reported once');
      assert.equal((await src.healthCheck()).healthy, true);
    } finally {
      await src.stop();
    }
  });
});
