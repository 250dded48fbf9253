// The discovery file tells scripts started outside VS Code's terminals (tmux,
// nohup, a scheduler) where the collector listens and which token it wants.
// It holds a secret, so it is readable by the user only (file 0600, folder 0700),
// and the folder carries a `.gitignore` so it is never committed.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../common/atomicWrite';
import { DISCOVERY_FILE } from '../store/paths';

export interface DiscoveryInfo {
  url: string;
  token: string;
  pid: number;
  version: string;
  /** Where clients that cannot reach the collector spool runs for later import. */
  spoolDir: string;
}

/** Writes `<dir>/collector.json` atomically and durably (clients follow it after a restart); returns its path. */
export async function writeDiscovery(dir: string, info: DiscoveryInfo): Promise<string> {
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.promises.chmod(dir, 0o700).catch(() => undefined);
  const gitignore = path.join(dir, '.gitignore');
  if (!fs.existsSync(gitignore)) await fs.promises.writeFile(gitignore, '*\n').catch(() => undefined);
  const file = path.join(dir, DISCOVERY_FILE);
  // A new temp file each time, so the mode applies (umask can only narrow it).
  await writeFileAtomic(file, `${JSON.stringify(info, null, 2)}\n`, { durable: true, mode: 0o600 });
  return file;
}

export function readDiscovery(dir: string): DiscoveryInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, DISCOVERY_FILE), 'utf8')) as DiscoveryInfo;
  } catch {
    return undefined;
  }
}

/** Removes the file, unless another collector (another pid) has written it since. Synchronous so it also works in exit handlers. */
export function removeDiscovery(dir: string, pid: number = process.pid): void {
  const info = readDiscovery(dir);
  if (info && info.pid !== pid) return;
  try {
    fs.unlinkSync(path.join(dir, DISCOVERY_FILE));
  } catch {
    // Already gone.
  }
}
