// Source and processor plugins under the real hub and run store: the same
// lifecycle as backends (validated config, secrets, storage, healthCheck,
// dispose), sources turned off and on by settings or restarted for a new secret, and contributed sources and
// processors activated when they are needed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type {
  BackendPlugin,
  PluginContext,
  ProcessorPlugin,
  RunBatch,
  RunEvent,
  SourcePlugin,
  SourceSink,
} from '../../src/api/types';
import { startHeadlessHub } from '../../src/core/headless';
import { Hub, secretKey } from '../../src/core/hub';
import { RunStore } from '../../src/store/runStore';
import { waitFor } from '../support/waitFor';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> =>
  waitFor(what, check, { timeoutMs, intervalMs: 10 });

/** A source that starts one run and emits `points` metrics; every lifecycle call is logged in `calls`. */
function metricSource(id = 'sys') {
  const calls: string[] = [];
  const contexts: PluginContext[] = [];
  let sink: SourceSink | undefined;
  let healthy = true;
  const plugin: SourcePlugin = {
    metadata: {
      id,
      displayName: 'System metrics',
      version: '1',
      kind: 'source',
      capabilities: ['metrics'],
      configSchema: {
        type: 'object',
        properties: {
          project: { type: 'string' },
          points: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
          token: { type: 'string', secret: true },
        },
        required: ['project'],
      },
    },
    async initialize(ctx) {
      calls.push('initialize');
      contexts.push(ctx);
    },
    async start(s) {
      calls.push('start');
      sink = s;
      const ctx = contexts[contexts.length - 1];
      const runId = s.startRun({
        runId: `${id}-run-${contexts.length}`,
        project: ctx.config.project as string,
        name: 'gpu',
        params: { host: 'h' },
      });
      const n = ctx.config.points as number;
      for (let i = 0; i < n; i++)
        s.emit(runId, { type: 'metrics', points: [{ key: 'gpu/util', value: i * 10, step: i, time: 1 + i }] });
    },
    async stop() {
      calls.push('stop');
    },
    async healthCheck() {
      calls.push('healthCheck');
      return { healthy, details: healthy ? 'sampling' : 'no GPU found' };
    },
    dispose() {
      calls.push('dispose');
    },
  };
  return { plugin, calls, contexts, sink: () => sink, setHealthy: (h: boolean) => (healthy = h) };
}

/** A processor that upper-cases metric keys and appends its configured suffix. */
function upperProcessor(id = 'upper') {
  const calls: string[] = [];
  let suffix = '';
  const plugin: ProcessorPlugin = {
    metadata: {
      id,
      displayName: 'Upper case',
      version: '1',
      kind: 'processor',
      capabilities: [],
      configSchema: { type: 'object', properties: { suffix: { type: 'string', default: '' } } },
    },
    async initialize(ctx) {
      calls.push(`initialize:${String(ctx.config.suffix)}`);
      suffix = ctx.config.suffix as string;
    },
    process(e: RunEvent) {
      return e.type === 'metrics'
        ? { ...e, points: e.points.map((p) => ({ ...p, key: p.key.toUpperCase() + suffix })) }
        : e;
    },
    async healthCheck() {
      calls.push('healthCheck');
      return { healthy: true, details: `suffix ${JSON.stringify(suffix)}` };
    },
    dispose() {
      calls.push('dispose');
    },
  };
  return { plugin, calls };
}

function keysBackend(id = 'keys') {
  const keys: string[] = [];
  const plugin: BackendPlugin = {
    metadata: { id, displayName: 'Keys', version: '1', kind: 'backend', capabilities: ['metrics'] },
    async initialize() {},
    async write(b: RunBatch) {
      for (const r of b.records) if (r.event.type === 'metrics') keys.push(...r.event.points.map((p) => p.key));
    },
    async healthCheck() {
      return { healthy: true, details: 'ok' };
    },
    dispose() {},
  };
  return { plugin, keys };
}

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

