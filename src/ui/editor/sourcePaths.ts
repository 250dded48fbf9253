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

/**
 * One name per file on disk, to compare a recorded path with an editor's: the physical path (Python
 * records `os.getcwd()`-based paths, which have symlinks resolved; VS Code keeps a workspace opened
 * through a symlink as given), case-folded where the file system ignores case (Windows' drive letter:
 * VS Code says `c:\`, Python `C:\`). Cached: called for every visible editor on each redraw.
 */
export class FileKeys {
  private readonly cache = new Map<string, { real: string; key: string }>();

  constructor(
    private readonly realpath: (p: string) => string,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  key(file: string): string {
    return this.entry(file).key;
  }

  /** The physical path (symlinks resolved), or `file` when it is not on disk. */
  real(file: string): string {
    return this.entry(file).real;
  }

  /** Forgets what was learnt (a file may have been created or moved since). */
  clear(): void {
    this.cache.clear();
  }

  private entry(file: string): { real: string; key: string } {
    const hit = this.cache.get(file);
    if (hit) return hit;
    let real = file;
    try {
      real = this.realpath(file);
    } catch {
      // not on disk (yet): its own name
    }
    const e = { real, key: this.platform === 'win32' || this.platform === 'darwin' ? real.toLowerCase() : real };
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(file, e);
    return e;
  }
}

/**
 * `file` named through the workspace folder that holds it physically (a folder opened through a
 * symlink), so Go to Source opens the editor the person already has; else `file` itself.
 */
export function throughFolder(file: string, folders: readonly string[], keys: FileKeys): string {
  const k = keys.key(file);
  for (const folder of folders) {
    const fk = keys.key(folder);
    if (k.length > fk.length && k.startsWith(fk) && /[\\/]/.test(k[fk.length])) {
      const tail = keys.real(file).slice(keys.real(folder).length).split(/[\\/]/).filter(Boolean);
      return path.join(folder, ...tail);
    }
  }
  return file;
}
