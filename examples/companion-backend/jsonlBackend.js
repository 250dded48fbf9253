// The backend itself, free of `vscode` so it runs (and is tested) in plain Node.
// Each run goes to <folder>/<runId>.jsonl, one line per run-log record:
//   {"runId", "offset", "type", ...the event}
// and a small <folder>/<runId>.meta.json: project, name, status, and which API
// token the backend was given (a fingerprint, never the token itself).
// `(runId, offset)` is Runwatch's idempotency key: a batch can be delivered again
// after a crash or a failed write, so lines already in the file are skipped. A
// write that timed out is retried while the first attempt may still be running:
// writes to one run are therefore queued, so the retry sees what the first wrote.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** @typedef {import('../../src/api/types').BackendPlugin} BackendPlugin */

const metadata = {
  id: 'jsonl',
  displayName: 'JSON Lines Folder',
  version: '0.1.0',
  kind: 'backend',
  description: 'Writes each run to <folder>/<runId>.jsonl: params, metric points and the final status.',
  capabilities: ['metrics', 'params', 'tags', 'status'],
  configSchema: {
    type: 'object',
    properties: {
      folder: {
        type: 'string',
        description: 'Folder for the .jsonl files (absolute, or relative to the first workspace folder).',
      },
      apiToken: {
        type: 'string',
        secret: true,
        description:
          'A token for the tracker (an example of a secret: kept in SecretStorage; this backend only records a fingerprint of it).',
      },
    },
    required: ['folder'],
  },
};

/** A short SHA-256 fingerprint: enough to tell which token is in use, without writing it. */
function fingerprint(secret) {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}

/**
 * The highest offset already in a run's file (-1 if none). A torn last line
 * (VS Code killed mid-write) is cut off: its record will be delivered again.
 */
function highestOffset(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return -1;
  }
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  if (whole.length !== text.length) fs.truncateSync(file, Buffer.byteLength(whole));
  let max = -1;
  for (const line of whole.split('\n')) {
    if (line) max = Math.max(max, JSON.parse(line).offset);
  }
  return max;
}

/**
 * @param {{ baseDir?: string }} [options] where a relative folder is resolved from
 * @returns {BackendPlugin}
 */
function createJsonlBackend(options = {}) {
  /** @type {string | undefined} */
  let folder;
  /** @type {{ sha256: string, length: number } | null} */
  let token = null;
  /** runId → highest offset in its file */
  const written = new Map();
  /** runId → the tail of its queue of writes (one write per run at a time) */
  const queues = new Map();
  /** runId → the meta.json text last written */
  const metaWritten = new Map();
  let logger;

  async function writeMeta(run, status) {
    const meta = { runId: run.runId, project: run.project, name: run.name, status, apiToken: token };
    const text = JSON.stringify(meta, null, 2) + '\n';
    if (metaWritten.get(run.runId) === text) return;
    const file = path.join(folder, `${run.runId}.meta.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, text);
    await fs.promises.rename(tmp, file);
    metaWritten.set(run.runId, text);
  }

  async function writeNow(batch) {
    if (!folder) throw new Error('not initialized');
    const runId = batch.run.runId;
    const file = path.join(folder, `${runId}.jsonl`);
    if (!written.has(runId)) written.set(runId, highestOffset(file));
    const fresh = batch.records.filter((r) => r.offset > written.get(runId));
    if (fresh.length > 0) {
      const text = fresh.map((r) => JSON.stringify({ runId, offset: r.offset, ...r.event }) + '\n').join('');
      // Resolving means "durable": Runwatch moves this backend's cursor only then.
      try {
        const fh = await fs.promises.open(file, 'a');
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        // Part of it may be in the file: read the file again before the next write.
        written.delete(runId);
        throw e;
      }
      written.set(runId, fresh[fresh.length - 1].offset);
    }
    const end = batch.records.find((r) => r.event.type === 'run.end');
    await writeMeta(batch.run, end ? end.event.status : batch.run.status);
  }

  return {
    metadata,

    async initialize(context) {
      logger = context.logger;
      folder = path.resolve(options.baseDir ?? process.cwd(), String(context.config.folder));
      const secret = await context.secrets.get('apiToken');
      token = secret ? { sha256: fingerprint(secret), length: secret.length } : null;
      await fs.promises.mkdir(folder, { recursive: true });
      written.clear();
      metaWritten.clear();
      logger.info(`writing runs to ${folder}${token ? ` (API token ${token.sha256}…)` : ''}`);
    },

    write(batch) {
      // Queued behind any earlier write of the same run that is still running (one that
      // Runwatch gave up waiting for, say): it then filters against what that one wrote.
      const runId = batch.run.runId;
      const previous = queues.get(runId) ?? Promise.resolve();
      const mine = previous.then(() => writeNow(batch));
      const tail = mine.catch(() => undefined);
      queues.set(runId, tail);
      void tail.then(() => {
        if (queues.get(runId) === tail) queues.delete(runId);
      });
      return mine;
    },

    async healthCheck() {
      if (!folder) return { healthy: false, details: 'not initialized' };
      try {
        await fs.promises.access(folder, fs.constants.W_OK);
        return { healthy: true, details: `writing to ${folder}` };
      } catch (e) {
        return { healthy: false, details: `cannot write to ${folder}: ${e.message}` };
      }
    },

    dispose() {
      folder = undefined;
    },
  };
}

module.exports = { createJsonlBackend, highestOffset, fingerprint, metadata };
