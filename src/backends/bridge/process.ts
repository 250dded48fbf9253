// One bridge child process (`python -m runwatch.bridge <tracker> <state folder>`): started
// on the first request, asked one request at a time (replies come in order), its stderr
// copied line by line into the Runwatch log. When it dies, pending requests fail and the
// next request starts a new one after a backoff that doubles from 250 ms up to 30 s and is
// reset by a reply; the backend's own retries (the sink runner's) drive that next request.
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { errorText } from '../../common/errors';
import { encodeFrame, FrameReader, type BridgeMessage } from './frames';

export interface BridgeSpawn {
  interpreter: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The first request of every process (configuration; never secrets). */
  hello: BridgeMessage;
}

export interface BridgeLog {
  info(message: string): void;
  warn(message: string): void;
}

/** The bridge could not start or its SDK is missing: a problem of set-up, named for the person. */
export class BridgeSetupError extends Error {}

interface Pending {
  resolve(msg: BridgeMessage): void;
  reject(err: Error): void;
}

/**
 * Bridges run at the lowest CPU priority (nice 19; the SDK's own helper processes, W&B's
 * service, inherit it): on a machine with few cores, an SDK starting up or catching up
 * must not take CPU from the training script and the collector's ingest. They catch up
 * once ingest leaves them a core; their writes only ever lag, never block ingest.
 */
function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, BRIDGE_PRIORITY);
  } catch {
    // Not permitted here (some containers): the bridge runs at normal priority.
  }
}

export const BRIDGE_PRIORITY = 19;

export class BridgeProcess {
  private child: ChildProcess | undefined;
  private ready: Promise<BridgeMessage> | undefined;
  private readonly pending: Pending[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private delayMs = 0;
  private lastExit = 0;
  private disposed = false;
  /** Set while dispose asks the bridge to close: its exit then is expected. */
  private closing = false;
  /** The hello reply of the running process (SDK version, interpreter). */
  info: BridgeMessage | undefined;
  /** Processes started so far (for tests and health). */
  starts = 0;

  constructor(
    private readonly opts: () => Promise<BridgeSpawn>,
    private readonly log: BridgeLog,
    private readonly label: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sends one request after the ones before it have been answered. */
  request(msg: BridgeMessage, timeoutMs = 0): Promise<BridgeMessage> {
    const run = this.chain.then(() => this.send(msg, timeoutMs));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(msg: BridgeMessage, timeoutMs: number): Promise<BridgeMessage> {
    if (this.disposed || (this.closing && msg.op !== 'close')) throw new Error(`${this.label} bridge is stopped`);
    await this.start();
    const child = this.child;
    if (!child?.stdin) throw new Error(`${this.label} bridge is not running`);
    const id = this.nextId++;
    const reply = new Promise<BridgeMessage>((resolve, reject) => this.pending.push({ resolve, reject }));
    child.stdin.write(encodeFrame({ ...msg, id }));
    if (timeoutMs <= 0) return reply;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A bridge that stops answering is restarted: a later reply could not be matched.
        this.kill(`no answer in ${timeoutMs} ms`);
        reject(new Error(`${this.label} bridge did not answer in ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async start(): Promise<void> {
    if (this.ready) {
      await this.ready;
      return;
    }
    const wait = this.delayMs - (Date.now() - this.lastExit);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const spec = await this.opts();
    this.ready = this.spawn(spec);
    this.ready.catch(() => undefined);
    await this.ready;
  }

  private spawn(spec: BridgeSpawn): Promise<BridgeMessage> {
    this.starts++;
    const child = spawn(spec.interpreter, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    lowerPriority(child.pid);
    const reader = new FrameReader();
    let stderrTail = '';
    let partial = '';
    const hello = new Promise<BridgeMessage>((resolve, reject) => this.pending.push({ resolve, reject }));
    child.stdout?.on('data', (chunk: Buffer) => {
      let msgs: BridgeMessage[];
      try {
        msgs = reader.push(chunk);
      } catch (e) {
        this.kill(errorText(e));
        return;
      }
      for (const m of msgs) {
        this.pending.shift()?.resolve(m);
        this.delayMs = 0;
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.log.info(`${this.label} bridge: ${line}`);
      stderrTail = (stderrTail + text).slice(-2000);
    });
    child.stdin?.on('error', () => undefined);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? `no Python interpreter at "${spec.interpreter}": install Python 3 or set runwatch.python.interpreter`
          : `cannot start "${spec.interpreter}": ${err.message}`;
      this.exited(child, new BridgeSetupError(why));
    });
    child.on('exit', (code, signal) => {
      if (partial.trim()) this.log.info(`${this.label} bridge: ${partial}`);
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
      this.exited(child, new Error(`${this.label} bridge ${how}${tail ? `: ${tail}` : ''}`));
    });
    child.stdin?.write(encodeFrame(spec.hello));
    return hello.then((reply) => {
      if (reply.ok !== true) {
        const err = String(reply.error ?? 'the bridge refused to start');
        throw reply.code === 'sdk-missing'
          ? new BridgeSetupError(`${err} (interpreter ${spec.interpreter})`)
          : new Error(err);
      }
      this.info = reply;
      this.log.info(
        `${this.label} bridge started: pid ${child.pid}, SDK ${String(reply.sdk)}, ${String(reply.python)}`,
      );
      return reply;
    });
  }

  private exited(child: ChildProcess, err: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.ready = undefined;
    this.info = undefined;
    this.lastExit = Date.now();
    this.delayMs = Math.min(30_000, Math.max(250, this.delayMs * 2));
    if (!this.closing && !(err instanceof BridgeSetupError)) this.log.warn(errorText(err));
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** Ends the process now (SIGKILL); the next request starts another. */
  kill(why: string): void {
    const child = this.child;
    if (!child) return;
    this.log.warn(`${this.label} bridge: stopping it: ${why}`);
    child.kill('SIGKILL');
  }

  /** Asks the bridge to close its runs (the SDKs flush), then ends it. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.closing = true;
    const child = this.child;
    if (child && this.ready) {
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      await Promise.race([
        this.request({ op: 'close' }, 20_000).catch(() => undefined),
        new Promise((r) => setTimeout(r, 25_000)),
      ]);
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    }
    this.disposed = true;
    if (this.child) this.child.kill('SIGKILL');
  }
}
