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
    external: ['vscode'],
    // ws has optional native speedups; the pure-JS paths are used when they are absent.
    define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
  },
  {
    ...shared,
    entryPoints: { dashboard: 'src/webview/dashboard.ts', compare: 'src/webview/compare.ts' },
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  },
];

async function main() {
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
