// Python launch configurations get the collector's environment, inside a real extension host with
// the installed .vsix: VS Code runs Runwatch's DebugConfigurationProvider for `debugpy` (and
// `python`) configurations before a session starts; other types are left as they were. The resolved
// configuration is caught by a provider of this test that runs after variable substitution and then
// cancels the launch (so no debug adapter is needed).
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunwatchApiV1, RunwatchExports } from '../../src/api/types';
import { waitFor } from './helpers';

describe('debug configurations get the collector environment (host)', function () {
  this.timeout(120_000);
  let api: RunwatchApiV1;
  const caught: vscode.DebugConfiguration[] = [];
  const subs: vscode.Disposable[] = [];

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    api = (await ext.activate()).getApi(1);
    await waitFor('the collector', () => api.getCollectorInfo(), 60_000);
    for (const type of ['debugpy', 'python', 'cppdbg']) {
      subs.push(
        vscode.debug.registerDebugConfigurationProvider(type, {
          resolveDebugConfigurationWithSubstitutedVariables(_folder, config) {
            caught.push(config);
            return undefined; // cancels the launch: what Runwatch did to it is all we need
          },
        }),
      );
    }
  });

  after(() => {
    for (const d of subs) d.dispose();
  });

  async function resolved(config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration> {
    const n = caught.length;
    await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], config);
    return waitFor(`the ${config.type} configuration`, () => caught[n], 20_000);
  }

  it('adds RUNWATCH_URL, RUNWATCH_TOKEN, the spool folder and the client on PYTHONPATH to debugpy and python', async () => {
    const info = api.getCollectorInfo()!;
    for (const type of ['debugpy', 'python']) {
      const config = await resolved({
        type,
        request: 'launch',
        name: `train (${type})`,
        program: 'train.py',
        env: { MY_VAR: '1', PYTHONPATH: '/mine' },
      });
      const env = config.env as Record<string, string>;
      assert.strictEqual(env.RUNWATCH_URL, info.url, type);
      assert.strictEqual(env.RUNWATCH_TOKEN, info.token, type);
      assert.ok(env.RUNWATCH_SPOOL_DIR, type);
      assert.strictEqual(env.MY_VAR, '1', 'the configuration keeps its own variables');
      const parts = env.PYTHONPATH.split(path.delimiter);
      assert.ok(parts[0].endsWith(path.join('clients', 'python')), env.PYTHONPATH);
      assert.strictEqual(parts[parts.length - 1], '/mine', 'its own PYTHONPATH stays, after the client');
    }
  });

  it('a variable the configuration sets itself wins, and other debug types are left alone', async () => {
    const own = await resolved({ type: 'debugpy', request: 'launch', name: 'own', env: { RUNWATCH_URL: 'ws://x:1' } });
    assert.strictEqual((own.env as Record<string, string>).RUNWATCH_URL, 'ws://x:1');
    // Not `node`: VS Code's JavaScript debugger rewrites those to its own type before they get here.
    const other = await resolved({ type: 'cppdbg', request: 'launch', name: 'c', program: 'a.out' });
    assert.strictEqual(other.env, undefined, 'a configuration of another type gets no env');
  });
});
