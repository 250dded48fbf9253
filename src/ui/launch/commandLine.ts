// A run's command line, as recorded in its context, turned back into something to type in a
// terminal: the interpreter's own command line (sys.orig_argv, so `python -m pkg` stays that) with the
// interpreter's absolute path, and the `--name value` / `--name=value` arguments that match the run's
// params, so "Rerun in Terminal" can offer to change them. No vscode: unit-tested.
import type { ParamValue, RunContext } from '../../api/types';

export interface RunCommand {
  /** argv to run, the interpreter first. */
  argv: string[];
  cwd?: string;
}

/** The command that ran, or a reason it cannot be run again. */
export function recordedCommand(ctx: RunContext): RunCommand | { error: string } {
  const orig = strings(ctx.origArgv);
  const argv = strings(ctx.argv);
  const exe = typeof ctx.executable === 'string' && ctx.executable ? ctx.executable : undefined;
  if (typeof ctx.notebook === 'string')
    return { error: `it ran in a Jupyter kernel for ${ctx.notebook}; run the notebook again instead` };
  let cmd: string[] | undefined;
  if (orig && orig.length) cmd = [exe ?? orig[0], ...orig.slice(1)];
  else if (argv && argv.length && argv[0] !== '-c' && argv[0] !== '') cmd = [exe ?? 'python3', ...argv];
  if (!cmd) return { error: 'its context does not record the command line (an older client, or not run from Python)' };
  if (/ipykernel_launcher|ipykernel$/.test(cmd.join(' ')))
    return { error: 'it ran in a Jupyter kernel; run the notebook again instead' };
  return { argv: cmd, cwd: typeof ctx.cwd === 'string' ? ctx.cwd : undefined };
}

export interface ParamArg {
  /** The param's name as the run records it. */
  param: string;
  /** The flag as written (`--lr`). */
  flag: string;
  /** Index in argv of the value. */
  index: number;
  /** `--lr=0.1`: the value shares the argument with the flag. */
  joined: boolean;
  value: string;
}

const norm = (s: string) => s.replace(/^-+/, '').replace(/[-.]/g, '_').toLowerCase();

/** The arguments of `argv` that set one of `params` (`--lr 0.1`, `--lr=0.1`, `--batch-size 64` for batch_size,
 * `--model.layers 12` for model.layers). */
export function paramArgs(argv: readonly string[], params: Record<string, ParamValue>): ParamArg[] {
  // Whole names only: `--name` must not pass for `optimizer.name` (it is usually the run's name).
  const names = new Map<string, string>();
  for (const p of Object.keys(params)) names.set(norm(p), p);
  const out: ParamArg[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '--') continue;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const param = names.get(norm(flag));
    if (param === undefined) continue;
    if (eq > 0) out.push({ param, flag, index: i, joined: true, value: a.slice(eq + 1) });
    else if (i + 1 < argv.length && !/^--?[A-Za-z]/.test(argv[i + 1]))
      out.push({ param, flag, index: i + 1, joined: false, value: argv[i + 1] });
  }
  return out;
}

/** argv with the given params' values replaced. */
export function withParams(
  argv: readonly string[],
  args: readonly ParamArg[],
  values: Record<string, string>,
): string[] {
  const next = [...argv];
  for (const a of args) {
    const v = values[a.param];
    if (v === undefined) continue;
    next[a.index] = a.joined ? `${a.flag}=${v}` : v;
  }
  return next;
}

/** A POSIX shell word for `s` (as is when it is plain). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-+=/.,:@%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}
