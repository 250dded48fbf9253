// Test-only extension installed beside Runwatch by test/host/run.js. When the
// RUNWATCH_HOST_TESTS environment variable (which code-server passes on to its
// extension host) names a file, it runs the host suite and writes the results there.
import * as fs from 'fs';
import { runHostTests, HostResults } from './suite';

export function activate(): void {
  const resultsFile = process.env.RUNWATCH_HOST_TESTS;
  if (!resultsFile) return;
  // Write to a temp name then rename, so the outer process never reads half a file.
  const write = (results: HostResults | { error: string }) => {
    fs.writeFileSync(`${resultsFile}.tmp`, JSON.stringify(results));
    fs.renameSync(`${resultsFile}.tmp`, resultsFile);
  };
  // Not awaited: activation must finish so other extensions (Runwatch) can activate.
  runHostTests().then(write, (err: unknown) => write({ error: String((err as Error)?.stack ?? err) }));
}

export function deactivate(): void {}
