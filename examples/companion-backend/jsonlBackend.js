// The backend itself, free of `vscode` so it runs (and is tested) in plain Node.
// Each run goes to <folder>/<runId>.jsonl, one line per run-log record:
//   {"runId", "offset", "type", ...the event}
// `(runId, offset)` is Runwatch's idempotency key: a batch can be delivered again
// after a crash or a failed write, so lines already in the file are skipped.
'use strict';
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
    properties: { folder: { type: 'string', description: 'Folder for the .jsonl files (absolute, or relative to the first workspace folder).' } },
    required: ['folder'],
  },
};

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
  /** runId → highest offset in its file */
  const written = new Map();
  let logger;

  return {
    metadata,

    async initialize(context) {
      logger = context.logger;
      folder = path.resolve(options.baseDir ?? process.cwd(), String(context.config.folder));
      await fs.promises.mkdir(folder, { recursive: true });
      written.clear();
      logger.info(`writing runs to ${folder}`);
    },

    async write(batch) {
      if (!folder) throw new Error('not initialized');
      const runId = batch.run.runId;
      const file = path.join(folder, `${runId}.jsonl`);
      if (!written.has(runId)) written.set(runId, highestOffset(file));
      const fresh = batch.records.filter((r) => r.offset > written.get(runId));
      if (fresh.length === 0) return;
      const text = fresh.map((r) => JSON.stringify({ runId, offset: r.offset, ...r.event }) + '\n').join('');
      // Resolving means "durable": Runwatch moves this backend's cursor only then.
      const fh = await fs.promises.open(file, 'a');
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      written.set(runId, fresh[fresh.length - 1].offset);
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

module.exports = { createJsonlBackend, highestOffset, metadata };
