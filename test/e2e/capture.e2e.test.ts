// TensorBoard capture as a person meets it, in a real VS Code with the packaged .vsix: a Lightning
// script that never imports runwatch (its default TensorBoardLogger writes event files), typed into
// an integrated terminal, appears live in the Runs tree and in the dashboard, because the terminal's
// PYTHONPATH holds the bundled client and its sitecustomize. The script pauses mid-training until the
// test has seen it live, then finishes; the store then holds every step Lightning logged, once.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { VsCode, python, readJsonLines, readRunLog, waitFor } from './harness';

const EPOCHS = 4;
const BATCHES = 8; // per epoch, one train_loss point each (log_every_n_steps=1)
const PAUSE_AFTER_EPOCH = 1;

const SCRIPT = `
import json, os, sys, time
import torch
import lightning.pytorch as pl
from torch.utils.data import DataLoader, TensorDataset
notes, go = sys.argv[1], sys.argv[2]
def note(**kw):
    with open(notes, "a") as f:
        f.write(json.dumps(kw) + "\\n")

class Tiny(pl.LightningModule):
    def __init__(self, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Linear(4, 1)
    def training_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

class PauseUntilSeen(pl.Callback):
    def on_train_epoch_end(self, trainer, module):
        if trainer.current_epoch == ${PAUSE_AFTER_EPOCH}:
            note(event="paused", sitecustomize=getattr(sys.modules.get("sitecustomize"), "__file__", None))
            deadline = time.time() + 300
            while not os.path.exists(go) and time.time() < deadline:
                time.sleep(0.05)

torch.manual_seed(0)
data = DataLoader(TensorDataset(torch.randn(${BATCHES * 4}, 4), torch.randn(${BATCHES * 4}, 1)), batch_size=4)
trainer = pl.Trainer(max_epochs=${EPOCHS}, log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, accelerator="cpu", callbacks=[PauseUntilSeen()])
note(event="started")
trainer.fit(Tiny(), data)
note(event="done")
`;

interface Note {
  event: string;
  sitecustomize?: string | null;
}

