// The built-in backends in the real VS Code, set up as a person would: both chosen in the
// "Select Backends" QuickPick; MLflow (which needs its server's URL) configured from the
// warning's "Configure Backend…" button, with the URL of a real `mlflow server` typed
// into the input box; TensorBoard (which needs nothing: it writes to the store's
// tensorboard/ folder) configured from its row in the Backends view with the folder
// picker. A run streamed from the Python client must land in both; after the MLflow
// server goes away and the window reloads, the status bar says MLflow is unhealthy.
// Each warning is logged once.
import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ROOT, VsCode, python, runTrainingScript, waitFor } from './harness';

const STEPS = 40;
const BIN = path.join(ROOT, '.vscode-test', 'venv-test', 'bin');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `mlflow server` as test/python/backend_helpers.py starts it: SQLite, own process group, stopped by its id. */
async function startMlflow(dir: string): Promise<{ uri: string; proc: ChildProcess; stop: () => void }> {
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'mlflow.log'), 'w');
  const proc = spawn(
    path.join(BIN, 'mlflow'),
    [
      'server',
      '--backend-store-uri',
      `sqlite:///${path.join(dir, 'mlflow.db')}`,
      '--artifacts-destination',
      path.join(dir, 'artifacts'),
      '--serve-artifacts',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    {
      cwd: dir,
      stdio: ['ignore', log, log],
      detached: true,
      env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
    },
  );
  fs.closeSync(log);
  const uri = `http://127.0.0.1:${port}`;
  const stop = () => {
    try {
      if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  await waitFor(
    'the MLflow server to answer /health',
    async () => {
      if (proc.exitCode !== null)
        throw new Error(`mlflow exited: ${fs.readFileSync(path.join(dir, 'mlflow.log'), 'utf8').slice(-2000)}`);
      const r = await fetch(`${uri}/health`).catch(() => undefined);
      return r?.status === 200;
    },
    300_000,
    500,
  );
  return { uri, proc, stop };
}

async function mlflowApi<T>(uri: string, method: 'GET' | 'POST', api: string, body?: unknown): Promise<T> {
  const r = await fetch(`${uri}/api/2.0/mlflow/${api}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${api}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Every line of Runwatch's output channel so far (VS Code writes it under the user data logs). */
function runwatchLog(vs: VsCode): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Runwatch\.log$/.test(e.name)) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(vs.tmpDir, 'data', 'logs'));
  return out.join('\n');
}

describe('built-in backends (e2e): MLflow and TensorBoard chosen and configured through the UI', () => {
  let vs: VsCode | undefined;
  let mlflow: Awaited<ReturnType<typeof startMlflow>> | undefined;
  let tmp: string;
  let workspace: string;
  let tbDir: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-builtin-'));
    workspace = path.join(tmp, 'workspace');
    tbDir = path.join(tmp, 'tb-logs'); // an existing folder, as the folder picker needs
    fs.mkdirSync(workspace, { recursive: true });
    fs.mkdirSync(tbDir, { recursive: true });
    [mlflow, vs] = await Promise.all([startMlflow(tmp), VsCode.start({ name: 'builtin-backends', workspace })]);
  });

  after(async () => {
    mlflow?.stop();
    await vs?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('choose both, configure each, stream a run: it lands in MLflow and in the TensorBoard folder', async () => {
    const page = vs!.page;
    const v = vs!;
    const input = v.quickInput();
    try {
      await vs!.waitForFile(path.join(workspace, '.runwatch', 'collector.json'), undefined, 180_000);

      // --- Select Backends: check MLflow and TensorBoard.
      await vs!.runCommand('Runwatch: Select Backends');
      for (const label of ['MLflow', 'TensorBoard']) {
        const row = v.quickRow(label);
        await row.waitFor({ state: 'visible', timeout: 60_000 });
        await row.click();
        await waitFor(
          `${label} to be checked`,
          async () => (await row.getAttribute('aria-checked')) === 'true',
          10_000,
        );
      }
      await input.focus();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 });
      const settingsFile = path.join(workspace, '.vscode', 'settings.json');
      await vs!.waitForFile(
        settingsFile,
        (t) => t.includes('"runwatch.mlflow"') && t.includes('"runwatch.tensorboard"'),
        60_000,
      );

      // MLflow has no server yet: refused, naming its field. TensorBoard needs nothing.
      const refused = v.toast('"trackingUri" (backend "runwatch.mlflow") is required');
      await refused.waitFor({ state: 'visible', timeout: 120_000 });
      const toastsText = (await page.locator('.notifications-toasts').textContent()) ?? '';
      assert.ok(!/logDir/.test(toastsText), `no complaint about TensorBoard's folder: ${toastsText}`);

      // --- The warning's button configures MLflow at once: no "which backend?" question.
      await refused.locator('.monaco-button', { hasText: 'Configure Backend…' }).first().click();
      await v.quickTitle('runwatch.mlflow: trackingUri').waitFor({ state: 'visible', timeout: 60_000 });
      await input.fill(mlflow!.uri);
      await page.keyboard.press('Enter');
      for (const optional of ['experimentName', 'username', 'password', 'token']) {
        await v.quickTitle(`runwatch.mlflow: ${optional} (optional)`).waitFor({ state: 'visible', timeout: 60_000 });
        await page.keyboard.press('Enter'); // the default / nothing stored
      }
      await v.toast('Runwatch: runwatch.mlflow configured.').waitFor({ state: 'visible', timeout: 120_000 });
      await vs!.waitForFile(settingsFile, (t) => t.includes(JSON.stringify(mlflow!.uri)), 60_000);

      // --- The Backends view: TensorBoard is healthy with its default folder, before any setting.
      await page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
      const sidebar = page.locator('.part.sidebar');
      const tbRow = sidebar.locator('.monaco-list-row', { hasText: 'TensorBoard' }).first();
      const mlRow = sidebar.locator('.monaco-list-row', { hasText: 'MLflow' }).first();
      await tbRow.waitFor({ state: 'visible', timeout: 60_000 });
      await waitFor(
        'both rows healthy',
        async () => {
          const t = `${await tbRow.textContent()} ${await mlRow.textContent()}`;
          return !/unhealthy/.test(t) && /lag/.test(t);
        },
        120_000,
      );
      await tbRow.click(); // expands its details
      const healthRow = sidebar
        .locator('.monaco-list-row', { hasText: 'health: ok: writing event files under' })
        .first();
      const healthShows = async (dir: string) => {
        let last = '';
        await waitFor(
          `the Backends view to show TensorBoard writing under ${dir}`,
          async () => {
            last =
              (await healthRow.getAttribute('aria-label').catch(() => null)) ?? (await healthRow.textContent()) ?? '';
            return last.includes(`writing event files under ${dir}`);
          },
          60_000,
        ).catch((e: Error) => {
          throw new Error(`${e.message}; the row says: ${last}`);
        });
      };
      const defaultDir = path.join(workspace, '.runwatch', 'tensorboard');
      await healthShows(defaultDir);

      // --- Right-click TensorBoard, Configure Backend…: its own settings at once, a folder picker first.
      await v.contextMenu(() => tbRow.click({ button: 'right' }), 'Configure Backend…');
      await v.quickTitle('runwatch.tensorboard: logDir (optional)').waitFor({ state: 'visible', timeout: 60_000 });
      await v.quickRow('Choose a folder…').click();
      // VS Code's own folder dialog (in the browser, its quick-input form): type the folder, accept.
      const accept = page.locator('.quick-input-widget .monaco-button', { hasText: 'Use This Folder' }).first();
      await accept.waitFor({ state: 'visible', timeout: 60_000 });
      // It opens at the current (default) folder; wait for that before typing over it.
      await waitFor(
        'the folder dialog at the default folder',
        async () => (await input.inputValue()).includes('.runwatch'),
        60_000,
      );
      await page.waitForTimeout(1000);
      await input.fill(`${tbDir}/`);
      await waitFor(
        'the dialog to take the typed folder',
        async () => (await input.inputValue()) === `${tbDir}/`,
        10_000,
      );
      await page.waitForTimeout(1000);
      await accept.click();
      await v.quickTitle('runwatch.tensorboard: float64 (optional)').waitFor({ state: 'visible', timeout: 60_000 });
      await v.quickRow('No').click();
      await v
        .toast(`Runwatch: runwatch.tensorboard configured. TensorBoard: writing event files under ${tbDir}`)
        .waitFor({ state: 'visible', timeout: 120_000 });
      const both = await vs!.waitForFile(settingsFile, (t) => t.includes(JSON.stringify(tbDir)), 60_000);
      assert.ok(both.includes(JSON.stringify(mlflow!.uri)), `MLflow's settings are kept: ${both}`);
      await healthShows(tbDir);

      // --- A run from the Python client.
      const script = [
        'import runwatch',
        "run = runwatch.init(project='e2e-builtin', name='both', config={'lr': 0.01})",
        `for step in range(${STEPS}):`,
        "    run.log({'loss': 1.0 / (step + 1), 'acc': step / 100.0}, step=step)",
        'run.finish()',
        'print(run.id)',
      ];
      const runId = runTrainingScript(workspace, script);

      // In MLflow: the run, finished, with every point.
      const uri = mlflow!.uri;
      let seen: unknown;
      const mlRun = await waitFor(
        'the run in MLflow, finished',
        async () => {
          const exp = await mlflowApi<{ experiment: { experiment_id: string } }>(
            uri,
            'GET',
            'experiments/get-by-name?experiment_name=e2e-builtin',
          ).catch(() => undefined);
          if (!exp) return undefined;
          const found = await mlflowApi<{ runs?: { info: { run_id: string; status: string } }[] }>(
            uri,
            'POST',
            'runs/search',
            {
              experiment_ids: [exp.experiment.experiment_id],
              filter: `tags.\`runwatch.runId\` = '${runId}'`,
            },
          );
          const r = found.runs?.[0];
          seen = found;
          return r?.info.status === 'FINISHED' ? r : undefined;
        },
        180_000,
        1000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; runs/search: ${JSON.stringify(seen)}; log: ${runwatchLog(vs!).slice(-3000)}`);
      });
      for (const key of ['loss', 'acc']) {
        const h = await mlflowApi<{ metrics?: { step: string | number; value: number }[] }>(
          uri,
          'GET',
          `metrics/get-history?run_id=${mlRun.info.run_id}&metric_key=${key}&max_results=1000`,
        );
        assert.deepStrictEqual(
          (h.metrics ?? []).map((m) => Number(m.step)).sort((a, b) => a - b),
          [...Array(STEPS).keys()],
          key,
        );
      }

      // In the chosen TensorBoard folder: the run's event file, every point, read by TensorBoard's own loader.
      const folder = path.join(tbDir, 'e2e-builtin', `both-${runId.replace(/-/g, '').slice(0, 8)}`);
      const reader = [
        'import glob, json, sys',
        'from tensorboard.backend.event_processing import event_file_loader',
        'from tensorboard.util import tensor_util',
        'out = {}',
        "for f in glob.glob(sys.argv[1] + '/events.out.tfevents.*'):",
        '    for ev in event_file_loader.EventFileLoader(f).Load():',
        '        for v in ev.summary.value:',
        '            out.setdefault(v.tag, []).append([ev.step, float(tensor_util.make_ndarray(v.tensor).item())])',
        'print(json.dumps(out))',
      ].join('\n');
      const tags = await waitFor(
        'every point in the TensorBoard folder',
        () => {
          const r = spawnSync(python(), ['-c', reader, folder], { encoding: 'utf8', timeout: 60_000 });
          const t = JSON.parse(r.stdout || '{}') as Record<string, [number, number][]>;
          return t.loss?.length === STEPS && t.acc?.length === STEPS ? t : undefined;
        },
        120_000,
        1000,
      );
      assert.deepStrictEqual(
        tags.loss.map(([s]) => s),
        [...Array(STEPS).keys()],
      );
      assert.strictEqual(tags.loss[3][1], Math.fround(0.25));
      assert.ok(
        !fs.existsSync(path.join(defaultDir, 'e2e-builtin')),
        'nothing in the default folder once another is chosen',
      );

      // Each warning once in Runwatch's log (a command's own apply and the settings event used to double it).
      const refusals = runwatchLog(vs!)
        .split('\n')
        .filter((l) => l.includes('"trackingUri" (backend "runwatch.mlflow") is required'));
      assert.strictEqual(refusals.length, 1, refusals.join('\n'));

      // --- MLflow goes away, the window reloads: the status bar says so, and the view too.
      mlflow!.stop();
      await vs!.reload();
      await page
        .locator('.part.statusbar .statusbar-item', { hasText: 'MLflow unhealthy' })
        .first()
        .waitFor({ state: 'visible', timeout: 180_000 });
      assert.strictEqual(
        await page.locator('.part.statusbar .statusbar-item', { hasText: 'TensorBoard unhealthy' }).count(),
        0,
      );
    } finally {
      await vs!.screenshot('builtin-backends');
    }
  });
});
