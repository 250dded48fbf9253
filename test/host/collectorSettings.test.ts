// Changing runwatch.collector.port while VS Code runs takes effect at once, inside a real
// extension host with the installed .vsix: the collector rebinds to the new port, the
// discovery file and the API name it, a client reaches it there; set back to 0, it keeps
// listening (on the port it had, which it remembers for the store).
import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as vscode from 'vscode';
import WebSocket from 'ws';
import type { RunwatchApiV1, RunwatchExports } from '../../src/api/types';
import { waitFor } from './helpers';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function hello(url: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () =>
      ws.send(JSON.stringify({ type: 'hello', token, protocol: 1, client: 'host-test', version: '0' })),
    );
    ws.once('message', (d) => {
      ws.close();
      resolve(String(JSON.parse(String(d)).type));
    });
    ws.once('error', reject);
  });
}

describe('collector settings take effect without a reload (host)', function () {
  this.timeout(120_000);
  let api: RunwatchApiV1;
  let discovery = '';

  before(async () => {
    const ext = vscode.extensions.getExtension<RunwatchExports>('runwatch.runwatch');
    assert.ok(ext, 'Runwatch is installed');
    api = (await ext.activate()).getApi(1);
    discovery = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, '.runwatch', 'collector.json');
    await waitFor('the collector', () => api.getCollectorInfo(), 60_000);
  });

  after(async () => {
    await vscode.workspace
      .getConfiguration('runwatch')
      .update('collector.port', undefined, vscode.ConfigurationTarget.Global);
  });

  it('a new runwatch.collector.port rebinds the collector and rewrites the discovery file', async () => {
    const before = api.getCollectorInfo()!;
    const port = await freePort();
    await vscode.workspace
      .getConfiguration('runwatch')
      .update('collector.port', port, vscode.ConfigurationTarget.Global);
    const moved = await waitFor(
      'the collector on the new port',
      () => {
        const info = api.getCollectorInfo();
        return info?.url === `ws://127.0.0.1:${port}` ? info : undefined;
      },
      30_000,
    );
    assert.strictEqual(moved.token, before.token, 'the token stays');
    const file = await waitFor(
      'the discovery file naming the new port',
      () => {
        const d = fs.existsSync(discovery)
          ? (JSON.parse(fs.readFileSync(discovery, 'utf8')) as { url: string })
          : undefined;
        return d?.url === moved.url ? d : undefined;
      },
      30_000,
    );
    assert.strictEqual(file.url, moved.url);
    assert.strictEqual(await hello(moved.url, moved.token), 'welcome');
    await assert.rejects(hello(before.url, before.token), 'the old port is closed');

    await vscode.workspace
      .getConfiguration('runwatch')
      .update('collector.port', undefined, vscode.ConfigurationTarget.Global);
    // The helper's check is synchronous: poll the async handshake here.
    let back: { url: string; token: string } | undefined;
    for (
      const deadline = Date.now() + 30_000;
      !back && Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 200))
    ) {
      const info = api.getCollectorInfo();
      if (info && (await hello(info.url, info.token).catch(() => '')) === 'welcome') back = info;
    }
    assert.ok(back, 'the collector listens after the setting is cleared');
    assert.strictEqual(back.url, moved.url, 'port 0 prefers the port it had');
  });
});
