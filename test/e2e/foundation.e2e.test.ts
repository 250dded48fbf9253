// The foundation as a person sees it: the packaged .vsix installed in a real VS Code,
// "Runwatch: Show Log" run from the command palette, and Runwatch's activity-bar view.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT, VsCode, waitFor } from './harness';

const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Monaco renders spaces as no-break spaces; compare text as a person reads it. */
function plain(text: string | null): string {
  return (text ?? '').replace(/\u00a0/g, ' ');
}

describe('foundation (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;

  before(async () => {
    vs = await VsCode.start({ name: 'foundation' });
  });

  after(async () => {
    await vs?.stop();
  });

  it('"Runwatch: Show Log" opens the Output panel on the Runwatch channel with its activation line', async () => {
    const page = vs!.page;
    try {
      await vs!.runCommand('Runwatch: Show Log');
      const panel = page.locator('.part.panel');
      await panel
        .locator('.composite-bar .action-item.checked a[aria-label^="Output"]')
        .waitFor({ state: 'visible', timeout: 60_000 });
      const channel = await waitFor(
        'the Output channel picker to show Runwatch',
        async () => {
          const value = await panel.locator('.title-actions select.monaco-select-box').first().inputValue();
          return value === 'Runwatch' ? value : undefined;
        },
        60_000,
      );
      assert.strictEqual(channel, 'Runwatch');
      const line = new RegExp(`\\[info\\] Runwatch ${version.replace(/\./g, '\\.')} activating`);
      const text = await waitFor(
        'the activation line in the Output panel',
        async () => {
          const t = plain(await panel.locator('.view-lines').first().textContent());
          return line.test(t) ? t : undefined;
        },
        60_000,
      );
      assert.match(text, line);
    } finally {
      await vs!.screenshot('foundation-show-log');
    }
  });

  it('the Runwatch activity-bar container shows the Runs and Backends views', async () => {
    const page = vs!.page;
    try {
      const icon = page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]');
      await icon.waitFor({ state: 'visible', timeout: 60_000 });
      await icon.click();
      const sidebar = page.locator('.part.sidebar');
      await sidebar
        .locator('.composite.title h2', { hasText: /^Runwatch/i })
        .waitFor({ state: 'visible', timeout: 60_000 });
      for (const view of ['Runs', 'Backends']) {
        await sidebar
          .locator('.pane-header h3.title', { hasText: new RegExp(`^${view}$`, 'i') })
          .waitFor({ state: 'visible', timeout: 60_000 });
      }
    } finally {
      await vs!.screenshot('foundation-activity-bar');
    }
  });
});
