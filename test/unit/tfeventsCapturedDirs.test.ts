// Which log directories the log-folder source leaves to a live run: a run capture started names its
// log directory in its context; a `runwatch.init` run that also writes TensorBoard files is tagged
// `tensorboard.logdir` (and `tensorboard.logdir.<prefix>` for any further log directory) instead.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunSummary } from '../../src/api/types';
import { capturedLogDirs } from '../../src/sources/tfevents/register';
import { tempDir } from '../support/tempDir';

function run(over: Partial<RunSummary>): RunSummary {
  return {
    runId: 'r',
    project: 'p',
    name: 'n',
    status: 'running',
    startTime: 0,
    params: {},
    tags: {},
    context: {},
    ...over,
  };
}

describe('capturedLogDirs', () => {
  it("names the log directory of a captured run's context", () => {
    const dir = tempDir('captured').dir;
    const dirs = capturedLogDirs([run({ context: { tensorboard: { logdir: dir } } })]);
    assert.ok(dirs.includes(path.resolve(dir)));
  });

  it('names the log directories a runwatch.init run is tagged with', () => {
    const root = tempDir('captured').dir;
    const a = path.join(root, 'runs', 'a');
    const b = path.join(root, 'other');
    fs.mkdirSync(a, { recursive: true });
    fs.mkdirSync(b, { recursive: true });
    const dirs = capturedLogDirs([
      run({ tags: { 'tensorboard.logdir': a, 'tensorboard.logdir.other': b, unrelated: path.join(root, 'x') } }),
    ]);
    assert.ok(dirs.includes(fs.realpathSync(a)), `${a} in ${dirs.join(', ')}`);
    assert.ok(dirs.includes(fs.realpathSync(b)), `${b} in ${dirs.join(', ')}`);
    assert.ok(!dirs.includes(path.join(root, 'x')));
  });

  it('ignores runs that name no log directory', () => {
    assert.deepEqual(capturedLogDirs([run({ tags: { 'tensorboard.logdir': '' } }), run({})]), []);
  });
});
