// Finds TensorBoard log directories (folders holding events.out.tfevents.* files) under a
// workspace folder, by globs over workspace-relative paths, skipping folders that never hold
// a person's logs: version control, dependencies, virtual environments and Runwatch's own.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** TensorBoard event files, Lightning's and Keras' CSV logs, and the Hugging Face Trainer's state. */
export const DEFAULT_GLOBS = [
  '**/events.out.tfevents.*',
  '**/metrics.csv',
  '**/training.log',
  '**/*history*.csv',
  '**/trainer_state.json',
];
const SKIP = new Set(['.git', 'node_modules', '.runwatch', '.venv', 'venv', '__pycache__', '.tox', '.vscode-test']);

/** A glob as a RegExp over POSIX relative paths: `**` any folders, `*` within a name, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether a folder is a virtual environment (any name): Python's venv writes pyvenv.cfg at its root. */
function isVenv(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'pyvenv.cfg'));
}

/**
 * Absolute paths of the folders under `root` holding an event file that matches one of `globs`,
 * sorted. Folders in `exclude` (absolute) and everything under them are skipped.
 */
export function findLogDirs(root: string, globs: string[] = DEFAULT_GLOBS, exclude: string[] = []): string[] {
  const dirs = findLogFiles(root, globs, exclude)
    .filter((f) => path.basename(f).startsWith('events.out.tfevents.'))
    .map((f) => path.dirname(f));
  return [...new Set(dirs)].sort();
}

/** Absolute paths of the files under `root` matching one of `globs` (workspace-relative), sorted. */
export function findLogFiles(root: string, globs: string[] = DEFAULT_GLOBS, exclude: string[] = []): string[] {
  const res = globs.map(globToRegExp);
  const excluded = new Set(exclude.map((d) => path.resolve(d)));
  const found = new Set<string>();
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or gone: nothing to show from there
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        const sub = path.join(dir, e.name);
        if (!SKIP.has(e.name) && !excluded.has(sub) && !isVenv(sub)) walk(sub, r);
      } else if (e.isFile() && res.some((x) => x.test(r))) {
        found.add(path.join(dir, e.name));
      }
    }
  };
  walk(root, '');
  return [...found].sort();
}
