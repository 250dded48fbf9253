// The dashboard host's series feed: slices cut to the range the page asked for a key say
// which query asked, so the page can drop slices cut to an older range (fake store and
// series index: the feed's own logic only).
import * as assert from 'assert';
import type { RunSummary } from '../../src/api/types';
import { SeriesFeed } from '../../src/ui/dashboard/seriesFeed';
import type { ViewsDeps } from '../../src/ui/deps';

type Query = Parameters<ViewsDeps['series']['query']>[0];

function feed(): { feed: SeriesFeed; queries: Query[]; warnings: string[] } {
  const queries: Query[] = [];
  const warnings: string[] = [];
  const run = { runId: 'r1', startTime: 1000 } as RunSummary;
  const deps = {
    store: { getRun: (id: string) => (id === 'r1' ? run : undefined) },
    series: {
      query: async (q: Query) => {
        queries.push(q);
        if (q.key === 'broken') throw new Error('unreadable');
        const x = Float64Array.from([q.from ?? 1000, q.to ?? 1010]);
        return {
          x,
          y: Float64Array.from([1, 2]),
          nonFinite: { x: Float64Array.from([1005]), kind: Uint8Array.from([0]) },
          total: 9,
          decimated: false,
        };
      },
      latest: () => ({ step: 7, value: NaN, time: 0 }),
    },
    log: { warn: (m: string) => warnings.push(m) },
  } as unknown as Pick<ViewsDeps, 'store' | 'series' | 'log'>;
  return { feed: new SeriesFeed(deps), queries, warnings };
}

describe('dashboard series feed', () => {
  it('cuts later slices of a key to its last queried range and names that query', async () => {
    const { feed: f, queries } = feed();
    const [full] = await f.read([{ runId: 'r1', key: 'loss' }], 'step');
    assert.strictEqual(full.rangeRequestId, undefined);
    f.setRange({ key: 'loss', from: 3, to: 5, requestId: 4 });
    const [zoomed, other] = await f.read(
      [
        { runId: 'r1', key: 'loss' },
        { runId: 'r1', key: 'acc' },
      ],
      'step',
    );
    assert.deepStrictEqual([zoomed.rangeRequestId, queries[1].from, queries[1].to], [4, 3, 5]);
    assert.strictEqual(other.rangeRequestId, undefined, 'another key keeps the full range');
    // A reset asks for the full range, still under its own request id.
    f.setRange({ key: 'loss', requestId: 6 });
    const [reset] = await f.read([{ runId: 'r1', key: 'loss' }], 'step');
    assert.deepStrictEqual([reset.rangeRequestId, queries[3].from, queries[3].to], [6, undefined, undefined]);
    f.clearRanges();
    const [cleared] = await f.read([{ runId: 'r1', key: 'loss' }], 'step');
    assert.strictEqual(cleared.rangeRequestId, undefined);
  });

  it('relative time is wall time less the run start, both ways; non-finite latest values travel as text', async () => {
    const { feed: f, queries } = feed();
    f.setRange({ key: 'loss', from: 2, to: 4, requestId: 1 });
    const [s] = await f.read([{ runId: 'r1', key: 'loss' }], 'relative');
    assert.deepStrictEqual([queries[0].x, queries[0].from, queries[0].to], ['time', 1002, 1004]);
    assert.deepStrictEqual([...s.x], [2, 4]);
    assert.deepStrictEqual([...s.nonFiniteX], [5]);
    assert.deepStrictEqual(s.latest, { step: 7, value: 'NaN' });
  });

  it('leaves out gone runs and unreadable series, saying which', async () => {
    const { feed: f, warnings } = feed();
    const out = await f.read(
      [
        { runId: 'gone', key: 'loss' },
        { runId: 'r1', key: 'broken' },
        { runId: 'r1', key: 'loss' },
      ],
      'step',
    );
    assert.deepStrictEqual(
      out.map((s) => s.key),
      ['loss'],
    );
    assert.strictEqual(warnings.length, 1);
    assert.match(warnings[0], /could not read broken of run r1: Error: unreadable/);
  });
});
