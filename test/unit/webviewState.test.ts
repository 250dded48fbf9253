// The dashboard page's state, fed messages as the host sends them: which series it keeps
// when replies and live updates arrive out of order (no DOM: the model is pure).
import * as assert from 'assert';
import { DashboardModel } from '../../src/webview/dashboard/state';
import { LatestRequests, isReady, isRequestId } from '../../src/webview/protocol/base';
import {
  type RunInfo,
  type SeriesData,
  type SeriesMessage,
  defaultDashboardState,
} from '../../src/webview/protocol/dashboard';

const run: RunInfo = { runId: 'r1', name: 'one', project: 'p', status: 'running', startTime: 0, color: 'red' };

/** A slice of `r1`'s `loss` from `from` to `to`, as the host cuts it for `rangeRequestId`. */
function slice(from: number, to: number, rangeRequestId?: number): SeriesData {
  const x = Float64Array.from({ length: to - from + 1 }, (_, i) => from + i);
  return {
    runId: 'r1',
    key: 'loss',
    xMode: 'step',
    x,
    y: x.map((v) => v * 2),
    nonFiniteX: new Float64Array(0),
    nonFiniteKind: new Uint8Array(0),
    total: 1000,
    decimated: true,
    rangeRequestId,
  };
}

function reply(s: SeriesData, requestId?: number): SeriesMessage {
  return { type: 'series', series: [s], requestId };
}

function shownRange(m: DashboardModel): [number, number] {
  const s = m.seriesOf('loss')[0];
  return [s.x[0], s.x[s.x.length - 1]];
}

describe('dashboard page state', () => {
  function model(): DashboardModel {
    const m = new DashboardModel({ ...defaultDashboardState, runIds: ['r1'] });
    m.setRuns([run], [run]);
    m.applySeries(reply(slice(0, 999)));
    return m;
  }

  it('the reply to an older zoom arriving after the newer one does not overwrite it', () => {
    const m = model();
    const older = m.query('loss', { min: 100, max: 500 });
    const newer = m.query('loss', { min: 200, max: 300 });
    assert.ok(newer.requestId > older.requestId);
    assert.deepStrictEqual([...m.applySeries(reply(slice(200, 300, newer.requestId), newer.requestId))], ['loss']);
    const changed = m.applySeries(reply(slice(100, 500, older.requestId), older.requestId));
    assert.deepStrictEqual(shownRange(m), [200, 300], 'the newer zoom stays');
    assert.strictEqual(changed.size, 0, 'nothing to redraw for a stale reply');
  });

  it('drops live updates cut to a range older than the latest query, keeps those cut to it', () => {
    const m = model();
    const q = m.query('loss', { min: 10, max: 20 });
    // Posted by the host before it saw the query: still the full range.
    m.applySeries(reply(slice(0, 1000)));
    assert.deepStrictEqual(shownRange(m), [0, 999], 'a full-range update does not replace data while a zoom is asked');
    m.applySeries(reply(slice(10, 20, q.requestId), q.requestId));
    m.applySeries(reply(slice(10, 20, q.requestId)));
    assert.deepStrictEqual(shownRange(m), [10, 20]);
    // Reset to the full range: the reply and live updates after it apply again.
    const reset = m.query('loss', undefined);
    assert.strictEqual(reset.from, undefined);
    m.applySeries(reply(slice(0, 1001, reset.requestId), reset.requestId));
    assert.deepStrictEqual(shownRange(m), [0, 1001]);
  });

  it('queries of one key do not hold back another key', () => {
    const m = model();
    m.query('acc', { min: 1, max: 2 });
    m.applySeries(reply(slice(0, 5)));
    assert.deepStrictEqual(shownRange(m), [0, 5]);
  });

  it('a new x axis forgets series and queries; answers for the old axis are dropped', () => {
    const m = model();
    m.query('loss', { min: 1, max: 2 });
    assert.deepStrictEqual(m.patch({ xMode: 'time' }), { xChanged: true });
    assert.deepStrictEqual(m.shownKeys(), []);
    m.applySeries(reply(slice(0, 9, 1)));
    assert.deepStrictEqual(m.shownKeys(), [], 'a step-axis slice is not shown on the time axis');
    m.applySeries(reply({ ...slice(0, 9), xMode: 'time' }));
    assert.deepStrictEqual(m.shownKeys(), ['loss'], 'live updates without a query apply after the reset');
  });

  it('series of runs no longer shown are forgotten', () => {
    const m = model();
    assert.strictEqual(m.setRuns([], [run]), true);
    assert.deepStrictEqual(m.shownKeys(), []);
    assert.strictEqual(m.setRuns([], [run]), false, 'the same runs again need no redraw');
  });

  it('LatestRequests issues growing ids per page and judges each target on its own', () => {
    const r = new LatestRequests<string>();
    const a = r.issue('a');
    const b = r.issue('b');
    assert.ok(b > a);
    assert.ok(r.isCurrent('a', a) && !r.isCurrent('a', undefined) && r.isCurrent('c', undefined));
    assert.ok(!r.isCurrent('b', a));
    r.clear();
    assert.ok(r.isCurrent('b', undefined));
    assert.ok(r.issue('a') > b, 'ids keep growing after a clear');
  });

  it('the base guards accept ready and request ids, reject the rest', () => {
    assert.ok(isReady({ type: 'ready' }));
    assert.ok(!isReady({ type: 'state' }) && !isReady(null));
    assert.ok(isRequestId(3));
    assert.ok(!isRequestId(0) && !isRequestId(1.5) && !isRequestId('3'));
  });
});
