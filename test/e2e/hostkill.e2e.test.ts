// Kill the extension host mid-run and start again, in the real VS Code: the packaged
// Runwatch and the example companion (packed with vsce) in code-server, with two
// backends chosen (the companion's "JSON Lines Folder" and the built-in TensorBoard).
// A Python script streams a run; once both backends hold part of it, the extension
// host is SIGKILLed (as the OOM killer would) and the script goes on logging with no
// collector. code-server starts a new extension host; Runwatch comes back on the same
// port with the same token (remembered per store) and rewrites .runwatch/collector.json,
// so the client reconnects where it was. Then the run must be finished, and every backend must hold every point
// exactly once: exact counts, every step once, the values equal.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readRecords } from '../../src/backends/tensorboard/proto';
import { VsCode, packCompanion, python, pythonEnv, readJsonl, readRunLog, waitFor, type JsonlLine } from './harness';

const STEPS = 300; // steps 0..299, two keys each: 600 points
const KILL_AT = 120; // the script waits at this step until the host has been killed
const KEYS = ['loss', 'acc'] as const;
const valueOf = (key: (typeof KEYS)[number], step: number): number => (key === 'loss' ? 1 / (step + 1) : step / STEPS);

const SCRIPT = `
import os, sys, time
import runwatch
go = sys.argv[1]
run = runwatch.init(project="e2e", name="hostkill", config={"steps": ${STEPS}})
print("id", run.id, flush=True)
for step in range(${STEPS}):
    if step == ${KILL_AT}:
        # The rest is logged while the extension host is dead, and while it comes back.
        while not os.path.exists(go):
            time.sleep(0.02)
    run.log({"loss": 1.0 / (step + 1), "acc": step / ${STEPS}}, step=step)
    time.sleep(0.03 if step >= ${KILL_AT} else 0.01)
run.log_params({"batch_size": 32})
run.finish()
print("end", run.status, run.spool_path, run.url, flush=True)
`;

// --- TensorBoard event files, decoded here (not by the backend's encoder) ---
type Fields = Map<number, (number | Buffer)[]>;
function decode(buf: Buffer): Fields {
  const out: Fields = new Map();
  let pos = 0;
  const varint = (): number => {
    let r = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      r += (b & 0x7f) * mul;
      if (b < 0x80) return r;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const wire = key & 7;
    let v: number | Buffer;
    if (wire === 0) v = varint();
    else if (wire === 1) {
      v = buf.readDoubleLE(pos);
      pos += 8;
    } else if (wire === 2) {
      const len = varint();
      v = buf.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`unexpected wire type ${wire}`);
    const field = Math.floor(key / 8);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(v);
  }
  return out;
}

/** Every scalar in every event file under `dir`: Event.step, Summary.Value.tag, TensorProto.float_val or double_val. */
function tensorboardScalars(dir: string): { file: string; tag: string; step: number; value: number }[] {
  const out: { file: string; tag: string; step: number; value: number }[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('events.out.tfevents.')) {
        for (const rec of readRecords(fs.readFileSync(p)).records) {
          const ev = decode(rec);
          const step = (ev.get(2)?.[0] as number | undefined) ?? 0;
          for (const summary of (ev.get(5) ?? []) as Buffer[]) {
            for (const value of (decode(summary).get(1) ?? []) as Buffer[]) {
              const v = decode(value);
              const tag = (v.get(1)![0] as Buffer).toString('utf8');
              const tensor = decode(v.get(8)![0] as Buffer);
              // DT_FLOAT's float_val (field 5, TensorBoard's default loader reads only these), or DT_DOUBLE's double_val (6).
              const fv = tensor.get(5)?.[0] as Buffer | undefined;
              const dv = tensor.get(6)?.[0] as Buffer | undefined;
              out.push({ file: p, tag, step, value: fv ? fv.readFloatLE(0) : dv!.readDoubleLE(0) });
            }
          }
        }
      }
    }
  };
  walk(dir);
  return out;
}

