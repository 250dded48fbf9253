// Each backend's read position in each run's log: the offset of the next record to
// deliver. Persisted per backend in one small JSON file, replaced atomically and
// durably (fsync before and after the rename): a cursor that went back after a power
// cut would send records twice, one that went forward would lose them. Written only
// after the backend's `write` resolved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomicWrite';

export class CursorStore {
  private readonly file: string;
  private cursors = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, backendId: string) {
    this.file = path.join(stateDir, 'cursors', `${encodeURIComponent(backendId)}.json`);
    this.load();
  }

  private load(): void {
    try {
      const raw = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, unknown>;
      for (const [runId, v] of Object.entries(raw)) if (typeof v === 'number' && v >= 0) this.cursors.set(runId, v);
    } catch {
      // Missing or unreadable: start from the beginning of every run (backends skip what they hold).
    }
  }

  get(runId: string): number {
    return this.cursors.get(runId) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.cursors];
  }

  /** Moves a run's cursor forward and persists it; resolves once the file is durable. */
  advance(runId: string, next: number): Promise<void> {
    if (next <= this.get(runId)) return this.writing;
    this.cursors.set(runId, next);
    // Chained so two saves never interleave their temp files.
    this.writing = this.writing.catch(() => undefined).then(() => this.save());
    return this.writing;
  }

  private async save(): Promise<void> {
    const snapshot = JSON.stringify(Object.fromEntries(this.cursors));
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, snapshot, { durable: true });
  }

  flush(): Promise<void> {
    return this.writing;
  }
}
