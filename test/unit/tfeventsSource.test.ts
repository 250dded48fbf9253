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
    const src = new TfeventsSource({ workspaceRoot: ws, stateFile });
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
    const again = new TfeventsSource({ workspaceRoot: ws, stateFile });
    await again.initialize(context({}, warnings));
    const sink2 = recordingSink();
    await again.pollOnce(sink2);
    assert.deepEqual(sink2.events, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(await again.healthCheck(), { healthy: true, details: 'reading' });
  });
});
