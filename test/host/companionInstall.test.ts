// A companion extension installed and removed while VS Code runs (installing or removing
// a companion is noticed without a restart), in the real extension host:
// the example companion (examples/companion-backend, packed by test/host/run.js into
// $RUNWATCH_HOST_COMPANION_VSIX) is installed through VS Code's own install command,
// and what "Runwatch: Select Backends" would offer is read with
// runwatch.listBackendChoices.
//
// What VS Code 1.100 (code-server) does, found by running this:
// - installing a .vsix adds the extension to the running extension host: no window
//   reload, `vscode.extensions.onDidChange` fires at once;
// - uninstalling an extension that never ran removes it the same way;
// - uninstalling one that is running only marks it obsolete on disk (`.obsolete` in
//   the extensions folder): it stays loaded, in `vscode.extensions.all` and active,
//   until the extension host restarts, and no onDidChange fires. So Runwatch keeps
//   listing it, and the chosen backend keeps working, until then. Restarting the
//   extension host would also restart this test runner, so that part is not tested here.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunwatchExports } from '../../src/api/types';
import { waitFor } from '../support/waitFor';

const COMPANION_ID = 'runwatch-examples.runwatch-jsonl-backend';
const PLUGIN_ID = 'jsonl';
const LABEL = 'JSON Lines Folder';

interface Choice {
  id: string;
  label: string;
  description: string;
}
interface Health {
  id: string;
  healthy: boolean;
  details: string;
}

/** What Select Backends would list right now. */
async function choices(): Promise<Choice[]> {
  return (await vscode.commands.executeCommand<Choice[]>('runwatch.listBackendChoices')) ?? [];
}

function describeChoices(list: Choice[]): string {
  return list.map((c) => `${c.label} (${c.description})`).join('; ') || 'nothing';
}

/** Polls an async `check` until it returns something truthy; the error shows `explain()`. */
const until = <T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  explain: () => Promise<string>,
  timeoutMs = 30_000,
): Promise<T> => waitFor(what, check, { timeoutMs, intervalMs: 200, explain });

const listed = () =>
  until(
    `"${LABEL}" to be listed`,
    async () => (await choices()).find((c) => c.id === PLUGIN_ID),
    async () => `Select Backends lists ${describeChoices(await choices())}`,
  );
const dropped = () =>
  until(
    `"${LABEL}" to be dropped`,
    async () => !(await choices()).some((c) => c.id === PLUGIN_ID),
    async () => `Select Backends lists ${describeChoices(await choices())}`,
  );

async function health(): Promise<Health | undefined> {
  const results = await vscode.commands.executeCommand<Health[]>('runwatch.checkBackendHealth');
  return results.find((r) => r.id === PLUGIN_ID);
}

