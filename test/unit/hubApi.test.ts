// The exported API object and plugin discovery as the hub sees it: versions,
// plugin shape checks, contributed plugins listed before they are active and
// activated when chosen.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mock } from 'node:test';
import { coalescedRunChanges, createExports } from '../../src/api/api';
import type { BackendPlugin, RunSummary, RunwatchApiV1 } from '../../src/api/types';
import { Emitter } from '../../src/common/emitter';
import { memoryLogger } from '../../src/common/logger';
import { Hub } from '../../src/core/hub';
import { toPluginLogger } from '../../src/core/pluginLogger';
import { RunStore } from '../../src/store/runStore';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

function backend(id: string, writes: number[] = []): BackendPlugin {
  return {
    metadata: { id, displayName: `Backend ${id}`, version: '1', kind: 'backend', capabilities: ['metrics'] },
    async initialize() {},
    async write(b) {
      for (const r of b.records) writes.push(r.offset);
    },
    async healthCheck() {
      return { healthy: true, details: 'ok' };
    },
    dispose() {},
  };
}

describe('exported API and discovery', function () {
  this.timeout(30_000);
  let dir: string;
  let store: RunStore;
  let hub: Hub;
  let api: RunwatchApiV1;
  const exportsFor = () =>
    createExports({
      registerPlugin: (p) => hub.registerPlugin(p, 'api'),
      listRuns: () => store.listRuns(),
      onRunsChanged: (l) => coalescedRunChanges(store, l, 20),
      getCollectorInfo: () => ({ url: 'ws://127.0.0.1:1', token: 't' }),
    });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-api-'));
    store = await RunStore.open(path.join(dir, 'store'));
    hub = new Hub({ store, stateDir: path.join(dir, 'state'), logger: quiet });
    api = exportsFor().getApi(1);
  });
  afterEach(async () => {
    await hub.dispose();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('getApi(1) gives version 1; any other version throws naming the supported ones', () => {
    assert.equal(api.version, 1);
    const ex = exportsFor() as unknown as { getApi(v: number): unknown };
    assert.throws(() => ex.getApi(2), /Runwatch API version 2 is not available; this Runwatch supports version 1/);
    assert.throws(() => ex.getApi(0), /supports version 1/);
  });

  it('registerPlugin refuses malformed plugins with a message saying what is missing', () => {
    assert.throws(() => api.registerPlugin({} as never), /needs a "metadata" object/);
    const noWrite = { ...backend('x'), write: undefined } as unknown as BackendPlugin;
    assert.throws(() => api.registerPlugin(noWrite), /"x"\): a backend plugin needs a write\(\) method/);
    const badKind = {
      ...backend('y'),
      metadata: { ...backend('y').metadata, kind: 'sink' },
    } as unknown as BackendPlugin;
    assert.throws(() => api.registerPlugin(badKind), /metadata.kind must be "backend", "source" or "processor"/);
    const d = api.registerPlugin(backend('z'));
    assert.throws(() => api.registerPlugin(backend('z')), /already registered/);
    d.dispose();
    api.registerPlugin(backend('z')).dispose();
  });

  it('lists a contributed backend before it is active, activates it when chosen, and delivers to it', async () => {
    const writes: number[] = [];
    let activations = 0;
    hub.registerContributed(
      { id: 'companion', displayName: 'Companion', kind: 'backend' },
      async () => {
        activations++;
        // What a companion's activate() does: get the API and register.
        setTimeout(() => api.registerPlugin(backend('companion', writes)), 50);
      },
      'someone.companion',
    );
    const [entry] = hub.listPlugins('backend');
    assert.deepEqual(
      { id: entry.id, active: entry.active, origin: entry.origin, ext: entry.extensionId },
      { id: 'companion', active: false, origin: 'contributed', ext: 'someone.companion' },
    );
    assert.equal(activations, 0);

    await store.append('r1', [
      { event: { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} } },
    ]);
    await hub.selectBackends(['companion']);
    assert.equal(activations, 1);
    assert.equal(hub.listPlugins('backend')[0].active, true);
    const end = Date.now() + 20_000;
    while (writes.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(writes, [0]);
  });

  it('notify shows a plugin message to the person once (and logs it), per distinct message', async () => {
    const shown: string[] = [];
    const logged: string[] = [];
    const h = new Hub({
      store,
      stateDir: path.join(dir, 'state2'),
      logger: { ...quiet, warn: (m: string) => void logged.push(m) },
      notify: (id, m) => void shown.push(`${id}: ${m}`),
    });
    const b = backend('noisy');
    b.initialize = async (ctx) => {
      ctx.notify('a limit was hit');
      ctx.notify('a limit was hit');
      ctx.notify('something else');
    };
    h.registerPlugin(b, 'api');
    await h.selectBackends(['noisy']);
    assert.deepEqual(shown, ['noisy: a limit was hit', 'noisy: something else']);
    assert.equal(logged.filter((m) => m.includes('a limit was hit')).length, 1);
    await h.dispose();
  });

  it('a contribution that is withdrawn (extension removed) leaves the list', () => {
    const d = hub.registerContributed({ id: 'gone', displayName: 'Gone', kind: 'backend' }, async () => undefined);
    assert.equal(hub.listPlugins().length, 1);
    d.dispose();
    assert.equal(hub.listPlugins().length, 0);
  });

  it('refuses a second extension contributing an id already contributed, or a built-in id, naming the extensions', () => {
    const first = hub.registerContributed(
      { id: 'dup', displayName: 'First', kind: 'backend' },
      async () => undefined,
      'one.ext',
    );
    assert.throws(
      () =>
        hub.registerContributed({ id: 'dup', displayName: 'Second', kind: 'source' }, async () => undefined, 'two.ext'),
      /plugin id "dup" is contributed by both two\.ext and one\.ext; only one\.ext is used/,
    );
    assert.deepEqual(
      hub.listPlugins().map((e) => [e.displayName, e.extensionId]),
      [['First', 'one.ext']],
    );
    // Once the first is gone the id is free.
    first.dispose();
    hub.registerContributed({ id: 'dup', displayName: 'Second', kind: 'backend' }, async () => undefined, 'two.ext');
    assert.deepEqual(
      hub.listPlugins().map((e) => e.extensionId),
      ['two.ext'],
    );

    hub.registerPlugin(backend('mlflow'), 'builtin');
    assert.throws(
      () =>
        hub.registerContributed(
          { id: 'mlflow', displayName: 'Fake', kind: 'backend' },
          async () => undefined,
          'evil.ext',
        ),
      /evil\.ext contributes plugin id "mlflow", which is a built-in/,
    );
  });

  it('onDidChangeRuns hands over the ids of runs that changed, coalesced', async () => {
    const seen: string[][] = [];
    const sub = api.onDidChangeRuns((ids) => seen.push(ids));
    const start = { type: 'run.start' as const, project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} };
    await Promise.all([store.append('a', [{ event: start }]), store.append('b', [{ event: start }])]);
    const end = Date.now() + 10_000;
    while (!seen.flat().includes('b') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    sub.dispose();
    assert.ok(seen.flat().includes('a') && seen.flat().includes('b'));
    assert.deepEqual(
      api
        .listRuns()
        .map((r) => r.runId)
        .sort(),
      ['a', 'b'],
    );
  });
});

