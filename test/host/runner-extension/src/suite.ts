// Runs the bundled host tests (dist/tests/*.test.js beside this bundle) with mocha,
// inside whatever extension host loaded us: code-server's (test/host/run.js) or a
// desktop VS Code's (@vscode/test-electron, test/host/electron.ts).
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import { createRequire } from 'module';

export interface HostResults {
  passed: number;
  failed: number;
  pending: number;
  /** mocha's spec reporter output, as it would print in a terminal. */
  output: string;
  failures: { title: string; error: string }[];
}

type MochaCtor = typeof import('mocha');

/** Mocha comes from the repository's node_modules (never bundled): its reporters load by path. */
function loadMocha(): MochaCtor {
  const root = process.env.RUNWATCH_HOST_ROOT ?? path.resolve(__dirname, '..', '..', '..');
  return createRequire(path.join(root, 'package.json'))('mocha') as MochaCtor;
}

export async function runHostTests(
  testsDir = path.join(__dirname, 'tests'),
  echo?: (line: string) => void,
): Promise<HostResults> {
  const Mocha = loadMocha();
  const lines: string[] = [];
  // The extension host's console goes nowhere a test runner can read: collect the report.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => {
    const line = util.format(...args);
    lines.push(line);
    echo?.(line);
  };
  Mocha.reporters.Base.useColors = false;
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', timeout: 120_000, slow: 30_000, color: false });
  const grep = process.env.RUNWATCH_HOST_GREP;
  if (grep) mocha.grep(grep);
  const files = fs
    .readdirSync(testsDir)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of files) mocha.addFile(path.join(testsDir, f));
  const failures: HostResults['failures'] = [];
  const stats = await new Promise<{ passes: number; failures: number; pending: number }>((resolve) => {
    const runner = mocha.run(() =>
      resolve({
        passes: runner.stats?.passes ?? 0,
        failures: runner.stats?.failures ?? 0,
        pending: runner.stats?.pending ?? 0,
      }),
    );
    runner.on('fail', (test, err: Error) =>
      failures.push({ title: test.fullTitle(), error: String(err?.stack ?? err) }),
    );
  });
  return { passed: stats.passes, failed: stats.failures, pending: stats.pending, output: lines.join('\n'), failures };
}

/** The entry @vscode/test-electron calls (extensionTestsPath): rejects when a test fails. */
export async function run(): Promise<void> {
  const results = await runHostTests(undefined, (line) => console.log(line));
  if (results.failed > 0 || results.passed === 0)
    throw new Error(`${results.failed} host test(s) failed, ${results.passed} passed`);
}
