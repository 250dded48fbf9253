// Where a recorded source file is on this machine. A run records the absolute path where its code ran;
// the same repository is often checked out elsewhere here (another machine, a container, a teammate's
// run), so a path that does not exist is looked for inside the workspace folders: first relative to the
// run's working folder, then by its longest tail that exists under a folder. No vscode: unit-tested.
import * as path from 'path';

export interface SourcePathContext {
  /** The run's working folder, as recorded (context.cwd). */
  cwd?: string;
  /** Absolute paths of the workspace folders. */
  folders: readonly string[];
  exists: (file: string) => boolean;
}

/** The file to open for `recorded`, or undefined when it is neither there nor in the workspace. */
export function resolveSourcePath(recorded: string, ctx: SourcePathContext): string | undefined {
  if (!recorded || recorded.startsWith('<')) return undefined; // `<stdin>`, `<string>`: no file
  const native = recorded.includes('\\') && !recorded.includes('/') ? recorded.split('\\').join('/') : recorded;
  if (path.isAbsolute(recorded) && ctx.exists(recorded)) return recorded;
  const parts = native.split('/').filter((p) => p && p !== '.');
  if (ctx.cwd) {
    const cwdParts = ctx.cwd.split(/[\\/]/).filter(Boolean);
    const under = cwdParts.length < parts.length && cwdParts.every((p, i) => parts[i] === p);
    if (under) {
      const rel = parts.slice(cwdParts.length);
      for (const folder of ctx.folders) {
        const candidate = path.join(folder, ...rel);
        if (ctx.exists(candidate)) return candidate;
      }
    }
  }
  // The longest tail first: `src/train.py` before `train.py`, so two files of one name are told apart.
  for (let i = 0; i < parts.length; i++) {
    for (const folder of ctx.folders) {
      const candidate = path.join(folder, ...parts.slice(i));
      if (ctx.exists(candidate)) return candidate;
    }
  }
  return undefined;
}
