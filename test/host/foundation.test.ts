// The foundation inside a real extension host: Runwatch is installed (from the
// packaged .vsix), activates, registers every command its manifest declares, and
// every declared setting exists with a description and its default.
import * as assert from 'assert';
import * as vscode from 'vscode';

interface Manifest {
  name: string;
  publisher: string;
  contributes: {
    commands: { command: string; title: string }[];
    configuration: {
      properties: Record<string, { description?: string; markdownDescription?: string; default?: unknown }>;
    };
  };
}

describe('foundation (host)', function () {
  this.timeout(120_000);
  let ext: vscode.Extension<unknown>;
  let manifest: Manifest;

  before(() => {
    const found = vscode.extensions.getExtension('runwatch.runwatch');
    assert.ok(found, 'Runwatch (runwatch.runwatch) is installed');
    ext = found;
    manifest = ext.packageJSON as Manifest;
  });

  it('activates and exports getApi', async () => {
    const exported = (await ext.activate()) as { getApi?: unknown } | undefined;
    assert.strictEqual(ext.isActive, true);
    assert.strictEqual(typeof exported?.getApi, 'function');
  });

  it('registers every runwatch.* command the manifest declares', async () => {
    await ext.activate();
    const declared = manifest.contributes.commands.map((c) => c.command);
    assert.ok(
      declared.length > 0 && declared.every((c) => c.startsWith('runwatch.')),
      'manifest commands are runwatch.*',
    );
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], `declared in package.json but not registered: ${missing.join(', ')}`);
  });

  it('"runwatch.showLog" runs without error', async () => {
    await vscode.commands.executeCommand('runwatch.showLog');
  });

  it('declares its settings under runwatch.* with descriptions, visible through the configuration API', () => {
    const props = manifest.contributes.configuration.properties;
    const keys = Object.keys(props);
    assert.ok(keys.length > 0, 'some settings are declared');
    const config = vscode.workspace.getConfiguration();
    for (const key of keys) {
      assert.ok(key.startsWith('runwatch.'), `${key} is under runwatch.`);
      const description = props[key].description ?? props[key].markdownDescription ?? '';
      assert.ok(description.trim().length > 10, `${key} has a description`);
      const inspected = config.inspect(key);
      assert.ok(inspected, `${key} is known to VS Code`);
      assert.deepStrictEqual(inspected.defaultValue, props[key].default, `${key} default`);
    }
  });
});