describe('hub: source and processor plugins', function () {
  this.timeout(30_000);
  let dir: string;
  let store: RunStore;
  let hub: Hub;
  let secrets: Map<string, string>;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-plugins-'));
    store = await RunStore.open(path.join(dir, 'store'));
    secrets = new Map();
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

  describe('sources', () => {
    it('refuses a config failing its schema, naming the field, and starts once it is fixed', async () => {
      const src = metricSource();
      // No settings yet: "project" is required.
      hub.registerPlugin(src.plugin);
      await until('refusal', () => hub.pluginStatus()[0]?.state === 'failed');
      assert.match(hub.pluginStatus()[0].details, /^Settings refused for source "sys": "project" is required/);
      await assert.rejects(
        hub.configurePlugins({ sources: { sys: { project: 'hw', points: 0 } } }),
        /Settings refused for source "sys": "points" must be at least 1, got 0/,
      );
      assert.deepEqual(src.calls, [], 'initialize is not called with a refused config');
      assert.match(hub.pluginStatus()[0].details, /"points"/);
      await assert.rejects(
        hub.configurePlugins({ sources: { sys: { project: 'hw', colour: 'red' } } }),
        /"colour" is not a setting/,
      );
      await assert.rejects(
        hub.configurePlugins({ sources: { sys: { project: 'hw', token: 'x' } } }),
        /"token" is a secret/,
      );
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 2 } } });
      assert.deepEqual(src.calls.slice(0, 2), ['initialize', 'start']);
    });

    it('end to end: validated config, secrets and storage; events appended in order; health reported; stop and dispose on unregister', async () => {
      const src = metricSource();
      secrets.set(secretKey('sys', 'token'), 's3cret');
      await hub.configurePlugins({ sources: { sys: { project: 'hw' } } });
      const reg = hub.registerPlugin(src.plugin);
      await until('the source to start', () => src.calls.includes('start'));
      const ctx = src.contexts[0];
      assert.deepEqual(
        { ...ctx.config },
        { project: 'hw', points: 3 },
        'defaults filled in; the secret is not in config',
      );
      assert.equal(await ctx.secrets.get('token'), 's3cret');
      assert.ok(fs.statSync(ctx.storageDir).isDirectory());

      await until('the events in the store', async () => (await store.read('sys-run-1', 0, 100)).length === 4);
      const records = await store.read('sys-run-1', 0, 100);
      assert.deepEqual(
        records.map((r) => r.event.type),
        ['run.start', 'metrics', 'metrics', 'metrics'],
      );
      assert.deepEqual(
        records.slice(1).map((r) => (r.event as { points: { step: number }[] }).points[0].step),
        [0, 1, 2],
      );
      const run = store.getRun('sys-run-1');
      assert.equal(run?.project, 'hw');
      assert.equal(run?.context.source, 'sys');

      // A health check right after start, and again on request.
      await until('the first health check', () => src.calls.includes('healthCheck'));
      src.setHealthy(false);
      await hub.checkHealth();
      const [st] = hub.pluginStatus();
      assert.deepEqual(
        { id: st.id, kind: st.kind, state: st.state, healthy: st.healthy, details: st.details },
        { id: 'sys', kind: 'source', state: 'running', healthy: false, details: 'no GPU found' },
      );

      const sink = src.sink()!;
      reg.dispose();
      await until('dispose', () => src.calls.includes('dispose'));
      assert.deepEqual(
        src.calls.filter((c) => c !== 'healthCheck'),
        ['initialize', 'start', 'stop', 'dispose'],
      );
      // Emitting after stop is dropped, not appended.
      sink.emit('sys-run-1', { type: 'metrics', points: [{ key: 'late', value: 1, step: 9, time: 9 }] });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await store.read('sys-run-1', 0, 100)).length, 4);
      assert.deepEqual(hub.pluginStatus(), [], 'an unregistered source leaves the list');
    });

    it('turned off in settings: stopped and disposed; on again: initialized anew; changed settings restart it', async () => {
      const src = metricSource();
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 1 } } });
      hub.registerPlugin(src.plugin);
      await until('start', () => src.calls.includes('start'));
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 1, enabled: false } } });
      assert.deepEqual(
        src.calls.filter((c) => c !== 'healthCheck'),
        ['initialize', 'start', 'stop', 'dispose'],
      );
      assert.equal(hub.pluginStatus()[0].state, 'off');
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 1 } } });
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 1 } } }); // unchanged: no restart
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 2 } } });
      assert.deepEqual(
        src.calls.filter((c) => c !== 'healthCheck'),
        ['initialize', 'start', 'stop', 'dispose', 'initialize', 'start', 'stop', 'dispose', 'initialize', 'start'],
      );
      assert.equal(src.contexts[2].config.points, 2);
      await hub.dispose();
      assert.deepEqual(
        src.calls.filter((c) => c !== 'healthCheck').slice(-2),
        ['stop', 'dispose'],
        'the hub stops it on dispose',
      );
    });

    it('append resolves once durable and skips seqs the run holds; flush waits for every emit', async () => {
      const src = metricSource();
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 2 } } });
      hub.registerPlugin(src.plugin);
      await until('the source to start', () => src.calls.includes('start'));
      const sink = src.sink();
      assert.ok(sink);
      // flush: everything emitted so far (run.start and two metrics) is in the store when it resolves.
      await sink.flush();
      assert.equal((await store.read('sys-run-1', 0, 100)).length, 3);

      const point = (step: number) => ({
        type: 'metrics' as const,
        points: [{ key: 'q', value: step, step, time: 1 }],
      });
      const start = {
        type: 'run.start' as const,
        project: 'hw',
        name: 'q',
        time: 1,
        params: {},
        tags: {},
        context: {},
      };
      await sink.append('q-run', [
        { seq: 1, event: start },
        { seq: 2, event: point(1) },
      ]);
      assert.equal(store.lastSeq('q-run'), 2, 'durable when append resolves');
      // A redelivery of seq 2 with seq 3: only seq 3 is new.
      await sink.append('q-run', [
        { seq: 2, event: point(1) },
        { seq: 3, event: point(2) },
      ]);
      const records = await store.read('q-run', 0, 100);
      assert.deepEqual(
        records.map((r) => (r.event.type === 'metrics' ? r.event.points[0].step : r.event.type)),
        ['run.start', 1, 2],
      );
    });

    it('append rejects when the store refuses, and the source goes on', async () => {
      const src = metricSource();
      await hub.configurePlugins({ sources: { sys: { project: 'hw', points: 1 } } });
      hub.registerPlugin(src.plugin);
      await until('the source to start', () => src.calls.includes('start'));
      const sink = src.sink();
      assert.ok(sink);
      // A metrics record for a run that was never started is refused by the store.
      await assert.rejects(
        sink.append('never-started', [{ seq: 1, event: { type: 'metrics', points: [] } }]),
        /never-started|run\.start|unknown run/i,
      );
      await sink.flush();
      assert.equal((await store.read('sys-run-1', 0, 100)).length, 2);
    });

    it('a source registered while turned off never starts', async () => {
      const src = metricSource();
      await hub.configurePlugins({ sources: { sys: { enabled: false } } });
      hub.registerPlugin(src.plugin);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(src.calls, []);
      assert.equal(hub.pluginStatus()[0].state, 'off');
    });

    it('a contributed source that is enabled is activated and started; one turned off is not activated', async () => {
      const on = metricSource('on');
      const off = metricSource('off');
      const activated: string[] = [];
      await hub.configurePlugins({ sources: { on: { project: 'p' }, off: { enabled: false } } });
      for (const s of [on, off])
        hub.registerContributed(
          { id: s.plugin.metadata.id, displayName: s.plugin.metadata.displayName, kind: 'source' },
          async () => {
            activated.push(s.plugin.metadata.id);
            setTimeout(() => hub.registerPlugin(s.plugin), 20);
          },
          `pub.${s.plugin.metadata.id}`,
        );
      await until('the contributed source to start', () => on.calls.includes('start'));
      assert.deepEqual(activated, ['on']);
      assert.equal(off.calls.length, 0, 'not activated, not started');
      assert.deepEqual(
        hub
          .pluginStatus()
          .map((p) => [p.id, p.state])
          .sort(),
        [
          ['off', 'off'],
          ['on', 'running'],
        ],
      );
      // Turned on later: now its extension is activated.
      await hub.configurePlugins({ sources: { on: { project: 'p' }, off: { project: 'p' } } });
      assert.deepEqual(activated, ['on', 'off']);
      assert.ok(off.calls.includes('start'));
    });

    it('headless: the backends file gives sources their settings', async () => {
      const on = metricSource('on');
      const off = metricSource('off');
      const file = path.join(dir, 'backends.json');
      fs.writeFileSync(
        file,
        JSON.stringify({ selected: [], sources: { on: { project: 'cli', points: 1 }, off: { enabled: false } } }),
      );
      const headless = await startHeadlessHub({
        store,
        stateDir: path.join(dir, 'headless'),
        backendsFile: file,
        builtins: [on.plugin, off.plugin],
        logger: quiet,
      });
      try {
        await until('the source to start', () => on.calls.includes('start'));
        assert.equal(on.contexts[0].config.project, 'cli');
        assert.equal(off.calls.length, 0);
      } finally {
        await headless.dispose();
      }
      assert.ok(on.calls.includes('dispose'));
    });

    it('a source whose initialize or start throws is reported, and disposed', async () => {
      const src = metricSource();
      src.plugin.start = async () => {
        throw new Error('no sensors');
      };
      await hub.configurePlugins({ sources: { sys: { project: 'p' } } });
      hub.registerPlugin(src.plugin);
      await until('the failure', () => hub.pluginStatus()[0]?.state === 'failed');
      assert.deepEqual(src.calls, ['initialize', 'stop', 'dispose']);
      assert.deepEqual(
        { ...hub.pluginStatus()[0], displayName: undefined },
        {
          id: 'sys',
          kind: 'source',
          displayName: undefined,
          state: 'failed',
          healthy: false,
          details: 'source "sys": start failed: no sensors',
          lastError: 'source "sys": start failed: no sensors',
        },
      );
      // Applying settings again tries again, and says why it failed.
      await assert.rejects(
        hub.configurePlugins({ sources: { sys: { project: 'p' } } }),
        /^Error: source "sys": start failed: no sensors$/,
      );
      assert.deepEqual(src.calls, ['initialize', 'stop', 'dispose', 'initialize', 'stop', 'dispose']);
    });
  });

  describe('backends', () => {
    it('a backend whose start throws before initialize is reported failed, and starts on the next settings change', async () => {
      const be = keysBackend('brittle');
      let throwOnce = true;
      // A getter that throws once stands for any fault before initialize (a bad schema, a cursor folder).
      const metadata = be.plugin.metadata;
      Object.defineProperty(be.plugin, 'metadata', {
        get() {
          if (throwOnce && new Error().stack?.includes('start')) {
            throwOnce = false;
            throw new Error('schema unreadable');
          }
          return metadata;
        },
      });
      hub.registerPlugin(be.plugin);
      await hub.selectBackends(['brittle'], { brittle: {} }).catch(() => undefined);
      const st = hub.status().find((s) => s.id === 'brittle');
      assert.ok(st, 'the backend is listed');
      assert.match(`${st.details} ${st.lastError ?? ''}`, /schema unreadable/, 'the failure is shown, not "starting…"');

      await store.append('b', [
        { event: { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} } },
        { event: { type: 'metrics', points: [{ key: 'loss', value: 1, step: 0, time: 1 }] } },
      ]);
      await hub.selectBackends(['brittle'], { brittle: { processors: [] } });
      await until('delivery after the settings change', () => be.keys.length === 1);
    });
  });

  describe('processors', () => {
    it('are initialized with validated settings when a backend names them, health-checked, and disposed when no backend does', async () => {
      const proc = upperProcessor();
      const be = keysBackend();
      hub.registerPlugin(proc.plugin);
      hub.registerPlugin(be.plugin);
      assert.deepEqual(proc.calls, [], 'not initialized while no backend uses it');
      assert.equal(hub.pluginStatus()[0].state, 'idle');

      await hub.configurePlugins({ processors: { upper: { suffix: '!' } } });
      await store.append('r', [
        { event: { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} } },
        { event: { type: 'metrics', points: [{ key: 'loss', value: 1, step: 0, time: 1 }] } },
      ]);
      await hub.selectBackends(['keys'], { keys: { processors: [{ type: 'plugin', id: 'upper' }] } });
      await until('delivery', () => be.keys.length === 1);
      assert.deepEqual(be.keys, ['LOSS!']);
      assert.equal(proc.calls[0], 'initialize:!');

      await hub.checkHealth();
      const st = hub.pluginStatus()[0];
      assert.deepEqual(
        { state: st.state, healthy: st.healthy, details: st.details, usedBy: st.usedBy },
        { state: 'running', healthy: true, details: 'suffix "!"', usedBy: ['keys'] },
      );

      // New settings: disposed and initialized again, and the backend gets the new output.
      await hub.configurePlugins({ processors: { upper: { suffix: '?' } } });
      await store.append('r', [{ event: { type: 'metrics', points: [{ key: 'acc', value: 1, step: 1, time: 2 }] } }]);
      await until('delivery after the change', () => be.keys.length === 2);
      assert.equal(be.keys[1], 'ACC?');

      await hub.selectBackends([]);
      assert.deepEqual(
        proc.calls.filter((c) => c !== 'healthCheck'),
        ['initialize:!', 'dispose', 'initialize:?', 'dispose'],
      );
      assert.equal(hub.pluginStatus()[0].state, 'idle');
    });

    it('a processor config failing its schema keeps the backend from starting, naming the processor and the field', async () => {
      const proc = upperProcessor();
      hub.registerPlugin(proc.plugin);
      hub.registerPlugin(keysBackend().plugin);
      await hub.configurePlugins({ processors: { upper: { suffix: 3 } } });
      await assert.rejects(
        hub.selectBackends(['keys'], { keys: { processors: [{ type: 'plugin', id: 'upper' }] } }),
        /processor "upper" \(in backend "keys"'s processors\): Settings refused for processor "upper": "suffix" must be a string/,
      );
      assert.deepEqual(proc.calls, []);
      assert.equal(hub.status()[0].healthy, false);
      const st = hub.pluginStatus()[0];
      assert.equal(st.state, 'failed');
      // Fixed settings: the backend starts on the next apply.
      await hub.configurePlugins({ processors: { upper: {} } });
      await hub.selectBackends(['keys'], { keys: { processors: [{ type: 'plugin', id: 'upper' }] } });
      assert.deepEqual([hub.status()[0].healthy, hub.status()[0].details], [true, 'ok']);
      assert.equal(proc.calls[0], 'initialize:');
      assert.equal(hub.pluginStatus()[0].state, 'running');
    });

    it('is disposed when its extension unregisters it while in use; batches wait (fail closed) until it is back', async () => {
      const proc = upperProcessor();
      const be = keysBackend();
      const reg = hub.registerPlugin(proc.plugin);
      hub.registerPlugin(be.plugin);
      await hub.selectBackends(['keys'], { keys: { processors: [{ type: 'plugin', id: 'upper' }] } });
      reg.dispose();
      await until('dispose', () => proc.calls.includes('dispose'));
      await store.append('r', [
        { event: { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} } },
        { event: { type: 'metrics', points: [{ key: 'loss', value: 1, step: 0, time: 1 }] } },
      ]);
      await until('a failed write', () =>
        (hub.status()[0].lastError ?? '').includes('processor plugin "upper" is not ready'),
      );
      assert.deepEqual(be.keys, [], 'nothing unprocessed is delivered');
      const again = upperProcessor();
      hub.registerPlugin(again.plugin);
      await until('delivery once it is back', () => be.keys.length === 1, 20_000);
      assert.deepEqual(be.keys, ['LOSS']);
      assert.equal(again.calls[0], 'initialize:');
    });

    it('a pipeline naming a contributed processor activates its extension, then delivers through it', async () => {
      const proc = upperProcessor('comp.upper');
      const be = keysBackend();
      let activations = 0;
      hub.registerContributed(
        { id: 'comp.upper', displayName: 'Upper (companion)', kind: 'processor' },
        async () => {
          activations++;
          setTimeout(() => hub.registerPlugin(proc.plugin), 30);
        },
        'pub.upper',
      );
      hub.registerPlugin(be.plugin);
      assert.equal(activations, 0);
      await store.append('r', [
        { event: { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} } },
        { event: { type: 'metrics', points: [{ key: 'loss', value: 1, step: 0, time: 1 }] } },
      ]);
      await hub.selectBackends(['keys'], {
        keys: { processors: [{ type: 'mask' }, { type: 'plugin', id: 'comp.upper' }] },
      });
      assert.equal(activations, 1);
      assert.equal(proc.calls[0], 'initialize:');
      await until('delivery', () => be.keys.length === 1);
      assert.deepEqual(be.keys, ['LOSS']);
      assert.deepEqual(
        hub.pluginStatus().map((p) => [p.id, p.state, p.usedBy]),
        [['comp.upper', 'running', ['keys']]],
      );
    });

    it('a pipeline naming a processor that is not installed is refused, naming it', async () => {
      hub.registerPlugin(keysBackend().plugin);
      await assert.rejects(
        hub.selectBackends(['keys'], { keys: { processors: [{ type: 'plugin', id: 'ghost' }] } }),
        /processor "ghost" \(in backend "keys"'s processors\): Runwatch: no processor with id "ghost" is installed/,
      );
    });
  });

  // A source reads its secrets when it starts: after Configure Backend… stored a new one (same
  // settings) it is stopped, disposed and initialized again; one turned off stays off.
  describe('restartSource', () => {
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
});
