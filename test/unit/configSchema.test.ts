import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendPlugin, ConfigSchema, PluginContext } from '../../src/api/types';
import { parseInput, requiredAfterTyping, validateConfig } from '../../src/core/configSchema';
import { Hub, secretKey } from '../../src/core/hub';
import { RunStore } from '../../src/store/runStore';

const schema: ConfigSchema = {
  type: 'object',
  properties: {
    url: { type: 'string', description: 'Server address.' },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 5000 },
    mode: { type: 'string', enum: ['fast', 'safe'] },
    verify: { type: 'boolean', default: true },
    keys: { type: 'array', items: { type: 'string' } },
    token: { type: 'string', secret: true },
  },
  required: ['url', 'token'],
};

describe('config validation', () => {
  it('accepts a good config and fills in defaults', () => {
    const v = validateConfig(schema, { url: 'http://x', mode: 'fast' }, { presentSecrets: new Set(['token']) });
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.value, { url: 'http://x', port: 5000, mode: 'fast', verify: true });
  });

  it('refuses with one message per problem, each naming the field', () => {
    const v = validateConfig(
      schema,
      { port: 70000, mode: 'turbo', verify: 'yes', keys: ['a', 3], extra: 1, token: 'inline' },
      { pluginId: 'mlflow', presentSecrets: new Set() },
    );
    assert.equal(v.ok, false);
    const by = (field: string) => v.errors.filter((e) => e.startsWith(`"${field}" (backend "mlflow")`));
    assert.match(by('url')[0], /is required: Server address\./);
    assert.match(by('port')[0], /must be at most 65535, got 70000/);
    assert.match(by('mode')[0], /must be one of "fast", "safe"/);
    assert.match(by('verify')[0], /must be true or false/);
    assert.match(by('keys')[0], /item 1 must be a string/);
    assert.match(by('extra')[0], /is not a setting of this backend/);
    assert.equal(by('token').length, 2, 'a secret in settings, and the required secret missing');
    assert.equal(v.errors.length, 8);
  });

  it('words every message as before, in schema order with unknown keys last', () => {
    const v = validateConfig(
      schema,
      { port: 70000, mode: 'turbo', verify: 'yes', keys: ['a', 3], extra: 1, token: 'inline' },
      { pluginId: 'mlflow', presentSecrets: new Set() },
    );
    const at = '(backend "mlflow")';
    assert.deepEqual(v.errors, [
      `"url" ${at} is required: Server address. Set it with "Runwatch: Configure Backend…".`,
      `"port" ${at} must be at most 65535, got 70000.`,
      `"mode" ${at} must be one of "fast", "safe", got "turbo".`,
      `"verify" ${at} must be true or false, got "yes".`,
      `"keys" ${at} item 1 must be a string, got number 3.`,
      `"token" ${at} is a secret: store it with "Runwatch: Configure Backend…", not in settings.`,
      `"token" ${at} is required: set it with "Runwatch: Configure Backend…".`,
      `"extra" ${at} is not a setting of this backend; known: url, port, mode, verify, keys, token.`,
    ]);
    // One message per field: a value of the wrong type is not also reported as outside the enum or range.
    assert.deepEqual(validateConfig(schema, { url: 'u', port: 'x', mode: 3 }).errors, [
      '"port" must be a number, got "x".',
      '"mode" must be a string, got number 3.',
    ]);
    assert.deepEqual(validateConfig(schema, { url: 'u', port: NaN, keys: 'a' }).errors, [
      '"port" must be a number, got number NaN.',
      '"keys" must be a list, got "a".',
    ]);
    // Empty and null count as unset: the default applies, or "required".
    assert.deepEqual(validateConfig(schema, { url: '', port: null }).errors, [
      '"url" is required: Server address. Set it with "Runwatch: Configure Backend…".',
    ]);
    assert.equal(validateConfig(schema, { url: 'u', port: null }).value.port, 5000);
  });

  it('treats integer and number differently, and keeps "processors" for Runwatch', () => {
    assert.match(validateConfig(schema, { url: 'u', port: 1.5 }).errors[0], /"port" must be a whole number/);
    assert.deepEqual(validateConfig(schema, { url: 'u', processors: [] }).errors, []);
  });

  it('tells where to set a field by the plugin kind: Configure Backend… for backends and sources, settings for processors', () => {
    const schema: ConfigSchema = {
      type: 'object',
      properties: { dir: { type: 'string' }, key: { type: 'string', secret: true } },
      required: ['dir', 'key'],
    };
    const backend = validateConfig(schema, { extra: 1 }, { pluginId: 'b', kind: 'backend' }).errors.join(' ');
    assert.match(backend, /"dir" \(backend "b"\) is required\. Set it with "Runwatch: Configure Backend…"/);
    assert.match(backend, /not a setting of this backend/);
    const source = validateConfig(schema, { extra: 1 }, { pluginId: 's', kind: 'source' }).errors.join(' ');
    assert.match(source, /"dir" \(source "s"\) is required\. Set it with "Runwatch: Configure Backend…"/);
    assert.match(source, /not a setting of this source/);
    const proc = validateConfig(schema, {}, { pluginId: 'p', kind: 'processor' }).errors.join(' ');
    assert.match(proc, /runwatch\.processorConfig/);
  });

  it('parses input box text into the property type', () => {
    assert.deepEqual(parseInput({ type: 'integer', minimum: 1 }, '42'), { value: 42 });
    assert.match(parseInput({ type: 'integer', minimum: 1 }, '0').error!, /at least 1/);
    assert.match(parseInput({ type: 'number' }, 'abc').error!, /must be a number/);
    assert.deepEqual(parseInput({ type: 'boolean' }, 'false'), { value: false });
    assert.deepEqual(parseInput({ type: 'array', items: { type: 'string' } }, 'a, b,,c'), { value: ['a', 'b', 'c'] });
    assert.deepEqual(parseInput({ type: 'array', items: { type: 'number' } }, '1, x'), {
      error: 'item 1 must be a number, got number NaN.',
    });
    assert.deepEqual(parseInput({ type: 'string', enum: ['a', 'b'] }, 'c'), {
      error: 'must be one of "a", "b", got "c".',
    });
    assert.deepEqual(parseInput({ type: 'integer' }, '2.5'), { error: 'must be a whole number, got 2.5.' });
  });
});

