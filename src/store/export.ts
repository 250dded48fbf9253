// Reading runs back out of the store as JSON lines or CSV (formats: docs/store-format.md, "Export").
// Streaming: records are read from the log in batches and written with the stream's backpressure, so a
// 10M-point run never sits in memory. Non-finite values are kept, spelled as the protocol spells them.
import type { RunRecord, RunSummary } from '../api/types';
import { encodeWireNumber } from '../common/wireNumber';

export type ExportFormat = 'jsonl' | 'csv';

/** What an export needs from the store (RunStore fits, in writer or reader mode). */
export interface ExportSource {
  listRuns(): RunSummary[];
  getRun(runId: string): RunSummary | undefined;
  read(runId: string, fromOffset: number, maxRecords: number): Promise<RunRecord[]>;
}

/** Where the export goes (a file stream, process.stdout, a socket). */
export interface ExportSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface ExportStats {
  runs: number;
  points: number;
}

export const EXPORT_FORMAT_VERSION = 1;
export const CSV_HEADER = 'run_id,key,step,time,value';
const READ_BATCH = 256;
const CHUNK_CHARS = 64 * 1024;

/** Writes one run. Rejects (writing nothing) when the store has no such run. */
export async function exportRun(
  store: ExportSource,
  runId: string,
  format: ExportFormat,
  out: ExportSink,
): Promise<ExportStats> {
  const run = store.getRun(runId);
  if (!run) throw new Error(`there is no run "${runId}" in this store (list the runs to see their ids)`);
  const w = new ChunkWriter(out);
  if (format === 'csv') w.add(CSV_HEADER + '\n');
  const points = await writeRun(store, run, checkFormat(format), w);
  await w.flush();
  return { runs: 1, points };
}

/** Writes every run of a project, oldest first. A project with no runs gives a header only (CSV) or nothing. */
export async function exportProject(
  store: ExportSource,
  project: string,
  format: ExportFormat,
  out: ExportSink,
): Promise<ExportStats> {
  const runs = store
    .listRuns()
    .filter((r) => r.project === project)
    .reverse();
  const w = new ChunkWriter(out);
  if (checkFormat(format) === 'csv') w.add(CSV_HEADER + '\n');
  let points = 0;
  for (const run of runs) points += await writeRun(store, run, format, w);
  await w.flush();
  return { runs: runs.length, points };
}

function checkFormat(format: string): ExportFormat {
  if (format !== 'jsonl' && format !== 'csv')
    throw new Error(`export format "${format}" is unknown: use "jsonl" or "csv"`);
  return format;
}

async function writeRun(store: ExportSource, run: RunSummary, format: ExportFormat, w: ChunkWriter): Promise<number> {
  if (format === 'jsonl') w.add(JSON.stringify(runLine(run)) + '\n');
  const id = JSON.stringify(run.runId);
  const csvId = csvField(run.runId);
  let points = 0;
  for (let from = 0; ;) {
    const recs = await store.read(run.runId, from, READ_BATCH);
    if (recs.length === 0) return points;
    for (const rec of recs) {
      if (rec.event.type !== 'metrics') continue;
      for (const p of rec.event.points) {
        points++;
        if (format === 'jsonl') {
          const v = JSON.stringify(encodeWireNumber(p.value));
          w.add(
            `{"type":"point","runId":${id},"key":${JSON.stringify(p.key)},"step":${p.step},"time":${p.time},"value":${v}}\n`,
          );
        } else {
          w.add(`${csvId},${csvField(p.key)},${p.step},${p.time},${encodeWireNumber(p.value)}\n`);
        }
      }
      await w.maybeFlush();
    }
    from = recs[recs.length - 1].offset + 1;
  }
}

function runLine(run: RunSummary): Record<string, unknown> {
  return {
    type: 'run',
    format: 'runwatch-export',
    version: EXPORT_FORMAT_VERSION,
    runId: run.runId,
    project: run.project,
    name: run.name,
    status: run.status,
    startTime: run.startTime,
    endTime: run.endTime ?? null,
    lastStep: run.lastStep ?? null,
    parentRunId: run.parentRunId ?? null,
    params: run.params,
    tags: run.tags,
    context: run.context,
  };
}

/** RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Gathers small strings into ~64 KiB writes and waits for 'drain' when the stream asks to. */
class ChunkWriter {
  private parts: string[] = [];
  private chars = 0;
  constructor(private readonly out: ExportSink) {}

  add(s: string): void {
    this.parts.push(s);
    this.chars += s.length;
  }

  async maybeFlush(): Promise<void> {
    if (this.chars >= CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.chars = 0;
    if (!this.out.write(chunk)) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }
}
