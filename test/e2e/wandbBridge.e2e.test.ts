// The W&B bridge backend in the real VS Code: "Weights & Biases" chosen in the Select
// Backends QuickPick, its API key typed into the password box of "Configure Backend…"
// (kept in SecretStorage: it must appear in no settings file and no file of the store or
// of the backend), a run streamed from the Python client, and the offline W&B run read
// back from its .wandb file: every point, param, tag and the final state once.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VsCode, python, runTrainingScript, waitFor } from './harness';

const STEPS = 60;
const KEY = `wandb-e2e-${crypto.randomBytes(16).toString('hex')}`;
const ROOT = path.resolve(__dirname, '..', '..');

/** Every file under `dir` (following no links). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** What the W&B run's offline files hold, read with the SDK's protobuf records (test/python/bridge_helpers.py). */
function readWandb(
  wandbDir: string,
  runId: string,
): {
  points: number;
  repeated: number;
  exit: number[];
  tags: string[];
  config: Record<string, unknown>;
  state?: string;
} {
  const code = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'test', 'python'))})`,
    'from bridge_helpers import WandbRun',
    'w = WandbRun(sys.argv[1], sys.argv[2])',
    'pts = w.points()',
    'print(json.dumps({"points": sum(pts.values()), "repeated": sum(n - 1 for n in pts.values()), "exit": w.exit_codes, "tags": sorted(w.tags), "config": {k: v for k, v in w.config.items() if not k.startswith("_")}, "state": w.summary.get("runwatch/status")}))',
  ].join('\n');
  const r = spawnSync(python(), ['-c', code, wandbDir, runId], { encoding: 'utf8', timeout: 120_000 });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ReturnType<typeof readWandb>;
}

describe('W&B bridge (e2e): chosen in the picker, key in SecretStorage, a streamed run read back offline', () => {
  let vs: VsCode | undefined;
  let tmp: string;
  let workspace: string;
  let wandbDir: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-wandb-'));
    workspace = path.join(tmp, 'workspace');
    wandbDir = path.join(tmp, 'wandb-files');
    fs.mkdirSync(workspace, { recursive: true });
    vs = await VsCode.start({ name: 'wandb-bridge', workspace, settings: { 'runwatch.python.interpreter': python() } });
  });

  after(async () => {
    await vs?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('Select Backends → Weights & Biases, Configure Backend… with its key, stream from Python, read the offline run', async () => {
    const page = vs!.page;
    try {
      await vs!.waitForFile(path.join(workspace, '.runwatch', 'collector.json'), undefined, 180_000);

      await vs!.runCommand('Runwatch: Select Backends');
      const row = page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Weights & Biases' })
        .first();
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      await row.click();
      await waitFor('the row to be checked', async () => (await row.getAttribute('aria-checked')) === 'true', 10_000);
      await page.locator('.quick-input-widget input.input').first().focus();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 });
      const settingsFile = path.join(workspace, '.vscode', 'settings.json');
      await vs!.waitForFile(
        settingsFile,
        (t) => /"runwatch\.backends"\s*:\s*\[\s*"runwatch\.wandb"\s*\]/.test(t),
        60_000,
      );

      // "Configure Backend…": every setting in turn; the folder typed, the key in a password box.
      await vs!.runCommand('Runwatch: Configure Backend…');
      const pick = page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Weights & Biases' })
        .first();
      await pick.waitFor({ state: 'visible', timeout: 60_000 });
      await pick.click();
      const input = page.locator('.quick-input-widget input.input').first();
      const title = (name: string) =>
        page
          .locator('.quick-input-widget .quick-input-title', { hasText: `runwatch.wandb: ${name}` })
          .waitFor({ state: 'visible', timeout: 60_000 });
      for (const name of ['mode', 'project', 'entity', 'baseUrl']) {
        await title(name);
        await page.keyboard.press('Enter'); // keep the default
      }
      await title('dir');
      await page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Type a path' })
        .first()
        .click();
      await waitFor('the path box', async () => (await input.getAttribute('type')) !== 'password', 10_000);
      await input.fill(wandbDir);
      await page.keyboard.press('Enter');
      await title('apiKey');
      assert.strictEqual(await input.getAttribute('type'), 'password', 'the key is typed into a password box');
      await input.fill(KEY);
      await page.keyboard.press('Enter');
      await page
        .locator('.notifications-toasts .notification-list-item-message', { hasText: 'runwatch.wandb configured' })
        .first()
        .waitFor({ state: 'visible', timeout: 120_000 });

      const script = [
        'import runwatch',
        "run = runwatch.init(project='e2e-wandb', name='bridged', config={'lr': 0.01, 'layers': 3}, tags={'team': 'e2e'})",
        `for step in range(${STEPS}):`,
        "    run.log({'train/loss': 1.0 / (step + 1), 'acc': step / 100.0}, step=step)",
        "run.log_params({'batch_size': 32})",
        'run.finish()',
        'print(run.id)',
      ];
      const runId = runTrainingScript(workspace, script);

      const got = await waitFor(
        'the offline W&B run to hold every point and its exit',
        () => {
          const w = readWandb(wandbDir, runId);
          return w.exit.length > 0 && w.points === STEPS * 2 ? w : undefined;
        },
        240_000,
        2_000,
      );
      assert.strictEqual(got.repeated, 0, 'no point twice');
      assert.deepStrictEqual(got.exit, [0]);
      assert.strictEqual(got.state, 'finished');
      assert.deepStrictEqual(got.tags, ['team:e2e']);
      assert.strictEqual(got.config.lr, 0.01);
      assert.strictEqual(got.config.layers, 3);
      assert.strictEqual(got.config.batch_size, 32);

      // The key lives in SecretStorage only: not in any settings file, the store, or the backend's files.
      const places = [
        settingsFile,
        path.join(vs!.tmpDir, 'data', 'User', 'settings.json'),
        ...filesUnder(path.join(workspace, '.runwatch')),
        ...filesUnder(path.join(vs!.tmpDir, 'data', 'User', 'globalStorage')).filter((f) => f.includes('runwatch')),
        ...filesUnder(wandbDir),
      ];
      for (const f of places) {
        if (!fs.existsSync(f)) continue;
        assert.ok(!fs.readFileSync(f).toString('latin1').includes(KEY), `the key is in ${f}`);
      }
    } finally {
      await vs!.screenshot('wandb-bridge');
    }
  });
});
