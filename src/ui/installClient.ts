// "Runwatch: Install Python Client…": installs the client bundled with the extension into a chosen
// interpreter, for where PYTHONPATH cannot reach (Jupyter kernels, other tools' interpreters). The
// client is packed into a wheel here (launch/clientWheel.ts) and pip installs that file with
// --no-index --no-deps: nothing is built and nothing is downloaded, so it works offline. The result is
// checked by importing runwatch in that interpreter, and said in a message: where it landed, or why not.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { buildClientWheel } from './launch/clientWheel';
import { resolvePythonInterpreter } from './pythonInterpreter';
import { clientPath } from './terminalEnv';

export const INSTALL_CLIENT = 'runwatch.installPythonClient';

export interface InstallResult {
  ok: boolean;
  /** The success or error text shown. */
  message: string;
  /** Where `import runwatch` finds the client now (on success). */
  location?: string;
}

export function registerInstallClient(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(INSTALL_CLIENT, async (interpreter?: unknown) => {
      const python = typeof interpreter === 'string' ? interpreter : await chooseInterpreter();
      if (!python) return undefined;
      const result = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Runwatch: installing the Python client into ${python}…`,
        },
        () => installInto(context.extensionPath, python),
      );
      if (result.ok) void vscode.window.showInformationMessage(result.message);
      else void vscode.window.showErrorMessage(result.message);
      return result;
    }),
  );
}

async function chooseInterpreter(): Promise<string | undefined> {
  const found = await resolvePythonInterpreter();
  const pick = await vscode.window.showQuickPick(
    [
      { label: found, description: 'the selected interpreter', value: found },
      { label: 'Enter the path of an interpreter…', value: '' },
    ],
    { title: 'Runwatch: Install Python Client into…' },
  );
  if (!pick) return undefined;
  if (pick.value) return pick.value;
  const typed = await vscode.window.showInputBox({
    title: 'Runwatch: the Python interpreter to install the client into',
    prompt: 'A path like ~/venvs/ml/bin/python, or a command on PATH like python3',
    validateInput: (v) => (v.trim() ? undefined : 'Type an interpreter path or command'),
  });
  return typed?.trim() || undefined;
}

interface Ran {
  code: number | string | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    // cwd: a neutral folder, so a `runwatch` folder in the workspace cannot shadow the installed one.
    execFile(file, args, { env, cwd: os.tmpdir(), timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code ?? (err as { signal?: string }).signal ?? 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** Builds the wheel, pip-installs it into `python` and checks the import; never throws. */
export async function installInto(extensionPath: string, python: string): Promise<InstallResult> {
  const exe = python.startsWith('~/') ? path.join(os.homedir(), python.slice(2)) : python;
  const fail = (why: string): InstallResult => ({
    ok: false,
    message: `Runwatch: could not install the Python client into ${python}: ${why}`,
  });
  // A path (not a command looked up on PATH) that is not there: say so, rather than pip's ENOENT.
  if (exe.includes('/') || exe.includes('\\')) {
    if (!fs.existsSync(exe)) return fail('there is no such file.');
    if (fs.statSync(exe).isDirectory()) return fail('that is a folder; choose the interpreter in its bin/ folder.');
  }
  // PYTHONPATH out: the bundled client on it would hide whether the installed copy imports.
  const env: NodeJS.ProcessEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
  delete env.PYTHONPATH;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-wheel-'));
  try {
    let wheel: string;
    let version: string;
    try {
      ({ file: wheel, version } = buildClientWheel(clientPath(extensionPath), dir));
    } catch (err) {
      return fail(`the bundled client could not be packed (${err instanceof Error ? err.message : String(err)}).`);
    }
    const pip = await run(exe, ['-m', 'pip', 'install', '--no-index', '--no-deps', '--force-reinstall', wheel], env);
    if (pip.code === 'ENOENT') return fail('no such command on the PATH.');
    if (pip.code === 'EACCES') return fail('it is not executable.');
    if (pip.code !== 0) {
      const err = lastLine(pip.stderr) || lastLine(pip.stdout);
      if (/No module named pip/.test(pip.stderr)) {
        return fail(`it has no pip (add it with "${python} -m ensurepip", then try again).`);
      }
      return fail(`pip said: ${err || `exit code ${String(pip.code)}`}`);
    }
    const check = await run(exe, ['-c', 'import runwatch; print(runwatch.__version__); print(runwatch.__file__)'], env);
    const [got, file] = check.stdout.trim().split('\n');
    if (check.code !== 0 || !file) return fail(`pip installed it, but it does not import: ${lastLine(check.stderr)}`);
    if (got !== version) return fail(`pip installed ${version}, but the interpreter imports ${got} from ${file}.`);
    const location = path.dirname(file);
    return {
      ok: true,
      location,
      message: `Runwatch: installed the Python client ${version} into ${python} (${location}).`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
