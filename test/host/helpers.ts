// Shared by the host tests (bundled into the runner extension with them).
import { waitFor as pollUntil } from '../support/waitFor';

/** Polls `check` until it returns something truthy (test/support/waitFor.ts, with the host defaults). */
export function waitFor<T>(
  what: string,
  check: () => T | undefined | false | null,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  return pollUntil(what, check, { timeoutMs, intervalMs });
}