describe('companion installed and removed while VS Code runs (host)', function () {
  this.timeout(180_000);
  const vsix = process.env.RUNWATCH_HOST_COMPANION_VSIX ?? '';
  const config = () => vscode.workspace.getConfiguration('runwatch');
  const target = () =>
    vscode.workspace.workspaceFolders?.length
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  const scope = () => (target() === vscode.ConfigurationTarget.Workspace ? 'workspaceValue' : 'globalValue');
  let saved: { backends?: unknown; backendConfig?: unknown } = {};
  let outDir = '';
  let extensionsDir = '';

  before(async () => {
    assert.ok(
      vsix && fs.existsSync(vsix),
      `RUNWATCH_HOST_COMPANION_VSIX names the packed companion (test/host/run.js sets it), got "${vsix}"`,
    );
    const runwatch = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(runwatch, 'Runwatch is installed');
    await runwatch.activate();
    extensionsDir = path.dirname(runwatch.extensionPath);
    assert.strictEqual(
      vscode.extensions.getExtension(COMPANION_ID),
      undefined,
      'the companion is not installed to begin with',
    );
    saved = {
      backends: config().inspect('backends')?.[scope()],
      backendConfig: config().inspect('backendConfig')?.[scope()],
    };
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-companion-install-'));
  });

  after(async () => {
    await config().update('backends', saved.backends, target());
    await config().update('backendConfig', saved.backendConfig, target());
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it(`without the companion, Select Backends does not list "${LABEL}"`, async () => {
    const list = await choices();
    assert.ok(list.length > 0, 'the built-in backends are listed');
    assert.ok(!list.some((c) => c.id === PLUGIN_ID || c.label === LABEL), `not listed yet: ${describeChoices(list)}`);
  });

  it('installing the companion .vsix lists its backend as "starts when chosen", with no window reload', async () => {
    await vscode.commands.executeCommand('workbench.extensions.installExtension', vscode.Uri.file(vsix));
    const choice = await listed();
    assert.strictEqual(choice.label, LABEL);
    assert.match(
      choice.description,
      new RegExp(`^${PLUGIN_ID} · from ${COMPANION_ID.replace(/\./g, '\\.')} \\(starts when chosen\\)$`),
    );
    const ext = vscode.extensions.getExtension(COMPANION_ID);
    assert.ok(ext, 'the running extension host knows the companion');
    assert.strictEqual(ext.isActive, false, 'listed from its package.json, before it runs');
  });

  it('uninstalling it before it ever ran drops it from the list, with no window reload', async () => {
    assert.ok(
      (await choices()).some((c) => c.id === PLUGIN_ID),
      'listed before the uninstall',
    );
    await vscode.commands.executeCommand('workbench.extensions.uninstallExtension', COMPANION_ID);
    await dropped();
    assert.strictEqual(vscode.extensions.getExtension(COMPANION_ID), undefined);
  });

  it('installed again and chosen, it starts: first it reports its missing "folder", then, configured, it is healthy', async () => {
    await vscode.commands.executeCommand('workbench.extensions.installExtension', vscode.Uri.file(vsix));
    assert.match((await listed()).description, /\(starts when chosen\)$/);
    // What Select Backends saves when the backend is checked; the settings change applies it.
    const before = config()
      .get<string[]>('backends', [])
      .filter((id) => id !== PLUGIN_ID);
    await config().update('backends', [...before, PLUGIN_ID], target());
    await until(
      'the companion extension to be activated',
      async () => vscode.extensions.getExtension(COMPANION_ID)?.isActive,
      async () => `Select Backends lists ${describeChoices(await choices())}`,
    );
    const refused = await until(
      'the hub to report the chosen companion backend',
      async () => {
        const h = await health();
        return h?.details.includes('folder') ? h : undefined;
      },
      async () => JSON.stringify(await health()),
    );
    assert.strictEqual(refused.healthy, false);
    assert.match(refused.details, /"folder" \(backend "jsonl"\) is required/);

    await config().update(
      'backendConfig',
      { ...config().get<object>('backendConfig', {}), [PLUGIN_ID]: { folder: outDir } },
      target(),
    );
    const ok = await until(
      'the companion backend to be healthy',
      async () => {
        const h = await health();
        return h?.healthy ? h : undefined;
      },
      async () => JSON.stringify(await health()),
    );
    assert.strictEqual(ok.details, `writing to ${outDir}`);
    const choice = (await choices()).find((c) => c.id === PLUGIN_ID);
    assert.strictEqual(
      choice?.description,
      `${PLUGIN_ID} · from ${COMPANION_ID}`,
      'no longer "starts when chosen": it runs',
    );
  });

  it('uninstalled while it runs, VS Code keeps it loaded until the extension host restarts, and so does Runwatch', async () => {
    const obsolete = path.join(extensionsDir, '.obsolete');
    const markedObsolete = () =>
      fs.existsSync(obsolete) &&
      Object.keys(JSON.parse(fs.readFileSync(obsolete, 'utf8'))).some((k) => k.startsWith(`${COMPANION_ID}-`));
    assert.ok(!markedObsolete(), 'installed again, the companion is not marked obsolete');
    await vscode.commands.executeCommand('workbench.extensions.uninstallExtension', COMPANION_ID);
    // The uninstall did happen: VS Code marks the running extension obsolete on disk.
    await until(
      'the companion to be marked obsolete',
      async () => markedObsolete(),
      async () => (fs.existsSync(obsolete) ? fs.readFileSync(obsolete, 'utf8') : 'no .obsolete file'),
    );
    // Give the extension host the time it took to notice the other changes (well under a second), many times over.
    await new Promise((r) => setTimeout(r, 3000));
    const ext = vscode.extensions.getExtension(COMPANION_ID);
    assert.ok(ext?.isActive, 'still loaded and active in this extension host');
    assert.ok(
      (await choices()).some((c) => c.id === PLUGIN_ID),
      'still listed while it runs',
    );
    assert.strictEqual((await health())?.healthy, true, 'the chosen backend keeps working until the restart');
  });
});
