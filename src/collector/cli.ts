// Headless collector: `node dist/collector-cli.js --store <dir> [options]`.
// Prints one JSON line to stdout once listening, writes <store>/collector.json,
// logs to stderr, and on SIGTERM/SIGINT finishes what it accepted and exits 0.
// A store another process owns is refused (exit 3). `export ...` reads runs back out.
// The composition (store, collector, hub, shutdown order) is src/runtime/runtime.ts, shared with the extension.
import * as path from 'path';
import pkg from '../../package.json';
import { builtinBackends } from '../backends';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import { startHeadlessHub } from '../core/headless';
import { exportMain, EXPORT_USAGE } from '../runtime/exportCli';
import { Runtime } from '../runtime/runtime';
import { SETTINGS } from '../runtime/settings';
import { AMQP_SOURCE_ID } from '../sources/amqp/source';
import { StoreLockedError } from '../store/runStore';

const USAGE = `usage: node dist/collector-cli.js --store <dir> [--host 127.0.0.1] [--port 0] [--token T]
       [--heartbeat-timeout <seconds>] [--max-frame-bytes N] [--max-batch-points N] [--quiet]
       [--backends <json file>] [--plugin <module path>]... [--state-dir <dir>] [--amqp <url>]
  --backends: {"selected": [ids], "config": {id: {...}}}; secrets from RUNWATCH_SECRET_<ID>_<PROPERTY>
  --amqp: also store runs consumed from this RabbitMQ broker (the AMQP source; its other settings under
          "sources" in the --backends file; password from RUNWATCH_SECRET_RUNWATCH_AMQP_SOURCE_PASSWORD)
${EXPORT_USAGE}`;

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
  amqp?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Partial<Args> & { quiet: boolean; plugins: string[] } = { quiet: false, plugins: [] };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min)
      throw new Error(`${flag} needs a number >= ${min}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] =
      flag.startsWith('--') && flag.includes('=')
        ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
        : [flag, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (name) {
      case '--store':
        a.store = value();
        break;
      case '--host':
        a.host = value();
        break;
      case '--port':
        a.port = num(name, value(), 0);
        break;
      case '--token':
        a.token = value();
        break;
      case '--heartbeat-timeout':
        a.heartbeatTimeoutMs = num(name, value(), 0.05) * 1000;
        break;
      case '--max-frame-bytes':
        a.maxFrameBytes = num(name, value(), 1024);
        break;
      case '--max-batch-points':
        a.maxBatchPoints = num(name, value(), 1);
        break;
      case '--quiet':
        a.quiet = true;
        break;
      case '--backends':
        a.backends = value();
        break;
      case '--plugin':
        a.plugins.push(value());
        break;
      case '--state-dir':
        a.stateDir = value();
        break;
      case '--amqp':
        a.amqp = value();
        break;
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  if (!a.store) throw new Error('--store <dir> is required');
  return {
    store: path.resolve(a.store),
    host: a.host ?? SETTINGS['collector.host'].default,
    port: a.port ?? SETTINGS['collector.port'].default,
    token: a.token,
    heartbeatTimeoutMs: a.heartbeatTimeoutMs ?? SETTINGS['collector.heartbeatTimeoutSeconds'].default * 1000,
    maxFrameBytes: a.maxFrameBytes ?? SETTINGS['collector.maxFrameBytes'].default,
    maxBatchPoints: a.maxBatchPoints,
    quiet: a.quiet,
    backends: a.backends,
    plugins: a.plugins,
    stateDir: a.stateDir,
    amqp: a.amqp,
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'export') process.exit(await exportMain(process.argv.slice(3)));
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`runwatch collector: ${errorText(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  const log = (level: string) => (m: string) => {
    if (!args.quiet || level !== 'info') process.stderr.write(`[${new Date().toISOString()}] ${level} ${m}\n`);
  };
  const logger = { info: log('info'), warn: log('warn'), error: log('error') };
  // Signals are handled from the start: one that comes while the store opens stops it once open.
  let runtime: Runtime | undefined;
  let stopping: string | undefined;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = signal;
    if (!runtime) return;
    logger.info(`${signal}: stopping`);
    await runtime.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    runtime = await openRuntime(args, logger);
  } catch (err) {
    // Never two writers: a store another process owns is refused, with who owns it.
    if (err instanceof StoreLockedError) {
      process.stderr.write(`runwatch collector: ${err.message}\n`);
      process.exit(3);
    }
    throw err;
  }
  const info = runtime.address;
  if (!info) {
    await runtime.shutdown();
    process.stderr.write(`runwatch collector: cannot listen on ${args.host}:${args.port}: ${runtime.collectorError}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', url: info.url, port: info.port, token: info.token })}\n`,
  );
  if (stopping) {
    const signal = stopping;
    stopping = undefined;
    await stop(signal);
  }
}

function openRuntime(args: Args, logger: Logger): Promise<Runtime> {
  const withHub = !!(args.backends || args.plugins.length || args.amqp);
  return Runtime.open({
    storeDir: args.store,
    role: 'writer',
    owner: `runwatch collector CLI (pid ${process.pid})`,
    version: pkg.version,
    logger,
    collector: {
      host: args.host,
      port: args.port,
      token: args.token,
      heartbeatTimeoutMs: args.heartbeatTimeoutMs,
      maxFrameBytes: args.maxFrameBytes,
      maxBatchPoints: args.maxBatchPoints,
    },
    startHub: withHub
      ? (store, stateDir) =>
          startHeadlessHub({
            store,
            stateDir: args.stateDir ?? stateDir,
            backendsFile: args.backends,
            builtins: builtinBackends({ storeDir: args.store }),
            pluginModules: args.plugins,
            sources: args.amqp ? { [AMQP_SOURCE_ID]: { url: args.amqp } } : undefined,
            logger,
          })
      : undefined,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`runwatch collector: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
