// The bridge backend kind against real Python processes: the frame codec, set-ups that
// cannot work (no interpreter, SDK missing) saying what to do, the W&B key reaching the
// bridge only through its environment, and a SIGKILLed bridge started again with the batch
// acknowledged once. The trackers' read-backs are in test/python/test_bridge_*.py.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginContext, RunBatch, RunRecord } from '../../src/api/types';
import { BridgeBackend } from '../../src/backends/bridge/backend';
import { encodeFrame, FrameReader } from '../../src/backends/bridge/frames';
import { AIM, WANDB } from '../../src/backends/bridge/trackers';

const root = path.resolve(__dirname, '../..');
const venvPython = path.join(root, '.vscode-test', 'venv-test', 'bin', 'python');
const haveVenv = fs.existsSync(venvPython);

function context(dir: string, config: Record<string, unknown>, secrets: Record<string, string> = {}) {
  const notes: string[] = [];
  const logs: string[] = [];
  const ctx: PluginContext = {
    config,
    secrets: { get: async (k) => secrets[k] },
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: (m) => logs.push(m),
      warn: (m) => logs.push(m),
      error: (m) => logs.push(String(m)),
    },
    notify: (m) => notes.push(m),
    storageDir: dir,
  };
  return { ctx, notes, logs };
}

function batch(runId: string, from: number, to: number): RunBatch {
  const records: RunRecord[] = [];
  for (let i = from; i < to; i++) {
    records.push({
      runId,
      offset: i,
      event:
        i === 0
          ? { type: 'run.start', project: 'p', name: 'n', time: 1, params: { lr: 0.1 }, tags: {}, context: {} }
          : { type: 'metrics', points: [{ key: 'train/loss', value: i === 3 ? NaN : 1 / i, step: i, time: 100 + i }] },
    });
  }
  const run = {
    runId,
    project: 'p',
    name: 'n',
    status: 'running' as const,
    startTime: 1,
    params: {},
    tags: {},
    context: {},
  };
  return { run, records };
}

describe('bridge frames', () => {
  it('splits and joins frames across chunks, non-finite numbers as strings', () => {
    const a = encodeFrame({ op: 'write', v: [1, NaN, Infinity, -Infinity] });
    const b = encodeFrame({ op: 'health', s: 'ü' });
    const all = Buffer.concat([a, b]);
    const r = new FrameReader();
    const got = [
      ...r.push(all.subarray(0, 3)),
      ...r.push(all.subarray(3, a.length + 2)),
      ...r.push(all.subarray(a.length + 2)),
    ];
    assert.deepEqual(got, [
      { op: 'write', v: [1, 'NaN', 'Infinity', '-Infinity'] },
      { op: 'health', s: 'ü' },
    ]);
  });

  it('refuses a frame over the size limit', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(0xffffffff, 0);
    assert.throws(() => new FrameReader().push(head), /over the limit/);
  });
});

describe('bridge backend set-up errors', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bridge-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the missing interpreter and the setting', async () => {
    const missing = path.join(dir, 'no-such-python');
    const b = new BridgeBackend(WANDB, { interpreter: async () => missing });
    const { ctx, notes } = context(dir, { mode: 'offline' });
    await b.initialize(ctx);
    const h = await b.healthCheck();
    assert.equal(h.healthy, false);
    assert.match(h.details, new RegExp(`no Python interpreter at "${missing}".*runwatch\\.python\\.interpreter`));
    await assert.rejects(b.write(batch('r1', 0, 2)), /no Python interpreter/);
    await assert.rejects(b.write(batch('r1', 0, 2)), /no Python interpreter/);
    assert.equal(notes.length, 1, 'told once');
    await b.dispose();
  });

  it('names the interpreter and the pip line when the SDK is missing', async function () {
    if (!haveVenv) this.skip();
    const bare = path.join(dir, 'bare');
    execFileSync(venvPython, ['-m', 'venv', '--without-pip', bare]);
    const py = path.join(bare, 'bin', 'python');
    const b = new BridgeBackend(AIM, { interpreter: async () => py });
    const { ctx } = context(dir, {});
    await b.initialize(ctx);
    const h = await b.healthCheck();
    assert.equal(h.healthy, false);
    assert.ok(h.details.includes(`run \`${py} -m pip install aim\``), h.details);
    await assert.rejects(b.write(batch('r1', 0, 2)), /pip install aim/);
    await b.dispose();
  });
});

describe('bridge backend with the real W&B SDK (offline)', function () {
  this.timeout(240_000);
  let dir: string;
  before(function () {
    if (!haveVenv) this.skip();
  });
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bridge-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hands the API key to the bridge in its environment only', async () => {
    const key = 'secret-key-0123456789abcdef0123456789abcdef';
    const b = new BridgeBackend(WANDB, { interpreter: async () => venvPython });
    const { ctx } = context(dir, { mode: 'offline', dir: path.join(dir, 'wandb') }, { apiKey: key });
    await b.initialize(ctx);
    await b.write(batch('r1', 0, 5));
    const environ = fs.readFileSync(`/proc/${b.bridgePid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`WANDB_API_KEY=${key}`));
    await b.dispose();
    const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const f of files) {
      const text = fs.readFileSync(path.join(f.parentPath, f.name)).toString('latin1');
      assert.ok(!text.includes(key), `the key is in ${path.join(f.parentPath, f.name)}`);
    }
  });

  it('starts a SIGKILLed bridge again and skips what the tracker already holds', async () => {
    const b = new BridgeBackend(WANDB, { interpreter: async () => venvPython });
    const { ctx, logs } = context(dir, { mode: 'offline', dir: path.join(dir, 'wandb') });
    await b.initialize(ctx);
    await b.write(batch('r1', 0, 10));
    const first = b.bridgePid!;
    process.kill(first, 'SIGKILL');
    // The batch comes again (the runner retries it) with more behind it.
    for (;;) {
      try {
        await b.write(batch('r1', 0, 20));
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.notEqual(b.bridgePid, first);
    assert.equal(b.bridgeStarts, 2);
    assert.ok(logs.some((l) => /bridge was killed \(SIGKILL\)/.test(l)));
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'bridge-wandb', 'runs', 'r1.json'), 'utf8')) as {
      offset: number;
      step: number;
    };
    // 19 metric records after run.start: one W&B row each, none twice.
    assert.deepEqual([state.offset, state.step], [19, 19]);
    await b.dispose();
  });
});