async function runRowText(vs: VsCode, name: string): Promise<string> {
  const row = vs.page.locator('.part.sidebar .monaco-list-row', { hasText: name }).first();
  return ((await row.textContent({ timeout: 5_000 }).catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
}

async function chartPoints(frame: Frame, key: string): Promise<Record<string, number> | undefined> {
  const attr = await frame
    .locator(`.chart[data-key="${key}"]`)
    .first()
    .getAttribute('data-points', { timeout: 2_000 })
    .catch(() => null);
  return attr ? (JSON.parse(attr) as Record<string, number>) : undefined;
}

describe('TensorBoard capture (e2e): a Lightning script with no Runwatch import, typed into a terminal', () => {
  let vs: VsCode | undefined;
  let tmp = '';
  let workspace = '';

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-capture-'));
    workspace = path.join(tmp, 'workspace');
    fs.mkdirSync(workspace, { recursive: true });
    vs = await VsCode.start({ name: 'capture', workspace });
  });

  after(async () => {
    await vs?.stop();
    if (tmp && !process.env.RUNWATCH_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('appears live in the Runs tree and the dashboard, then finishes with every step once', async () => {
    const v = vs!;
    const storeDir = path.join(workspace, '.runwatch');
    const notes = path.join(tmp, 'notes.jsonl');
    const go = path.join(tmp, 'go');
    const script = path.join(workspace, 'train_lightning.py');
    fs.writeFileSync(script, SCRIPT);
    assert.ok(!SCRIPT.includes('runwatch'), 'the script knows nothing of Runwatch');
    try {
      await v.waitForFile(path.join(storeDir, 'collector.json'), (t) => t.includes('"token"'), 180_000);
      await v.runCommand('Runwatch: Show Dashboard');
      await v.webviewFrame('#root .toolbar', 120_000);

      await v.runCommand('Terminal: Create New Terminal');
      const term = v.page.locator('.terminal-wrapper.active .xterm').first();
      await term.waitFor({ state: 'visible', timeout: 60_000 });
      // Typed as a person types it, once the shell has had time for its prompt, into the focused terminal
      // (the terminal draws on a canvas: there is no prompt text to wait for).
      await new Promise((r) => setTimeout(r, 3000));
      const line = `${python()} ${script} ${notes} ${go}`;
      for (let attempt = 1; ; attempt++) {
        await term.click();
        await v.page.keyboard.type(line);
        await v.page.keyboard.press('Enter');
        const started = await waitFor(
          'the script to start',
          () => readJsonLines<Note>(notes).some((n) => n.event === 'started'),
          attempt === 1 ? 60_000 : 180_000,
        ).catch(() => false);
        if (started) break;
        if (attempt === 2) throw new Error(`the script typed into the terminal did not start: ${line}`);
      }

      const paused = await waitFor(
        'the script to pause mid-training',
        () => readJsonLines<Note>(notes).find((n) => n.event === 'paused'),
        240_000,
      );
      assert.match(paused.sitecustomize ?? '', /clients[\\/]python[\\/]sitecustomize\.py$/, 'the bundled one loaded');
      const logdir = fs.realpathSync(path.join(workspace, 'lightning_logs', 'version_0'));
      const runId = await waitFor(
        'a run whose run.start names the log directory',
        () =>
          fs.existsSync(path.join(storeDir, 'runs'))
            ? fs.readdirSync(path.join(storeDir, 'runs')).find((id) => {
                const start = readRunLog(storeDir, id)[0]?.event as
                  { context?: { tensorboard?: { logdir?: string } } } | undefined;
                return start?.context?.tensorboard?.logdir === logdir;
              })
            : undefined,
        60_000,
      );

      // Live in the Runs tree, under its log directory's name.
      const item = v.page
        .locator('.part.activitybar .action-item', { has: v.page.locator('a[aria-label^="Runwatch"]') })
        .first();
      if (!((await item.getAttribute('class')) ?? '').includes('checked')) await item.locator('a').click();
      const live = await waitFor(
        'the run row, live',
        async () => {
          const t = await runRowText(v, 'lightning_logs/version_0');
          return /live · /.test(t) ? t : undefined;
        },
        60_000,
      );
      assert.match(live, /lightning_logs\/version_0/);
      await v.screenshot('capture-tree-live');

      // Live in the dashboard: the steps of the first two epochs, drawn while the script waits.
      const before = (PAUSE_AFTER_EPOCH + 1) * BATCHES;
      await waitFor(
        `${before} train_loss points of the captured run in the dashboard`,
        async () => ((await chartPoints(await v.webviewFrame('#root .toolbar'), 'train_loss'))?.[runId] ?? 0) >= before,
        60_000,
      );
      await v.screenshot('capture-dashboard-live');

      fs.writeFileSync(go, '');
      await waitFor('the script to finish', () => readJsonLines<Note>(notes).some((n) => n.event === 'done'), 240_000);
      const finished = await waitFor(
        'the run row, finished',
        async () => {
          const t = await runRowText(v, 'lightning_logs/version_0');
          return /finished · /.test(t) ? t : undefined;
        },
        120_000,
      );
      assert.match(finished, /lightning_logs\/version_0/);
      const total = EPOCHS * BATCHES;
      await waitFor(
        `all ${total} train_loss points in the dashboard`,
        async () => (await chartPoints(await v.webviewFrame('#root .toolbar'), 'train_loss'))?.[runId] === total,
        60_000,
      );
      const events = readRunLog(storeDir, runId).map((r) => r.event);
      const steps = events
        .flatMap((e) => (e.type === 'metrics' ? (e.points as { key: string; step: number }[]) : []))
        .filter((p) => p.key === 'train_loss')
        .map((p) => p.step);
      assert.deepStrictEqual(
        steps,
        Array.from({ length: total }, (_, i) => i),
        'every step once',
      );
      const params = events.filter((e) => e.type === 'params').map((e) => e.params);
      assert.deepStrictEqual(params, [{ lr: 0.05 }], "Lightning's hyperparameters are the run's params");
      assert.strictEqual(events.at(-1)?.status, 'finished');
      // The log-folder source reads run.start contexts: it does not import the captured folder again.
      assert.deepStrictEqual(fs.readdirSync(path.join(storeDir, 'runs')), [runId], 'one run, not two');
    } finally {
      await v.screenshot('capture-finished').catch(() => undefined);
    }
  });
});
