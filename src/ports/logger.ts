export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields; values must be plain data (they may end up in a diagnostics log). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  log(level: LogLevel, scope: string, message: string, fields?: LogFields): void;
}

/** A logger bound to one scope, the form the core's modules use. */
export interface ScopedLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function scoped(logger: Logger, scope: string): ScopedLogger {
  return {
    debug: (m, f) => logger.log("debug", scope, m, f),
    info: (m, f) => logger.log("info", scope, m, f),
    warn: (m, f) => logger.log("warn", scope, m, f),
    error: (m, f) => logger.log("error", scope, m, f),
  };
}

/** Renders fields as ` key=value` pairs for line-oriented sinks (trace, console). */
export function formatFields(fields?: LogFields): string {
  if (!fields) return "";
  let out = "";
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    out += ` ${key}=${typeof value === "string" && /[\s"]/.test(value) ? JSON.stringify(value) : String(value)}`;
  }
  return out;
}

export const silentLogger: Logger = { log() {} };
