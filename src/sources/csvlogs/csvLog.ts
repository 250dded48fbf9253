// A CSV training log as one run: Lightning's CSVLogger metrics.csv (step, epoch and one column
// per metric, rows sparse: a row holds only what was logged together) and Keras' CSVLogger
// (an epoch column, then one column per metric). The cursor is the byte offset after the last
// complete line and the count of data rows read, so a growing file is read on from there; a
// line still being written waits. Lightning rewrites the whole file when a new metric column
// appears: a changed header means "read again from the top, skipping the rows already read".
// Bad rows (wrong column count, a cell that is not a number) are reported once each, with the
// file, the line and its byte offset; the rest is imported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricPoint, RunEvent } from '../../api/types';
import type { FileCursor, LogDirState, PollOptions, PollResult, RunIdentity } from '../tfevents/logDirRun';
import type { FileProblem } from '../tfevents/reader';
import { POINTS_PER_EVENT } from '../tfevents/logDirRun';

/** Columns that say which step a row is, by preference. */
const STEP_COLUMNS = ['step', 'global_step', 'epoch'];

/** Splits one CSV line; double-quoted fields may hold commas and doubled quotes. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** A cell as a number: Python writes non-finite floats as nan, inf and -inf. Undefined when it is not one. */
export function csvNumber(cell: string): number | undefined {
  const t = cell.trim();
  if (t === '') return undefined;
  const l = t.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (l === 'true' || l === 'false') return l === 'true' ? 1 : 0;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

function readFrom(file: string, offset: number, until?: number): { bytes: Buffer; mtime: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    const end = until === undefined ? st.size : Math.min(st.size, until);
    const buf = Buffer.alloc(Math.max(0, end - offset));
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return { bytes: buf.subarray(0, got), mtime: st.mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

const NL = 0x0a;
const line = (b: Buffer) => b.toString('utf8').replace(/\r$/, '');

/** Reads what is new in the CSV log `file` since `prev` and turns it into run events. */
export function pollCsvLog(file: string, id: RunIdentity, prev?: LogDirState, opts: PollOptions = {}): PollResult {
  const name = path.basename(file);
  const state: LogDirState = prev
    ? { ...prev, files: { ...prev.files }, notShown: { ...prev.notShown } }
    : { runId: id.runId, started: false, files: {}, notShown: {} };
  const events: RunEvent[] = [];
  const problems: FileProblem[] = [];
  const problem = (record: number, offset: number, message: string) =>
    problems.push({ file, kind: 'corrupt', record, offset, message });
  let cur: FileCursor = state.files[name] ?? { offset: 0, records: 0 };

  let head: Buffer;
  try {
    head = readFrom(file, 0, 64 * 1024).bytes;
  } catch {
    return { events, problems, state }; // gone or unreadable: nothing to read now
  }
  const headEnd = head.indexOf(NL);
  if (headEnd < 0) return { events, problems, state }; // empty, or the header is still being written
  const header = line(head.subarray(0, headEnd));
  let skip = 0;
  if (cur.header !== undefined && cur.header !== header) {
    // Rewritten with a new header (Lightning adds a metric column): read again, skipping rows already read.
    skip = cur.records;
    cur = { offset: 0, records: 0 };
  }
  const columns = splitCsvLine(header).map((c) => c.trim());
  const stepCol = STEP_COLUMNS.map((c) => columns.indexOf(c)).find((i) => i >= 0);
  if (stepCol === undefined) {
    const why = `no step or epoch column in the header (${columns.slice(0, 6).join(', ')}): not a training log; not read`;
    if (cur.rejected !== why) problem(0, 0, `line 1 at byte 0: ${why}`);
    state.files[name] = { offset: 0, records: 0, rejected: why };
    return { events, problems, state };
  }
  const size = fs.statSync(file).size;
  if (size < cur.offset) {
    // Shorter than where we were: written afresh (Keras' CSVLogger overwrites unless append=True).
    const msg = `file shrank to ${size} bytes below the read position ${cur.offset}; read again from the start`;
    problems.push({ file, kind: 'truncated', record: cur.records, offset: cur.offset, message: msg });
    cur = { offset: 0, records: 0 };
  }
  const base = cur.offset === 0 ? headEnd + 1 : cur.offset;
  let until = opts.bounds ? (opts.bounds[name] ?? 0) : opts.maxBytes ? base + opts.maxBytes : undefined;
  let read = readFrom(file, base, until);
  if (!opts.bounds && until !== undefined && until < size && read.bytes.indexOf(NL) < 0) {
    until = undefined; // one line longer than a stretch: read it whole
    read = readFrom(file, base);
  }
  const more = !opts.bounds && until !== undefined && until < size;
  const lastNl = read.bytes.lastIndexOf(NL);
  const complete = lastNl < 0 ? Buffer.alloc(0) : read.bytes.subarray(0, lastNl + 1);
  const time = read.mtime / 1000;
  let points: MetricPoint[] = [];
  const flush = () => {
    if (points.length) events.push({ type: 'metrics', points });
    points = [];
  };
  let rows = cur.records;
  // Line numbers in messages are 1-based and count the header.
  for (let p = 0; p < complete.length;) {
    const e = complete.indexOf(NL, p);
    const lineOffset = base + p;
    const text = line(complete.subarray(p, e));
    p = e + 1;
    if (text.trim() === '') continue;
    const row = rows++;
    if (row < skip) continue;
    const where = `line ${row + 2} at byte ${lineOffset}`;
    const cells = splitCsvLine(text);
    if (cells.length !== columns.length) {
      problem(row, lineOffset, `${where}: ${cells.length} fields, the header has ${columns.length}; row skipped`);
      continue;
    }
    const stepValue = csvNumber(cells[stepCol]);
    if (stepValue === undefined || !Number.isFinite(stepValue) || stepValue < 0) {
      const shown = JSON.stringify(cells[stepCol].slice(0, 40));
      problem(row, lineOffset, `${where}: ${columns[stepCol]} is ${shown}, not a step number; row skipped`);
      continue;
    }
    const step = Math.floor(stepValue);
    const bad: string[] = [];
    for (let c = 0; c < columns.length; c++) {
      if (c === stepCol || cells[c].trim() === '') continue; // sparse rows: empty is "not logged here"
      const v = csvNumber(cells[c]);
      if (v === undefined) bad.push(`${columns[c]}=${JSON.stringify(cells[c].slice(0, 40))}`);
      else points.push({ key: columns[c], value: v, step, time });
    }
    if (bad.length) problem(row, lineOffset, `${where}: not a number: ${bad.join(', ')}; those cells skipped`);
    if (points.length >= POINTS_PER_EVENT) flush();
  }
  flush();
  state.files[name] = { offset: base + complete.length, records: rows, header };
  if (!state.started && events.length) {
    state.started = true;
    events.unshift({
      type: 'run.start',
      project: id.project,
      name: id.name,
      time,
      params: {},
      tags: { source: columns[stepCol] === 'epoch' && columns[0] === 'epoch' ? 'keras-csv' : 'csv' },
      context: { logFile: file },
    });
  }
  return { events, problems, state, more };
}
