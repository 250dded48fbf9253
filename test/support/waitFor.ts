// The one polling helper for every TypeScript test tier (unit, host, e2e).
// Argument order is always (what, check, options): `what` reads as the
// sentence in the timeout message ("timed out after 30000 ms waiting for <what>").

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Called on timeout for extra context (the state seen last), appended to the message. */
  explain?: () => string | Promise<string>;
}

export type Check<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/** Polls `check` until it returns a truthy value and returns it; a throwing check counts as "not yet". */
export async function waitFor<T>(what: string, check: Check<T>, options: WaitForOptions | number = {}): Promise<T> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const intervalMs = o.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const extra = o.explain ? `; ${await o.explain()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${extra}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
