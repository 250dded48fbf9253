// The store lock: one writer per store folder, held by the operating system.
//
//   const lock = await acquireStoreLock(dir, 'collector (VS Code window)');  // undefined: someone else has it
//   if (!lock) { const owner = await readStoreLockOwner(dir); ... open as a reader ... }
//   await lock.release();                                                    // or just exit / get killed
//   const lock = await waitForStoreLock(dir, signal);                        // a reader taking over
//
// Mechanism: the owner listens on a local IPC endpoint named after the store's real path. The kernel lets
// only one process listen on a name and frees it when that process dies, kill -9 included, so there is no
// lock file to go stale and nothing to clean up.
//   Linux:   an abstract Unix socket "\0runwatch-<sha256(realpath)>" (no file at all).
//   Windows: the named pipe "\\.\pipe\runwatch-<sha256(realpath)>".
//   macOS and other Unixes: a socket file `<tmpdir>/runwatch-<hash>.sock` (tmpdir: sun_path is short); a
//            left-over file from a dead owner is detected by connecting (refused = nobody listens), removed,
//            and the listen retried; of two processes doing that at once, the one whose file the other
//            replaced gives up (checked 100 ms later). Only this fallback is untested here (CI is Linux).
// Whoever connects is sent one JSON line naming the owner (pid, host, what it is, since when), which
// `readStoreLockOwner` uses to say who holds the store. A reader stays connected while it waits: the
// connection closing is how it learns at once that the owner went away.
// Limits: the name is per machine (and per network namespace on Linux): two machines sharing a store
// over a network file system are not kept apart by this lock (the log's size check before each write
// still refuses to write over another writer's records).
// Why not a lock library (proper-lockfile): it keeps a lock folder fresh by touching its mtime and
// treats an old one as stale after a timeout, so after a kill -9 the store stays locked for that
// timeout, and a writer paused longer than it (a suspended laptop) loses its lock silently.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface StoreLockOwner {
  pid: number;
  host: string;
  /** What holds it, e.g. "runwatch collector (VS Code window)". */
  owner: string;
  /** Epoch ms when the lock was taken. */
  since: number;
}

export interface StoreLock {
  readonly dir: string;
  readonly endpoint: string;
  /** Frees the lock (idempotent). */
  release(): Promise<void>;
}

/** Thrown by RunStore.open for writing when another process holds the store. */
export class StoreLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: StoreLockOwner | undefined,
  ) {
    const who = holder
      ? `${holder.owner} (pid ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()})`
      : 'another process';
    super(
      `the run store ${dir} is in use by ${who}: only one process may write it. Open it as a reader ` +
        `({ mode: 'reader' }) to watch its runs live, stop that process, or use another store folder.`,
    );
    this.name = 'StoreLockedError';
  }
}

/** The IPC name for a store folder (which must exist). */
export function storeLockEndpoint(dir: string): string {
  const real = fs.realpathSync.native(path.resolve(dir));
  const hash = createHash('sha256').update(real).digest('hex');
  if (process.platform === 'win32') return `\\\\.\\pipe\\runwatch-${hash}`;
  if (process.platform === 'linux') return `\0runwatch-${hash}`;
  return path.join(os.tmpdir(), `runwatch-${hash.slice(0, 32)}.sock`);
}

const usesSocketFile = (endpoint: string) => process.platform !== 'win32' && !endpoint.startsWith('\0');

/** Takes the store's lock, or resolves undefined when another process (or this one) holds it. */
export async function acquireStoreLock(dir: string, owner = 'runwatch store'): Promise<StoreLock | undefined> {
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const endpoint = storeLockEndpoint(dir);
  const info: StoreLockOwner = { pid: process.pid, host: os.hostname(), owner, since: Date.now() };
  const line = JSON.stringify(info) + '\n';
  const watchers = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    // Kept open: a waiting reader learns from its closing that the owner is gone.
    sock.unref();
    watchers.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => watchers.delete(sock));
    sock.write(line);
  });
  server.on('error', () => undefined);
  const listened = await listen(server, endpoint);
  if (listened === 'in-use' && usesSocketFile(endpoint) && !(await someoneListens(endpoint))) {
    // A socket file left by a dead owner: nobody answers on it.
    await fs.promises.rm(endpoint, { force: true });
    if ((await listen(server, endpoint)) !== 'ok') return undefined;
    // Two processes recovering the same stale file at once: the one whose file was removed by the
    // other (so a new file is at the path) lost.
    const mine = (await fs.promises.stat(endpoint)).ino;
    await new Promise((r) => setTimeout(r, 100));
    const now = await fs.promises.stat(endpoint).catch(() => undefined);
    if (now?.ino !== mine) {
      await new Promise<void>((r) => server.close(() => r()));
      return undefined;
    }
  } else if (listened !== 'ok') {
    return undefined;
  }
  server.unref(); // the lock never keeps a process alive
  let released: Promise<void> | undefined;
  return {
    dir,
    endpoint,
    release: () =>
      (released ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const w of watchers) w.destroy();
      }).then(async () => {
        if (usesSocketFile(endpoint)) await fs.promises.rm(endpoint, { force: true }).catch(() => undefined);
      })),
  };
}

function listen(server: net.Server, endpoint: string): Promise<'ok' | 'in-use'> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve('in-use');
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve('ok');
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(endpoint);
  });
}

function someoneListens(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(endpoint);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Who holds the store's lock, or undefined when nobody answers. */
export function readStoreLockOwner(dir: string, timeoutMs = 2000): Promise<StoreLockOwner | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const sock = net.connect(storeLockEndpoint(dir));
    const done = (v: StoreLockOwner | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      text += d;
      const nl = text.indexOf('\n');
      if (nl >= 0) done(parseOwner(text.slice(0, nl)));
    });
    sock.once('error', () => done(undefined));
    sock.once('end', () => done(parseOwner(text)));
  });
}

function parseOwner(text: string): StoreLockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<StoreLockOwner>;
    if (typeof o.pid === 'number' && typeof o.owner === 'string') {
      return { pid: o.pid, host: String(o.host ?? ''), owner: o.owner, since: Number(o.since ?? 0) };
    }
  } catch {
    // not an owner line
  }
  return undefined;
}

/**
 * Waits until the store's lock can be taken and takes it (a reader becoming the writer when the owner
 * goes away). Retries at once when the owner's endpoint goes away, and every `pollMs` in any case.
 * Rejects with the signal's reason when aborted.
 */
export async function waitForStoreLock(
  dir: string,
  signal?: AbortSignal,
  owner?: string,
  pollMs = 1000,
): Promise<StoreLock> {
  for (;;) {
    signal?.throwIfAborted();
    const lock = await acquireStoreLock(dir, owner);
    if (lock) {
      if (!signal?.aborted) return lock;
      await lock.release();
      signal.throwIfAborted();
    }
    await ownerGoneOrTimeout(dir, pollMs, signal);
  }
}

/** Resolves when the owner's connection closes, after `ms`, or on abort, whichever is first. */
function ownerGoneOrTimeout(dir: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let sock: net.Socket | undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      sock?.destroy();
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
    try {
      sock = net.connect(storeLockEndpoint(dir));
      sock.unref();
      sock.on('data', () => undefined);
      sock.once('error', done);
      sock.once('close', done);
    } catch {
      // the folder vanished: the poll retries
    }
  });
}
