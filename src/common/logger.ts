// One logger shape for code that must not import `vscode` (store, collector,
// core, sources). The extension adapts a VS Code LogOutputChannel to it; headless
// code uses the console adapter; tests use `silentLogger` or `memoryLogger`.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Logs to stderr with a prefix, for the headless collector and benchmarks. */
export function consoleLogger(prefix = 'runwatch'): Logger {
  return {
    info: (m) => console.error(`[${prefix}] ${m}`),
    warn: (m) => console.error(`[${prefix}] warning: ${m}`),
    error: (m) => console.error(`[${prefix}] error: ${m}`),
  };
}

export interface MemoryLogger extends Logger {
  readonly lines: string[];
}

/** Keeps every line as "info: …", "warn: …", "error: …", for tests. */
export function memoryLogger(): MemoryLogger {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
}

/** A logger whose lines start with `scope: `, so one output channel can tell parts apart. */
export function scopedLogger(log: Logger, scope: string): Logger {
  return {
    info: (m) => log.info(`${scope}: ${m}`),
    warn: (m) => log.warn(`${scope}: ${m}`),
    error: (m) => log.error(`${scope}: ${m}`),
  };
}

/** Says a warning once per key; later ones with the same key are dropped (a full disk must not flood the log). */
export function onceLogger(log: Logger): Logger & { warnOnce(key: string, message: string): void } {
  const said = new Set<string>();
  return {
    ...log,
    warnOnce(key, message) {
      if (said.has(key)) return;
      said.add(key);
      log.warn(message);
    },
  };
}
