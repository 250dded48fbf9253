// Two VS Code windows on one run store (both with runwatch.store.path naming the same
// folder, as two windows with no folder open share global storage), in the real VS Code
// with the packaged .vsix. The first owns the store: it runs the collector. The second
// says it only reads the store, runs no collector of its own, and shows the run the
// first one receives, live. When the first window goes away, the second takes the store
// over: its collector now writes the discovery file, and a new run streams into it.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VsCode, python, pythonEnv, readRunLog, waitFor } from './harness';

const SCRIPT = `
import sys, time
import runwatch
run = runwatch.init(project="two-windows", name=sys.argv[1])
print("id", run.id, flush=True)
for step in range(50):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(0.02)
run.finish()
print("end", run.status, run.url, flush=True)
`;

async function stream(cwd: string, name: string): Promise<{ id: string; status: string; url: string }> {
  const py = spawn(python(), ['-c', SCRIPT, name], { cwd, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  py.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  py.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => py.once('exit', r));
  assert.strictEqual(code, 0, err);
  const id = /^id (\S+)$/m.exec(out)?.[1];
  const end = /^end (\S+) (\S+)$/m.exec(out);
  assert.ok(id && end, out + err);
  return { id, status: end[1], url: end[2] };
}

describe('two windows on one store (e2e)', () => {
  let first: VsCode | undefined;
  let second: VsCode | undefined;
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-two-'));
  });

  after(async () => {
    await first?.stop();
    await second?.stop();
    if (tmp && !process.env.RUNWATCH_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the second window reads the owner’s runs live, runs no collector, and takes over when the owner closes', async () => {
    const store = path.join(tmp, 'shared-store');
    const settings = { 'runwatch.store.path': store };
    const ws1 = path.join(tmp, 'one');
    const ws2 = path.join(tmp, 'two');
    const storeDiscovery = path.join(store, 'collector.json');
    const readDiscovery = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { url: string; pid: number };
    try {
      first = await VsCode.start({ name: 'two-first', workspace: ws1, settings });
      await first.waitForFile(storeDiscovery, undefined, 180_000);
      const owner = readDiscovery(storeDiscovery);
      assert.deepStrictEqual(first.extensionHostPids(), [owner.pid], 'the first window owns the store');

      second = await VsCode.start({ name: 'two-second', workspace: ws2, settings });
      const page = second.page;
      const readOnly = page.locator('.part.statusbar .statusbar-item', { hasText: 'Runwatch: read-only' });
      await readOnly.waitFor({ state: 'visible', timeout: 180_000 });
      assert.strictEqual(readDiscovery(storeDiscovery).pid, owner.pid, 'the reader did not take the discovery file');
      assert.ok(
        !fs.existsSync(path.join(ws2, '.runwatch', 'collector.json')),
        'the reader runs no collector of its own',
      );

      // A run the owner receives shows in the reader's Runs tree.
      const run = await stream(ws1, 'through-the-owner');
      assert.strictEqual(run.status, 'finished');
      assert.strictEqual(run.url, owner.url);
      await page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
      const row = page.locator('.part.sidebar .monaco-list-row', { hasText: 'through-the-owner' }).first();
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      await waitFor(
        'the reader to show the run finished',
        async () => /finished/.test((await row.textContent()) ?? ''),
        60_000,
      );
      await second.screenshot('two-windows-reader');

      // The owner goes away: the reader becomes the writer.
      await first.stop();
      first = undefined;
      const taken = await waitFor(
        'the second window to own the store',
        () => {
          const d = fs.existsSync(storeDiscovery) ? readDiscovery(storeDiscovery) : undefined;
          return d && second!.extensionHostPids().includes(d.pid) ? d : undefined;
        },
        120_000,
      );
      await readOnly.waitFor({ state: 'hidden', timeout: 30_000 });
      const next = await stream(ws2, 'after-the-takeover');
      assert.strictEqual(next.status, 'finished');
      assert.strictEqual(next.url, taken.url);
      const events = readRunLog(store, next.id).map((r) => r.event.type);
      assert.deepStrictEqual([events[0], events[events.length - 1]], ['run.start', 'run.end']);
      assert.strictEqual(
        readRunLog(store, run.id).filter((r) => r.event.type === 'metrics').length > 0,
        true,
        'the first run is kept',
      );
      await second.screenshot('two-windows-after-takeover');
    } catch (err) {
      await second?.screenshot('two-windows-failed').catch(() => undefined);
      throw err;
    }
  });
});
