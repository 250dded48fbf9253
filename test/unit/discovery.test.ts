// Discovery of companions' plugins (src/api/discovery.ts) without VS Code: parsing
// `contributes.runwatch.plugins`, and keeping the hub's list in step as fake
// extensions are installed, changed and removed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContributedPlugin, Disposable } from '../../src/api/types';
import {
  readContributions,
  watchContributions,
  type ExtensionLike,
  type ExtensionsLike,
} from '../../src/api/discovery';
import { Hub } from '../../src/core/hub';
import { RunStore } from '../../src/store/runStore';

const pkg = (...plugins: unknown[]) => ({ name: 'c', contributes: { runwatch: { plugins } } });
const plugin = (id: string, kind = 'backend'): ContributedPlugin =>
  ({ id, displayName: `Plugin ${id}`, kind }) as ContributedPlugin;

describe('readContributions', () => {
  it('returns nothing, and no problem, for an extension without our key', () => {
    assert.deepEqual(readContributions({ name: 'x' }), { plugins: [], problems: [] });
    assert.deepEqual(readContributions({ contributes: { commands: [] } }), { plugins: [], problems: [] });
    assert.deepEqual(readContributions(undefined), { plugins: [], problems: [] });
  });

  it('keeps the valid entries and names the extension and the field of each bad one', () => {
    const { plugins, problems } = readContributions(
      pkg(
        plugin('good'),
        {
          id: 'port',
          displayName: 'P',
          kind: 'backend',
          configSchema: { type: 'object', properties: { port: { type: 'integer', maximum: 'lots' } } },
        },
        { id: 'kind', displayName: 'K', kind: 'sink' },
        { displayName: 'no id', kind: 'source' },
      ),
      'pub.ext',
    );
    assert.deepEqual(
      plugins.map((p) => p.id),
      ['good'],
    );
    assert.equal(problems.length, 3);
    assert.match(
      problems[0],
      /^pub\.ext: plugin "port" ignored: contributes\.runwatch\.plugins\[1\]\.configSchema\.properties\.port\.maximum must be a number/,
    );
    assert.match(
      problems[1],
      /^pub\.ext: plugin "kind" ignored: contributes\.runwatch\.plugins\[2\]\.kind must be one of backend, source, processor, got "sink"/,
    );
    assert.match(problems[2], /^pub\.ext: plugin ignored: contributes\.runwatch\.plugins\[3\]\.id must be a string/);
  });

  it('refuses a configSchema whose required names a missing property, or whose default does not fit', () => {
    const { plugins, problems } = readContributions(
      pkg(
        {
          ...plugin('req'),
          configSchema: { type: 'object', properties: { folder: { type: 'string' } }, required: ['fodler'] },
        },
        { ...plugin('def'), configSchema: { type: 'object', properties: { port: { type: 'integer', default: 'x' } } } },
        {
          ...plugin('enum'),
          configSchema: { type: 'object', properties: { mode: { type: 'string', enum: ['a'], default: 'b' } } },
        },
      ),
    );
    assert.deepEqual(plugins, []);
    assert.match(problems[0], /configSchema\.required names "fodler", which is not in .*configSchema\.properties/);
    assert.match(problems[1], /configSchema\.properties\.port\.default must be a number, got "x"/);
    assert.match(problems[2], /configSchema\.properties\.mode\.default must be one of "a", got "b"/);
  });

  it('refuses an id declared twice in one manifest, keeping the first', () => {
    const { plugins, problems } = readContributions(
      pkg(plugin('twice'), { ...plugin('twice'), displayName: 'Again' }),
      'a.b',
    );
    assert.deepEqual(
      plugins.map((p) => p.displayName),
      ['Plugin twice'],
    );
    assert.match(problems[0], /plugins\[1\]\.id "twice" is declared twice/);
  });

  it('names a malformed contributes.runwatch as a whole', () => {
    assert.match(
      readContributions({ contributes: { runwatch: [] } }, 'x.y').problems[0],
      /^x\.y: contributes\.runwatch must be an object/,
    );
    assert.match(
      readContributions({ contributes: { runwatch: { plugins: 'jsonl' } } }).problems[0],
      /contributes\.runwatch\.plugins must be a list/,
    );
  });
});

