// The log-folder source as the runtime starts it (registerLogFolderSource), on a real hub and a
// real run store: a TensorBoard folder and a Lightning-style metrics.csv become runs holding every
// point once, even after the window is closed and opened again on the same store; a log folder that
// a stored run's context names as `tensorboard.logdir` (a run captured live) is never imported.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hub } from '../../src/core/hub';
import { logFolderStateFile, registerLogFolderSource } from '../../src/sources/tfevents/register';
import { runIdentity } from '../../src/sources/tfevents/logDirRun';
import { targetFor } from '../../src/sources/tfevents/targets';
import { RunStore } from '../../src/store/runStore';
import { tempDir } from '../support/tempDir';
import { waitFor } from '../support/waitFor';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.RUNWATCH_TEST_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const HELPER = path.join(ROOT, 'test/python/make_tfevents.py');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function points(store: RunStore, runId: string): Promise<number> {
  const recs = await store.read(runId, 0, 1_000_000);
  return recs.reduce((n, r) => n + (r.event.type === 'metrics' ? r.event.points.length : 0), 0);
}

describe('log-folder source on a real hub and store', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempDir>;
  before(function () {
    if (!fs.existsSync(PYTHON)) this.skip();
    tmp = tempDir('tfstore');
  });
  after(() => tmp?.remove());

  it('imports folders and CSVs once across restarts; skips a folder a captured run streams', async () => {
    const ws = path.join(tmp.dir, 'ws');
    const tb = path.join(ws, 'runs', 'exp');
    const captured = path.join(ws, 'runs', 'captured');
    for (const [dir, n] of [
      [tb, 40],
      [captured, 10],
    ] as const) {
      const r = spawnSync(PYTHON, [HELPER, 'bulk', dir, String(n)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const csv = path.join(ws, 'lightning_logs', 'version_0', 'metrics.csv');
    fs.mkdirSync(path.dirname(csv), { recursive: true });
    fs.writeFileSync(csv, 'epoch,step,train_loss,val_loss\n0,0,1.5,\n0,1,1.25,\n0,1,,2.0\n');
    const storeDir = path.join(tmp.dir, 'store');
    const tbRun = runIdentity(ws, tb).runId;
    const csvRun = targetFor([ws], 'csv', csv).identity.runId;

    const open = async () => {
      const store = await RunStore.open(storeDir, { logger: quiet });
      const hub = new Hub({ store, stateDir: path.join(storeDir, 'backends'), logger: quiet });
      return { store, hub };
    };
    let { store, hub } = await open();
    // A run captured live from a writer on that folder (contract: its context names the logdir).
    await store.append('captured-run', [
      {
        event: {
          type: 'run.start',
          project: 'p',
          name: 'captured',
          time: 1,
          params: {},
          tags: {},
          context: { tensorboard: { logdir: captured } },
        },
      },
    ]);
    registerLogFolderSource(hub, store, [ws]);
    try {
      await waitFor('both logs imported', async () => (await points(store, tbRun)) === 40 && store.hasRun(csvRun), {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      assert.equal(await points(store, csvRun), 6, 'epoch, train_loss and val_loss cells');
      assert.deepEqual(
        store
          .listRuns()
          .map((r) => `${r.project}/${r.name}`)
          .sort(),
        ['lightning_logs/version_0', 'p/captured', 'runs/exp'],
        'the captured folder is not a second run',
      );
      assert.ok(fs.existsSync(logFolderStateFile(storeDir)));
    } finally {
      await hub.dispose();
      await store.close();
    }
    // The window opens again on the same store: the logs grow meanwhile; every point once.
    fs.appendFileSync(csv, '1,2,1.0,\n');
    spawnSync(PYTHON, [HELPER, 'bulk', tb, '5'], { encoding: 'utf8' });
    ({ store, hub } = await open());
    registerLogFolderSource(hub, store, [ws]);
    try {
      await waitFor('the new points', async () => (await points(store, tbRun)) === 45, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      await waitFor('the new CSV row', async () => (await points(store, csvRun)) === 8, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      const starts = (await store.read(tbRun, 0, 1_000_000)).filter((r) => r.event.type === 'run.start');
      assert.equal(starts.length, 1);
      assert.equal(store.listRuns().length, 3);
    } finally {
      await hub.dispose();
      await store.close();
    }
  });
});
