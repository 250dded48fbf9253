// Temporary folders for tests, removed after the test (or kept with RUNWATCH_KEEP_TMP=1 to look inside).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rw-${prefix}-`));
  return {
    dir,
    remove: () => {
      if (process.env.RUNWATCH_KEEP_TMP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
