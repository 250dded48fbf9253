// The wheel "Install Python Client…" packs from the bundled client: a zip Python's own zipfile reads,
// every file listed in RECORD with its sha256 and size, metadata that agrees with
// clients/python/pyproject.toml, the package's .py files and py.typed but no sitecustomize.py or tests.
// (Installing it with pip into a fresh venv, offline, is test/e2e/installClient.e2e.test.ts.)
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildClientWheel, CLIENT_NAME, CLIENT_REQUIRES_PYTHON, clientVersion } from '../../src/ui/launch/clientWheel';

const CLIENT = path.resolve(__dirname, '..', '..', 'clients', 'python');

const CHECK = `
import base64, hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
record = [l for l in z.read(next(n for n in names if n.endswith('.dist-info/RECORD'))).decode().splitlines() if l]
bad = []
for line in record:
    name, digest, size = line.rsplit(',', 2)
    if not digest:
        continue
    data = z.read(name)
    want = 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    if digest != want or int(size) != len(data):
        bad.append(name)
meta = z.read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
print(json.dumps({"names": names, "record": [l.rsplit(',', 2)[0] for l in record], "bad": bad, "meta": meta}))
`;

describe('the Python client wheel', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-wheel-test-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is a valid wheel of the package, with metadata matching pyproject.toml', () => {
    const wheel = buildClientWheel(CLIENT, dir);
    const version = clientVersion(CLIENT);
    assert.equal(path.basename(wheel.file), `${CLIENT_NAME}-${version}-py3-none-any.whl`);
    const py = spawnSync('python3', ['-c', CHECK, wheel.file], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const got = JSON.parse(py.stdout) as { names: string[]; record: string[]; bad: string[]; meta: string };
    assert.deepEqual(got.bad, []);
    assert.deepEqual([...got.record].sort(), [...got.names].sort(), 'RECORD lists every file');
    assert.ok(got.names.includes('runwatch/__init__.py'));
    assert.ok(got.names.includes('runwatch/py.typed'));
    assert.ok(
      got.names.some((n) => /^runwatch\/[a-z_]+\/__init__\.py$/.test(n)),
      'subpackages are in',
    );
    assert.ok(!got.names.some((n) => n.includes('sitecustomize') || n.includes('__pycache__') || n.includes('tests/')));

    const pyproject = fs.readFileSync(path.join(CLIENT, 'pyproject.toml'), 'utf8');
    const field = (k: string) => new RegExp(`^${k}\\s*=\\s*"([^"]*)"`, 'm').exec(pyproject)?.[1];
    assert.equal(field('name'), CLIENT_NAME);
    assert.equal(field('version'), version, 'pyproject.toml and runwatch/_run.py name one version');
    assert.equal(field('requires-python'), CLIENT_REQUIRES_PYTHON);
    assert.match(got.meta, new RegExp(`^Version: ${version.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('is the same bytes for the same files', () => {
    const a = fs.readFileSync(buildClientWheel(CLIENT, fs.mkdtempSync(path.join(dir, 'a-'))).file);
    const b = fs.readFileSync(buildClientWheel(CLIENT, fs.mkdtempSync(path.join(dir, 'b-'))).file);
    assert.ok(a.equals(b));
  });
});
