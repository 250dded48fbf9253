import * as assert from 'assert';
import * as path from 'path';
import { resolveStoreDir } from '../../src/store/paths';

describe('store folder', () => {
  const globalStorage = path.resolve('/gs/runwatch');
  const ws = path.resolve('/work/proj');
  it('is .runwatch/ in the workspace folder by default', () => {
    assert.strictEqual(resolveStoreDir({ workspaceFolder: ws, globalStorage }), path.join(ws, '.runwatch'));
  });
  it('is the global storage when no folder is open', () => {
    assert.strictEqual(resolveStoreDir({ globalStorage }), globalStorage);
    assert.strictEqual(resolveStoreDir({ globalStorage, configured: '  ' }), globalStorage);
  });
  it('follows runwatch.store.path: absolute, relative to the folder (or global storage), and ~', () => {
    assert.strictEqual(
      resolveStoreDir({ workspaceFolder: ws, globalStorage, configured: '/data/runs' }),
      path.resolve('/data/runs'),
    );
    assert.strictEqual(
      resolveStoreDir({ workspaceFolder: ws, globalStorage, configured: 'out/runs' }),
      path.join(ws, 'out/runs'),
    );
    assert.strictEqual(resolveStoreDir({ globalStorage, configured: 'runs' }), path.join(globalStorage, 'runs'));
    assert.strictEqual(
      resolveStoreDir({ workspaceFolder: ws, globalStorage, configured: '~/rw', home: '/home/u' }),
      path.resolve('/home/u/rw'),
    );
    assert.strictEqual(
      resolveStoreDir({ workspaceFolder: ws, globalStorage, configured: '~x', home: '/home/u' }),
      path.join(ws, '~x'),
    );
  });
});
