// The discovery file: private (0600 in a 0700 folder) even under a permissive
// umask, replaced atomically, and removed only by the collector that wrote it.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readDiscovery, removeDiscovery, writeDiscovery } from '../../src/collector/discovery';

describe('collector discovery file', () => {
  let dir: string;
  beforeEach(() => (dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rw-disc-')), '.runwatch')));
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  const info = (pid: number, url = 'ws://127.0.0.1:1') => ({
    url,
    token: 'secret',
    pid,
    version: '0',
    spoolDir: path.join(dir, 'spool'),
  });

  it('is written 0600 in a 0700 folder with a .gitignore, under umask 0, and rewritten in place', async function () {
    if (process.platform === 'win32') this.skip();
    const old = process.umask(0);
    try {
      const file = await writeDiscovery(dir, info(process.pid));
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
      assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), '*\n');
      await writeDiscovery(dir, info(process.pid, 'ws://127.0.0.1:2'));
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(readDiscovery(dir)?.url, 'ws://127.0.0.1:2');
      assert.deepEqual(fs.readdirSync(dir).sort(), ['.gitignore', 'collector.json'], 'no temp files left');
    } finally {
      process.umask(old);
    }
  });

  it('is removed by its own pid only', async () => {
    await writeDiscovery(dir, info(process.pid + 1));
    removeDiscovery(dir);
    assert.equal(readDiscovery(dir)?.pid, process.pid + 1, "another collector's file stays");
    await writeDiscovery(dir, info(process.pid));
    removeDiscovery(dir);
    assert.equal(readDiscovery(dir), undefined);
  });
});
