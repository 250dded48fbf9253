import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginContext, RunBatch, RunRecord, RunSummary } from '../../src/api/types';
import { MlflowBackend, artifactDest, proxiedArtifactRoot } from '../../src/backends/mlflow/backend';
import {
  BatchItem,
  chunkItems,
  limitsForVersion,
  metricValue,
  paramString,
  sanitizeKey,
} from '../../src/backends/mlflow/limits';

describe('mlflow: limits and naming', () => {
  it('picks param value limits from the server version', () => {
    assert.equal(limitsForVersion('3.17.2').paramValueLength, 6000);
    assert.equal(limitsForVersion('2.8.0').paramValueLength, 6000);
    assert.equal(limitsForVersion('2.7.1').paramValueLength, 500);
    assert.equal(limitsForVersion('1.28.0').paramValueLength, 500);
    assert.equal(limitsForVersion('1.27.0').paramValueLength, 250);
    assert.equal(limitsForVersion(undefined).paramValueLength, 500);
    assert.equal(limitsForVersion('<html>').paramValueLength, 500);
  });

  it('rewrites keys MLflow refuses and leaves good ones alone', () => {
    assert.equal(sanitizeKey('train/loss'), 'train/loss');
    assert.equal(sanitizeKey('a b-c_d.e'), 'a b-c_d.e');
    assert.equal(sanitizeKey('bad:key'), 'bad_key');
    assert.equal(sanitizeKey('/a//b/./c/'), 'a/b/c');
    assert.equal(sanitizeKey('../x'), '__/x');
    assert.equal(sanitizeKey('ünï'), '_n_');
    assert.equal(sanitizeKey(''), '_');
    assert.equal(sanitizeKey('k'.repeat(300)).length, 250);
  });

  it('writes non-finite values as protobuf JSON strings, params as Python str()', () => {
    assert.equal(metricValue(NaN), 'NaN');
    assert.equal(metricValue(Infinity), 'Infinity');
    assert.equal(metricValue(-Infinity), '-Infinity');
    assert.equal(metricValue(0.1), 0.1);
    assert.deepEqual(
      [paramString(true), paramString(false), paramString(null), paramString(3), paramString('s')],
      ['True', 'False', 'None', '3', 's'],
    );
  });

  it('splits log-batch requests within every limit, keeping order', () => {
    const limits = limitsForVersion('3.0.0');
    const items: BatchItem[] = [];
    for (let i = 0; i < 2500; i++) items.push({ kind: 'metric', entry: { key: 'm', value: i, timestamp: 1, step: i } });
    for (let i = 0; i < 250; i++) items.push({ kind: 'param', entry: { key: `p${i}`, value: 'v' } });
    for (let i = 0; i < 150; i++) items.push({ kind: 'tag', entry: { key: `t${i}`, value: 'v' } });
    for (let i = 0; i < 300; i++) items.push({ kind: 'tag', entry: { key: `big${i}`, value: 'z'.repeat(7000) } });
    const chunks = chunkItems(items, limits);
    let metrics = 0;
    let params = 0;
    let tags = 0;
    for (const c of chunks) {
      const body = c.body('0123456789abcdef0123456789abcdef');
      assert.ok(body.metrics.length <= 1000 && body.params.length <= 100 && body.tags.length <= 100);
      assert.ok(body.metrics.length + body.params.length + body.tags.length <= 1000);
      assert.ok(Buffer.byteLength(JSON.stringify(body)) < 1_000_000, 'request under 1,000,000 bytes');
      metrics += body.metrics.length;
      params += body.params.length;
      tags += body.tags.length;
    }
    assert.deepEqual([metrics, params, tags], [2500, 250, 450]);
    assert.deepEqual(
      chunks.flatMap((c) => c.metrics.map((m) => m.step)),
      Array.from({ length: 2500 }, (_, i) => i),
    );
    // 300 tags of 7 kB cannot share one request: the byte limit splits them.
    assert.ok(chunks.length >= 3 + 3 + 3);
  });

  it('maps artifact URIs and names to proxy paths that cannot escape the run', () => {
    assert.equal(proxiedArtifactRoot('mlflow-artifacts:/1/abc/artifacts'), '1/abc/artifacts');
    assert.equal(proxiedArtifactRoot('mlflow-artifacts://host:5000/1/abc/artifacts/'), '1/abc/artifacts');
    assert.equal(proxiedArtifactRoot('/srv/mlruns/1/abc/artifacts'), undefined);
    assert.equal(artifactDest('../../etc/passwd'), 'etc/passwd');
    assert.equal(artifactDest('ckpt\\model.pt'), 'ckpt/model.pt');
  });
});

