// Where each log directory's run and file cursors are kept between sessions: one JSON file,
// replaced atomically and durably, so a cursor never moves back (points twice) or forward
// (points lost) after a crash. Save only after the events read up to those cursors are stored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../common/atomicWrite';
import type { LogDirState } from './logDirRun';

export class TfeventsStateFile {
  private states: Record<string, LogDirState> = {};

  constructor(private readonly file: string) {
    try {
      const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (raw && typeof raw === 'object') this.states = raw as Record<string, LogDirState>;
    } catch {
      // Missing or unreadable: every folder is read from its start; run ids are stable, so runs are the same.
    }
  }

  get(logDir: string): LogDirState | undefined {
    return Object.prototype.hasOwnProperty.call(this.states, logDir) ? this.states[logDir] : undefined;
  }

  entries(): [string, LogDirState][] {
    return Object.entries(this.states);
  }

  set(logDir: string, state: LogDirState): Promise<void> {
    this.states[logDir] = state;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return writeFileAtomic(this.file, JSON.stringify(this.states), { durable: true });
  }
}
