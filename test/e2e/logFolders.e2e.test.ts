// Log folders with no code at all, in a real VS Code with the packaged .vsix: a workspace that
// already holds a TensorBoard log folder written by tensorboardX hours ago shows it as a run in
// the Runs tree once "Runwatch: Import TensorBoard Logs…" is run from the command palette and the
// folder ticked in its QuickPick (and not before: historic logs wait to be asked for); a folder a
// Python process is still writing is tailed by itself, and its chart in the dashboard grows as the
// process appends scalars.
import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { runIdentity } from '../../src/sources/tfevents/logDirRun';
import { OUTPUT_DIR, python, readJsonLines, VsCode, waitFor } from './harness';

const HISTORIC = `
import os, sys, time
from tensorboardX import SummaryWriter
logdir = sys.argv[1]
w = SummaryWriter(logdir)
for step in range(50):
    w.add_scalar("train/loss", 1.0 / (step + 1), step)
w.close()
old = time.time() - 7200
for name in os.listdir(logdir):
    os.utime(os.path.join(logdir, name), (old, old))
`;

// Writes 20 steps, then 20 more once the test creates the flag; notes each flush.
const GROWING = `
import json, os, sys, time
from tensorboardX import SummaryWriter
logdir, notes, more, done = sys.argv[1:5]
def note(**kw):
    with open(notes, "a") as f:
        f.write(json.dumps(kw) + "\\n")
w = SummaryWriter(logdir, flush_secs=1)
for step in range(20):
    w.add_scalar("train/loss", 2.0 - step * 0.01, step)
w.flush()
note(event="first", steps=20)
deadline = time.time() + 600
while not os.path.exists(more) and time.time() < deadline:
    time.sleep(0.05)
for step in range(20, 40):
    w.add_scalar("train/loss", 2.0 - step * 0.01, step)
w.flush()
note(event="second", steps=40)
while not os.path.exists(done) and time.time() < deadline:
    time.sleep(0.05)
w.close()
`;

interface Note {
  event: string;
}

async function runRow(vs: VsCode, name: string): Promise<string> {
  const row = vs.page.locator('.part.sidebar .monaco-list-row', { hasText: name }).first();
  return ((await row.textContent({ timeout: 2_000 }).catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
}

/** The last step each run has drawn in the chart of `key` (the dashboard's probe attributes). */
async function lastSteps(frame: Frame, key: string): Promise<Record<string, number>> {
  const el = await frame.$(`.chart[data-key="${key}"]`);
  return JSON.parse((await el?.getAttribute('data-last-step')) ?? '{}') as Record<string, number>;
}

describe('log folders (e2e, packaged .vsix in code-server)', () => {
  let vs: VsCode | undefined;
  let writer: ChildProcess | undefined;
  let tmp = '';
  let ws = '';

  before(async function () {
    const py = python();
    if (spawnSync(py, ['-c', 'import tensorboardX'], { encoding: 'utf8' }).status !== 0) this.skip();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-logfolders-'));
    ws = path.join(tmp, 'workspace');
    fs.mkdirSync(ws, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'historic.py'), HISTORIC);
    fs.writeFileSync(path.join(tmp, 'growing.py'), GROWING);
    const r = spawnSync(py, [path.join(tmp, 'historic.py'), path.join(ws, 'old_logs', 'exp_a')], { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    vs = await VsCode.start({ name: 'logfolders', workspace: ws });
  });

  after(async () => {
    if (writer && writer.exitCode === null) writer.kill('SIGKILL');
    await vs?.stop();
    if (tmp && process.env.RUNWATCH_KEEP_TMP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('an existing log folder shows up as a run after "Import TensorBoard Logs…"', async () => {
    const v = vs!;
    try {
      await v.waitForFile('.runwatch/collector.json', (t) => t.includes('"token"'), 180_000);
      const item = v.page
        .locator('.part.activitybar .action-item', { has: v.page.locator('a[aria-label^="Runwatch"]') })
        .first();
      if (!((await item.getAttribute('class')) ?? '').includes('checked')) await item.locator('a').click();
      await v.page.locator('.part.sidebar', { hasText: 'Runs' }).first().waitFor({ timeout: 60_000 });
      // Two hours old: not imported by itself (give the source a few polls to prove it).
      await new Promise((r) => setTimeout(r, 6000));
      assert.strictEqual(await runRow(v, 'exp_a'), '', 'a historic folder waits for the import');

      await v.runCommand('Runwatch: Import TensorBoard Logs…');
      const pick = v.page.locator('.quick-input-widget');
      const row = pick.locator('.quick-input-list .monaco-list-row', { hasText: 'old_logs/exp_a' }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match((await row.textContent()) ?? '', /TensorBoard · changed 2 h ago/);
      await v.screenshot('logfolders-quickpick');
      await row.click(); // ticks it (a multi-select pick)
      await pick
        .locator('.quick-input-count', { hasText: '1 Selected' })
        .waitFor({ state: 'visible', timeout: 10_000 });
      await v.page.keyboard.press('Enter');
      await v.page
        .locator('.notifications-toasts', { hasText: 'imported 1 log (50 points)' })
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      const text = await waitFor(
        'the imported run in the Runs tree',
        async () => (await runRow(v, 'exp_a')) || undefined,
      );
      assert.match(text, /exp_a/);
      assert.match(text, /finished/, 'nothing writes it any more');
      assert.ok(await runRow(v, 'old_logs'), 'under its parent folder as the project');
    } finally {
      await v.screenshot('logfolders-imported');
    }
  });

  it('a growing event file is tailed live: its chart in the dashboard follows the writer', async () => {
    const v = vs!;
    const logdir = path.join(ws, 'live_logs', 'grow');
    const notes = path.join(tmp, 'notes.jsonl');
    const more = path.join(tmp, 'more.flag');
    const done = path.join(tmp, 'done.flag');
    const runId = runIdentity(ws, logdir).runId;
    try {
      // The dashboard follows runs that start while it is open.
      await v.runCommand('Runwatch: Show Dashboard');
      const dashboard = () => v.webviewFrame('#root .toolbar', 120_000);
      await dashboard();
      const log = fs.openSync(path.join(OUTPUT_DIR, 'logfolders-e2e-python.log'), 'w');
      writer = spawn(python(), [path.join(tmp, 'growing.py'), logdir, notes, more, done], {
        stdio: ['ignore', log, log],
      });
      fs.closeSync(log);
      await waitFor('the first 20 steps flushed', () => readJsonLines<Note>(notes).some((n) => n.event === 'first'));
      // Found by the source's next walk, imported after it settles: no command needed.
      const text = await waitFor(
        'the growing run in the Runs tree',
        async () => (await runRow(v, 'grow')) || undefined,
      );
      assert.match(text, /grow/);
      await waitFor(
        'the chart at step 19',
        async () => (await lastSteps(await dashboard(), 'train/loss'))[runId] === 19 || undefined,
        60_000,
      );
      await v.screenshot('logfolders-chart-20');
      fs.writeFileSync(more, 'go');
      await waitFor('the next 20 steps flushed', () => readJsonLines<Note>(notes).some((n) => n.event === 'second'));
      await waitFor(
        'the chart at step 39',
        async () => (await lastSteps(await dashboard(), 'train/loss'))[runId] === 39 || undefined,
        60_000,
      );
      await v.screenshot('logfolders-chart-40');
      fs.writeFileSync(done, 'go');
    } finally {
      await v.screenshot('logfolders-live');
    }
  });
});
