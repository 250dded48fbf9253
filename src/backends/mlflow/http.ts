// A small MLflow REST client over node:http(s) with a keep-alive agent: a run
// streams hundreds of log-batch requests, and a fresh TCP (and TLS) handshake
// for each would cost more than the request.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

export class MlflowError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** MLflow's `error_code`, e.g. RESOURCE_DOES_NOT_EXIST. */
    readonly code: string = '',
  ) {
    super(message);
    this.name = 'MlflowError';
  }

  /** 4xx other than auth, throttling and timeouts: sending the same request again cannot help. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && ![401, 403, 408, 429].includes(this.status);
  }
}

export interface HttpResponse {
  status: number;
  body: string;
}

export class MlflowHttp {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(
    trackingUri: string,
    private authorization: string | undefined,
    private readonly timeoutMs = 60_000,
  ) {
    const base = new URL(trackingUri);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new Error(`MLflow trackingUri must be an http(s) URL, got ${trackingUri}`);
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.mod = base.protocol === 'https:' ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: 4 });
  }

  setAuthorization(value: string | undefined): void {
    this.authorization = value;
  }

  url(relative: string): URL {
    return new URL(relative.replace(/^\//, ''), this.base);
  }

  /** One request; retried once when a reused keep-alive socket turns out to be closed. */
  async request(
    method: string,
    relative: string,
    body?: { json?: unknown; file?: string; size?: number },
    retryOnStaleSocket = true,
  ): Promise<HttpResponse> {
    try {
      return await this.once(method, relative, body);
    } catch (err) {
      if (retryOnStaleSocket && (err as { reusedSocket?: boolean }).reusedSocket)
        return this.once(method, relative, body);
      throw err;
    }
  }

  private once(
    method: string,
    relative: string,
    body?: { json?: unknown; file?: string; size?: number },
  ): Promise<HttpResponse> {
    const url = this.url(relative);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (this.authorization) headers.Authorization = this.authorization;
    let payload: Buffer | undefined;
    if (body?.json !== undefined) {
      payload = Buffer.from(JSON.stringify(body.json));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    } else if (body?.file !== undefined) {
      headers['Content-Type'] = 'application/octet-stream';
      headers['Content-Length'] = body.size ?? fs.statSync(body.file).size;
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = this.mod.request(url, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () =>
        req.destroy(new Error(`MLflow request timed out after ${this.timeoutMs} ms: ${method} ${url.pathname}`)),
      );
      req.on('error', (err: Error & { reusedSocket?: boolean; code?: string }) => {
        // The server may close an idle keep-alive socket just as we reuse it; that request never arrived.
        err.reusedSocket = req.reusedSocket && err.code === 'ECONNRESET';
        reject(err);
      });
      if (payload) req.end(payload);
      else if (body?.file !== undefined) {
        const stream = fs.createReadStream(body.file);
        stream.on('error', (err) => req.destroy(err));
        stream.pipe(req);
      } else req.end();
    });
  }

  /** A REST call under `api/2.0/mlflow/`; resolves to the parsed JSON, rejects with MlflowError. */
  async call<T>(method: 'GET' | 'POST', endpoint: string, payload?: Record<string, unknown>): Promise<T> {
    let relative = `api/2.0/mlflow/${endpoint}`;
    if (method === 'GET' && payload) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(payload)) q.set(k, String(v));
      relative += `?${q.toString()}`;
    }
    let res: HttpResponse;
    try {
      // A run created just before the reset would be created twice by a blind resend; the
      // backend's own retry looks the run up by its runwatch.runId tag first instead.
      res = await this.request(
        method,
        relative,
        method === 'POST' ? { json: payload ?? {} } : undefined,
        endpoint !== 'runs/create',
      );
    } catch (err) {
      throw new MlflowError(`MLflow at ${this.base.origin} unreachable: ${(err as Error).message}`, 0);
    }
    return parseResponse<T>(res, endpoint);
  }

  destroy(): void {
    this.agent.destroy();
  }
}

export function parseResponse<T>(res: HttpResponse, what: string): T {
  let parsed: unknown;
  try {
    parsed = res.body ? JSON.parse(res.body) : {};
  } catch {
    parsed = undefined;
  }
  if (res.status >= 200 && res.status < 300 && parsed !== undefined) return parsed as T;
  const obj = (parsed ?? {}) as { error_code?: string; message?: string };
  const detail = obj.message ?? res.body.slice(0, 300);
  throw new MlflowError(
    `MLflow ${what} failed (HTTP ${res.status}${obj.error_code ? `, ${obj.error_code}` : ''}): ${detail}`,
    res.status,
    obj.error_code ?? '',
  );
}
