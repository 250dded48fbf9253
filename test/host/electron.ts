// The host suite in a desktop VS Code, for machines with internet access:
//   npm run build && npx tsx test/host/electron.ts
// @vscode/test-electron downloads VS Code 1.100.3 into .vscode-test/ and loads Runwatch
// from this source folder (dist/ from `npm run build`); the same bundled suite that
// test/host/run.js runs in code-server is its extensionTestsPath.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';
import { packCompanion } from '../e2e/harness';

const { buildHostTests } = require('./build') as {
  buildHostTests(): Promise<{ extensionDir: string; tests: string[] }>;
};

const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<number> {
  const { extensionDir } = await buildHostTests();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-electron-ws-'));
  // As test/host/run.js does: the companion packed, for the test that installs it while VS Code runs.
  const companionVsix = packCompanion(fs.mkdtempSync(path.join(os.tmpdir(), 'runwatch-electron-companion-')));
  try {
    await runTests({
      version: process.env.RUNWATCH_VSCODE_VERSION ?? '1.100.3',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(extensionDir, 'dist', 'suite.js'),
      extensionTestsEnv: {
        RUNWATCH_HOST_ROOT: ROOT,
        RUNWATCH_HOST_COMPANION_VSIX: companionVsix,
        ...(process.env.RUNWATCH_HOST_GREP ? { RUNWATCH_HOST_GREP: process.env.RUNWATCH_HOST_GREP } : {}),
      },
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
    });
    return 0;
  } catch (err) {
    console.error(`host tests failed: ${(err as Error).message ?? err}`);
    return 1;
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
