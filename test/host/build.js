// Builds the host-test runner extension (into .vscode-test/host-runner/ unless told
// otherwise): the runner
// (test/host/runner-extension/src) and every test/host/**/*.test.ts, each bundled with
// esbuild so a test may import src/ modules directly. `vscode` and mocha stay external.
// Adding a host test needs nothing more than a new test/host/<name>.test.ts.
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, '.vscode-test', 'host-runner');

function findTests(dir) {
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => String(f))
    .filter(
      (f) =>
        f.endsWith('.test.ts') &&
        !f.split(path.sep).includes('runner-extension') &&
        !f.split(path.sep).includes('node_modules'),
    )
    .sort()
    .map((f) => path.join(dir, f));
}

// Host tests are bundled and copied into a temp extensions folder, so a plain
// __dirname would point there. Keep their source location instead, so a test can
// find the repository (fixtures, clients/python) exactly as under tsx or test-electron.
const keepSourceDirname = {
  name: 'keep-source-dirname',
  setup(build) {
    build.onLoad({ filter: /[\\/]test[\\/]host[\\/].*\.ts$/ }, (args) => {
      if (args.path.includes(`${path.sep}runner-extension${path.sep}`)) return undefined;
      const source = fs
        .readFileSync(args.path, 'utf8')
        .replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path)))
        .replace(/\b__filename\b/g, JSON.stringify(args.path));
      return { contents: source, loader: 'ts' };
    });
  },
};

async function buildHostTests(out = OUT) {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'dist', 'tests'), { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'runner-extension', 'package.json'), path.join(out, 'package.json'));
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  };
  await esbuild.build({
    ...common,
    entryPoints: {
      extension: path.join(__dirname, 'runner-extension', 'src', 'extension.ts'),
      suite: path.join(__dirname, 'runner-extension', 'src', 'suite.ts'),
    },
    outdir: path.join(out, 'dist'),
  });
  const tests = findTests(__dirname);
  const entryPoints = {};
  for (const t of tests) entryPoints[path.relative(__dirname, t).replace(/\.ts$/, '').replace(/[\\/]/g, '__')] = t;
  if (tests.length) {
    await esbuild.build({
      ...common,
      entryPoints,
      outdir: path.join(out, 'dist', 'tests'),
      plugins: [keepSourceDirname],
      // Same defines as the extension bundle, for tests that import the collector.
      define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
    });
  }
  return { extensionDir: out, tests };
}

module.exports = { buildHostTests, HOST_RUNNER_DIR: OUT };

if (require.main === module) {
  buildHostTests().then(
    (r) => console.log(`built ${r.tests.length} host test file(s) into ${r.extensionDir}`),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
