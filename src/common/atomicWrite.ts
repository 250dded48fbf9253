// Write a file so a reader sees the old content or the new, never half of either:
// write a temp file beside it, then rename over. With `durable`, the temp file is
// fsynced before the rename and the folder after it, so the new content survives
// a power cut too (cursors, the discovery file); without it (summaries that can
// be rebuilt from the log) the rename alone is enough and much cheaper.
import * as fs from 'fs';
import * as path from 'path';

export interface AtomicWriteOptions {
  durable: boolean;
  /** File mode for a new file (e.g. 0o600 for files holding a token). */
  mode?: number;
}

let counter = 0;
function tempName(file: string): string {
  return `${file}.${process.pid}.${++counter}.tmp`;
}

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
): Promise<void> {
  const tmp = tempName(file);
  const fh = await fs.promises.open(tmp, 'w', options.mode ?? 0o666);
  try {
    await fh.writeFile(data);
    if (options.durable) await fh.datasync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  if (options.durable) await syncDir(path.dirname(file));
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions): void {
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, 'w', options.mode ?? 0o666);
  try {
    fs.writeFileSync(fd, data);
    if (options.durable) fs.fdatasyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (options.durable) syncDirSync(path.dirname(file));
}

// Directory fsync makes the rename itself durable; Windows cannot open folders, and there rename is enough.
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function syncDirSync(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
