// Which Python runs Runwatch's Python programs (the SDK bridges, "Install Python Client…"):
// the `runwatch.python.interpreter` setting; else the interpreter selected in the Python
// extension (ms-python.python), when it is installed; else `python3` on the PATH.
import * as vscode from 'vscode';

const PYTHON_EXTENSION = 'ms-python.python';

/** The part of the Python extension's API used here (its `environments` API). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path?: string } | undefined;
    resolveEnvironment?(env: { path?: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
}

export async function resolvePythonInterpreter(): Promise<string> {
  const own = vscode.workspace.getConfiguration('runwatch').get<unknown>('python.interpreter');
  if (typeof own === 'string' && own.trim() !== '') return own.trim();
  const fromExtension = await selectedInPythonExtension().catch(() => undefined);
  return fromExtension ?? 'python3';
}

async function selectedInPythonExtension(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION);
  if (!ext) return undefined;
  const api = ext.isActive ? ext.exports : await ext.activate();
  const envs = api?.environments;
  if (!envs) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const active = envs.getActiveEnvironmentPath(folder);
  if (!active?.path) return undefined;
  // The active "path" may name an environment folder; resolving gives its executable.
  const resolved = envs.resolveEnvironment ? await envs.resolveEnvironment(active) : undefined;
  return resolved?.executable?.uri?.fsPath ?? active.path;
}
