// Test helper: the collector's own frame parser over frames given one per stdin line.
// usage: tsx parse_frames.ts < frames.jsonl; prints one JSON line per frame:
// {kind, runId?, seq?, type?, points?: [key, value, step, time][], code?, message?}, values as on the wire.
import { parseFrame } from '../../../src/collector/frames';

function wire(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => (input += chunk));
process.stdin.on('end', () => {
  for (const line of input.split('\n')) {
    if (line === '') continue;
    const r = parseFrame(line, { maxBatchPoints: Number.MAX_SAFE_INTEGER });
    if (r.kind === 'error') {
      process.stdout.write(JSON.stringify({ kind: 'error', code: r.error.code, message: r.error.message }) + '\n');
    } else if (r.kind === 'run') {
      const ev = r.event;
      const points = ev.type === 'metrics' ? ev.points.map((p) => [p.key, wire(p.value), p.step, p.time]) : undefined;
      process.stdout.write(JSON.stringify({ kind: 'run', runId: r.runId, seq: r.seq, type: ev.type, points }) + '\n');
    } else {
      process.stdout.write(JSON.stringify({ kind: r.kind }) + '\n');
    }
  }
});
