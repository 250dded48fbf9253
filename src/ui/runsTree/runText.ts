// What the Runs tree writes about a run: its description (status, duration, last step,
// tags) and its hover (params, tags, the error with its traceback and last lines), as
// Markdown text. Pure (no `vscode`), so unit-tested; the provider wraps the Markdown.
import type { RunSummary, SourceLocation } from '../../api/types';
import { formatStep, formatValue, formatWallTime } from '../../webview/protocol/format';
import { visibleTags } from './filter';
import type { RunErrorDetails } from './runErrors';

/** Params shown in a hover before "… and N more". */
const MAX_PARAMS = 25;
/** Traceback lines shown in a hover (the whole one is in "Show Error"). */
const MAX_TRACEBACK = 30;

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

/** Tags as the tree shows them: `#name`, or `name=value` when a tag has a value. */
export function tagsText(run: Pick<RunSummary, 'tags'>): string {
  return visibleTags(run)
    .map(([k, v]) => (v ? `${k}=${v}` : `#${k}`))
    .join(' ');
}

export function runDescription(run: RunSummary, now = Date.now() / 1000): string {
  // Tags right after the status: at the default sidebar width the end of a description is cut off.
  const parts: string[] = [run.status === 'running' ? 'live' : run.status];
  const tags = tagsText(run);
  if (tags) parts.push(tags);
  if (run.lastStep !== undefined) parts.push(`step ${formatStep(run.lastStep)}`);
  const end = run.endTime ?? (run.status === 'running' ? now : undefined);
  if (end !== undefined) parts.push(formatDuration(end - run.startTime));
  return parts.join(' · ');
}

export function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/** A fenced block that no line of `lines` can close early. */
function fence(lines: readonly string[]): string {
  const longest = Math.max(2, ...lines.map((l) => (l.match(/`+/g) ?? []).reduce((a, b) => Math.max(a, b.length), 0)));
  const f = '`'.repeat(longest + 1);
  return `${f}text\n${lines.join('\n')}\n${f}\n\n`;
}

function paramText(v: unknown): string {
  return typeof v === 'number' ? formatValue(v) : JSON.stringify(v);
}

/** The run's hover; `details` (read from its log) adds the error, traceback and last lines. */
export function runTooltipMarkdown(run: RunSummary, details?: RunErrorDetails, color?: string): string {
  const out: string[] = [];
  out.push(`**${escapeMd(run.name)}** · ${run.status}${color ? ` · colour ${color}` : ''}\n\n`);
  out.push(`Project: ${escapeMd(run.project)}  \nRun id: \`${run.runId}\`  \n`);
  out.push(`Started: ${formatWallTime(run.startTime * 1000)}  \n`);
  if (run.endTime !== undefined)
    out.push(`Ended: ${formatWallTime(run.endTime * 1000)} (${formatDuration(run.endTime - run.startTime)})  \n`);
  if (run.lastStep !== undefined) out.push(`Last step: ${formatStep(run.lastStep)}  \n`);
  if (run.context.host) out.push(`Host: ${escapeMd(String(run.context.host))}  \n`);
  const tags = visibleTags(run);
  if (tags.length) out.push(`Tags: ${escapeMd(tagsText(run))}  \n`);
  const params = Object.keys(run.params).sort();
  if (params.length) {
    out.push('\n**Params**\n\n');
    const shown = params.slice(0, MAX_PARAMS).map((k) => `${k} = ${paramText(run.params[k])}`);
    if (params.length > MAX_PARAMS) shown.push(`… and ${params.length - MAX_PARAMS} more`);
    out.push(fence(shown));
  }
  if (details && (details.error || details.traceback.length || details.lastLines.length)) {
    out.push(`**Error:** ${escapeMd(details.error ?? '(the run did not say why it ended)')}\n\n`);
    if (details.traceback.length) {
      const tb = details.traceback;
      out.push(fence(tb.length > MAX_TRACEBACK ? ['…', ...tb.slice(-MAX_TRACEBACK)] : tb));
    }
    if (details.lastLines.length) {
      out.push(`**Last ${details.lastLines.length} console lines**\n\n`);
      out.push(fence(details.lastLines));
    }
  }
  return out.join('');
}

/** A metric's hover: its latest value and step, and where it was first logged. */
export function metricTooltipMarkdown(
  key: string,
  latest: { step: number; value: number; time: number } | undefined,
  source?: SourceLocation,
): string {
  const out = [`**${escapeMd(key)}**\n\n`];
  if (latest)
    out.push(
      `Latest: ${formatValue(latest.value)} at step ${formatStep(latest.step)}  \n` +
        `Logged: ${formatWallTime(latest.time * 1000)}  \n`,
    );
  if (source) out.push(`First logged at: \`${source.file}:${source.line}\`  \n`);
  out.push('\nClick to open its chart.');
  return out.join('');
}

/** A run in a quick pick: what tells runs apart when their names look alike. */
export function runPickItem(run: RunSummary): { label: string; description: string; detail: string } {
  const params = Object.keys(run.params)
    .sort()
    .map((k) => `${k}=${paramText(run.params[k])}`);
  const tags = tagsText(run);
  return {
    label: run.name,
    description: `${run.project} · ${run.status} · started ${formatWallTime(run.startTime * 1000)}`,
    detail: [params.join(' · ') || 'no params', tags].filter(Boolean).join('   '),
  };
}

/** An error line split for a tree row: "RuntimeError: CUDA …" → label "RuntimeError", the rest after. */
export function splitError(error: string): { label: string; rest: string } {
  const m = /^([\w.]{1,60}): (.*)$/s.exec(error);
  return m ? { label: m[1], rest: m[2] } : { label: error, rest: '' };
}
