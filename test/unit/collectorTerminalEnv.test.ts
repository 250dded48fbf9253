// What integrated terminals get: the collector's URL and token, the spool folder,
// and the bundled Python client on PYTHONPATH (checked against a recording fake of
// VS Code's EnvironmentVariableCollection, since unit tests run without VS Code).
import { strict as assert } from 'assert';
import * as path from 'path';
import type * as vscode from 'vscode';
import { applyTerminalEnv } from '../../src/ui/terminalEnv';

class FakeCollection {
  persistent = true;
  description: string | undefined;
  readonly ops: [string, string, string][] = [];
  replace(name: string, value: string): void {
    this.ops.push(['replace', name, value]);
  }
  prepend(name: string, value: string): void {
    this.ops.push(['prepend', name, value]);
  }
}

describe('collector: terminal environment', () => {
  it('sets RUNWATCH_URL, RUNWATCH_TOKEN, RUNWATCH_SPOOL_DIR, prepends the Python client to PYTHONPATH, and does not persist the token', () => {
    const c = new FakeCollection();
    applyTerminalEnv(c as unknown as vscode.GlobalEnvironmentVariableCollection, {
      url: 'ws://127.0.0.1:4242',
      token: 'sekret',
      spoolDir: '/store/spool',
      extensionPath: '/ext',
    });
    assert.equal(c.persistent, false);
    assert.ok(c.description && c.description.length > 0);
    assert.deepEqual(c.ops, [
      ['replace', 'RUNWATCH_URL', 'ws://127.0.0.1:4242'],
      ['replace', 'RUNWATCH_TOKEN', 'sekret'],
      ['replace', 'RUNWATCH_SPOOL_DIR', '/store/spool'],
      ['prepend', 'PYTHONPATH', path.join('/ext', 'clients', 'python') + path.delimiter],
    ]);
  });
});
