import * as assert from 'node:assert/strict';
import type { ProcessorPlugin, RunEvent, RunSummary } from '../../src/api/types';
import { buildPipeline, looksSecret, validateProcessors, type ProcessorSpec } from '../../src/core/processors';

const run: RunSummary = {
  runId: 'r',
  project: 'p',
  name: 'n',
  status: 'running',
  startTime: 0,
  params: { password: 'hunter2', lr: 0.1 },
  tags: { GITHUB_TOKEN: 'ghp', team: 'x' },
  context: {},
};
const pts = (...keys: string[]): RunEvent => ({
  type: 'metrics',
  points: keys.map((key, i) => ({ key, value: i, step: i, time: i })),
});
const keysOf = (e: RunEvent | undefined) => (e && e.type === 'metrics' ? e.points.map((p) => p.key) : undefined);
const apply = (specs: ProcessorSpec[], e: RunEvent) => buildPipeline(specs).event(e, run);

describe('processors', () => {
  it('recognizes secret-looking keys by whole word, case-insensitively', () => {
    for (const k of [
      'api_key',
      'apiKey',
      'API_KEY',
      'token',
      'hf-token',
      'DB_PASSWORD',
      'aws.secret.access',
      'Secret',
      'openai_api_key',
    ])
      assert.ok(looksSecret(k), `${k} should look secret`);
    for (const k of [
      'learning_rate',
      'keyboard',
      'monkey',
      'tokens_per_second',
      'batch_size',
      'tokenizer',
      'passwords_seen',
      'secretary',
    ])
      assert.ok(!looksSecret(k), `${k} should not look secret`);
    assert.ok(looksSecret('my_pin', ['pin']));
  });

  it('masks params and tags in run.start, params and tags events, and the run summary', () => {
    const p = buildPipeline([{ type: 'mask' }]);
    const start = p.event(
      {
        type: 'run.start',
        project: 'p',
        name: 'n',
        time: 0,
        params: { api_key: 'k', lr: 0.1, token: null },
        tags: { SECRET_x: 's', owner: 'me' },
        context: {},
      },
      run,
    );
    assert.ok(start?.type === 'run.start');
    assert.deepEqual(start.params, { api_key: '***', lr: 0.1, token: null });
    assert.deepEqual(start.tags, { SECRET_x: '***', owner: 'me' });
    assert.deepEqual(
      (p.event({ type: 'params', params: { hf_token: 'x', epochs: 3 } }, run) as { params: unknown }).params,
      { hf_token: '***', epochs: 3 },
    );
    assert.deepEqual((p.event({ type: 'tags', tags: { Password: 'x' } }, run) as { tags: unknown }).tags, {
      Password: '***',
    });
    const s = p.summary(run);
    assert.deepEqual(s.params, { password: '***', lr: 0.1 });
    assert.deepEqual(s.tags, { GITHUB_TOKEN: '***', team: 'x' });
    assert.equal(run.params.password, 'hunter2', 'the input is not mutated');
  });

  it('without a mask step nothing is masked', () => {
    const p = buildPipeline([]);
    assert.equal(p.summary(run).params.password, 'hunter2');
  });

  it('includes and excludes metric keys by glob, and drops events left empty', () => {
    assert.deepEqual(
      keysOf(apply([{ type: 'include', keys: ['train/*', 'lr'] }], pts('train/loss', 'val/loss', 'lr', 'lr2'))),
      ['train/loss', 'lr'],
    );
    assert.deepEqual(
      keysOf(apply([{ type: 'exclude', keys: ['*/loss', 'gpu?'] }], pts('train/loss', 'gpu0', 'gpu10', 'acc'))),
      ['gpu10', 'acc'],
    );
    assert.equal(apply([{ type: 'include', keys: ['nothing'] }], pts('a', 'b')), undefined);
    // Non-metric events pass through key filters.
    const log: RunEvent = { type: 'log', stream: 'stdout', lines: ['x'], time: 0 };
    assert.equal(apply([{ type: 'include', keys: ['nothing'] }], log), log);
  });

  it('renames keys, then later steps see the new names', () => {
    assert.deepEqual(
      keysOf(
        apply(
          [
            { type: 'rename', map: { loss: 'train/loss' } },
            { type: 'include', keys: ['train/*'] },
          ],
          pts('loss', 'acc'),
        ),
      ),
      ['train/loss'],
    );
  });

  it('downsamples by step multiple (deterministic) and by minimum interval per key', () => {
    const e: RunEvent = {
      type: 'metrics',
      points: Array.from({ length: 10 }, (_, i) => ({ key: 'a', value: i, step: i, time: i * 0.4 })),
    };
    assert.deepEqual(
      (apply([{ type: 'downsample', every: 3 }], e) as { points: { step: number }[] }).points.map((p) => p.step),
      [0, 3, 6, 9],
    );
    const p = buildPipeline([{ type: 'downsample', minIntervalSeconds: 1 }]);
    // times 0,0.4,0.8 | 1.2,1.6 | 2.0,2.4,2.8 | 3.2,3.6 → first of each second
    assert.deepEqual(
      (p.event(e, run) as { points: { step: number }[] }).points.map((x) => x.step),
      [0, 3, 5, 8],
    );
    // State carries across batches for the same key.
    assert.equal(p.event({ type: 'metrics', points: [{ key: 'a', value: 0, step: 10, time: 3.9 }] }, run), undefined);
  });

  it('runs processor plugins by id, and fails closed when one is missing', () => {
    const upper: ProcessorPlugin = {
      metadata: { id: 'up', displayName: 'Up', version: '1', kind: 'processor', capabilities: [] },
      async initialize() {},
      async healthCheck() {
        return { healthy: true, details: '' };
      },
      dispose() {},
      process: (ev) =>
        ev.type === 'metrics' ? { ...ev, points: ev.points.map((p) => ({ ...p, key: p.key.toUpperCase() })) } : ev,
    };
    assert.deepEqual(
      keysOf(
        buildPipeline([{ type: 'plugin', id: 'up' }], (id) => (id === 'up' ? upper : undefined)).event(pts('a'), run),
      ),
      ['A'],
    );
    assert.throws(
      () => buildPipeline([{ type: 'plugin', id: 'gone' }]).event(pts('a'), run),
      /processor plugin "gone" is not registered/,
    );
  });

  it('validates the processors setting with messages naming the step', () => {
    assert.deepEqual(validateProcessors(undefined), []);
    assert.deepEqual(validateProcessors([{ type: 'mask' }, { type: 'downsample', every: 5 }]), []);
    const errs = validateProcessors([
      { type: 'include', keys: 'loss' },
      { type: 'downsample' },
      { type: 'shuffle' },
      { type: 'downsample', every: 0 },
    ]);
    assert.equal(errs.length, 4);
    assert.match(errs[0], /processors\[0\]"\.keys/);
    assert.match(errs[1], /processors\[1\]" needs "every" or "minIntervalSeconds"/);
    assert.match(errs[2], /processors\[2\]"\.type must be one of/);
    assert.match(errs[3], /processors\[3\]"\.every/);
    assert.deepEqual(validateProcessors({}), ['"processors" must be a list of steps.']);
  });
});
