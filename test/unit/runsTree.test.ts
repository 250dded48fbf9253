// What the Runs tree writes and hides, without VS Code: the filter (text, status, tags,
// archived), descriptions with tags, hovers with params, tags and the error, the error read
// back from a real store's log, and the swatch icons in the palette's colours.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { RunEvent, RunSummary } from '../../src/api/types';
import { RunStore } from '../../src/store/runStore';
import { NO_FILTER, filterMessage, isFiltering, matchesFilter, tagChoices } from '../../src/ui/runsTree/filter';
import { errorDocument, readRunErrorDetails } from '../../src/ui/runsTree/runErrors';
import { runDescription, runPickItem, runTooltipMarkdown, splitError, tagsText } from '../../src/ui/runsTree/runText';
import { SwatchFiles, inkFor, swatchFileName, swatchSvg } from '../../src/ui/runsTree/swatches';
import { PALETTE } from '../../src/webview/protocol/palette';
import { tempDir } from '../support/tempDir';

function run(over: Partial<RunSummary> & { runId: string }): RunSummary {
  return {
    project: 'sweep',
    name: over.runId,
    status: 'finished',
    startTime: 1_700_000_000,
    endTime: 1_700_000_090,
    lastStep: 99,
    params: {},
    tags: {},
    context: {},
    ...over,
  };
}

const runs = [
  run({ runId: 'a1', name: 'lr0.001-seed0', params: { lr: 0.001, seed: 0 }, tags: { sweep: '', baseline: '' } }),
  run({ runId: 'b2', name: 'lr0.003-seed1', status: 'failed', params: { lr: 0.003, seed: 1 }, tags: { sweep: '' } }),
  run({ runId: 'c3', name: 'old', tags: { 'runwatch.archived': 'true', sweep: '' } }),
  run({ runId: 'd4', name: 'live', status: 'running', endTime: undefined, project: 'other' }),
];
const names = (f = NO_FILTER) => runs.filter((r) => matchesFilter(r, f)).map((r) => r.name);

describe('Runs tree filter', () => {
  it('hides archived runs by default and shows them when asked', () => {
    assert.deepStrictEqual(names(), ['lr0.001-seed0', 'lr0.003-seed1', 'live']);
    assert.ok(names({ ...NO_FILTER, showArchived: true }).includes('old'));
    assert.strictEqual(filterMessage(NO_FILTER, runs), '1 archived run hidden');
    assert.strictEqual(isFiltering(NO_FILTER), false, 'hiding archived runs is the default, not a filter');
  });

  it('matches every word of the text in names, params or tags, case-insensitively', () => {
    assert.deepStrictEqual(names({ ...NO_FILTER, text: 'SEED1' }), ['lr0.003-seed1']);
    assert.deepStrictEqual(names({ ...NO_FILTER, text: 'lr=0.001' }), ['lr0.001-seed0']);
    assert.deepStrictEqual(names({ ...NO_FILTER, text: 'baseline lr0' }), ['lr0.001-seed0']);
    assert.deepStrictEqual(names({ ...NO_FILTER, text: 'nothing-like-this' }), []);
  });

  it('narrows by any of the statuses and all of the tags, and says so above the rows', () => {
    const f = { ...NO_FILTER, statuses: ['failed' as const, 'running' as const] };
    assert.deepStrictEqual(names(f), ['lr0.003-seed1', 'live']);
    const g = { ...NO_FILTER, tags: ['sweep', 'baseline'] };
    assert.deepStrictEqual(names(g), ['lr0.001-seed0']);
    assert.ok(isFiltering(g));
    assert.strictEqual(filterMessage({ ...g, text: 'lr' }, runs), 'Filter "lr", #sweep #baseline: 1 of 4 runs');
    assert.strictEqual(filterMessage(f, runs), 'Filter failed or running: 2 of 4 runs');
  });

  it("offers the tags people set, not the extension's own", () => {
    assert.deepStrictEqual(tagChoices(runs), ['baseline', 'sweep']);
  });
});

