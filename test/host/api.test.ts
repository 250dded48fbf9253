// The exported API as a companion extension sees it, inside a real extension host:
// getApi(1) works, other versions throw a clear error, and a plugin registered
// from here is listed by Select Backends, can be chosen, and is health-checked.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { BackendPlugin, PluginContext, RunwatchExports } from '../../src/api/types';
import { waitFor } from './helpers';

describe('exported API (host)', function () {
  this.timeout(120_000);
  let exportsOfRunwatch: RunwatchExports;

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    exportsOfRunwatch = await ext.activate();
  });

  it('getApi(1) returns version 1 of the API', () => {
    const api = exportsOfRunwatch.getApi(1);
    assert.strictEqual(api.version, 1);
    assert.ok(Array.isArray(api.listRuns()));
    const info = api.getCollectorInfo();
    assert.ok(info && /^ws:\/\/127\.0\.0\.1:\d+$/.test(info.url) && info.token.length > 0);
  });

  it('getApi(2) throws an error naming the supported versions', () => {
    const loose = exportsOfRunwatch as unknown as { getApi(v: number): unknown };
    assert.throws(() => loose.getApi(2), /Runwatch API version 2 is not available; this Runwatch supports version 1/);
  });

  it('a plugin registered through the API is listed in Select Backends and runs once chosen', async () => {
    const api = exportsOfRunwatch.getApi(1);
    let context: PluginContext | undefined;
    const plugin: BackendPlugin = {
      metadata: {
        id: 'host-test-backend',
        displayName: 'Host Test Backend',
        version: '1.0.0',
        kind: 'backend',
        capabilities: ['metrics'],
      },
      async initialize(ctx) {
        context = ctx;
      },
      async write() {},
      async healthCheck() {
        return { healthy: true, details: 'host test ok' };
      },
      dispose() {},
    };
    const registration = api.registerPlugin(plugin);
    const config = vscode.workspace.getConfiguration('runwatch');
    const target = vscode.workspace.workspaceFolders?.length
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
    const before = config.get<string[]>('backends', []);
    try {
      const choices =
        await vscode.commands.executeCommand<{ id: string; label: string; description: string }[]>(
          'runwatch.listBackendChoices',
        );
      const mine = choices.find((c) => c.id === 'host-test-backend');
      assert.ok(mine, `listed among ${choices.map((c) => c.id).join(', ')}`);
      assert.strictEqual(mine.label, 'Host Test Backend');

      await config.update('backends', [...before, 'host-test-backend'], target);
      await waitFor('the hub to initialize the chosen backend', () => context);
      const results =
        await vscode.commands.executeCommand<{ id: string; healthy: boolean; details: string }[]>(
          'runwatch.checkBackendHealth',
        );
      const status = results.find((r) => r.id === 'host-test-backend');
      assert.ok(status);
      assert.strictEqual(status.healthy, true);
      assert.strictEqual(status.details, 'host test ok');
    } finally {
      await config.update('backends', before.length ? before : undefined, target);
      registration.dispose();
    }
    const after = await vscode.commands.executeCommand<{ id: string }[]>('runwatch.listBackendChoices');
    assert.ok(!after.some((c) => c.id === 'host-test-backend'), 'gone once its registration is disposed');
  });
});
