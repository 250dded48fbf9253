// "Runwatch: Install Python Client…": installs the client bundled with the extension (clients/python,
// a standard pyproject.toml) into a chosen interpreter with pip, in a terminal so the person sees pip's
// output. Needed where PYTHONPATH cannot reach: Jupyter kernels, other tools' interpreters. The
// folder is copied first, since the extension's own folder may be read-only and pip builds in it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { shellQuote } from './launch/commandLine';
import { resolvePythonInterpreter } from './pythonInterpreter';
import { clientPath } from './terminalEnv';

export const INSTALL_CLIENT = 'runwatch.installPythonClient';

export function registerInstallClient(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(INSTALL_CLIENT, async (interpreter?: unknown) => {
      const python = typeof interpreter === 'string' ? interpreter : await chooseInterpreter();
      if (python) return installInto(context.extensionPath, python);
      return undefined;
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
  return vscode.window.showInputBox({
    title: 'Runwatch: the Python interpreter to install the client into',
    prompt: 'A path like ~/venvs/ml/bin/python, or a command on PATH like python3',
    validateInput: (v) => (v.trim() ? undefined : 'Type an interpreter path or command'),
  });
}

/** Copies the client and runs pip in a new terminal; resolves to the terminal. */
export function installInto(extensionPath: string, python: string): vscode.Terminal {
  const src = clientPath(extensionPath);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-client-'));
  fs.cpSync(src, dir, {
    recursive: true,
    filter: (f) => !/(__pycache__|\.egg-info|[\\/]build|[\\/]tests)$/.test(f),
  });
  const terminal = vscode.window.createTerminal({ name: 'Runwatch: Install Python Client' });
  terminal.show();
  terminal.sendText(`${shellQuote(python)} -m pip install --upgrade ${shellQuote(dir)}`, true);
  return terminal;
}
