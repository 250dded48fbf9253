// Plain-Node tests of the backend: `node --test` in this folder (no VS Code needed).
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { createJsonlBackend } = require('./jsonlBackend');

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const run = {
  runId: 'r1',
  project: 'p',
  name: 'n',
  status: 'running',
  startTime: 1,
  params: {},
  tags: {},
  context: {},
};

function records(from, to) {
  const out = [];
  for (let o = from; o <= to; o++) {
    const event =
      o === 0
        ? { type: 'run.start', project: 'p', name: 'n', time: 1, params: {}, tags: {}, context: {} }
        : { type: 'metrics', points: [{ key: 'loss', value: o, step: o, time: 2 }] };
    out.push({ runId: 'r1', offset: o, event });
  }
  return out;
}

async function started(secrets = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-jsonl-'));
  const backend = createJsonlBackend({ baseDir: dir });
  await backend.initialize({
    config: { folder: 'out' },
    secrets: { get: async (k) => secrets[k] },
    logger: quiet,
    storageDir: dir,
  });
  const lines = () =>
    fs
      .readFileSync(path.join(dir, 'out', 'r1.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const meta = () => JSON.parse(fs.readFileSync(path.join(dir, 'out', 'r1.meta.json'), 'utf8'));
  return { dir, backend, lines, meta };
}

test('a retry while the first write still runs writes each line once', async () => {
  const { dir, backend, lines } = await started();
  try {
    const batch = { run, records: records(0, 20) };
    // Runwatch timed out waiting for the first and sent the same batch again; then a wider one.
    await Promise.all([backend.write(batch), backend.write(batch), backend.write({ run, records: records(0, 30) })]);
    assert.deepEqual(
      lines().map((l) => l.offset),
      records(0, 30).map((r) => r.offset),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch delivered again after a restart is skipped; a torn last line is cut and rewritten', async () => {
  const first = await started();
  try {
    await first.backend.write({ run, records: records(0, 5) });
    fs.appendFileSync(path.join(first.dir, 'out', 'r1.jsonl'), '{"runId":"r1","offset":6,"ty');
    const again = createJsonlBackend({ baseDir: first.dir });
    await again.initialize({
      config: { folder: 'out' },
      secrets: { get: async () => undefined },
      logger: quiet,
      storageDir: first.dir,
    });
    await again.write({ run, records: records(3, 9) });
    assert.deepEqual(
      first.lines().map((l) => l.offset),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  } finally {
    fs.rmSync(first.dir, { recursive: true, force: true });
  }
});

test('the meta records a fingerprint of the secret, never the secret', async () => {
  const secret = 'sk-test-0123456789';
  const { dir, backend, meta } = await started({ apiToken: secret });
  try {
    await backend.write({ run, records: records(0, 2) });
    assert.equal(meta().status, 'running');
    await backend.write({
      run: { ...run, status: 'finished' },
      records: [{ runId: 'r1', offset: 3, event: { type: 'run.end', status: 'finished', time: 3 } }],
    });
    const m = meta();
    assert.equal(m.status, 'finished');
    assert.deepEqual(m.apiToken, {
      sha256: crypto.createHash('sha256').update(secret).digest('hex').slice(0, 16),
      length: secret.length,
    });
    for (const f of fs.readdirSync(path.join(dir, 'out')))
      assert.ok(!fs.readFileSync(path.join(dir, 'out', f), 'utf8').includes(secret), f);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without the secret the meta says so', async () => {
  const { dir, backend, meta } = await started();
  try {
    await backend.write({ run, records: records(0, 1) });
    assert.equal(meta().apiToken, null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
