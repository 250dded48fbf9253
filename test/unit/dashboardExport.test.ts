// Exporting one chart's metric at full resolution: every stored point of the chosen runs,
// non-finite values spelled as the protocol does, in the store export's CSV columns or JSON.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { RunRecord, RunSummary } from '../../src/api/types';
import { exportMetric, writePageExport } from '../../src/ui/dashboard/chartExport';
import type { ExportSource } from '../../src/store/export';
import { tempDir } from '../support/tempDir';

function source(): ExportSource {
  const runs: RunSummary[] = ['a', 'b'].map((id) => ({
    runId: id,
    project: 'p',
    name: `run ${id}`,
    status: 'finished',
    startTime: 0,
    params: {},
    tags: {},
    context: {},
  })) as unknown as RunSummary[];
  const records: Record<string, RunRecord[]> = {};
  for (const r of runs) {
    const recs: RunRecord[] = [];
    for (let i = 0; i < 600; i++) {
      const value = r.runId === 'a' && i === 7 ? NaN : i / 3;
      recs.push({
        runId: r.runId,
        offset: i,
        event: {
          type: 'metrics',
          points: [
            { key: 'loss', step: i, time: 1000 + i, value },
            { key: 'acc', step: i, time: 1000 + i, value: 1 },
          ],
        },
      } as RunRecord);
    }
    // A metrics event carrying only where keys were logged.
    recs.push({ runId: r.runId, offset: 600, event: { type: 'metrics', sources: {} } } as unknown as RunRecord);
    records[r.runId] = recs;
  }
  return {
    listRuns: () => runs,
    getRun: (id) => runs.find((r) => r.runId === id),
    read: async (id, from, max) => (records[id] ?? []).filter((r) => r.offset >= from).slice(0, max),
  };
}

const dirs: { remove(): void }[] = [];
function scratch(): string {
  const t = tempDir('chart-export');
  dirs.push(t);
  return t.dir;
}

describe('dashboard chart export', () => {
  after(() => dirs.forEach((d) => d.remove()));

  it('writes every stored point of the key for the chosen runs as CSV', async () => {
    const dir = scratch();
    const file = path.join(dir, 'loss.csv');
    const stats = await exportMetric(source(), ['b', 'a'], 'loss', 'csv', file);
    assert.deepStrictEqual(stats, { runs: 2, points: 1200 });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.strictEqual(lines[0], 'run_id,key,step,time,value');
    assert.strictEqual(lines.length, 1201);
    assert.strictEqual(lines[1], 'b,loss,0,1000,0');
    assert.ok(lines.includes('a,loss,7,1007,NaN'));
    assert.ok(lines.includes(`a,loss,9,1009,${9 / 3}`));
    assert.deepStrictEqual(fs.readdirSync(dir), ['loss.csv'], 'no partial file left');
  });

  it('writes JSON with each run’s points, and fails clearly for runs gone', async () => {
    const dir = scratch();
    const file = path.join(dir, 'loss.json');
    await exportMetric(source(), ['a'], 'loss', 'json', file);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      key: string;
      runs: { runId: string; points: { step: number; value: number | string }[] }[];
    };
    assert.strictEqual(doc.key, 'loss');
    assert.strictEqual(doc.runs[0].points.length, 600);
    assert.strictEqual(doc.runs[0].points[7].value, 'NaN');
    await assert.rejects(exportMetric(source(), ['zz'], 'loss', 'csv', file), /none of the chosen runs/);
  });

  it('writes a page’s PNG data URL as bytes and refuses something else', async () => {
    const dir = scratch();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
    const file = path.join(dir, 'c.png');
    assert.strictEqual(await writePageExport('png', `data:image/png;base64,${png.toString('base64')}`, file), 4);
    assert.deepStrictEqual(fs.readFileSync(file), png);
    await assert.rejects(writePageExport('png', 'hello', file), /no PNG picture/);
    await writePageExport('svg', '<svg/>', path.join(dir, 'c.svg'));
    assert.strictEqual(fs.readFileSync(path.join(dir, 'c.svg'), 'utf8'), '<svg/>');
  });
});
