// Exports a run or a project to a file, for the CLI's `export` command and the
// "Runwatch: Export Run…" command. The formats are src/store/export.ts's. The file
// is written beside its final name and renamed when complete, so a failed or
// interrupted export never leaves a file that looks whole.
import * as fs from 'fs';
import { errorText } from '../common/errors';
import { exportProject, exportRun, type ExportFormat, type ExportSource, type ExportStats } from '../store/export';

export type ExportTarget = { runId: string } | { project: string };

export async function exportToFile(
  store: ExportSource,
  target: ExportTarget,
  format: ExportFormat,
  file: string,
): Promise<ExportStats> {
  if ('project' in target && !store.listRuns().some((r) => r.project === target.project)) {
    throw new Error(`there is no project "${target.project}" in this store (its projects: ${projects(store)})`);
  }
  const tmp = `${file}.${process.pid}.partial`;
  const out = fs.createWriteStream(tmp, { mode: 0o600 });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  try {
    const stats = await Promise.race([
      'runId' in target
        ? exportRun(store, target.runId, format, out)
        : exportProject(store, target.project, format, out),
      failed,
    ]);
    await Promise.race([new Promise<void>((resolve) => out.end(resolve)), failed]);
    await fs.promises.rename(tmp, file);
    return stats;
  } catch (err) {
    out.destroy();
    await fs.promises.rm(tmp, { force: true });
    throw new Error(`could not export to ${file}: ${errorText(err)}`);
  }
}

function projects(store: ExportSource): string {
  const names = [...new Set(store.listRuns().map((r) => r.project))];
  return names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'none';
}
