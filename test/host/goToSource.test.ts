// "Go to Source" inside a real extension host with the installed .vsix: a run whose client said where
// each key was first logged (the `sources` of a metrics message, sent here over the real collector)
// opens that file at that line, given `{ runId, key }` as the Runs tree's metric item, the runs table and
// the dashboard pass it; a path recorded in another checkout opens the workspace's copy.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import WebSocket from 'ws';
import type { RunwatchApiV1, RunwatchExports } from '../../src/api/types';
import { waitFor } from './helpers';

function send(url: string, token: string, frames: object[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const last = Math.max(...frames.map((f) => (f as { seq: number }).seq));
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', token, protocol: 1, client: 'host-test', version: '0' }));
    });
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; seq?: number };
      if (m.type === 'welcome') for (const f of frames) ws.send(JSON.stringify(f));
      // Acks may be coalesced: the last seq acknowledged means every frame is durable.
      else if (m.type === 'ack' && (m.seq ?? 0) >= last) {
        ws.close();
        resolve();
      } else if (m.type === 'error') reject(new Error(String(d)));
    });
    ws.once('error', reject);
  });
}

describe('Go to Source (host)', function () {
  this.timeout(120_000);
  let api: RunwatchApiV1;
  let ws = '';

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    api = (await ext.activate()).getApi(1);
    await waitFor('the collector', () => api.getCollectorInfo(), 60_000);
    ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  });

  async function runWith(runId: string, cwd: string, sources: Record<string, { file: string; line: number }>) {
    const info = api.getCollectorInfo()!;
    const t = Date.now() / 1000;
    await send(info.url, info.token, [
      { type: 'run.start', runId, seq: 1, project: 'gts', name: runId, time: t, context: { cwd } },
      { type: 'metrics', runId, seq: 2, sources },
      {
        type: 'metrics',
        runId,
        seq: 3,
        points: Object.keys(sources).map((key) => ({ key, value: 1, step: 0, time: t })),
      },
    ]);
    await waitFor('the run with its sources', () => api.listRuns().find((r) => r.runId === runId && r.sources), 30_000);
  }

  it('opens the recorded file at the line, from a Runs tree metric item', async () => {
    const file = path.join(ws, 'gts_train.py');
    fs.writeFileSync(file, Array.from({ length: 40 }, (_, i) => `x${i} = ${i}`).join('\n') + '\n');
    await runWith('gts-local', ws, { 'train/loss': { file, line: 17 } });
    await vscode.commands.executeCommand('runwatch.goToSource', {
      kind: 'metric',
      runId: 'gts-local',
      key: 'train/loss',
    });
    const editor = await waitFor(
      'the file in the editor',
      () => (vscode.window.activeTextEditor?.document.uri.fsPath === file ? vscode.window.activeTextEditor : undefined),
      20_000,
    );
    assert.strictEqual(editor.selection.active.line, 16, 'line 17 (0-based 16)');
    assert.strictEqual(editor.document.lineAt(16).text, 'x16 = 16');
  });

  it("a path from another checkout opens the workspace's copy", async () => {
    const file = path.join(ws, 'pkg', 'gts_model.py');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'a = 1\nb = 2\nc = 3\n');
    await runWith('gts-remote', '/cluster/home/someone/proj', {
      acc: { file: '/cluster/home/someone/proj/pkg/gts_model.py', line: 3 },
    });
    await vscode.commands.executeCommand('runwatch.goToSource', { runId: 'gts-remote', key: 'acc' });
    const editor = await waitFor(
      "the workspace's copy in the editor",
      () => (vscode.window.activeTextEditor?.document.uri.fsPath === file ? vscode.window.activeTextEditor : undefined),
      20_000,
    );
    assert.strictEqual(editor.selection.active.line, 2);
  });
});