describe('hub: selecting backends validates their config', function () {
  this.timeout(30_000);
  let dir: string;
  let store: RunStore;
  let hub: Hub;
  let seen: PluginContext | undefined;
  const secrets = new Map<string, string>();
  const plugin: BackendPlugin = {
    metadata: {
      id: 'srv',
      displayName: 'Server',
      version: '1',
      kind: 'backend',
      capabilities: [],
      configSchema: schema,
    },
    async initialize(ctx) {
      seen = ctx;
    },
    async write() {},
    async healthCheck() {
      return { healthy: true, details: 'fine' };
    },
    dispose() {},
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-cfg-'));
    store = await RunStore.open(path.join(dir, 'store'));
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    hub = new Hub({
      store,
      stateDir: path.join(dir, 'state'),
      logger: quiet,
      secrets: { get: async (k) => secrets.get(k) },
    });
    hub.registerPlugin(plugin);
    seen = undefined;
    secrets.clear();
  });
  afterEach(async () => {
    await hub.dispose();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad config with a message naming the field, and shows it in status', async () => {
    secrets.set(secretKey('srv', 'token'), 't0k');
    await assert.rejects(
      hub.selectBackends(['srv'], { srv: { url: 'http://x', port: 'five' } }),
      /"port" \(backend "srv"\) must be a number/,
    );
    assert.equal(seen, undefined, 'initialize is not called with a refused config');
    const [s] = hub.status();
    assert.equal(s.healthy, false);
    assert.match(s.details, /"port"/);
  });

  it('refuses when a required secret is missing, and starts once it is there', async () => {
    await assert.rejects(
      hub.selectBackends(['srv'], { srv: { url: 'http://x' } }),
      /"token" \(backend "srv"\) is required/,
    );
    secrets.set(secretKey('srv', 'token'), 't0k');
    await hub.selectBackends([], {});
    await hub.selectBackends(['srv'], { srv: { url: 'http://x' } });
    assert.ok(seen);
    assert.deepEqual({ ...seen.config }, { url: 'http://x', port: 5000, verify: true });
    assert.equal(await seen.secrets.get('token'), 't0k');
    assert.ok(fs.existsSync(seen.storageDir));
    const [s] = await hub.checkHealth();
    assert.equal(s.healthy, true);
    assert.equal(s.details, 'fine');
  });

  it('names an unknown backend id', async () => {
    await assert.rejects(hub.selectBackends(['nope']), /no backend with id "nope"/);
  });
});

describe('config input boxes: "required" while typing', () => {
  it('no message for the untouched empty box (VS Code would ignore a quick Enter after pasting)', () => {
    const v = requiredAfterTyping(true, 'url is required');
    assert.equal(v(''), undefined);
    assert.equal(v('amqp://x'), undefined);
    assert.equal(v(''), 'url is required');
  });
});
