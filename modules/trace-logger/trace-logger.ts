/**
 * Logger port over `trace()`: one line per entry, `<level> [<scope>] <message> key=value...`, filtered by level.
 * On a device trace goes to the serial console (or xsbug in debug builds); in mcsim under Xvfb to stdout.
 */
import { formatFields, type LogFields, type LogLevel, type Logger } from "ports/logger";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && value in ORDER;
}

export class TraceLogger implements Logger {
  constructor(private readonly minLevel: LogLevel = "info") {}

  log(level: LogLevel, scope: string, message: string, fields?: LogFields): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    try {
      trace(`${level.padEnd(5)} [${scope}] ${message}${formatFields(fields)}\n`);
    } catch {
      // a log line is never worth an exception
    }
  }
}