function assertEveryPointOnce(
  what: string,
  points: { key: string; step: number; value: number }[],
  round: (v: number) => number = (v) => v,
): void {
  assert.strictEqual(
    points.length,
    STEPS * KEYS.length,
    `${what}: exactly ${STEPS * KEYS.length} points, got ${points.length}`,
  );
  const seen = new Map<string, number>();
  for (const p of points) seen.set(`${p.key}@${p.step}`, (seen.get(`${p.key}@${p.step}`) ?? 0) + 1);
  for (const key of KEYS) {
    for (let s = 0; s < STEPS; s++) assert.strictEqual(seen.get(`${key}@${s}`), 1, `${what}: ${key} at step ${s} once`);
  }
  for (const p of points)
    assert.strictEqual(p.value, round(valueOf(p.key as (typeof KEYS)[number], p.step)), `${what}: ${p.key}@${p.step}`);
}

describe('host kill (e2e): the extension host is SIGKILLed mid-run and comes back', () => {
  let vs: VsCode | undefined;
  let tmp: string;
  let workspace: string;
  let jsonlDir: string;
  let tbDir: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-e2e-hostkill-'));
    workspace = path.join(tmp, 'workspace');
    jsonlDir = path.join(tmp, 'jsonl-out');
    tbDir = path.join(tmp, 'tb-logs');
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    // Both backends chosen in the workspace settings, as "Select Backends" saves them
    // (the picker itself is covered by backends.e2e.test.ts).
    fs.writeFileSync(
      path.join(workspace, '.vscode', 'settings.json'),
      JSON.stringify({
        'runwatch.backends': ['jsonl', 'runwatch.tensorboard'],
        'runwatch.backendConfig': { jsonl: { folder: jsonlDir }, 'runwatch.tensorboard': { logDir: tbDir } },
      }),
    );
    vs = await VsCode.start({ name: 'hostkill', workspace, extensions: [packCompanion(tmp)] });
  });

  after(async () => {
    await vs?.stop();
    if (tmp && !process.env.RUNWATCH_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('every backend ends with every point exactly once, and the run is finished', async function () {
    const discovery = path.join(workspace, '.runwatch', 'collector.json');
    const readDiscovery = () =>
      JSON.parse(fs.readFileSync(discovery, 'utf8')) as { url: string; token: string; pid: number };
    let py: ReturnType<typeof spawn> | undefined;
    try {
      await vs!.waitForFile(discovery, undefined, 180_000);
      const before = readDiscovery();
      const hostsBefore = vs!.extensionHostPids();
      assert.deepStrictEqual(hostsBefore, [before.pid], 'the collector runs in the one extension host');

      const go = path.join(tmp, 'go');
      let out = '';
      let err = '';
      // Generous limits: the client must reconnect, not spool, however slow the restart.
      py = spawn(python(), ['-c', SCRIPT, go], {
        cwd: workspace,
        env: pythonEnv({ RUNWATCH_GRACE_SECONDS: '170', RUNWATCH_FLUSH_TIMEOUT: '170' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      py.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      py.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => py!.once('exit', (code) => resolve(code)));
      const runId = await waitFor('the run id', () => /^id (\w+)$/m.exec(out)?.[1], 60_000);
      const jsonlFile = path.join(jsonlDir, `${runId}.jsonl`);
      const pointsIn = (lines: JsonlLine[]) => lines.flatMap((l) => (l.type === 'metrics' ? (l.points ?? []) : []));

      // Mid-run: both backends hold part of it, the rest is not logged yet.
      await waitFor(
        'both backends to hold the first points',
        () => pointsIn(readJsonl(jsonlFile)).length > 0 && tensorboardScalars(tbDir).length > 0,
        120_000,
      );
      const atKill = { jsonl: pointsIn(readJsonl(jsonlFile)).length, tensorboard: tensorboardScalars(tbDir).length };
      assert.ok(
        atKill.jsonl <= KILL_AT * 2 && atKill.tensorboard <= KILL_AT * 2,
        `killed mid-run (${JSON.stringify(atKill)})`,
      );

      const t0 = Date.now();
      const { killed, restarted, how } = await vs!.killExtensionHost();
      fs.writeFileSync(go, '');
      const after = await waitFor(
        'the new collector in the discovery file',
        () => {
          const d = readDiscovery();
          return d.pid !== before.pid && restarted.includes(d.pid) ? d : undefined;
        },
        120_000,
      );
      console.log(
        `      host ${killed} killed; ${restarted} up (${how}) and listening on ${after.url} after ${((Date.now() - t0) / 1000).toFixed(1)} s (was ${before.url})`,
      );
      assert.strictEqual(after.url, before.url, 'the collector comes back on the port it had');
      assert.strictEqual(after.token, before.token, 'and with the token it had');

      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 180_000))]);
      assert.strictEqual(code, 0, `python: ${code}\n${err}`);
      const end = /^end (\S+) (\S+) (\S+)$/m.exec(out);
      assert.ok(end, out);
      assert.strictEqual(end[1], 'finished');
      assert.strictEqual(end[2], 'None', `the run went to the new collector, not to the spool\n${err}`);
      assert.strictEqual(end[3], after.url, 'the client followed the collector to its new address');

      // Both backends catch up (the Backends view says lag 0), then hold every point once.
      const firstRow = vs!.page.locator('.part.sidebar .monaco-list-row', { hasText: 'JSON Lines Folder' }).first();
      // The activity bar icon toggles the sidebar: click it only if the view is not showing.
      if (!(await firstRow.isVisible()))
        await vs!.page.locator('.part.activitybar .action-item a[aria-label^="Runwatch"]').click();
      for (const name of ['JSON Lines Folder', 'TensorBoard']) {
        const row = vs!.page.locator('.part.sidebar .monaco-list-row', { hasText: name }).first();
        await row.waitFor({ state: 'visible', timeout: 60_000 });
        await waitFor(
          `${name} to be caught up`,
          async () => /lag 0 · queue 0/.test((await row.textContent()) ?? ''),
          120_000,
        );
      }
      const lines = await waitFor(
        'the run.end in the companion',
        () => {
          const l = readJsonl(jsonlFile);
          return l.some((x) => x.type === 'run.end') ? l : undefined;
        },
        60_000,
      );

      // The store: one run.start, every point once, one run.end, finished (never crashed).
      const events = readRunLog(path.join(workspace, '.runwatch'), runId).map((r) => r.event);
      assert.strictEqual(events.filter((e) => e.type === 'run.start').length, 1);
      const ends = events.filter((e) => e.type === 'run.end');
      assert.deepStrictEqual(
        ends.map((e) => e.status),
        ['finished'],
        'the run ends once, finished',
      );
      assertEveryPointOnce(
        'store',
        events.flatMap((e) =>
          e.type === 'metrics' ? (e.points as { key: string; step: number; value: number }[]) : [],
        ),
      );

      // The companion: each run-log record once, in order, and so every point once.
      assert.deepStrictEqual(
        lines.map((l) => l.offset),
        lines.map((_, i) => i),
        'each record once, in log order',
      );
      assert.strictEqual(lines.length, events.length, 'as many lines as run-log records');
      assertEveryPointOnce('companion', pointsIn(lines));
      assert.ok(lines.some((l) => l.type === 'params' && l.params?.batch_size === 32));
      assert.strictEqual(lines[lines.length - 1].type, 'run.end');
      assert.strictEqual(lines[lines.length - 1].status, 'finished');
      const meta = JSON.parse(fs.readFileSync(path.join(jsonlDir, `${runId}.meta.json`), 'utf8')) as { status: string };
      assert.strictEqual(meta.status, 'finished');

      // TensorBoard: every scalar once, in the run's one folder.
      const scalars = tensorboardScalars(tbDir);
      // Written as float32 (DT_FLOAT), so compared with the values rounded to float32.
      assertEveryPointOnce(
        'tensorboard',
        scalars.map((s) => ({ key: s.tag, step: s.step, value: s.value })),
        Math.fround,
      );
      assert.strictEqual(new Set(scalars.map((s) => path.dirname(s.file))).size, 1, 'one run folder');
    } finally {
      if (py && py.exitCode === null) py.kill('SIGKILL');
      await vs!.screenshot('hostkill').catch(() => undefined);
    }
  });
});
