// hub.restartSource: a source reads its secrets when it starts, so after Configure Backend…
// stored a new one (same settings) it is stopped, disposed and initialized again; one that
// is turned off stays off.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SourcePlugin } from '../../src/api/types';
import { Hub, secretKey } from '../../src/core/hub';
import { RunStore } from '../../src/store/runStore';
import { waitFor } from '../support/waitFor';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Keeps the password it read at initialize, as the AMQP source does. */
function passwordSource() {
  const calls: string[] = [];
  let password: string | undefined;
  const plugin: SourcePlugin = {
    metadata: {
      id: 'broker',
      displayName: 'Broker',
      version: '1',
      kind: 'source',
      capabilities: ['metrics'],
      configSchema: {
        type: 'object',
        properties: { url: { type: 'string', default: '' }, password: { type: 'string', secret: true } },
      },
    },
    async initialize(ctx) {
      calls.push('initialize');
      password = await ctx.secrets.get('password');
    },
    async start() {
      calls.push('start');
    },
    async stop() {
      calls.push('stop');
    },
    async healthCheck() {
      return { healthy: password === 'right', details: `password ${password ?? 'none'}` };
    },
    dispose() {
      calls.push('dispose');
    },
  };
  return { plugin, calls };
}

describe('hub.restartSource', function () {
  this.timeout(30_000);
  let dir: string;
  let store: RunStore;
  let hub: Hub;
  const secrets = new Map<string, string>();

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-source-restart-'));
    store = await RunStore.open(path.join(dir, 'store'));
    secrets.clear();
    hub = new Hub({
      store,
      stateDir: path.join(dir, 'state'),
      logger: quiet,
      secrets: { get: async (k) => secrets.get(k) },
    });
  });
  afterEach(async () => {
    await hub.dispose();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('same settings, new secret: started again and reads it', async () => {
    const src = passwordSource();
    secrets.set(secretKey('broker', 'password'), 'wrong');
    await hub.configurePlugins({ sources: { broker: { url: 'amqp://x' } } });
    hub.registerPlugin(src.plugin, 'builtin');
    await waitFor('start', () => src.calls.includes('start'), { timeoutMs: 10_000, intervalMs: 10 });
    await hub.checkHealth();
    assert.equal(hub.pluginStatus()[0].details, 'password wrong');

    secrets.set(secretKey('broker', 'password'), 'right');
    // The same settings again change nothing...
    await hub.configurePlugins({ sources: { broker: { url: 'amqp://x' } } });
    assert.deepEqual(src.calls, ['initialize', 'start']);
    // ...a restart does.
    await hub.restartSource('broker');
    assert.deepEqual(src.calls, ['initialize', 'start', 'stop', 'dispose', 'initialize', 'start']);
    await hub.checkHealth();
    const [st] = hub.pluginStatus();
    assert.deepEqual(
      { state: st.state, healthy: st.healthy, details: st.details },
      {
        state: 'running',
        healthy: true,
        details: 'password right',
      },
    );
  });

  it('a source turned off stays off', async () => {
    const src = passwordSource();
    await hub.configurePlugins({ sources: { broker: { enabled: false } } });
    hub.registerPlugin(src.plugin, 'builtin');
    await hub.restartSource('broker');
    assert.deepEqual(src.calls, []);
    assert.equal(hub.pluginStatus()[0].state, 'off');
  });
});
