// Reading TensorBoard event files: scalars per second from a 1M-scalar log folder written by
// tensorboard's own EventFileWriter (test/python/make_tfevents.py bulk: one simple_value per
// event, 10 tags), by Runwatch's reader against tensorboard's EventAccumulator keeping every
// point (bench/tflogs_read.py), measured in the same run on the same file.
// Prints one Markdown section. Rerun: npm run bench -- tflogs
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventFiles, pollLogDir } from '../src/sources/tfevents/logDirRun';
import { readEventFile } from '../src/sources/tfevents/reader';

const ROOT = path.resolve(__dirname, '..');
const PY = process.env.RUNWATCH_TEST_PYTHON ?? path.join(ROOT, '.vscode-test/venv-test/bin/python');
const SCALARS = Number(process.env.TFLOGS_BENCH_SCALARS ?? 1_000_000);
const REPS = 5;
const PEER_REPS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en');

function python(args: string[]): string {
  const r = spawnSync(PY, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function time(f: () => number): { seconds: number; scalars: number } {
  const t0 = process.hrtime.bigint();
  const scalars = f();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, scalars };
}

function main(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-tflogs-bench-'));
  try {
    const dir = path.join(tmp, 'logs', 'run');
    python([path.join(ROOT, 'test/python/make_tfevents.py'), 'bulk', dir, String(SCALARS)]);
    const file = path.join(dir, eventFiles(dir)[0]);
    const bytes = fs.statSync(file).size;
    const reader: number[] = [];
    const run: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const a = time(() => {
        let n = 0;
        readEventFile(file, undefined, { onItems: (xs) => (n += xs.length) });
        return n;
      });
      if (a.scalars !== SCALARS) throw new Error(`the reader read ${a.scalars} scalars, not ${SCALARS}`);
      reader.push(a.seconds);
      const b = time(() => {
        const r = pollLogDir(path.dirname(dir), dir);
        return r.events.reduce((n, e) => n + (e.type === 'metrics' ? e.points.length : 0), 0);
      });
      if (b.scalars !== SCALARS) throw new Error(`the run had ${b.scalars} points, not ${SCALARS}`);
      run.push(b.seconds);
    }
    const peer: number[] = [];
    for (let i = 0; i < PEER_REPS; i++) {
      const r = JSON.parse(python([path.join(ROOT, 'bench/tflogs_read.py'), dir])) as {
        seconds: number;
        scalars: number;
      };
      if (r.scalars !== SCALARS) throw new Error(`EventAccumulator kept ${r.scalars} scalars, not ${SCALARS}`);
      peer.push(r.seconds);
    }
    const rate = (s: number[]) => SCALARS / median(s);
    const peerRate = rate(peer);
    const rows: [string, number[], number][] = [
      ['Runwatch reader: records, both CRCs, Event/Summary decoded (`readEventFile`)', reader, REPS],
      ['Runwatch reader → run events, as imported (`pollLogDir`: metrics events of 1,000 points)', run, REPS],
      ["tensorboard's `EventAccumulator` (size_guidance 0: every point), `Reload()` + `Scalars()`", peer, PEER_REPS],
    ];
    const out = [
      '## Reading TensorBoard event files',
      '',
      'Command: `npm run bench -- tflogs` (bench/tflogs-read.bench.ts; peer: bench/tflogs_read.py)',
      '',
      `Scalars per second read from one event file of ${fmt(SCALARS)} scalars (${(bytes / 1e6).toFixed(1)} MB, ` +
        "written by tensorboard's EventFileWriter: one simple_value per event, 10 tags), from the file on disk " +
        'to the values in memory; medians of the runs shown, all in the same run on the same file. ' +
        'Targets: at least 10× the peer and at least 1,000,000 scalars/s.',
      '',
      '| reader | runs | median s | scalars/s | vs EventAccumulator |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map(
        ([name, s, n]) =>
          `| ${name} | ${n} | ${median(s).toFixed(3)} | ${fmt(rate(s))} | ${(rate(s) / peerRate).toFixed(1)}× |`,
      ),
    ];
    console.log(out.join('\n'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
