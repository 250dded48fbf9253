/*
 * The e2e harness: a real VS Code (code-server 4.100.3, installed by
 * scripts/setup-vscode.sh) with the *packaged* Runwatch .vsix, driven by Debian's
 * Chromium through playwright-core. See ../shared/REAL_VSCODE.md for why.
 *
 * Usage (in a mocha test, see foundation.e2e.test.ts):
 *
 *   let vs: VsCode;
 *   before(async () => { vs = await VsCode.start({ name: 'dashboard', settings: { 'runwatch.collector.port': 0 } }); });
 *   after(async () => { await vs?.stop(); });
 *   it('...', async () => {
 *     await vs.runCommand('Runwatch: Show Dashboard');          // command palette, by title
 *     const frame = await vs.webviewFrame('#chart', 60_000);    // the webview's own document
 *     await vs.waitForFile(path.join(vs.workspace, '.runwatch/collector.json'));
 *     await vs.screenshot('dashboard-open');                    // test-output/screenshots/
 *   });
 *
 * Options: workspace (a folder; a temp one is made if absent), extensions (extra
 * .vsix files or extension folders, e.g. a companion extension), settings (user
 * settings), env (extra environment for code-server and so the extension host).
 * Run `npm run package` first (scripts/test.sh does): the harness installs
 * dist-vsix/runwatch-<version>.vsix (or $RUNWATCH_VSIX), never the source folder.
 * Also here: vs.extensionHostPids() / vs.killExtensionHost() (SIGKILL it, wait for the
 * new one), and helpers for the example companion (packCompanion, readJsonl), the
 * Python client (python, pythonEnv) and the run store (readRunLog).
 * Logs: test-output/code-server-<name>-<n>.log and, after stop(), VS Code's own logs
 * (extension host included) under test-output/vscode-logs/<name>-<n>/.
 */
import * as assert from 'assert';
import { ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as zlib from 'zlib';
import { chromium, Browser, BrowserServer, Frame, Locator, Page } from 'playwright-core';
import { waitFor as pollUntil, type Check } from '../support/waitFor';
import { columnEntries } from '../../src/protocol/packedColumn';

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(__dirname, '..', '..');
export const OUTPUT_DIR = path.join(ROOT, 'test-output');
export const SCREENSHOT_DIR = path.join(OUTPUT_DIR, 'screenshots');
export const CODE_SERVER = path.join(ROOT, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.RUNWATCH_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep Chromium quiet on a machine whose network reaches almost nothing. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface StartOptions {
  /** Used in log and screenshot names. */
  name?: string;
  /** Workspace folder to open; a fresh temp folder when absent. */
  workspace?: string;
  /** Extra extensions beside Runwatch: .vsix files or unpacked extension folders. */
  extensions?: string[];
  /** User settings merged over the harness defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server; the extension host inherits it. */
  env?: Record<string, string>;
  /** Install Runwatch's packaged .vsix (default true). */
  installRunwatch?: boolean;
  /** How long to wait for the workbench to appear (default 180 s: the machine is shared). */
  startTimeoutMs?: number;
}

/** The packaged Runwatch, as `npm run package` writes it (RUNWATCH_VSIX overrides, e.g. to test a deliberately broken build). */
export function runwatchVsix(): string {
  if (process.env.RUNWATCH_VSIX) return path.resolve(process.env.RUNWATCH_VSIX);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const file = path.join(ROOT, 'dist-vsix', `${pkg.name}-${pkg.version}.vsix`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run package\` first`);
  return file;
}

/** Polls `check` until it returns a truthy value (test/support/waitFor.ts, with the e2e defaults). */
export function waitFor<T>(what: string, check: Check<T>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  return pollUntil(what, check, { timeoutMs, intervalMs });
}

/** The JSON lines a test script appended to `file` (none while it does not exist). */
export function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

const live = new Set<VsCode>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test process dies without its finally: kill what we started.
  process.on('exit', () => {
    for (const vs of live) vs.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const vs of live) vs.killNow();
      process.exit(130);
    });
  }
}

