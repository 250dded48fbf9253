// "Runwatch: Install Python Client…" as a person uses it, in the real VS Code with the packaged .vsix:
// a fresh venv (pip only, no network needed) is the configured interpreter; the command's QuickPick
// offers it, the success message names it, and afterwards that venv imports its own installed copy of
// runwatch (not the repository's) with nothing else added to it. A path that does not exist, typed into
// the input box, gets an error message saying so.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT, VsCode } from './harness';

describe('Install Python Client (e2e, packaged .vsix in code-server)', function () {
  this.timeout(900_000);
  let vs: VsCode | undefined;
  let tmp = '';
  let venvPython = '';

  /** The venv's python with no PYTHONPATH, from a neutral folder: what it imports by itself. */
  const inVenv = (args: string[]) => {
    const env = { ...process.env };
    delete env.PYTHONPATH;
    return execFileSync(venvPython, args, { cwd: tmp, env, encoding: 'utf8', timeout: 120_000 });
  };
  const packages = () =>
    (JSON.parse(inVenv(['-m', 'pip', 'list', '--format=json', '--disable-pip-version-check'])) as { name: string }[])
      .map((p) => p.name.toLowerCase())
      .sort();

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-install-client-'));
    // The system Python's venv: pip from ensurepip's bundled wheel, so no network here either.
    execFileSync('python3', ['-m', 'venv', path.join(tmp, 'venv')], { timeout: 300_000 });
    venvPython = path.join(tmp, 'venv', 'bin', 'python');
    vs = await VsCode.start({
      name: 'install-client',
      settings: { 'runwatch.python.interpreter': venvPython },
    });
    await vs.waitForFile(path.join(vs.workspace, '.runwatch', 'collector.json'), undefined, 180_000);
  });

  after(async () => {
    await vs?.stop();
    if (tmp && !process.env.RUNWATCH_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  });

  it('installs the bundled client into the interpreter picked in the QuickPick', async () => {
    const before = packages();
    assert.ok(!before.includes('runwatch'));
    try {
      await vs!.runCommand('Runwatch: Install Python Client…');
      const row = vs!.quickRow(venvPython);
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      assert.match((await row.textContent()) ?? '', /the selected interpreter/);
      await row.click();
      const done = vs!.toast(`installed the Python client 0.1.0 into ${venvPython}`);
      await done.waitFor({ state: 'visible', timeout: 180_000 });
      console.log(`      on screen: "${(await done.textContent())?.trim()}"`);

      const file = inVenv(['-c', 'import runwatch; print(runwatch.__file__)']).trim();
      const site = path.join(tmp, 'venv', 'lib');
      assert.ok(file.startsWith(site) && file.includes(`${path.sep}site-packages${path.sep}`), file);
      assert.ok(!file.startsWith(ROOT), `imports the repository's copy: ${file}`);
      assert.ok(fs.existsSync(path.join(path.dirname(file), 'py.typed')));
      // Only runwatch was added: nothing was built or fetched (no build backend, no dependencies).
      assert.deepStrictEqual(packages(), [...before, 'runwatch'].sort(), 'the venv gained runwatch and nothing else');
      // The installed client is the whole package, usable on its own.
      assert.strictEqual(
        inVenv(['-c', 'import runwatch.capture, runwatch; print(runwatch.__version__)']).trim(),
        '0.1.0',
      );
    } finally {
      await vs!.screenshot('install-client-done').catch(() => undefined);
    }
  });

  it('says so on screen when the typed interpreter path does not exist', async () => {
    const missing = path.join(tmp, 'no-such-venv', 'bin', 'python');
    try {
      await vs!.runCommand('Runwatch: Install Python Client…');
      await vs!.quickRow('Enter the path of an interpreter').click({ timeout: 60_000 });
      const input = vs!.page.locator('.quick-input-widget input.input').first();
      await vs!.page
        .locator('.quick-input-widget', { hasText: 'the Python interpreter to install the client into' })
        .waitFor({ state: 'visible', timeout: 30_000 });
      await input.fill(missing);
      await vs!.page.keyboard.press('Enter');
      const err = vs!.toast(`could not install the Python client into ${missing}: there is no such file`);
      await err.waitFor({ state: 'visible', timeout: 60_000 });
      console.log(`      on screen: "${(await err.textContent())?.trim()}"`);
      assert.ok(!fs.existsSync(path.dirname(missing)));
    } finally {
      await vs!.screenshot('install-client-missing').catch(() => undefined);
    }
  });
});
