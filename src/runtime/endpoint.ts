// The collector keeps its address across restarts of its process (a window reload,
// a restarted extension host, a restarted CLI): terminals opened before keep
// RUNWATCH_URL/RUNWATCH_TOKEN in their environment, and a client there can only
// reconnect if the collector comes back where those point. So the last port and
// token are remembered per store, in `<store>/collector.endpoint.json` (private,
// like the discovery file: it holds the token), and reused on start; only when the
// port is taken by something else does the collector pick another one (the
// discovery file and the terminal environment then name the new one).
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../common/atomicWrite';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';
import { Collector, type CollectorInfo, type CollectorOptions } from '../collector/collector';

export const ENDPOINT_FILE = 'collector.endpoint.json';

export interface Endpoint {
  host: string;
  port: number;
  token: string;
}

export function readEndpoint(storeDir: string): Endpoint | undefined {
  try {
    const e = JSON.parse(fs.readFileSync(path.join(storeDir, ENDPOINT_FILE), 'utf8')) as Partial<Endpoint>;
    const ok =
      typeof e.host === 'string' &&
      typeof e.port === 'number' &&
      e.port > 0 &&
      typeof e.token === 'string' &&
      e.token !== '';
    return ok ? (e as Endpoint) : undefined;
  } catch {
    return undefined;
  }
}

export async function saveEndpoint(storeDir: string, e: Endpoint): Promise<void> {
  await writeFileAtomic(path.join(storeDir, ENDPOINT_FILE), `${JSON.stringify(e)}\n`, { durable: false, mode: 0o600 });
}

export interface StartOptions extends Omit<CollectorOptions, 'port' | 'token'> {
  host: string;
  /** The configured port; 0 means "any", which prefers the remembered one. */
  port: number;
  /** An explicit token (the CLI's --token) wins over the remembered one. */
  token?: string;
  /** Remembered address to reuse; undefined when there is none. */
  remembered?: Endpoint;
  logger: Logger;
  /** How long a remembered port may stay taken (the old process still closing it) before another is picked. */
  portWaitMs?: number;
}

/**
 * Starts a collector on the remembered port and token when it can. The port is
 * retried for a moment: on a reload the old extension host may not have closed it yet.
 */
export async function startCollector(
  o: StartOptions,
): Promise<{ collector: Collector; info: CollectorInfo; reused: boolean }> {
  const { remembered, portWaitMs = 5000, ...rest } = o;
  const same = remembered && remembered.host === o.host ? remembered : undefined;
  const token = o.token || same?.token;
  const wanted = o.port || same?.port || 0;
  const deadline = Date.now() + portWaitMs;
  for (;;) {
    const collector = new Collector({ ...rest, port: wanted, token });
    try {
      const info = await collector.start();
      return { collector, info, reused: !!same && info.port === same.port && info.token === same.token };
    } catch (err) {
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      // A configured port is the person's choice: say so rather than move elsewhere.
      if (!inUse || o.port !== 0 || wanted === 0) throw err;
      if (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      o.logger.warn(`port ${wanted} (used last time) is taken: ${errorText(err)}; listening on another port`);
      const fresh = new Collector({ ...rest, port: 0, token });
      return { collector: fresh, info: await fresh.start(), reused: false };
    }
  }
}
