// What every Runwatch webview and its host agree on, whatever the page: the page posts
// `ready` once its listener is up (the host posts nothing before it), a request carries a
// `requestId` that its reply echoes, and each side checks a message with an `is*` guard
// before trusting it. No DOM and no `vscode` here: the host and the pages both compile it.

/** Every message names its kind in `type`. */
export interface Message<T extends string = string> {
  type: T;
}

/** Page → host, once per page load: its listener is up, the host may post. */
export type ReadyMessage = Message<'ready'>;

/** Request ids only grow within one page, so a larger id is a newer request. */
export interface Request {
  requestId: number;
}

/** A reply names the request it answers; a message the host pushes unasked has none. */
export interface Reply {
  requestId?: number;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function isReady(v: unknown): v is ReadyMessage {
  return isObject(v) && v.type === 'ready';
}

export function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

export function isOneOf<T extends string>(values: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (values as readonly string[]).includes(v);
}

/** `undefined` or a number, as optional numeric fields are. */
export function isOptionalNumber(v: unknown): v is number | undefined {
  return v === undefined || typeof v === 'number';
}

/**
 * The latest request per target (a chart, a series). Hosts answer asynchronously and a
 * page debounces zooms, so the reply to an older request can arrive after the reply to a
 * newer one; only data answering the latest request (or a later one) may be applied.
 */
export class LatestRequests<K> {
  private last = 0;
  private readonly latest = new Map<K, number>();

  /** A fresh id for a request about `target`; it supersedes every earlier one for it. */
  issue(target: K): number {
    const id = ++this.last;
    this.latest.set(target, id);
    return id;
  }

  /** The id of the latest request about `target`, if any. */
  latestFor(target: K): number | undefined {
    return this.latest.get(target);
  }

  /**
   * Whether data cut for request `requestId` (undefined: for no request) is current for
   * `target`: not older than its latest request.
   */
  isCurrent(target: K, requestId: number | undefined): boolean {
    return (requestId ?? 0) >= (this.latest.get(target) ?? 0);
  }

  /** Forgets every target (what they asked for no longer applies, e.g. a changed x axis). */
  clear(): void {
    this.latest.clear();
  }
}
