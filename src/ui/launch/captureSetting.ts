// runwatch.capture.enabled (owned by the capture feature), read through config.ts, for the terminal
// and debug environments: RUNWATCH_CAPTURE=0 when it is off.
import { setting } from '../config';

export function captureEnabled(): boolean {
  return setting('capture.enabled');
}

/** Whether a settings change touched it (the terminal and debug environments follow). */
export function touchesCapture(keys: readonly string[]): boolean {
  return keys.includes('capture.enabled');
}
