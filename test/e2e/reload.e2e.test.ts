// "Developer: Reload Window" while a script streams from an integrated terminal, in the
// real VS Code with the packaged .vsix. The terminal was opened before the reload, so its
// RUNWATCH_URL/RUNWATCH_TOKEN are the old session's: the collector must come back on the
// same port with the same token (it remembers them per store), so the client simply
// reconnects there, and the run arrives complete, every point once, finished, nothing
// spooled. Before the collector kept its address, it came back on a new port and token
// and the terminal's script was stranded.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VsCode, python, readRunLog, waitFor, readJsonLines } from './harness';

const STEPS = 400;
const PAUSE_AT = 100; // the script waits here until the window has reloaded

const SCRIPT = `
import json, os, sys, time
import runwatch
notes, go = sys.argv[1], sys.argv[2]
def note(**kw):
    with open(notes, "a") as f:
        f.write(json.dumps(kw) + "\\n")
run = runwatch.init(project="e2e", name="reload")
note(event="started", run_id=run.id, url=run.url, env_url=os.environ.get("RUNWATCH_URL"))
for step in range(${STEPS}):
    if step == ${PAUSE_AT}:
        note(event="paused")
        while not os.path.exists(go):
            run.log({"wait": 1.0}, step=step)
            time.sleep(0.05)
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(0.01)
run.finish()
note(event="end", status=run.status, spool=run.spool_path, url=run.url)
`;

interface Note {
  event: string;
  run_id?: string;
  url?: string;
  env_url?: string;
  status?: string;
  spool?: string | null;
}

const readNotes = (file: string): Note[] => readJsonLines<Note>(file);

describe('window reload (e2e): a terminal opened before the reload keeps streaming', () => {
  let vs: VsCode | undefined;
  let tmp: string;
  let workspace: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-reload-'));
    workspace = path.join(tmp, 'workspace');
    fs.mkdirSync(workspace, { recursive: true });
    vs = await VsCode.start({ name: 'reload', workspace });
  });

  after(async () => {
    await vs?.stop();
    if (tmp && !process.env.RUNWATCH_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the collector comes back on the same port and token; the run is complete and finished', async () => {
    const discovery = path.join(workspace, '.runwatch', 'collector.json');
    const readDiscovery = () =>
      JSON.parse(fs.readFileSync(discovery, 'utf8')) as { url: string; token: string; pid: number };
    try {
      await vs!.waitForFile(discovery, undefined, 180_000);
      const before = readDiscovery();
      const script = path.join(tmp, 'train.py');
      const notes = path.join(tmp, 'notes.jsonl');
      const go = path.join(tmp, 'go');
      fs.writeFileSync(script, SCRIPT);

      // Typed into an integrated terminal, as a person would; its environment is Runwatch's.
      await vs!.runCommand('Terminal: Create New Terminal');
      await vs!.page.locator('.terminal-wrapper.active .xterm').first().waitFor({ state: 'visible', timeout: 60_000 });
      await new Promise((r) => setTimeout(r, 2000)); // the shell's prompt
      // A long grace so a slow reload on a busy machine is waited for rather than spooled.
      await vs!.page.keyboard.type(
        `RUNWATCH_GRACE_SECONDS=170 RUNWATCH_FLUSH_TIMEOUT=170 ${python()} ${script} ${notes} ${go}`,
      );
      await vs!.page.keyboard.press('Enter');
      const started = await waitFor(
        'the script to start its run',
        () => readNotes(notes).find((n) => n.event === 'started'),
        120_000,
      );
      assert.strictEqual(started.env_url, before.url, 'the terminal has the collector address from Runwatch');
      const runId = started.run_id!;
      await waitFor('the script to reach its pause', () => readNotes(notes).some((n) => n.event === 'paused'), 120_000);
      const storeDir = path.join(workspace, '.runwatch');
      await waitFor('points before the reload in the store', () => readRunLog(storeDir, runId).length > 2, 60_000);

      const hostsBefore = vs!.extensionHostPids();
      await vs!.runCommand('Developer: Reload Window');
      await vs!.page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
      const after = await waitFor(
        'the new collector in the discovery file',
        () => {
          const d = fs.existsSync(discovery) ? readDiscovery() : undefined;
          return d && !hostsBefore.includes(d.pid) ? d : undefined;
        },
        180_000,
      );
      fs.writeFileSync(go, '');
      console.log(`      reloaded: ${before.url} (pid ${before.pid}) -> ${after.url} (pid ${after.pid})`);
      assert.strictEqual(after.url, before.url, 'the collector keeps its port across the reload');
      assert.strictEqual(after.token, before.token, 'the collector keeps its token across the reload');

      const end = await waitFor('the script to finish', () => readNotes(notes).find((n) => n.event === 'end'), 240_000);
      assert.strictEqual(end.status, 'finished');
      assert.strictEqual(end.spool, null, 'the run went to the collector, not to the spool');
      assert.strictEqual(end.url, before.url, 'the client reconnected to the address its terminal had');

      const events = readRunLog(storeDir, runId).map((r) => r.event);
      assert.strictEqual(events.filter((e) => e.type === 'run.start').length, 1);
      assert.deepStrictEqual(
        events.filter((e) => e.type === 'run.end').map((e) => e.status),
        ['finished'],
      );
      const steps = events
        .flatMap((e) => (e.type === 'metrics' ? (e.points as { key: string; step: number }[]) : []))
        .filter((p) => p.key === 'loss')
        .map((p) => p.step);
      assert.deepStrictEqual(
        steps,
        Array.from({ length: STEPS }, (_, i) => i),
        'every loss step once, in order',
      );
    } finally {
      await vs!.screenshot('reload').catch(() => undefined);
    }
  });
});
