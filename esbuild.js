// Builds the two bundles: the extension (Node, CommonJS, `vscode` external) and the
// webview code (browser, IIFE). `--production` minifies; `--watch` rebuilds on change.
const esbuild = require('esbuild');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const shared = { bundle: true, sourcemap: production ? false : 'linked', minify: production, logLevel: 'info' };

const targets = [
  {
    ...shared,
    entryPoints: { extension: 'src/extension.ts', 'collector-cli': 'src/collector/cli.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // bufferutil unmasks client frames natively (ws's pure-JS loop took an eighth of the
    // collector's CPU); it loads prebuilt binaries at run time, so it ships beside the
    // bundle (copyNative) and ws falls back to JS where none fits the platform.
    external: ['vscode', 'bufferutil'],
    define: { 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
  },
  {
    ...shared,
    entryPoints: {
      dashboard: 'src/webview/dashboard/main.ts',
      compare: 'src/webview/compare/main.ts',
      runsTable: 'src/webview/runsTable/main.ts',
    },
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  },
];

/** Copies bufferutil (and the loader it needs) to dist/node_modules, where the bundle's require finds it. */
function copyNative() {
  const fs = require('fs');
  const path = require('path');
  for (const name of ['bufferutil', 'node-gyp-build']) {
    const from = path.dirname(require.resolve(`${name}/package.json`));
    const to = path.join('dist', 'node_modules', name);
    fs.rmSync(to, { recursive: true, force: true });
    fs.cpSync(from, to, {
      recursive: true,
      filter: (f) => !/[\\/](src|build|binding\.gyp|README\.md|SECURITY\.md)$/.test(f),
    });
  }
}

async function main() {
  copyNative();
  if (watch) {
    for (const t of targets) await (await esbuild.context(t)).watch();
    return;
  }
  await Promise.all(targets.map((t) => esbuild.build(t)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
