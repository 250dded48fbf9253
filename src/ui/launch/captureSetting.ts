// runwatch.capture.enabled (owned by the capture feature), read through config.ts. Until that setting
// is in the table (src/runtime/settings.ts), capture counts as on, its default.
import { SETTING_KEYS, type SettingKey } from '../../runtime/settings';
import { setting } from '../config';

const CAPTURE_KEY = 'capture.enabled';

export function captureEnabled(): boolean {
  if (!(SETTING_KEYS as string[]).includes(CAPTURE_KEY)) return true;
  return setting(CAPTURE_KEY as SettingKey) !== false;
}

/** Whether a settings change touched it (the terminal and debug environments follow). */
export function touchesCapture(keys: readonly string[]): boolean {
  return keys.includes(CAPTURE_KEY);
}
