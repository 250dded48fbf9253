// Headless collector: `node dist/collector-cli.js --store <dir> [options]`.
// Prints one JSON line to stdout once listening, writes <store>/collector.json,
// logs to stderr, and on SIGTERM/SIGINT finishes what it accepted and exits 0.
import * as path from 'path';
import { RunStore } from '../store/runStore';
import { spoolDir } from '../store/paths';
import { Collector, DEFAULT_HEARTBEAT_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES } from './collector';
import { removeDiscovery, writeDiscovery } from './discovery';
import pkg from '../../package.json';
import { startHeadlessHub, type Hub } from '../core/hub';
import { builtinBackends } from '../backends';

const USAGE = `usage: node dist/collector-cli.js --store <dir> [--host 127.0.0.1] [--port 0] [--token T]
       [--heartbeat-timeout <seconds>] [--max-frame-bytes N] [--max-batch-points N] [--quiet]
       [--backends <json file>] [--plugin <module path>]... [--state-dir <dir>]
  --backends: {"selected": [ids], "config": {id: {...}}}; secrets from RUNWATCH_SECRET_<ID>_<PROPERTY>`;

interface Args {
  store: string;
  host: string;
  port: number;
  token?: string;
  heartbeatTimeoutMs: number;
  maxFrameBytes: number;
  maxBatchPoints?: number;
  quiet: boolean;
  backends?: string;
  plugins: string[];
  stateDir?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Partial<Args> & { quiet: boolean; plugins: string[] } = { quiet: false, plugins: [] };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.startsWith('--') && flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (name) {
      case '--store': a.store = value(); break;
      case '--host': a.host = value(); break;
      case '--port': a.port = num(name, value(), 0); break;
      case '--token': a.token = value(); break;
      case '--heartbeat-timeout': a.heartbeatTimeoutMs = num(name, value(), 0.05) * 1000; break;
      case '--max-frame-bytes': a.maxFrameBytes = num(name, value(), 1024); break;
      case '--max-batch-points': a.maxBatchPoints = num(name, value(), 1); break;
      case '--quiet': a.quiet = true; break;
      case '--backends': a.backends = value(); break;
      case '--plugin': a.plugins.push(value()); break;
      case '--state-dir': a.stateDir = value(); break;
      case '-h': case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      default: throw new Error(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  if (!a.store) throw new Error('--store <dir> is required');
  return {
    store: path.resolve(a.store),
    host: a.host ?? '127.0.0.1',
    port: a.port ?? 0,
    token: a.token,
    heartbeatTimeoutMs: a.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    maxFrameBytes: a.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxBatchPoints: a.maxBatchPoints,
    quiet: a.quiet,
    backends: a.backends,
    plugins: a.plugins,
    stateDir: a.stateDir,
  };
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`runwatch collector: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const log = (level: string) => (m: string) => {
    if (!args.quiet || level !== 'info') process.stderr.write(`[${new Date().toISOString()}] ${level} ${m}\n`);
  };
  const logger = { info: log('info'), warn: log('warn'), error: log('error') };
  const store = await RunStore.open(args.store, { logger });
  const collector = new Collector({
    store,
    host: args.host,
    port: args.port,
    token: args.token,
    heartbeatTimeoutMs: args.heartbeatTimeoutMs,
    maxFrameBytes: args.maxFrameBytes,
    maxBatchPoints: args.maxBatchPoints,
    version: pkg.version,
    logger,
  });
  const info = await collector.start();
  await writeDiscovery(args.store, { url: info.url, token: info.token, pid: process.pid, version: pkg.version, spoolDir: spoolDir(args.store) });
  // Backends (issue 5): cursors live beside the runs they point into, so they move with the store.
  let hub: Hub | undefined;
  if (args.backends || args.plugins.length) {
    const pluginLog = { trace: () => undefined, debug: () => undefined, ...logger, error: (m: string | Error) => logger.error(m instanceof Error ? m.message : m) };
    try {
      hub = await startHeadlessHub({ store, stateDir: args.stateDir ?? path.join(args.store, 'backends'), backendsFile: args.backends, builtins: builtinBackends({ storeDir: args.store }), pluginModules: args.plugins, logger: pluginLog });
    } catch (err) {
      // Backends that could start do run; the others are reported and ingest goes on.
      logger.error(`backends: ${(err as Error).message}`);
    }
  }
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: info.url, port: info.port, token: info.token })}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping`);
    try {
      await collector.stop();
      await hub?.dispose();
      await store.close();
      removeDiscovery(args.store);
      process.exit(0);
    } catch (err) {
      logger.error(`stopping failed: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`runwatch collector: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
