// `node dist/collector-cli.js export --store <dir> (--run <id> | --project <name>) --format jsonl|csv [--out <file>]`:
// reads the store as a reader (it never writes, so it works while a collector owns the
// store) and writes the run or project to the file, or to stdout without --out.
import * as fs from 'fs';
import * as path from 'path';
import { errorText } from '../common/errors';
import { exportProject, exportRun, type ExportFormat } from '../store/export';
import { runsDir } from '../store/paths';
import { RunStore } from '../store/runStore';
import { exportToFile, type ExportTarget } from './exportFile';

export const EXPORT_USAGE = `usage: node dist/collector-cli.js export --store <dir> (--run <id> | --project <name>)
       --format jsonl|csv [--out <file>]   (without --out: to stdout)`;

interface ExportArgs {
  store: string;
  target: ExportTarget;
  format: ExportFormat;
  out?: string;
}

export function parseExportArgs(argv: string[]): ExportArgs {
  const a: Partial<Record<'store' | 'run' | 'project' | 'format' | 'out', string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const eq = flag.indexOf('=');
    const name = flag.startsWith('--') && eq > 0 ? flag.slice(2, eq) : flag.slice(2);
    if (!flag.startsWith('--') || !['store', 'run', 'project', 'format', 'out'].includes(name)) {
      throw new Error(`unknown option ${JSON.stringify(flag)}`);
    }
    const value = eq > 0 && flag.startsWith('--') ? flag.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new Error(`--${name} needs a value`);
    a[name as keyof typeof a] = value;
  }
  if (!a.store) throw new Error('--store <dir> is required');
  if (!a.run === !a.project) throw new Error('give either --run <id> or --project <name> (one of them)');
  if (a.format !== 'jsonl' && a.format !== 'csv') {
    throw new Error(`--format must be jsonl or csv${a.format ? `, got ${JSON.stringify(a.format)}` : ''}`);
  }
  return {
    store: path.resolve(a.store),
    target: a.run ? { runId: a.run } : { project: a.project! },
    format: a.format,
    out: a.out === '-' ? undefined : a.out && path.resolve(a.out),
  };
}

/** Runs the export; resolves with the exit code (2: bad options, 1: it failed). */
export async function exportMain(argv: string[]): Promise<number> {
  let args: ExportArgs;
  try {
    args = parseExportArgs(argv);
  } catch (err) {
    process.stderr.write(`runwatch export: ${errorText(err)}\n${EXPORT_USAGE}\n`);
    return 2;
  }
  if (!fs.existsSync(runsDir(args.store))) {
    process.stderr.write(`runwatch export: ${args.store} is not a run store (it has no runs/ folder)\n`);
    return 1;
  }
  const quiet = {
    info: () => undefined,
    warn: (m: string) => process.stderr.write(`warn ${m}\n`),
    error: (m: string) => process.stderr.write(`error ${m}\n`),
  };
  const store = await RunStore.open(args.store, { mode: 'reader', logger: quiet });
  try {
    const t = args.target;
    const stats = args.out
      ? await exportToFile(store, t, args.format, args.out)
      : 'runId' in t
        ? await exportRun(store, t.runId, args.format, process.stdout)
        : await exportProject(store, t.project, args.format, process.stdout);
    const what = 'runId' in t ? `run ${t.runId}` : `project "${t.project}"`;
    process.stderr.write(
      `runwatch export: ${what}: ${stats.runs} run(s), ${stats.points} points${args.out ? ` to ${args.out}` : ''}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`runwatch export: ${errorText(err)}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
