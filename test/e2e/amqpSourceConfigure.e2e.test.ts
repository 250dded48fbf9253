// The AMQP source configured as a person would, in the real VS Code against a real
// RabbitMQ broker with a user of its own: "Configure Backend…" from the palette, the
// source picked under "Sources", the URL (without the password) typed, the password in
// the password box. A wrong password first: the warning says the source is not
// connected; its button asks again, and the right password alone (same settings) makes
// the running source reconnect. The password is never in settings.json.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT, VsCode } from './harness';

const RABBITMQ_SH = path.join(ROOT, 'scripts', 'rabbitmq.sh');
const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

/** A broker from scripts/rabbitmq.sh, with a user `runwatch` whose password is `password`. */
function startBroker(dir: string, password: string): { port: number } {
  const line = execFileSync(RABBITMQ_SH, ['start', dir], { encoding: 'utf8', timeout: 300_000 }).trim();
  const { port, node } = JSON.parse(line.split('\n').pop()!) as { port: number; node: string };
  const [, , epmd] = fs.readFileSync(path.join(dir, 'ports'), 'utf8').trim().split(/\s+/);
  // The broker's own cookie and epmd (both under `dir`), as the script set them.
  const env = { ...process.env, HOME: path.join(dir, 'home'), ERL_EPMD_PORT: epmd };
  const ctl = (...args: string[]) => execFileSync(RABBITMQCTL, ['-n', node, ...args], { env, stdio: 'pipe' });
  ctl('add_user', 'runwatch', password);
  ctl('set_permissions', 'runwatch', '.*', '.*', '.*');
  return { port };
}

describe('AMQP source (e2e): configured through Configure Backend…, password in SecretStorage', () => {
  let vs: VsCode | undefined;
  let tmp: string;
  let workspace: string;
  let brokerDir: string;
  let port: number;
  const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
  const wrong = `wrong-${crypto.randomBytes(6).toString('hex')}`;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-amqp-source-'));
    workspace = path.join(tmp, 'workspace');
    brokerDir = path.join(tmp, 'broker');
    fs.mkdirSync(workspace, { recursive: true });
    ({ port } = startBroker(brokerDir, password));
    vs = await VsCode.start({ name: 'amqp-source-configure', workspace });
  });

  after(async () => {
    await vs?.stop();
    if (brokerDir) execFileSync(RABBITMQ_SH, ['stop', brokerDir], { stdio: 'ignore' });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('URL typed, password in the password box: the source connects with it, and it is not in settings.json', async () => {
    const page = vs!.page;
    const v = vs!;
    const input = v.quickInput();
    const url = `amqp://runwatch@127.0.0.1:${port}/`;
    const id = 'runwatch.amqp-source';
    const later = ['exchange', 'queue', 'bindingKey', 'deadLetterQueue', 'prefetch', 'maxBatchPoints'];
    /** Answers the password box (after url and vhost), then takes every default after it. */
    const answerPassword = async (text: string) => {
      await v.quickTitle(`${id}: password (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(await input.getAttribute('type'), 'password', 'a secret is asked in a password box');
      await input.fill(text);
      await page.keyboard.press('Enter');
      for (const name of later) {
        await v.quickTitle(`${id}: ${name} (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
        await page.keyboard.press('Enter');
      }
    };
    try {
      await vs!.waitForFile(path.join(workspace, '.runwatch', 'collector.json'), undefined, 180_000);

      // --- From the palette: the list has the backends and, under "Sources", the AMQP source.
      await vs!.runCommand('Runwatch: Configure Backend…');
      await v.quickRow('MLflow').waitFor({ state: 'visible', timeout: 60_000 });
      const separators = await page.locator('.quick-input-widget .quick-input-list-separator').allTextContents();
      assert.ok(
        separators.some((t) => /Sources/.test(t)),
        `a "Sources" heading: ${separators.join(' | ')}`,
      );
      await v.quickRow('RabbitMQ (AMQP) source').click();
      await v.quickTitle(`${id}: url (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
      await input.fill(url);
      await page.keyboard.press('Enter');
      await v.quickTitle(`${id}: vhost (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
      await page.keyboard.press('Enter');
      await answerPassword(wrong);

      // The broker refuses the wrong password: said at once, with the way back.
      const refused = v.toast(
        `Runwatch: ${id} configured, but RabbitMQ (AMQP) source is unhealthy: not connected to ${url}`,
      );
      await refused.waitFor({ state: 'visible', timeout: 120_000 });
      const refusedText = (await refused.textContent()) ?? '';
      assert.match(refusedText, /ACCESS.REFUSED|403/, `the broker's reason: ${refusedText}`);

      // --- Its button asks again for this source; the settings stay, only the password changes.
      await refused.locator('.monaco-button', { hasText: 'Configure Backend…' }).first().click();
      await v.quickTitle(`${id}: url (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(await input.inputValue(), url, 'the current URL is offered');
      await page.keyboard.press('Enter');
      await v.quickTitle(`${id}: vhost (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
      await page.keyboard.press('Enter');
      await answerPassword(password);
      // Connected with the stored password (the URL shown has none) and consuming its queue.
      const masked = `amqp://runwatch:***@127.0.0.1:${port}/`;
      const ok = v.toast(`Runwatch: ${id} configured. RabbitMQ (AMQP) source: connected to`);
      await ok.waitFor({ state: 'visible', timeout: 120_000 });
      const okText = (await ok.textContent()) ?? '';
      assert.ok(okText.includes(`connected to ${url}`) || okText.includes(`connected to ${masked}`), okText);
      assert.match(okText, /queue runwatch: \d+ waiting, 1 consumers/);

      const settings = fs.readFileSync(path.join(workspace, '.vscode', 'settings.json'), 'utf8');
      assert.ok(settings.includes('"runwatch.sources"') && settings.includes(JSON.stringify(url)), settings);
      assert.ok(!settings.includes(password) && !settings.includes(wrong), `no password in settings.json: ${settings}`);
      assert.ok(!settings.includes('"password"'), settings);
      assert.ok(!settings.includes('runwatch.backendConfig'), `a source's settings are not a backend's: ${settings}`);

      // --- The source's row in the Backends view: its context menu asks for this source at once.
      await page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
      const sourceRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'RabbitMQ (AMQP) source' }).first();
      await sourceRow.waitFor({ state: 'visible', timeout: 60_000 });
      await v.contextMenu(() => sourceRow.click({ button: 'right' }), 'Configure Backend…');
      await v.quickTitle(`${id}: url (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(await input.inputValue(), url, 'the row configures the source it names');
      await page.keyboard.press('Escape');
    } catch (err) {
      await vs!.screenshot('amqp-source-configure').catch(() => undefined);
      throw err;
    }
  });
});