describe('Runs tree text', () => {
  it('shows tags in the description, leaving out runwatch.* tags', () => {
    assert.strictEqual(runDescription(runs[0]), 'finished · #sweep #baseline · step 99 · 1m 30s');
    assert.strictEqual(runDescription(runs[2]), 'finished · #sweep · step 99 · 1m 30s');
    assert.strictEqual(tagsText(run({ runId: 'x', tags: { best: '0.91', demo: '' } })), 'best=0.91 #demo');
    assert.match(runDescription(runs[3], 1_700_000_030), /^live · step 99 · 30s$/);
  });

  it("splits an error line into the exception's type (the row's label) and its message", () => {
    assert.deepStrictEqual(splitError('RuntimeError: CUDA error: illegal access'), {
      label: 'RuntimeError',
      rest: 'CUDA error: illegal access',
    });
    assert.deepStrictEqual(splitError('torch.cuda.OutOfMemoryError: 2 GiB'), {
      label: 'torch.cuda.OutOfMemoryError',
      rest: '2 GiB',
    });
    const plain = 'no message from the client for 30s (heartbeat timeout)';
    assert.deepStrictEqual(splitError(plain), { label: plain, rest: '' });
  });

  it('hovers with params (one number format), tags and the error with its traceback and last lines', () => {
    const md = runTooltipMarkdown(
      run({ runId: 'b2', name: 'lr3e-4', status: 'failed', params: { lr: 0.0003, opt: 'adam' }, tags: { sweep: '' } }),
      {
        error: 'RuntimeError: CUDA error',
        traceback: ['Traceback (most recent call last):', '  File "train.py", line 9', 'RuntimeError: CUDA error'],
        lastLines: ['epoch 3', 'boom'],
      },
      '#0077ee',
    );
    assert.match(md, /\*\*lr3e\\-4\*\* · failed · colour #0077ee/);
    assert.match(md, /lr = 3e-4\nopt = "adam"/);
    assert.match(md, /Tags: \\#sweep/);
    assert.match(md, /\*\*Error:\*\* RuntimeError: CUDA error/);
    assert.match(md, /```text\nTraceback \(most recent call last\):\n {2}File "train.py", line 9\n/);
    assert.match(md, /\*\*Last 2 console lines\*\*\n\n```text\nepoch 3\nboom\n```/);
  });

  it('lists runs in a quick pick by name, project, status, start time and params', () => {
    const item = runPickItem(runs[0]);
    assert.strictEqual(item.label, 'lr0.001-seed0');
    assert.match(item.description, /^sweep · finished · started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.strictEqual(item.detail, 'lr=0.001 · seed=0   #sweep #baseline');
  });
});

describe('Runs tree errors from the log', () => {
  const tmp = tempDir('tree-errors');
  let store: RunStore;
  before(async () => {
    store = await RunStore.open(tmp.dir, { sync: false });
  });
  after(async () => {
    await store.close();
    tmp.remove();
  });

  const start: RunEvent = {
    type: 'run.start',
    project: 'p',
    name: 'r',
    time: 1_700_000_000,
    params: {},
    tags: {},
    context: {},
  };

  it('takes the traceback printed to stderr and the last console lines', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `epoch ${i}`);
    await store.append('err-1', [
      { event: start },
      { event: { type: 'log', stream: 'stdout', lines, time: 1_700_000_001 } },
      {
        event: {
          type: 'log',
          stream: 'stderr',
          lines: [
            'Traceback (most recent call last):',
            '  File "/w/train.py", line 49, in main',
            '    raise RuntimeError("CUDA error")',
            'RuntimeError: CUDA error',
          ],
          time: 1_700_000_002,
        },
      },
      { event: { type: 'run.end', status: 'failed', time: 1_700_000_003, reason: 'RuntimeError: CUDA error' } },
    ]);
    const d = await readRunErrorDetails((id, from, max) => store.read(id, from, max), 'err-1', 10);
    assert.strictEqual(d.error, 'RuntimeError: CUDA error');
    assert.deepStrictEqual(d.traceback, [
      'Traceback (most recent call last):',
      '  File "/w/train.py", line 49, in main',
      '    raise RuntimeError("CUDA error")',
      'RuntimeError: CUDA error',
    ]);
    assert.strictEqual(d.lastLines.length, 10);
    assert.deepStrictEqual(d.lastLines.slice(0, 4), ['epoch 24', 'epoch 25', 'epoch 26', 'epoch 27']);
    const doc = errorDocument(store.getRun('err-1')!, d);
    assert.match(doc, /Run "r" \(err-1\) in project p: failed/);
    assert.match(doc, /Error: RuntimeError: CUDA error\n\nTraceback \(most recent call last\):/);
    assert.match(doc, /Last 10 console lines:\nepoch 24/);
  });

  it('takes a traceback sent as the end reason, and says when a run gave no reason', async () => {
    const reason = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: bad';
    await store.append('err-2', [
      { event: start },
      { event: { type: 'run.end', status: 'failed', time: 1_700_000_003, reason } },
    ]);
    const d = await readRunErrorDetails((id, from, max) => store.read(id, from, max), 'err-2');
    assert.strictEqual(d.error, 'ValueError: bad');
    assert.strictEqual(d.traceback.length, 3);
    await store.append('err-3', [{ event: start }, { event: { type: 'run.end', status: 'crashed', time: 1 } }]);
    const none = await readRunErrorDetails((id, from, max) => store.read(id, from, max), 'err-3');
    assert.deepStrictEqual(none, { error: undefined, traceback: [], lastLines: [] });
    assert.match(errorDocument(store.getRun('err-3')!, none), /the run did not say why it ended/);
  });
});

describe('Runs tree swatches', () => {
  it('draws a disc in the run colour with a status glyph in a readable ink', () => {
    const svg = swatchSvg('#0077ee', 'failed');
    assert.match(svg, /<circle cx="8" cy="8" r="7" fill="#0077ee"\/>/);
    assert.match(svg, /stroke="#ffffff"/, 'white on a dark blue');
    assert.strictEqual(inkFor('#bbbb77'), '#000000', 'black on khaki');
    assert.throws(() => swatchSvg('red', 'running'), /not a #rrggbb colour/);
  });

  it('writes one file per palette colour and status, once', () => {
    const { dir, remove } = tempDir('swatches');
    try {
      const files = new SwatchFiles(path.join(dir, 'swatches'));
      const written = new Set(PALETTE.map((c) => files.pathOf(c, 'finished')));
      assert.strictEqual(written.size, PALETTE.length);
      const p = files.pathOf(PALETTE[0], 'finished');
      assert.strictEqual(path.basename(p), swatchFileName(PALETTE[0], 'finished'));
      assert.strictEqual(fs.readFileSync(p, 'utf8'), swatchSvg(PALETTE[0], 'finished'));
      assert.deepStrictEqual(fs.readdirSync(path.join(dir, 'swatches')).length, PALETTE.length);
    } finally {
      remove();
    }
  });
});
