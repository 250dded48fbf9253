// A companion extension in the real VS Code: the example companion is packed as a
// .vsix and installed beside the packaged Runwatch, chosen in the "Select Backends"
// QuickPick (which activates it; its missing setting is refused, naming the field),
// configured with "Configure Backend…" (its folder, and a secret typed into a password
// box that the companion must receive from SecretStorage: it records a fingerprint),
// and a run streamed from the Python client must land in its folder exactly: every
// point once, the params, the final status.
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VsCode, packCompanion, readJsonl, runTrainingScript, waitFor } from './harness';

const STEPS = 50;
// Typed into the password box of "Configure Backend…"; the companion must get it from SecretStorage.
const SECRET = `sk-e2e-${crypto.randomBytes(6).toString('hex')}`;

describe('backends (e2e): a companion backend chosen in the picker receives a streamed run', () => {
  let vs: VsCode | undefined;
  let tmp: string;
  let workspace: string;
  let outDir: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-backends-'));
    workspace = path.join(tmp, 'workspace');
    outDir = path.join(tmp, 'jsonl-out');
    fs.mkdirSync(workspace, { recursive: true });
    // "Built" the way its README says: packed with vsce, so the test installs what a user would.
    const vsix = packCompanion(tmp);
    vs = await VsCode.start({
      name: 'backends',
      workspace,
      extensions: [vsix],
    });
  });

  after(async () => {
    await vs?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('choose "JSON Lines Folder" in Select Backends, stream from Python, and the folder holds exactly the run', async () => {
    const page = vs!.page;
    try {
      // Runwatch is up once its discovery file exists.
      await vs!.waitForFile(path.join(workspace, '.runwatch', 'collector.json'), undefined, 180_000);

      await vs!.runCommand('Runwatch: Select Backends');
      const row = page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'JSON Lines Folder' })
        .first();
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      // Listed before the companion runs (it has no activation events of its own).
      assert.match((await row.textContent()) ?? '', /starts when chosen/);
      await row.click();
      await waitFor('the row to be checked', async () => (await row.getAttribute('aria-checked')) === 'true', 10_000);
      await page.locator('.quick-input-widget input.input').first().focus();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 });

      // Saved in the workspace settings.
      const settingsFile = path.join(workspace, '.vscode', 'settings.json');
      await vs!.waitForFile(settingsFile, (t) => /"runwatch\.backends"\s*:\s*\[\s*"jsonl"\s*\]/.test(t), 60_000);

      // Its required "folder" is not set yet: refused, with a message naming the field.
      const toast = page
        .locator('.notifications-toasts .notification-list-item-message', {
          hasText: '"folder" (backend "jsonl") is required',
        })
        .first();
      await toast.waitFor({ state: 'visible', timeout: 120_000 });
      // …and the status bar warns while a chosen backend is unhealthy.
      const warning = page
        .locator('.part.statusbar .statusbar-item', { hasText: 'JSON Lines Folder unhealthy' })
        .first();
      await warning.waitFor({ state: 'visible', timeout: 60_000 });

      // "Configure Backend…": pick the backend, type its folder.
      await vs!.runCommand('Runwatch: Configure Backend…');
      const pick = page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'JSON Lines Folder' })
        .first();
      await pick.waitFor({ state: 'visible', timeout: 60_000 });
      await pick.click();
      const input = page.locator('.quick-input-widget input.input').first();
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'jsonl: folder' })
        .waitFor({ state: 'visible', timeout: 60_000 });
      await input.fill(outDir);
      await page.keyboard.press('Enter');
      // Then its secret, in a password box: kept in SecretStorage, never in settings.
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'jsonl: apiToken (optional)' })
        .waitFor({ state: 'visible', timeout: 60_000 });
      assert.strictEqual(await input.getAttribute('type'), 'password', 'the secret is typed into a password box');
      await input.fill(SECRET);
      await page.keyboard.press('Enter');
      await page
        .locator('.notifications-toasts .notification-list-item-message', { hasText: 'Runwatch: jsonl configured.' })
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      const settingsText = await vs!.waitForFile(
        settingsFile,
        (t) => t.includes('"runwatch.backendConfig"') && t.includes(JSON.stringify(outDir)),
        60_000,
      );
      assert.ok(!settingsText.includes(SECRET), 'the secret is not in the settings');

      const script = [
        'import runwatch',
        "run = runwatch.init(project='e2e', name='companion', config={'lr': 0.01, 'layers': 3, 'api_key': 'sk-e2e-secret'})",
        `for step in range(${STEPS}):`,
        "    run.log({'loss': 1.0 / (step + 1), 'acc': step / 100.0}, step=step)",
        "run.log_params({'batch_size': 32})",
        'run.finish()',
        'print(run.id)',
      ];
      const runId = runTrainingScript(workspace, script);
      const file = path.join(outDir, `${runId}.jsonl`);

      const lines = await waitFor(
        'the run to reach the companion, up to run.end',
        () => {
          const l = readJsonl(file);
          return l.some((x) => x.type === 'run.end') ? l : undefined;
        },
        180_000,
      );

      assert.deepStrictEqual(
        lines.map((l) => l.offset),
        lines.map((_, i) => i),
        'each record once, in log order',
      );
      assert.ok(lines.every((l) => l.runId === runId));
      const start = lines[0];
      assert.strictEqual(start.type, 'run.start');
      assert.strictEqual(start.params?.lr, 0.01);
      assert.strictEqual(start.params?.layers, 3);
      assert.strictEqual(start.params?.api_key, '***', 'secret-looking params are masked on the way to backends');
      const points = lines.flatMap((l) => (l.type === 'metrics' ? (l.points ?? []) : []));
      assert.strictEqual(points.length, STEPS * 2, 'exactly the streamed points');
      const seen = new Set(points.map((p) => `${p.key}@${p.step}`));
      assert.strictEqual(seen.size, STEPS * 2);
      for (let s = 0; s < STEPS; s++) {
        assert.ok(seen.has(`loss@${s}`) && seen.has(`acc@${s}`), `step ${s}`);
      }
      assert.strictEqual(points.find((p) => p.key === 'loss' && p.step === 3)?.value, 0.25);
      assert.ok(lines.some((l) => l.type === 'params' && l.params?.batch_size === 32));
      const end = lines[lines.length - 1];
      assert.strictEqual(end.type, 'run.end');
      assert.strictEqual(end.status, 'finished');

      // The companion got the secret from SecretStorage: its meta holds the fingerprint, not the secret.
      const meta = JSON.parse(
        await vs!.waitForFile(path.join(outDir, `${runId}.meta.json`), (t) => t.includes('"finished"'), 60_000),
      ) as {
        status: string;
        apiToken: { sha256: string; length: number } | null;
      };
      assert.strictEqual(meta.status, 'finished');
      assert.deepStrictEqual(meta.apiToken, {
        sha256: crypto.createHash('sha256').update(SECRET).digest('hex').slice(0, 16),
        length: SECRET.length,
      });
      for (const f of fs.readdirSync(outDir))
        assert.ok(!fs.readFileSync(path.join(outDir, f), 'utf8').includes(SECRET), `${f} does not hold the secret`);

      // The Backends view shows it, healthy and caught up.
      const icon = page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]');
      await icon.click();
      const backendRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'JSON Lines Folder' }).first();
      await backendRow.waitFor({ state: 'visible', timeout: 60_000 });
      await waitFor(
        'the Backends view to show lag 0',
        async () => /lag 0 · queue 0/.test((await backendRow.textContent()) ?? ''),
        60_000,
      );
      await warning.waitFor({ state: 'hidden', timeout: 60_000 });
    } finally {
      await vs!.screenshot('backends-companion');
    }
  });
});
