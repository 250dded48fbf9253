// The example companion's backend (examples/companion-backend/jsonlBackend.js)
// under the real hub: each record lands once, even when a restarted hub delivers
// again from a cursor that was lost.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendPlugin, RunEvent } from '../../src/api/types';
import { Hub } from '../../src/core/hub';
import { RunStore } from '../../src/store/runStore';

const { createJsonlBackend } = require('../../examples/companion-backend/jsonlBackend.js') as {
  createJsonlBackend(o?: { baseDir?: string }): BackendPlugin;
};
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('hub + example companion backend', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-companion-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes params, points and status once each, across a restart that lost the cursors', async () => {
    const store = await RunStore.open(path.join(dir, 'store'));
    const out = path.join(dir, 'out');
    const state = path.join(dir, 'state');
    const start: RunEvent = {
      type: 'run.start',
      project: 'p',
      name: 'n',
      time: 1,
      params: { lr: 0.1 },
      tags: {},
      context: {},
    };
    const pts = (from: number): RunEvent => ({
      type: 'metrics',
      points: [0, 1].map((i) => ({ key: 'loss', value: from + i, step: from + i, time: 2 })),
    });
    await store.append('r', [{ event: start }, { event: pts(0) }, { event: pts(2) }]);

    const lines = () =>
      fs
        .readFileSync(path.join(out, 'r.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { offset: number; type: string; status?: string });
    const runHub = async (until: number) => {
      const hub = new Hub({ store, stateDir: state, logger: quiet });
      hub.registerPlugin(createJsonlBackend({ baseDir: dir }));
      await hub.selectBackends(['jsonl'], { jsonl: { folder: 'out' } });
      const end = Date.now() + 30_000;
      while (!(fs.existsSync(path.join(out, 'r.jsonl')) && lines().length >= until && hub.status()[0].lag === 0)) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 20));
      }
      await hub.dispose();
    };
    await runHub(3);
    // Lose every cursor: the next hub starts from offset 0 and the backend must skip what it has.
    fs.rmSync(path.join(state, 'cursors'), { recursive: true, force: true });
    await store.append('r', [{ event: pts(4) }, { event: { type: 'run.end', status: 'finished', time: 3 } }]);
    await runHub(5);
    await store.close();
    const got = lines();
    assert.deepEqual(
      got.map((l) => l.offset),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      got.map((l) => l.type),
      ['run.start', 'metrics', 'metrics', 'metrics', 'run.end'],
    );
    assert.equal(got[4].status, 'finished');
  });
});
