// docs/architecture.md promises that every file of the code is on its map: this keeps the promise, so a
// newcomer never meets a file the map does not name, and the map never names a file that is gone.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
// Code is mapped file by file; tests, scripts and benchmarks by folder, but any path named must exist.
const MAPPED = /^(src\/|clients\/python\/runwatch\/)/;
const NAMED = /^(src|test|scripts|bench|clients|examples|docs)\//;
// Data and generated files that a map of the code need not name one by one.
const EXEMPT = /(\.(json|md|txt|proto|csv|ipynb)$|\/fixtures\/|\/results\/|py\.typed$|\.gitignore$|\.mocharc|LICENSE)/;

describe('docs/architecture.md', () => {
  const doc = fs.readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
  const named = new Set([...doc.matchAll(/`([^`\s]+)`/g)].map((m) => m[1].replace(/^\.\//, '')));

  it('names every file of src/ and of the Python client by its full path', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => MAPPED.test(f) && !EXEMPT.test(f) && fs.existsSync(path.join(root, f)));
    const missing = files.filter((f) => !named.has(f));
    assert.deepEqual(missing, [], `add these to docs/architecture.md:\n${missing.join('\n')}`);
  });

  it('names no file that does not exist', () => {
    const gone = [...named].filter((p) => NAMED.test(p) && /\.\w+$/.test(p) && !fs.existsSync(path.join(root, p)));
    assert.deepEqual(gone, [], `these paths in docs/architecture.md do not exist:\n${gone.join('\n')}`);
  });
});
