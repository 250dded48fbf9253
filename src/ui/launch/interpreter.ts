// The interpreter "Install Python Client…" offers first. The shared resolver (src/ui/pythonInterpreter.ts,
// `resolvePythonInterpreter()`) is not in the tree yet; until it is, this local stand-in follows the
// same order: the runwatch.python.interpreter setting, else the Python extension's active interpreter,
// else `python3`.
import * as vscode from 'vscode';

interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath?: () => { path?: string } | undefined };
}

export async function resolveInterpreter(): Promise<string> {
  const configured = vscode.workspace.getConfiguration('runwatch').get<unknown>('python.interpreter');
  if (typeof configured === 'string' && configured.trim()) return configured.trim();
  try {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
    const api = ext ? (ext.isActive ? ext.exports : await ext.activate()) : undefined;
    const active = api?.environments?.getActiveEnvironmentPath?.()?.path;
    if (active) return active;
  } catch {
    // The Python extension is missing or failed: fall back to python3.
  }
  return 'python3';
}
