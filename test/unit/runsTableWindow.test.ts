// Virtual scrolling's arithmetic: which rows are drawn for a scroll position, at the ends and past them.
import * as assert from 'assert';
import { rowWindow, scrollToRow } from '../../src/webview/runsTable/virtualWindow';

describe('runs table: virtual-scroll window', () => {
  it('at the top: the viewport rows plus the overscan below, spacer 0', () => {
    const w = rowWindow({ count: 10_000, rowHeight: 22, scrollTop: 0, viewportHeight: 440, overscan: 5 });
    assert.deepStrictEqual(w, { start: 0, end: 26, offsetTop: 0, totalHeight: 220_000 });
  });

  it('in the middle: overscan on both sides, the top spacer at the first drawn row', () => {
    const w = rowWindow({ count: 10_000, rowHeight: 20, scrollTop: 100_010, viewportHeight: 400, overscan: 5 });
    // First visible row 5000 (partly scrolled off), 21 rows reach the viewport's bottom.
    assert.deepStrictEqual(w, { start: 4995, end: 5026, offsetTop: 99_900, totalHeight: 200_000 });
    assert.ok(w.end - w.start < 40, 'only a window of rows is drawn');
  });

  it('at the very end the last row is drawn and nothing past it', () => {
    const w = rowWindow({ count: 1000, rowHeight: 20, scrollTop: 20_000 - 400, viewportHeight: 400, overscan: 3 });
    assert.strictEqual(w.end, 1000);
    assert.strictEqual(w.start, 980 - 3);
  });

  it('a scrollTop past the end (the list shrank) shows the last page', () => {
    const w = rowWindow({ count: 30, rowHeight: 20, scrollTop: 50_000, viewportHeight: 200, overscan: 0 });
    assert.deepStrictEqual(w, { start: 20, end: 30, offsetTop: 400, totalHeight: 600 });
  });

  it('fewer rows than the viewport holds: all of them; none: an empty window', () => {
    assert.deepStrictEqual(rowWindow({ count: 3, rowHeight: 20, scrollTop: 0, viewportHeight: 500 }), {
      start: 0,
      end: 3,
      offsetTop: 0,
      totalHeight: 60,
    });
    assert.deepStrictEqual(rowWindow({ count: 0, rowHeight: 20, scrollTop: 10, viewportHeight: 500 }), {
      start: 0,
      end: 0,
      offsetTop: 0,
      totalHeight: 0,
    });
  });

  it('scrollToRow moves as little as needed', () => {
    assert.strictEqual(scrollToRow(10, 20, 0, 400), 0, 'already visible');
    assert.strictEqual(scrollToRow(30, 20, 0, 400), 31 * 20 - 400, 'below: row at the bottom edge');
    assert.strictEqual(scrollToRow(2, 20, 200, 400), 40, 'above: row at the top edge');
  });
});
