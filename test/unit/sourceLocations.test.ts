// Source locations on the wire and in the store: a `metrics` message may carry `sources` (with or
// without points); the hand-written parser and the zod schema agree on it; the store keeps them in the
// log as received and in the run's summary (first location per key wins), also after a reopen.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseFrame } from '../../src/collector/frames';
import * as v1 from '../../src/protocol/v1';
import { decodePayload, encodePayload, encodeWirePayload, reduce } from '../../src/store/records';
import { RunStore } from '../../src/store/runStore';

const LIMITS = { maxBatchPoints: 10000 };
const loc = { file: '/w/train.py', line: 12, function: 'train' };

function parse(o: unknown) {
  return parseFrame(JSON.stringify(o), LIMITS);
}

describe('source locations', () => {
  it('a metrics message with only sources parses in both parsers, as an event with no points', () => {
    const msg = { type: 'metrics', runId: 'r1', seq: 2, sources: { 'train/loss': loc } };
    const f = parse(msg);
    assert.equal(f.kind, 'run');
    if (f.kind !== 'run') return;
    assert.deepEqual(f.event, { type: 'metrics', points: [], sources: { 'train/loss': loc } });
    assert.equal(f.points, 0);
    assert.ok(v1.Metrics.safeParse(msg).success);
  });

  it('sources ride along with points and with columns', () => {
    const points = [{ key: 'a', value: 1, step: 0, time: 1 }];
    const withPoints = parse({ type: 'metrics', runId: 'r1', seq: 2, points, sources: { a: loc } });
    assert.ok(withPoints.kind === 'run' && withPoints.event.type === 'metrics');
    if (withPoints.kind === 'run' && withPoints.event.type === 'metrics') {
      assert.deepEqual(withPoints.event.points, points);
      assert.deepEqual(withPoints.event.sources, { a: loc });
    }
    const cols = { keys: ['a'], k: [0], v: [2], s: [1], t: [1] };
    const withCols = parse({ type: 'metrics', runId: 'r1', seq: 3, cols, sources: { a: loc } });
    assert.ok(withCols.kind === 'run' && withCols.event.type === 'metrics' && withCols.event.sources?.a.line === 12);
  });

  it('bad locations are refused with what was wrong, the same in both parsers', () => {
    const bad: unknown[] = [
      { a: { file: '', line: 1 } },
      { a: { file: '/x.py', line: 0 } },
      { a: { file: '/x.py', line: 1.5 } },
      { a: { file: '/x.py' } },
      { '': { file: '/x.py', line: 1 } },
      { a: 'here' },
      [],
      'x',
    ];
    for (const sources of bad) {
      const msg = { type: 'metrics', runId: 'r1', seq: 2, sources };
      const f = parse(msg);
      assert.equal(f.kind, 'error', JSON.stringify(sources));
      if (f.kind === 'error') {
        assert.equal(f.error.code, 'bad_message');
        assert.match(f.error.message, /"sources"/);
      }
      assert.equal(v1.Metrics.safeParse(msg).success, false, JSON.stringify(sources));
    }
    // Neither points, cols nor sources: still refused, naming what to send.
    const none = parse({ type: 'metrics', runId: 'r1', seq: 2 });
    assert.ok(none.kind === 'error' && /"points" must be an array/.test(none.error.message));
  });

  it('the summary keeps the first location of each key, from wire payloads and rebuilt events alike', () => {
    const first = { type: 'metrics', runId: 'r', seq: 2, sources: { a: loc } };
    const later = { type: 'metrics', runId: 'r', seq: 3, sources: { a: { file: '/w/other.py', line: 99 }, b: loc } };
    const ev1 = decodePayload(encodeWirePayload(2, JSON.stringify(first))).event;
    const ev2 = decodePayload(encodeWirePayload(3, JSON.stringify(later))).event;
    let s = reduce(undefined, 'r', ev1);
    s = reduce(s, 'r', ev2);
    assert.deepEqual(s.sources, { a: loc, b: loc });
    // A rebuilt payload (a non-finite value) keeps its sources too.
    const nan = decodePayload(
      encodePayload(4, { type: 'metrics', points: [{ key: 'a', value: NaN, step: 0, time: 1 }], sources: { c: loc } }),
    ).event;
    assert.ok(nan.type === 'metrics' && nan.sources?.c.line === 12 && Number.isNaN(nan.points[0].value));
  });

  it('the store keeps sources in the summary across a reopen', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-sources-'));
    try {
      const store = await RunStore.open(dir);
      await store.append('r', [
        {
          seq: 1,
          event: { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} },
        },
        { seq: 2, event: { type: 'metrics', points: [], sources: { a: loc } } },
        { seq: 3, event: { type: 'metrics', points: [{ key: 'a', value: 1, step: 0, time: 2 }] } },
      ]);
      assert.deepEqual(store.getRun('r')?.sources, { a: loc });
      await store.close();
      fs.rmSync(path.join(dir, 'runs', 'r', 'meta.json'), { force: true }); // replayed from the log
      const again = await RunStore.open(dir);
      assert.deepEqual(again.getRun('r')?.sources, { a: loc });
      assert.equal(again.getRun('r')?.lastStep, 0);
      await again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
