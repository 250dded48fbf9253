// The host tier: runs test/host/**/*.test.ts inside a real VS Code extension host
// (code-server 4.100.3 with the packaged Runwatch .vsix and a test-runner extension),
// prints mocha's spec report and exits non-zero when a test fails or none ran.
// Needs `npm run package` and scripts/setup-vscode.sh first (scripts/test.sh does both).
// RUNWATCH_HOST_GREP=<pattern> runs only matching tests.
// The example companion is packed (not installed) and its .vsix passed as
// RUNWATCH_HOST_COMPANION_VSIX, for tests that install it while VS Code runs.
require('tsx/cjs/api').register();
const fs = require('fs');
const os = require('os');
const path = require('path');
const { buildHostTests } = require('./build');
const { VsCode, waitFor, packCompanion } = require('../e2e/harness');

const ROOT = path.resolve(__dirname, '..', '..');

async function main() {
  // A build of our own: teammates may run the host tier at the same time.
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-host-run-'));
  const { extensionDir, tests } = await buildHostTests(path.join(workDir, 'runner'));
  console.log(`host: ${tests.length} test file(s): ${tests.map((t) => path.relative(ROOT, t)).join(', ')}`);
  const resultsFile = path.join(workDir, 'results.json');
  let vs;
  try {
    const companionVsix = packCompanion(workDir);
    vs = await VsCode.start({
      name: 'host',
      extensions: [extensionDir],
      env: {
        RUNWATCH_HOST_TESTS: resultsFile,
        RUNWATCH_HOST_ROOT: ROOT,
        RUNWATCH_HOST_COMPANION_VSIX: companionVsix,
        ...(process.env.RUNWATCH_HOST_GREP ? { RUNWATCH_HOST_GREP: process.env.RUNWATCH_HOST_GREP } : {}),
      },
    });
    // The suite runs as soon as the extension host starts (the browser opening the workbench did that).
    const timeoutMs = Number(process.env.RUNWATCH_HOST_TIMEOUT_MS ?? 30 * 60_000);
    await waitFor('the host test results', () => fs.existsSync(resultsFile), timeoutMs, 500);
    await vs.screenshot('host-final').catch(() => undefined);
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
    if (results.error) {
      console.error(`host: the test runner itself failed:\n${results.error}`);
      return 1;
    }
    console.log(results.output);
    if (results.passed === 0 && results.failed === 0) {
      console.error('host: no tests ran (0 passing)');
      return 1;
    }
    return results.failed > 0 ? 1 : 0;
  } catch (err) {
    console.error(`host: ${err && err.stack ? err.stack : err}`);
    if (vs)
      console.error(
        `host: code-server log: ${vs.logFile}; VS Code logs will be in test-output/vscode-logs/${vs.name}/`,
      );
    return 1;
  } finally {
    if (vs) await vs.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
