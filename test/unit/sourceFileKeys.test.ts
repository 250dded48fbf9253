// One key per physical file, so a recorded path and an editor's path of the same file match: a workspace
// opened through a symlink (Python records the physical path), a Windows drive letter in another case;
// and Go to Source opens a file under the workspace folder's own name. Real symlinks on disk.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileKeys, throughFolder } from '../../src/ui/editor/sourcePaths';

describe('source file keys', () => {
  let real = '';
  let link = '';
  before(() => {
    real = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-keys-')));
    fs.mkdirSync(path.join(real, 'src'));
    fs.writeFileSync(path.join(real, 'src', 'train.py'), '');
    link = `${real}-link`;
    fs.symlinkSync(real, link, 'dir');
  });
  after(() => {
    fs.rmSync(link, { force: true });
    fs.rmSync(real, { recursive: true, force: true });
  });

  it('gives a file one key through a symlinked folder and its physical path', () => {
    const keys = new FileKeys((f) => fs.realpathSync.native(f), 'linux');
    assert.equal(keys.key(path.join(link, 'src', 'train.py')), keys.key(path.join(real, 'src', 'train.py')));
    assert.notEqual(keys.key(path.join(real, 'src', 'train.py')), keys.key(path.join(real, 'src')));
    assert.equal(keys.key('/no/such/file.py'), '/no/such/file.py', 'a missing file keys as itself');
  });

  it('folds case where the file system ignores it', () => {
    const keys = new FileKeys((f) => f, 'win32');
    assert.equal(keys.key('C:\\work\\train.py'), keys.key('c:\\work\\train.py'));
    assert.notEqual(new FileKeys((f) => f, 'linux').key('/W/t.py'), new FileKeys((f) => f, 'linux').key('/w/t.py'));
  });

  it('names a physical path through the workspace folder that holds it', () => {
    const keys = new FileKeys((f) => fs.realpathSync.native(f), 'linux');
    const file = path.join(real, 'src', 'train.py');
    assert.equal(throughFolder(file, [link], keys), path.join(link, 'src', 'train.py'));
    assert.equal(throughFolder(file, [real], keys), file);
    assert.equal(throughFolder(file, ['/elsewhere'], keys), file, 'outside every folder: as it is');
    // A sibling whose name starts like the folder's is not inside it.
    const sibling = `${real}2`;
    fs.mkdirSync(sibling, { recursive: true });
    fs.writeFileSync(path.join(sibling, 'train.py'), '');
    try {
      assert.equal(throughFolder(path.join(sibling, 'train.py'), [real], keys), path.join(sibling, 'train.py'));
    } finally {
      fs.rmSync(sibling, { recursive: true, force: true });
    }
  });
});
