// The values at the log call, inside a real extension host with the installed .vsix: hovering a line
// that logged a metric of a live run shows the metric, the run's name, a sparkline of its values and
// the latest one; a line that logged nothing, and every line once runwatch.editor.inlineValues is off,
// show nothing of Runwatch.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import WebSocket from 'ws';
import type { RunwatchApiV1, RunwatchExports } from '../../src/api/types';
import { waitFor as waitUntil } from '../support/waitFor';
import { waitFor } from './helpers';

function send(url: string, token: string, frames: { seq: number }[]): Promise<void> {
  const last = Math.max(...frames.map((f) => f.seq));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () =>
      ws.send(JSON.stringify({ type: 'hello', token, protocol: 1, client: 'host-test', version: '0' })),
    );
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; seq?: number };
      if (m.type === 'welcome') for (const f of frames) ws.send(JSON.stringify(f));
      else if (m.type === 'ack' && (m.seq ?? 0) >= last) {
        ws.close();
        resolve();
      } else if (m.type === 'error') reject(new Error(String(d)));
    });
    ws.once('error', reject);
  });
}

async function hoverText(uri: vscode.Uri, line: number): Promise<string> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
    'vscode.executeHoverProvider',
    uri,
    new vscode.Position(line, 2),
  );
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

describe('inline values: the hover at a logging line (host)', function () {
  this.timeout(120_000);
  let api: RunwatchApiV1;
  let file = '';

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    api = (await ext.activate()).getApi(1);
    const info = await waitFor('the collector', () => api.getCollectorInfo(), 60_000);
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    file = path.join(ws, 'iv_train.py');
    fs.writeFileSync(
      file,
      'import runwatch\nrun = runwatch.init()\nfor i in range(8):\n    run.log({"iv/loss": 1 / (i + 1)})\n',
    );
    const t = Date.now() / 1000;
    const runId = 'iv-live';
    await send(info.url, info.token, [
      { type: 'run.start', runId, seq: 1, project: 'iv', name: 'iv-live-run', time: t, context: { cwd: ws } } as never,
      { type: 'metrics', runId, seq: 2, sources: { 'iv/loss': { file, line: 4 } } } as never,
      {
        type: 'metrics',
        runId,
        seq: 3,
        points: Array.from({ length: 8 }, (_, i) => ({ key: 'iv/loss', value: 1 / (i + 1), step: i, time: t })),
      } as never,
    ]);
    await waitFor('the live run', () => api.listRuns().find((r) => r.runId === runId && r.sources), 30_000);
    await vscode.window.showTextDocument(vscode.Uri.file(file));
  });

  after(async () => {
    await vscode.workspace
      .getConfiguration('runwatch')
      .update('editor.inlineValues', undefined, vscode.ConfigurationTarget.Global);
  });

  it("shows the metric, the run's name, a sparkline and the latest value; nothing on other lines", async () => {
    const uri = vscode.Uri.file(file);
    // An async check: test/support's waitFor awaits it (the host helper's does not).
    const text = await waitUntil(
      'the hover with the sparkline',
      async () => {
        const t = await hoverText(uri, 3);
        return /[▁▂▃▄▅▆▇█]{8}/.test(t) ? t : undefined;
      },
      30_000,
    );
    assert.match(text, /iv\\?\/loss/);
    assert.match(text, /iv\\?-live\\?-run/);
    assert.match(text, /█▄▃▂▁▁▁▁|█[▁▂▃▄]+/, 'a falling loss: the first cell is the highest');
    assert.match(text, /latest 0\.125 at step 7/);
    assert.doesNotMatch(await hoverText(uri, 1), /iv.?\/loss/, 'a line that logged nothing has no Runwatch hover');
  });

  it('runwatch.editor.inlineValues off: no hover', async () => {
    await vscode.workspace
      .getConfiguration('runwatch')
      .update('editor.inlineValues', false, vscode.ConfigurationTarget.Global);
    assert.doesNotMatch(await hoverText(vscode.Uri.file(file), 3), /iv.?\/loss/);
  });
});