describe('contributes.runwatch JSON schema', () => {
  it('is valid JSON and allows every field the example companion and ContributedPlugin use', () => {
    const root = path.resolve(__dirname, '../..');
    const schema = JSON.parse(fs.readFileSync(path.join(root, 'src/api/contributes.schema.json'), 'utf8'));
    const plugin = schema.definitions.plugin;
    const example = JSON.parse(fs.readFileSync(path.join(root, 'examples/companion-backend/package.json'), 'utf8'));
    for (const p of example.contributes.runwatch.plugins) {
      for (const field of Object.keys(p)) assert.ok(field in plugin.properties, `schema allows "${field}"`);
      for (const req of plugin.required) assert.ok(req in p);
      assert.match(p.id, new RegExp(plugin.properties.id.pattern));
      for (const prop of Object.values(p.configSchema.properties) as Record<string, unknown>[])
        for (const k of Object.keys(prop))
          assert.ok(
            k in schema.definitions.configSchema.properties.properties.additionalProperties.properties,
            `config property field "${k}"`,
          );
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.ok(
      pkg.contributes.jsonValidation.some((j: { url: string }) => j.url === './src/api/contributes.schema.json'),
    );
  });
});

describe("a plugin's logger", () => {
  it("prefixes the plugin's id, writes an Error as its message and extra arguments as text", () => {
    const log = memoryLogger();
    const p = toPluginLogger(log, 'jsonl');
    p.info('wrote', 3, { run: 'r1' });
    p.warn('slow');
    p.error(new Error('disk full'));
    // Runwatch's Logger has no trace or debug: those lines go nowhere rather than to info.
    p.debug('noise');
    p.trace('more noise');
    assert.deepEqual(log.lines, [
      'info: [jsonl] wrote 3 {"run":"r1"}',
      'warn: [jsonl] slow',
      'error: [jsonl] disk full',
    ]);
  });

  it('uses the finer levels when the logger has them (a VS Code LogOutputChannel does)', () => {
    const lines: string[] = [];
    const log = {
      ...memoryLogger(),
      debug: (m: string) => lines.push(`debug: ${m}`),
      trace: (m: string) => lines.push(`trace: ${m}`),
    };
    const p = toPluginLogger(log, 'x');
    p.debug('d');
    p.trace('t');
    assert.deepEqual(lines, ['debug: [x] d', 'trace: [x] t']);
  });
});

describe('onDidChangeRuns coalescing, on a fake clock', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  function events() {
    const append = new Emitter<string>();
    const change = new Emitter<RunSummary>();
    const del = new Emitter<string>();
    return {
      append,
      change,
      del,
      src: { onDidAppend: append.event, onDidChangeRun: change.event, onDidDeleteRun: del.event },
    };
  }

  it('hands over the run ids gathered in each window, once each', () => {
    const e = events();
    const got: string[][] = [];
    const sub = coalescedRunChanges(e.src, (ids) => got.push(ids), 250);
    e.append.fire('a');
    e.append.fire('a');
    e.del.fire('b');
    mock.timers.tick(249);
    assert.deepEqual(got, []);
    mock.timers.tick(1);
    assert.deepEqual(got, [['a', 'b']]);
    e.append.fire('c');
    sub.dispose();
    mock.timers.tick(1000);
    assert.deepEqual(got, [['a', 'b']], 'nothing after dispose');
  });

  it('reports a throwing companion listener as api.onDidChangeRuns and keeps going', () => {
    const e = events();
    const reported: string[] = [];
    let calls = 0;
    const listener = () => {
      calls++;
      throw new Error('companion bug');
    };
    coalescedRunChanges(e.src, listener, 10, (err, name) => reported.push(`${name}: ${(err as Error).message}`));
    e.append.fire('a');
    mock.timers.tick(10);
    e.append.fire('b');
    mock.timers.tick(10);
    assert.equal(calls, 2);
    assert.deepEqual(reported, ['api.onDidChangeRuns: companion bug', 'api.onDidChangeRuns: companion bug']);
  });
});