class FakeExtensions implements ExtensionsLike {
  all: ExtensionLike[] = [];
  activations: string[] = [];
  private listeners: (() => void)[] = [];
  onDidChange(listener: () => void): Disposable {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  }
  set(exts: { id: string; packageJSON: unknown }[]): void {
    this.all = exts.map((e) => ({ ...e, activate: async () => void this.activations.push(e.id) }));
    for (const l of this.listeners) l();
  }
}

function recordingLog() {
  const lines: { level: string; m: string }[] = [];
  return {
    lines,
    errors: () => lines.filter((l) => l.level === 'error').map((l) => l.m),
    info: (m: string) => void lines.push({ level: 'info', m }),
    warn: (m: string) => void lines.push({ level: 'warn', m }),
    error: (m: string) => void lines.push({ level: 'error', m }),
  };
}

describe('watchContributions', () => {
  let dir: string;
  let store: RunStore;
  let hub: Hub;
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-discovery-'));
    store = await RunStore.open(path.join(dir, 'store'));
    hub = new Hub({ store, stateDir: path.join(dir, 'state'), logger: quiet });
  });
  afterEach(async () => {
    await hub.dispose();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists contributed plugins, skips Runwatch itself, and follows installs and removals', async () => {
    const exts = new FakeExtensions();
    exts.set([
      { id: 'runwatch.runwatch', packageJSON: pkg(plugin('self')) },
      { id: 'a.one', packageJSON: pkg(plugin('one')) },
    ]);
    const log = recordingLog();
    const watch = watchContributions(hub, log, 'runwatch.runwatch', exts);
    assert.deepEqual(
      hub.listPlugins().map((e) => [e.id, e.extensionId, e.active]),
      [['one', 'a.one', false]],
    );

    exts.set([...exts.all, { id: 'b.two', packageJSON: pkg(plugin('two', 'processor')) }]);
    assert.deepEqual(
      hub
        .listPlugins()
        .map((e) => e.id)
        .sort(),
      ['one', 'two'],
    );
    exts.set(exts.all.filter((e) => e.id !== 'a.one'));
    assert.deepEqual(
      hub.listPlugins().map((e) => e.id),
      ['two'],
    );
    assert.ok(log.lines.some((l) => /plugin "one" is gone/.test(l.m)));

    // Activation goes through the extension that declared it.
    await assert.rejects(hub.registry.ensureActive('two', 50), /b\.two declares plugin "two" but did not register it/);
    assert.deepEqual(exts.activations, ['b.two']);

    watch.dispose();
    assert.deepEqual(hub.listPlugins(), []);
    exts.set([{ id: 'c.three', packageJSON: pkg(plugin('three')) }]);
    assert.deepEqual(hub.listPlugins(), [], 'no longer listening');
  });

  it('logs a malformed contribution naming the extension and the field, and lists the rest', () => {
    const exts = new FakeExtensions();
    exts.set([
      {
        id: 'bad.ext',
        packageJSON: pkg(plugin('fine'), {
          ...plugin('broken'),
          configSchema: { type: 'object', properties: { n: { type: 'int' } } },
        }),
      },
    ]);
    const log = recordingLog();
    watchContributions(hub, log, 'runwatch.runwatch', exts);
    assert.deepEqual(
      hub.listPlugins().map((e) => e.id),
      ['fine'],
    );
    assert.equal(log.errors().length, 1);
    assert.match(
      log.errors()[0],
      /^bad\.ext: plugin "broken" ignored: .*configSchema\.properties\.n\.type must be one of/,
    );
  });

  it('reports two extensions contributing one id, naming both; the first keeps it until it is removed', () => {
    const exts = new FakeExtensions();
    const first = { id: 'first.ext', packageJSON: pkg(plugin('shared')) };
    const second = { id: 'second.ext', packageJSON: pkg({ ...plugin('shared'), displayName: 'Second' }) };
    exts.set([first, second]);
    const log = recordingLog();
    watchContributions(hub, log, 'runwatch.runwatch', exts);
    assert.deepEqual(
      hub.listPlugins().map((e) => e.extensionId),
      ['first.ext'],
    );
    assert.equal(log.errors().length, 1);
    assert.match(log.errors()[0], /plugin id "shared" is contributed by both second\.ext and first\.ext/);
    // Uninstalling the first lets the second's declaration through.
    exts.set([second]);
    assert.deepEqual(
      hub.listPlugins().map((e) => [e.extensionId, e.displayName]),
      [['second.ext', 'Second']],
    );
  });
});
