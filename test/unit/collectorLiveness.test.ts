// Liveness after a reconnect, against the real Collector and RunStore: a client
// that comes back with nothing new to send and only heartbeats, naming its runs
// in `runIds`, keeps them running; a heartbeat that names nothing keeps only the
// runs its own connection wrote to, so a dead client's run is still marked crashed.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Collector } from '../../src/collector/collector';
import { RunStore } from '../../src/store/runStore';
import { TestConnection, waitUntil } from './collectorTestClient';

const TOKEN = 'live-token';
const TIMEOUT_MS = 600;

async function heartbeatFor(c: TestConnection, ms: number, body: Record<string, unknown>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    c.send({ type: 'heartbeat', time: Date.now() / 1000, ...body });
    await new Promise((r) => setTimeout(r, TIMEOUT_MS / 4));
  }
}

describe('collector liveness: heartbeats after a reconnect', function () {
  this.timeout(30_000);
  let dir: string;
  let store: RunStore;
  let collector: Collector;
  let url: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-live-'));
    store = await RunStore.open(dir);
    collector = new Collector({ store, token: TOKEN, heartbeatTimeoutMs: TIMEOUT_MS });
    url = (await collector.start()).url;
  });
  afterEach(async () => {
    await collector.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startRun(runId: string): Promise<void> {
    const a = await TestConnection.connect(url, TOKEN);
    a.send({ type: 'run.start', runId, seq: 1, project: 'p', time: 1 });
    await a.waitFor(() => a.ackedSeq(runId) === 1, 'ack of run.start');
    a.close(); // the connection drops; the client reconnects below
    await a.waitClosed();
  }

  it('a reconnected client that only sends heartbeats naming its run keeps it running past several timeouts', async () => {
    await startRun('quiet');
    const b = await TestConnection.connect(url, TOKEN);
    await heartbeatFor(b, TIMEOUT_MS * 4, { runIds: ['quiet'] });
    assert.equal(store.getRun('quiet')?.status, 'running');
    assert.equal(collector.state.liveRuns, 1);
    // Its later data and run.end are taken as usual.
    b.send({ type: 'run.end', runId: 'quiet', seq: 2, status: 'finished', time: 2 });
    await b.waitFor(() => b.ackedSeq('quiet') === 2, 'ack of run.end');
    assert.equal(store.getRun('quiet')?.status, 'finished');
    b.close();
  });

  it('the runs a heartbeat names are owned by that connection: when it goes too, they are marked crashed', async () => {
    await startRun('owned');
    const b = await TestConnection.connect(url, TOKEN);
    await heartbeatFor(b, TIMEOUT_MS * 2, { runIds: ['owned'] });
    b.close();
    await waitUntil(
      () => store.getRun('owned')?.status === 'crashed',
      'crashed after its heartbeating connection went',
    );
  });

  it("a heartbeat naming no runs keeps only its own connection's runs: another client's vanished run is still crashed", async () => {
    await startRun('dead');
    const other = await TestConnection.connect(url, TOKEN);
    await heartbeatFor(other, TIMEOUT_MS * 3, {});
    assert.equal(store.getRun('dead')?.status, 'crashed');
    other.close();
  });

  it('runIds that are unknown or ended are ignored; a malformed runIds gets bad_message and the connection stays', async () => {
    await startRun('ended');
    const b = await TestConnection.connect(url, TOKEN);
    b.send({ type: 'run.end', runId: 'ended', seq: 2, status: 'finished', time: 2 });
    await b.waitFor(() => b.ackedSeq('ended') === 2, 'ack of run.end');
    b.send({ type: 'heartbeat', runIds: ['ended', 'never-seen'] });
    b.send({ type: 'heartbeat', runIds: ['../x'] });
    b.send({ type: 'heartbeat', runIds: 'ended' });
    await b.waitFor(
      () => b.messages.filter((m) => m.type === 'heartbeat' || m.type === 'error').length === 3,
      'three answers',
    );
    const answers = b.messages.filter((m) => m.type === 'heartbeat' || m.type === 'error');
    assert.deepEqual(
      answers.map((m) => m.code ?? m.type),
      ['heartbeat', 'bad_message', 'bad_message'],
    );
    assert.match(answers[1].message as string, /heartbeat: runIds/);
    assert.equal(store.getRun('ended')?.status, 'finished');
    assert.equal(store.hasRun('never-seen'), false);
    assert.equal(collector.state.liveRuns, 0);
    assert.equal(b.closed, undefined);
    b.close();
  });
});