/** A fake MLflow that records requests and can be told to fail some. */
class FakeMlflow {
  server!: http.Server;
  uri = '';
  requests: { method: string; url: string; auth?: string; body: any; status?: number }[] = [];
  failNext = 0;
  /** Ordinals (1-based) of log-batch requests to answer with 503. */
  failOn = new Set<number>();
  private logBatches = 0;
  refuse: (body: any) => boolean = () => false;
  private runs = 0;
  /** Runs created, by their runwatch.runId tag, for runs/search. */
  private byTag = new Map<string, unknown>();
  /** Create the next run, then drop the connection without answering (a reset after the server acted). */
  dropNextCreateReply = false;
  /** TCP connections accepted, and the requests each carried (by the connection's ordinal). */
  connections = 0;
  requestsPerConnection: number[] = [];

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const conn = (req.socket as { rwOrdinal?: number }).rwOrdinal ?? -1;
      if (conn >= 0) this.requestsPerConnection[conn]++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const body = req.headers['content-type'] === 'application/json' && text ? JSON.parse(text) : text;
        const url = req.url ?? '';
        this.requests.push({ method: req.method ?? '', url, auth: req.headers.authorization, body });
        const send = (status: number, obj: unknown): void => {
          this.requests[this.requests.length - 1].status = status;
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(obj));
        };
        if (url === '/version') return void res.end('2.7.0');
        if (url === '/health') return void res.end('OK');
        if (url.includes('log-batch')) this.logBatches++;
        if (url.includes('log-batch') && (this.failOn.has(this.logBatches) || this.failNext > 0)) {
          if (this.failNext > 0) this.failNext--;
          return send(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'down' });
        }
        if (url.startsWith('/api/2.0/mlflow/experiments/get-by-name'))
          return send(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' });
        if (url.startsWith('/api/2.0/mlflow/experiments/create')) return send(200, { experiment_id: '7' });
        if (url.startsWith('/api/2.0/mlflow/runs/search')) {
          const id = /= '([^']*)'/.exec(String(body?.filter ?? ''))?.[1];
          const found = id !== undefined ? this.byTag.get(id) : undefined;
          return send(200, found ? { runs: [found] } : {});
        }
        if (url.startsWith('/api/2.0/mlflow/runs/create')) {
          this.runs++;
          const info = { run_id: `mlrun${this.runs}`, artifact_uri: `mlflow-artifacts:/7/mlrun${this.runs}/artifacts` };
          const tag = (body?.tags as { key: string; value: string }[] | undefined)?.find(
            (t) => t.key === 'runwatch.runId',
          );
          if (tag) this.byTag.set(tag.value, { info });
          if (this.dropNextCreateReply) {
            this.dropNextCreateReply = false;
            return void req.socket.destroy();
          }
          return send(200, { run: { info } });
        }
        if (url.includes('log-batch') && this.refuse(body))
          return send(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad item' });
        return send(200, {});
      });
    });
    this.server.on('connection', (socket) => {
      (socket as { rwOrdinal?: number }).rwOrdinal = this.connections++;
      this.requestsPerConnection.push(0);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.uri = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  batches(): any[] {
    // What the server accepted.
    return this.requests.filter((r) => r.url.includes('log-batch') && r.status === 200).map((r) => r.body);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('mlflow: backend against a fake server', () => {
  let tmp: string;
  let fake: FakeMlflow;
  const warnings: string[] = [];
  const notices: string[] = [];
  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-mlf-'));
    fake = await new FakeMlflow().start();
    warnings.length = 0;
    notices.length = 0;
  });
  afterEach(async () => {
    await fake.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const ctx = (secrets: Record<string, string> = {}): PluginContext => ({
    config: { trackingUri: fake.uri, experimentName: '' },
    secrets: { get: async (k) => secrets[k] },
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn: (m: string) => warnings.push(m),
      error: (m: string | Error) => warnings.push(String(m)),
    },
    notify: (m: string) => void notices.push(m),
    storageDir: tmp,
  });
  const run: RunSummary = {
    runId: 'run-1',
    project: 'proj',
    name: 'n',
    status: 'running',
    startTime: 1700000000,
    params: {},
    tags: {},
    context: {},
  };
  const records = (n: number): RunRecord[] => [
    {
      runId: 'run-1',
      offset: 0,
      event: {
        type: 'run.start',
        project: 'proj',
        name: 'n',
        time: 1700000000,
        params: { long: 'y'.repeat(800) },
        tags: {},
        context: {},
      },
    },
    ...Array.from({ length: n }, (_, i): RunRecord => ({
      runId: 'run-1',
      offset: i + 1,
      event: {
        type: 'metrics',
        points: Array.from({ length: 100 }, (_, j) => ({
          key: 'loss',
          value: i * 100 + j,
          step: i * 100 + j,
          time: 1700000001,
        })),
      },
    })),
  ];
  const steps = (): number[] => fake.batches().flatMap((b) => b.metrics.map((m: { step: number }) => m.step));

  it('sends 1,000 metrics a request, truncates params for an old server and says so once, with bearer auth', async () => {
    const b = new MlflowBackend();
    await b.initialize(ctx({ token: 'tok' }));
    await b.write({ run, records: records(25) });
    const batches = fake.batches();
    assert.deepEqual(
      batches.map((x) => x.metrics.length),
      [999, 1000, 501],
    );
    assert.equal(batches[0].params[0].value.length, 500);
    // Said once, to the person (notify), naming the server version, the limit and what to do.
    assert.equal(notices.filter((w) => w.includes('truncated')).length, 1);
    assert.match(notices.find((w) => w.includes('truncated')) ?? '', /2\.7\.0.*500.*artifact/);
    assert.ok(fake.requests.every((r) => r.url === '/version' || r.auth === 'Bearer tok'));
    assert.deepEqual(
      steps(),
      Array.from({ length: 2500 }, (_, i) => i),
    );
    b.dispose();
  });

  it('sends many requests over one keep-alive TCP connection', async () => {
    const b = new MlflowBackend();
    await b.initialize(ctx());
    const all = records(60);
    // One write per record: each is its own log-batch request, sent one after another as the hub does.
    for (let i = 0; i < all.length; i++) await b.write({ run, records: all.slice(0, i + 1) });
    await b.write({
      run,
      records: [
        ...all,
        { runId: 'run-1', offset: all.length, event: { type: 'run.end', status: 'finished', time: 1700000100 } },
      ],
    });
    await b.healthCheck();
    b.dispose();
    const logBatches = fake.requests.filter((r) => r.url.includes('log-batch')).length;
    assert.equal(logBatches, 61, 'one log-batch per write');
    assert.ok(fake.requests.length >= 65, `${fake.requests.length} requests`);
    assert.deepEqual(fake.requestsPerConnection, [fake.requests.length], 'every request on the first connection');
    assert.equal(steps().length, 6000);
  });

  it('resumes after a failed request without resending what was accepted, also after a restart', async () => {
    const b1 = new MlflowBackend();
    await b1.initialize(ctx({ username: 'u', password: 'p' }));
    const batch: RunBatch = { run, records: records(25) };
    await b1.write({ run, records: batch.records.slice(0, 11) });
    assert.equal(steps().length, 1000);
    // The next batch's second request fails (the fourth log-batch): its first 1,000 points are in, the rest are not.
    fake.failOn.add(4);
    await assert.rejects(b1.write({ run, records: batch.records.slice(11) }));
    assert.equal(steps().length, 2000);
    b1.dispose();
    const b2 = new MlflowBackend();
    await b2.initialize(ctx({ username: 'u', password: 'p' }));
    await b2.write(batch); // the whole run again, as after a restart
    b2.dispose();
    assert.deepEqual(
      steps(),
      Array.from({ length: 2500 }, (_, i) => i),
      'every point once, in order',
    );
    assert.equal(fake.requests.filter((r) => r.url.includes('runs/create')).length, 1);
    assert.ok(
      fake.requests.every((r) => r.url === '/version' || r.auth === `Basic ${Buffer.from('u:p').toString('base64')}`),
    );
  });

  it('links a child whose whole run was sent before its parent was, also across a restart', async () => {
    const child = (id: string): RunBatch => ({
      run: { ...run, runId: id, name: id, parentRunId: 'parent-1' },
      records: [
        {
          runId: id,
          offset: 0,
          event: {
            type: 'run.start',
            project: 'proj',
            name: id,
            time: 1700000000,
            params: {},
            tags: {},
            context: {},
            parentRunId: 'parent-1',
          },
        },
        { runId: id, offset: 1, event: { type: 'run.end', status: 'finished', time: 1700000010 } },
      ],
    });
    const parent: RunBatch = {
      run: { ...run, runId: 'parent-1', name: 'sweep' },
      records: [{ runId: 'parent-1', offset: 0, event: { ...records(0)[0].event, name: 'sweep' } as never }],
    };
    const b1 = new MlflowBackend();
    await b1.initialize(ctx());
    await b1.write(child('child-1')); // every record of the child: it gets no later write
    b1.dispose();
    const b2 = new MlflowBackend(); // a restart before the parent comes
    await b2.initialize(ctx());
    await b2.write(child('child-2'));
    await b2.write(parent);
    await b2.write(parent); // sent again: the children are not tagged twice
    b2.dispose();
    const created = fake.requests.filter((r) => r.url.includes('runs/create'));
    const idOf = (name: string): string =>
      `mlrun${created.findIndex((r) => (r.body as { run_name: string }).run_name === name) + 1}`;
    const links = fake.requests
      .filter((r) => r.url.includes('runs/set-tag') && (r.body as { key: string }).key === 'mlflow.parentRunId')
      .map((r) => r.body as { run_id: string; value: string });
    assert.deepEqual(
      links.map((l) => [l.run_id, l.value]).sort(),
      [
        [idOf('child-1'), idOf('sweep')],
        [idOf('child-2'), idOf('sweep')],
      ].sort(),
    );
  });

  it('does not create a second MLflow run when the connection resets after the server created one', async () => {
    fake.dropNextCreateReply = true;
    const b = new MlflowBackend();
    await b.initialize(ctx());
    const batch: RunBatch = { run, records: records(3) };
    await assert.rejects(b.write(batch), /unreachable/);
    await b.write(batch); // the sink runner's retry
    b.dispose();
    assert.equal(fake.requests.filter((r) => r.url.includes('runs/create')).length, 1, 'one runs/create');
    assert.deepEqual(
      steps(),
      Array.from({ length: steps().length }, (_, i) => i),
      'every point once, in order',
    );
    assert.ok(steps().length > 0);
  });

  it('reports health from /health and /version, with credentials checked, and a down server as unhealthy', async () => {
    const b = new MlflowBackend();
    await b.initialize(ctx({ token: 'tok' }));
    const h = await b.healthCheck();
    assert.equal(h.healthy, true);
    assert.match(h.details, /MLflow 2\.7\.0/);
    assert.ok(fake.requests.some((r) => r.url === '/health'));
    assert.ok(fake.requests.some((r) => r.url.includes('experiments/search') && r.auth === 'Bearer tok'));
    await fake.stop();
    const down = await b.healthCheck();
    assert.equal(down.healthy, false);
    assert.match(down.details, /unreachable|ECONNREFUSED/);
    b.dispose();
    fake = await new FakeMlflow().start(); // afterEach stops it
  });

  it('drops only the items the server refuses as invalid, and ends the run', async () => {
    fake.refuse = (body) => body.metrics.some((m: { key: string }) => m.key === 'poison');
    const b = new MlflowBackend();
    await b.initialize(ctx());
    await b.write({
      run,
      records: [
        ...records(0),
        {
          runId: 'run-1',
          offset: 1,
          event: {
            type: 'metrics',
            points: [0, 1, 2, 3, 4].map((i) => ({ key: i === 3 ? 'poison' : 'ok', value: i, step: i, time: 1 })),
          },
        },
        { runId: 'run-1', offset: 2, event: { type: 'run.end', status: 'crashed', time: 2 } },
      ],
    });
    b.dispose();
    const ok = fake.batches().filter((x) => !x.metrics.some((m: { key: string }) => m.key === 'poison'));
    assert.deepEqual(ok.flatMap((x) => x.metrics.map((m: { step: number }) => m.step)).sort(), [0, 1, 2, 4]);
    assert.ok(warnings.some((w) => w.includes('"poison"')));
    const update = fake.requests.find((r) => r.url.includes('runs/update'));
    assert.equal(update?.body.status, 'FAILED');
    assert.ok(
      fake
        .batches()
        .some((x) =>
          x.tags.some((t: { key: string; value: string }) => t.key === 'runwatch.status' && t.value === 'crashed'),
        ),
    );
  });
});
