// One chart's metric for the chosen runs at full resolution, read from the store's log (every
// stored point, NaN and ±Inf spelled as the protocol spells them), as CSV in the store
// export's columns (`run_id,key,step,time,value`) or as JSON; and writing what a page made
// (PNG data URL, SVG, drawn data) to a file. Written beside the final name and renamed when
// whole. No `vscode` import: unit-tested in Node.
import * as fs from 'fs';
import { encodeWireNumber } from '../../common/wireNumber';
import { writeFileAtomic } from '../../common/atomicWrite';
import { errorText } from '../../common/errors';
import { CSV_HEADER, csvField, type ExportSource } from '../../store/export';

const READ_BATCH = 256;
const CHUNK_CHARS = 64 * 1024;

export interface MetricExportStats {
  runs: number;
  points: number;
}

/** Streams `key` of `runIds` (in that order) to `file` as CSV or JSON; rejects leaving no file. */
export async function exportMetric(
  store: ExportSource,
  runIds: readonly string[],
  key: string,
  format: 'csv' | 'json',
  file: string,
): Promise<MetricExportStats> {
  const runs = runIds.map((id) => store.getRun(id)).filter((r) => r !== undefined);
  if (runs.length === 0) throw new Error('none of the chosen runs is in the store any more: choose runs first');
  const tmp = `${file}.${process.pid}.partial`;
  const out = fs.createWriteStream(tmp, { mode: 0o600 });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  let buf: string[] = [];
  let chars = 0;
  const add = async (s: string) => {
    buf.push(s);
    chars += s.length;
    if (chars < CHUNK_CHARS) return;
    const chunk = buf.join('');
    buf = [];
    chars = 0;
    if (!out.write(chunk)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), failed]);
  };
  let points = 0;
  try {
    if (format === 'csv') await add(CSV_HEADER + '\n');
    else await add(`{"key":${JSON.stringify(key)},"resolution":"full","runs":[`);
    for (const [n, run] of runs.entries()) {
      if (format === 'json')
        await add(
          `${n ? ',' : ''}\n{"runId":${JSON.stringify(run.runId)},"name":${JSON.stringify(run.name)},"points":[`,
        );
      let first = true;
      const csvId = csvField(run.runId);
      const csvKey = csvField(key);
      for (let from = 0; ;) {
        const recs = await store.read(run.runId, from, READ_BATCH);
        if (recs.length === 0) break;
        for (const rec of recs) {
          if (rec.event.type !== 'metrics') continue;
          for (const p of rec.event.points ?? []) {
            if (p.key !== key) continue;
            points++;
            const v = encodeWireNumber(p.value);
            if (format === 'csv') await add(`${csvId},${csvKey},${p.step},${p.time},${v}\n`);
            else {
              await add(`${first ? '' : ','}\n{"step":${p.step},"time":${p.time},"value":${JSON.stringify(v)}}`);
              first = false;
            }
          }
        }
        from = recs[recs.length - 1].offset + 1;
      }
      if (format === 'json') await add(']}');
    }
    if (format === 'json') await add('\n]}\n');
    out.write(buf.join(''));
    await Promise.race([new Promise<void>((resolve) => out.end(resolve)), failed]);
    await fs.promises.rename(tmp, file);
    return { runs: runs.length, points };
  } catch (err) {
    out.destroy();
    await fs.promises.rm(tmp, { force: true });
    throw new Error(`could not export to ${file}: ${errorText(err)}`);
  }
}

/** What a page made, to a file: a PNG data URL decoded to bytes, text as UTF-8. */
export async function writePageExport(
  kind: 'png' | 'svg' | 'csv' | 'json',
  data: string,
  file: string,
): Promise<number> {
  let bytes: Buffer;
  if (kind === 'png') {
    const m = /^data:image\/png;base64,(.*)$/s.exec(data);
    if (!m) throw new Error('the page sent no PNG picture (the chart may not be drawn yet): try again');
    bytes = Buffer.from(m[1], 'base64');
  } else {
    bytes = Buffer.from(data, 'utf8');
  }
  await writeFileAtomic(file, bytes, { durable: false });
  return bytes.length;
}
