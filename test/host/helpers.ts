// Shared by the host tests (bundled into the runner extension with them).

/** Polls `check` until it returns something truthy, or fails after `timeoutMs` naming `what`. */
export function waitFor<T>(
  what: string,
  check: () => T | undefined | false | null,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      let v: T | undefined | false | null;
      try {
        v = check();
      } catch (err) {
        return reject(err);
      }
      if (v) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, intervalMs);
    };
    tick();
  });
}