let instanceCounter = 0;

export class VsCode {
  private stopped = false;

  private constructor(
    readonly name: string,
    readonly workspace: string,
    readonly tmpDir: string,
    readonly url: string,
    readonly logFile: string,
    private readonly codeServer: ChildProcess,
    private readonly browserServer: BrowserServer,
    private readonly browser: Browser,
    readonly page: Page,
  ) {}

  /** Installs extensions, starts code-server and Chromium, and waits for the workbench. */
  static async start(options: StartOptions = {}): Promise<VsCode> {
    if (!fs.existsSync(CODE_SERVER))
      throw new Error(`${CODE_SERVER} is missing: run \`bash scripts/setup-vscode.sh\` first`);
    installExitHook();
    const n = ++instanceCounter;
    const name = `${options.name ?? 'vscode'}-${n}`;
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `runwatch-${options.name ?? 'vscode'}-`));
    const dataDir = path.join(tmpDir, 'data');
    const extDir = path.join(tmpDir, 'extensions');
    const workspace = path.resolve(options.workspace ?? path.join(tmpDir, 'workspace'));
    fs.mkdirSync(workspace, { recursive: true });
    fs.mkdirSync(path.join(dataDir, 'User'), { recursive: true });
    fs.mkdirSync(extDir, { recursive: true });
    const settings = {
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'workbench.tips.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'extensions.ignoreRecommendations': true,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      ...options.settings,
    };
    fs.writeFileSync(path.join(dataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

    const baseArgs = [
      '--config',
      path.join(tmpDir, 'config.yaml'),
      '--user-data-dir',
      dataDir,
      '--extensions-dir',
      extDir,
    ];
    // The tester's own PYTHONPATH or RUNWATCH_* must not reach VS Code's terminals: Runwatch sets those.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== 'PYTHONPATH' && !/^RUNWATCH_(URL|TOKEN|SPOOL)/.test(k)),
    );
    const env = { ...inherited, ...options.env };
    const vsixes = [...(options.installRunwatch === false ? [] : [runwatchVsix()])];
    const folders: string[] = [];
    for (const e of options.extensions ?? []) (e.endsWith('.vsix') ? vsixes : folders).push(path.resolve(e));
    for (const vsix of vsixes) {
      try {
        await execFileAsync(CODE_SERVER, [...baseArgs, '--install-extension', vsix], { env, timeout: 300_000 });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`installing ${vsix} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      }
    }
    for (const folder of folders) addExtensionFolder(extDir, folder);

    const logFile = path.join(OUTPUT_DIR, `code-server-${name}.log`);
    const logFd = fs.openSync(logFile, 'w');
    // Port 0: code-server picks a free port and prints it, so parallel suites never collide.
    const codeServer = spawn(
      CODE_SERVER,
      [
        ...baseArgs,
        '--auth',
        'none',
        '--bind-addr',
        '127.0.0.1:0',
        '--disable-telemetry',
        '--disable-update-check',
        workspace,
      ],
      { env, stdio: ['ignore', logFd, logFd], detached: true }, // own process group: stop() kills its children too
    );
    fs.closeSync(logFd);
    let browserServer: BrowserServer | undefined;
    let browser: Browser | undefined;
    try {
      const exited = new Promise<never>((_, reject) =>
        codeServer.once('exit', (code) => reject(new Error(`code-server exited early (code ${code}); see ${logFile}`))),
      );
      exited.catch(() => undefined);
      const port = await Promise.race([
        exited,
        waitFor(
          'code-server to listen',
          () => /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1],
          120_000,
        ),
      ]);
      const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
      browserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      browser = await chromium.connect(browserServer.wsEndpoint());
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.goto(url, { timeout: options.startTimeoutMs ?? 180_000 });
      await page.waitForSelector('.monaco-workbench', { timeout: options.startTimeoutMs ?? 180_000 });
      const vs = new VsCode(name, workspace, tmpDir, url, logFile, codeServer, browserServer, browser, page);
      live.add(vs);
      return vs;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await browserServer?.close().catch(() => undefined);
      killGroup(codeServer, 'SIGKILL');
      throw err;
    }
  }

  /** Runs a command from the palette by its title, e.g. "Runwatch: Show Log". */
  async runCommand(title: string, timeoutMs = 60_000): Promise<void> {
    const page = this.page;
    const deadline = Date.now() + timeoutMs;
    // The row's aria-label is the title, or "title, recently used"/"title, similar commands":
    // pick it exactly, since fuzzy matching may rank another command first.
    const row = page
      .locator(
        `.quick-input-list .monaco-list-row[aria-label="${title}"], .quick-input-list .monaco-list-row[aria-label^="${title},"]`,
      )
      .first();
    for (let attempt = 1; ; attempt++) {
      await page.locator('.monaco-workbench').click({ timeout: timeoutMs });
      await page.keyboard.press('Control+Shift+P');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: timeoutMs });
      await input.fill(`>${title}`);
      try {
        // A freshly loaded workbench may not list every command yet: retry rather than fail.
        await row.waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(15_000, deadline - Date.now())) });
        await row.click();
        await page
          .locator('.quick-input-widget')
          .waitFor({ state: 'hidden', timeout: 10_000 })
          .catch(() => undefined);
        return;
      } catch (err) {
        await page.keyboard.press('Escape');
        if (Date.now() > deadline) {
          await this.screenshot(`runCommand-failed-${title}`).catch(() => undefined);
          throw new Error(
            `command "${title}" not found in the palette after ${attempt} tries: ${(err as Error).message}`,
          );
        }
      }
    }
  }

  /**
   * Runs a command that opens a QuickPick or input box and waits for its input. Now and
   * then the palette closes without the command having run (its row clicked as the list
   * re-renders): then the command is run again, up to `tries` times.
   */
  async openQuickInput(title: string, tries = 3): Promise<Locator> {
    const input = this.page.locator('.quick-input-widget input.input');
    for (let attempt = 1; ; attempt++) {
      await this.runCommand(title);
      try {
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        return input;
      } catch (err) {
        if (attempt >= tries)
          throw new Error(`"${title}" opened no input after ${attempt} tries: ${(err as Error).message}`);
      }
    }
  }

  /** The frame (walking nested webview iframes) whose document holds `selector`. */
  async webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    return waitFor(
      `a frame holding ${selector}`,
      async () => {
        for (const frame of this.page.frames()) {
          if (frame.isDetached()) continue;
          const el = await frame.$(selector).catch(() => null);
          if (el) return frame;
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Saves a full-page screenshot under test-output/screenshots/ and returns its path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Waits until `file` exists (and `pred` accepts its text); returns the text. */
  async waitForFile(file: string, pred: (text: string) => boolean = () => true, timeoutMs = 60_000): Promise<string> {
    const abs = path.resolve(this.workspace, file);
    return waitFor(
      `${abs}`,
      () => {
        if (!fs.existsSync(abs)) return undefined;
        const text = fs.readFileSync(abs, 'utf8');
        return pred(text) ? text : undefined;
      },
      timeoutMs,
    );
  }

  /** A notification toast holding `text`. */
  toast(text: string): Locator {
    return this.page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
  }

  /** The QuickPick's or input box's title, when it holds `text`. */
  quickTitle(text: string): Locator {
    return this.page.locator('.quick-input-widget .quick-input-title', { hasText: text }).first();
  }

  /** The QuickPick's or input box's text box. */
  quickInput(): Locator {
    return this.page.locator('.quick-input-widget input.input').first();
  }

  /** The first QuickPick row holding `text`. */
  quickRow(text: string): Locator {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
  }

  /**
   * Opens a context menu with `open` (a right-click) and chooses `name` in it. VS Code's menu
   * sometimes stays open with the item highlighted and the click ignored (seen on CI, cause not
   * found): then Enter chooses the highlighted item, as a person would, and a menu still open
   * after that is closed and opened again.
   */
  async contextMenu(open: () => Promise<void>, name: string, tries = 3): Promise<void> {
    for (let i = 1; ; i++) {
      await open();
      const item = this.page.getByRole('menuitem', { name }).first();
      await item.waitFor({ state: 'visible', timeout: 30_000 });
      await item.hover();
      await item.click();
      const hidden = (ms: number): Promise<boolean> =>
        item
          .waitFor({ state: 'hidden', timeout: ms })
          .then(() => true)
          .catch(() => false);
      if (await hidden(5_000)) return;
      // The item was hovered, so it is the menu's focused one: Enter chooses it.
      await this.page.keyboard.press('Enter');
      if (await hidden(5_000)) return;
      if (i >= tries) {
        const shot = await this.screenshot('context-menu-stuck').catch(() => '');
        throw new Error(`the context menu stayed open after ${tries} clicks on "${name}" (${shot})`);
      }
      await this.page.keyboard.press('Escape');
      await item.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
    }
  }

  /**
   * Answers VS Code's save dialog (in the browser, a path box) with `file` and waits until
   * the file exists and `pred` accepts it. The dialog fills in its default path after it
   * shows and ignores Enter while it lists the folder, so the path is typed again and
   * Enter pressed again while the dialog stays open with another value or our own.
   */
  async saveAs(file: string, pred: (text: string) => boolean = () => true, timeoutMs = 60_000): Promise<string> {
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('input.input').first();
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    let seen = '';
    try {
      return await waitFor(
        `${file} saved through the save dialog`,
        async () => {
          if (fs.existsSync(file)) {
            const text = fs.readFileSync(file, 'utf8');
            if (pred(text)) return text;
            seen = `the file has ${text.length} characters that the test does not accept yet`;
            return undefined;
          }
          if (!(await widget.isVisible())) {
            seen = 'the dialog closed and the file is not there';
            return undefined;
          }
          seen = `the dialog shows "${((await widget.textContent()) ?? '').trim()}"`;
          if ((await input.inputValue()) !== file) await input.fill(file);
          await input.press('Enter');
          await new Promise((r) => setTimeout(r, 2000));
          return undefined;
        },
        timeoutMs,
      );
    } catch (err) {
      await this.screenshot(`saveAs-${path.basename(file)}`).catch(() => undefined);
      throw new Error(`${(err as Error).message}; last seen: ${seen}`);
    }
  }

  /** Reloads the browser window (the extension host restarts) and waits for the workbench. */
  async reload(timeoutMs = 180_000): Promise<void> {
    await this.page.reload({ timeout: timeoutMs });
    await this.page.waitForSelector('.monaco-workbench', { timeout: timeoutMs });
  }

  /**
   * The extension host processes of this code-server: Node processes in its process
   * group (code-server forks them with `bootstrap-fork --type=extensionHost`).
   */
  extensionHostPids(): number[] {
    const group = this.codeServer.pid;
    if (!group) return [];
    const pids: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Fields after "(comm)": state, ppid, pgrp, ...
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(pgrp) !== group || state === 'Z') continue;
        const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (cmdline.includes('--type=extensionHost')) pids.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  /**
   * SIGKILLs the extension host (as a crash or an OOM kill would) and waits until a new
   * one runs. code-server restarts a crashed remote extension host by itself (up to 3
   * times in 5 minutes); if it has not after `autoRestartMs`, the page is reloaded.
   * Returns the old and new pids and how it came back.
   */
  async killExtensionHost(
    autoRestartMs = 30_000,
  ): Promise<{ killed: number[]; restarted: number[]; how: 'auto' | 'reload' }> {
    const killed = await waitFor(
      'an extension host process',
      () => {
        const p = this.extensionHostPids();
        return p.length ? p : undefined;
      },
      30_000,
    );
    for (const pid of killed) killPid(pid, 'SIGKILL');
    await waitFor(
      'the killed extension host to be gone',
      () => killed.every((pid) => !this.extensionHostPids().includes(pid)),
      15_000,
    );
    const fresh = () => {
      const p = this.extensionHostPids().filter((pid) => !killed.includes(pid));
      return p.length ? p : undefined;
    };
    let how: 'auto' | 'reload' = 'auto';
    let restarted = await waitFor('a new extension host', fresh, autoRestartMs).catch(() => undefined);
    if (!restarted) {
      how = 'reload';
      await this.reload();
      restarted = await waitFor('a new extension host after a reload', fresh, 120_000);
    }
    return { killed, restarted, how };
  }

  /** Text of code-server's own log so far. */
  serverLog(): string {
    return fs.readFileSync(this.logFile, 'utf8');
  }

  /** Closes Chromium and code-server (by process id), keeps VS Code's logs, removes temp files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    await withTimeout(this.browser.close(), 15_000).catch(() => undefined);
    await withTimeout(this.browserServer.close(), 15_000).catch(() => undefined);
    const chromiumPid = this.browserServer.process().pid;
    if (chromiumPid && isAlive(chromiumPid)) killPid(chromiumPid, 'SIGKILL');
    killGroup(this.codeServer, 'SIGTERM');
    const gone = await waitFor(
      'code-server to exit',
      () => this.codeServer.exitCode !== null || this.codeServer.signalCode !== null,
      15_000,
    ).catch(() => false);
    if (!gone) killGroup(this.codeServer, 'SIGKILL');
    copyLogs(path.join(this.tmpDir, 'data', 'logs'), path.join(OUTPUT_DIR, 'vscode-logs', this.name));
    // A caller's workspace lives outside tmpDir and stays; ours goes with it.
    if (!process.env.RUNWATCH_KEEP_TMP) fs.rmSync(this.tmpDir, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Synchronous kill for process-exit hooks. */
  killNow(): void {
    const pid = this.browserServer.process().pid;
    if (pid) killPid(pid, 'SIGKILL');
    killGroup(this.codeServer, 'SIGKILL');
  }
}

// ---------------------------------------------------------------------------
// Shared by the tests that use the example companion and the Python client.

export const COMPANION = path.join(ROOT, 'examples', 'companion-backend');

/** Packs examples/companion-backend with vsce, as its README says, into `dir`; returns the .vsix. */
export function packCompanion(dir: string): string {
  const vsix = path.join(dir, 'runwatch-jsonl-backend.vsix');
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--out', vsix], {
    cwd: COMPANION,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
  return vsix;
}

/** One line of the companion's <folder>/<runId>.jsonl. */
export interface JsonlLine {
  runId: string;
  offset: number;
  type: string;
  params?: Record<string, unknown>;
  points?: { key: string; value: number; step: number }[];
  status?: string;
}

/** The complete lines of a companion .jsonl file (none if it does not exist yet). */
export function readJsonl(file: string): JsonlLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as JsonlLine);
}

/** The test venv's Python (scripts/test.sh makes it), else python3. */
export function python(): string {
  const venv = path.join(ROOT, '.vscode-test', 'venv-test', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/**
 * An environment for a training script: the repository's client on PYTHONPATH and no
 * inherited RUNWATCH_* variables, so it finds the collector through the workspace's
 * discovery file (.runwatch/collector.json), as a script started outside VS Code does.
 */
export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(ROOT, 'clients', 'python') };
  for (const k of Object.keys(env)) if (k.startsWith('RUNWATCH_')) delete env[k];
  // No sys/* points among the ones these tests count; a test that wants them passes an interval.
  return { ...env, PYTHONUNBUFFERED: '1', RUNWATCH_SYSTEM_INTERVAL: '0', ...extra };
}

/**
 * Runs a training script (its lines) in the workspace as a script started outside VS Code does
 * (pythonEnv), asserts it succeeded, and returns the last line it printed (by convention the run id).
 */
export function runTrainingScript(workspace: string, lines: string[]): string {
  const py = spawnSync(python(), ['-c', lines.join('\n')], {
    cwd: workspace,
    env: pythonEnv(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.strictEqual(py.status, 0, `python failed: ${py.stderr}`);
  return py.stdout.trim().split('\n').pop()!;
}

/**
 * The events of a run, read straight from the store's log (<store>/runs/<id>/log.rwl:
 * u32 length, u32 CRC-32, payload), read-only, stopping at a partial tail.
 */
export function readRunLog(
  storeDir: string,
  runId: string,
): { seq?: number; event: { type: string; [k: string]: unknown } }[] {
  const file = path.join(storeDir, 'runs', runId, 'log.rwl');
  if (!fs.existsSync(file)) return [];
  const buf = fs.readFileSync(file);
  const out: { seq?: number; event: { type: string; [k: string]: unknown } }[] = [];
  for (let pos = 0; pos + 8 <= buf.length;) {
    const len = buf.readUInt32LE(pos);
    const end = pos + 8 + len;
    if (end > buf.length) break;
    const payload = buf.subarray(pos + 8, end);
    if (zlib.crc32(payload) !== buf.readUInt32LE(pos + 4)) break;
    const rec = JSON.parse(payload.toString('utf8')) as { seq?: number; event: { type: string; [k: string]: unknown } };
    // A columnar metrics frame (what the Python client sends, stored as received) reads as its points.
    // Its v, s and t may be packed (base64 of float32 or float64: TensorBoard capture's frames).
    type Col = unknown[] | string;
    const cols = rec.event.cols as { keys: string[]; k: number[]; v: Col; s: Col; t: Col } | undefined;
    if (rec.event.type === 'metrics' && cols) {
      const n = cols.k.length;
      const [v, s, t] = [cols.v, cols.s, cols.t].map((c) => Array.from(columnEntries(c, n) ?? []));
      rec.event = {
        type: 'metrics',
        points: cols.k.map((ki, i) => ({ key: cols.keys[ki], value: v[i], step: s[i], time: t[i] })),
      };
    } else if (rec.event.type === 'metrics' && !Array.isArray(rec.event.points)) {
      // Only `sources` (where keys were first logged): no points.
      rec.event = { ...rec.event, points: [] };
    }
    out.push(rec);
    pos = end;
  }
  return out;
}

/**
 * Makes an unpacked extension folder visible to code-server: a copy named
 * publisher.name-version, listed in extensions.json (which VS Code reads in
 * preference to scanning the folder once --install-extension has written it).
 */
export function addExtensionFolder(extDir: string, folder: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')) as {
    publisher: string;
    name: string;
    version: string;
  };
  const id = `${manifest.publisher}.${manifest.name}`.toLowerCase();
  const relativeLocation = `${id}-${manifest.version}`;
  const target = path.join(extDir, relativeLocation);
  fs.cpSync(folder, target, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.git)$/.test(src) || src === folder,
  });
  const listFile = path.join(extDir, 'extensions.json');
  const list = fs.existsSync(listFile) ? (JSON.parse(fs.readFileSync(listFile, 'utf8')) as unknown[]) : [];
  list.push({
    identifier: { id },
    version: manifest.version,
    location: { $mid: 1, path: target, scheme: 'file' },
    relativeLocation,
    metadata: { installedTimestamp: Date.now(), source: 'vsix' },
  });
  fs.writeFileSync(listFile, JSON.stringify(list));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Kills a detached child and everything in its process group (code-server forks helpers). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    killPid(child.pid, signal);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

function copyLogs(from: string, to: string): void {
  try {
    if (fs.existsSync(from)) fs.cpSync(from, to, { recursive: true });
  } catch {
    // logs are a convenience; never fail a test over them
  }
}
