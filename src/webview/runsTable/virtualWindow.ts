// Which rows of a long list are in the DOM: those in the viewport plus a few either side, so the
// table holds about forty row elements whether it lists ten runs or ten thousand. Pure arithmetic.

export interface WindowInput {
  /** Rows in the list. */
  count: number;
  rowHeight: number;
  scrollTop: number;
  viewportHeight: number;
  /** Extra rows drawn above and below the viewport (so a fast scroll shows no gap). */
  overscan?: number;
}

export interface RowWindow {
  /** First row index drawn. */
  start: number;
  /** One past the last row index drawn. */
  end: number;
  /** Pixels above `start` (the top spacer). */
  offsetTop: number;
  /** Height of every row together (the scroll height). */
  totalHeight: number;
}

export function rowWindow({ count, rowHeight, scrollTop, viewportHeight, overscan = 8 }: WindowInput): RowWindow {
  const n = Math.max(0, Math.floor(count));
  const h = rowHeight > 0 ? rowHeight : 1;
  const totalHeight = n * h;
  // A scrollTop past the end (the list just shrank) shows the last page, not nothing.
  const maxTop = Math.max(0, totalHeight - Math.max(0, viewportHeight));
  const top = Math.min(Math.max(0, scrollTop), maxTop);
  const first = Math.floor(top / h);
  const visible = Math.ceil(Math.max(0, viewportHeight) / h) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(n, first + visible + overscan);
  return { start, end, offsetTop: start * h, totalHeight };
}

/** The scrollTop that brings row `index` into view, changing `scrollTop` as little as possible. */
export function scrollToRow(index: number, rowHeight: number, scrollTop: number, viewportHeight: number): number {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  const bottom = top + rowHeight;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}
