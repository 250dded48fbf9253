// The one place where Runwatch's internal `Logger` becomes the public `PluginLogger`
// a plugin gets in its context: lines are prefixed with the plugin's id, extra
// arguments are appended as text, and trace/debug go to the logger's own trace and
// debug when it has them (a VS Code LogOutputChannel does) and nowhere otherwise.
import type { PluginLogger } from '../api/types';
import { errorText } from '../common/errors';
import type { Logger } from '../common/logger';

/** A Logger that may also have the finer levels (VS Code's LogOutputChannel, a PluginLogger). */
export type HubLogger = Logger & { trace?(message: string): void; debug?(message: string): void };

export function toPluginLogger(log: HubLogger, pluginId: string): PluginLogger {
  const line = (m: string | Error, args: unknown[]) =>
    `[${pluginId}] ${m instanceof Error ? m.message : m}${args.length ? ' ' + args.map(argText).join(' ') : ''}`;
  return {
    trace: (m, ...a) => log.trace?.(line(m, a)),
    debug: (m, ...a) => log.debug?.(line(m, a)),
    info: (m, ...a) => log.info(line(m, a)),
    warn: (m, ...a) => log.warn(line(m, a)),
    error: (m, ...a) => log.error(line(m, a)),
  };
}

function argText(a: unknown): string {
  return typeof a === 'string' ? a : a instanceof Error ? errorText(a) : safeJson(a);
}

function safeJson(a: unknown): string {
  try {
    return JSON.stringify(a) ?? String(a);
  } catch {
    return String(a);
  }
}
