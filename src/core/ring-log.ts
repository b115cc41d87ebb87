import type { Clock } from "../ports/clock";
import type { LogFields, LogLevel, Logger } from "../ports/logger";
import { formatFields } from "../ports/logger";

export interface LogEntry {
  readonly at: number;
  readonly level: LogLevel;
  readonly scope: string;
  readonly message: string;
  readonly fields?: LogFields;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * A bounded, in-memory log of recent events and errors for diagnostics. It forwards everything to the
 * platform logger and keeps the last `capacity` entries at or above `minLevel`. Nothing of it leaves the
 * device except its tail, on request (the getLog method).
 */
export class RingLog implements Logger {
  private readonly entries: (LogEntry | undefined)[];
  private next = 0;
  private count = 0;

  constructor(
    private readonly inner: Logger,
    private readonly clock: Clock,
    private readonly capacity = 100,
    private readonly minLevel: LogLevel = "info",
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("ring log capacity must be at least 1");
    this.entries = new Array<LogEntry | undefined>(capacity);
  }

  log(level: LogLevel, scope: string, message: string, fields?: LogFields): void {
    this.inner.log(level, scope, message, fields);
    if (RANK[level] < RANK[this.minLevel]) return;
    this.entries[this.next] = { at: this.clock.now(), level, scope, message, ...(fields ? { fields } : {}) };
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest `lines` entries, oldest first. */
  tail(lines: number): LogEntry[] {
    const n = Math.max(0, Math.min(lines, this.count));
    const out: LogEntry[] = [];
    for (let i = n; i > 0; i--) out.push(this.entries[(this.next - i + this.capacity) % this.capacity]!);
    return out;
  }

  /** The tail as text lines: `<ISO time> <level> [<scope>] <message> key=value`. */
  tailText(lines: number): string[] {
    return this.tail(lines).map((e) => `${new Date(e.at).toISOString()} ${e.level} [${e.scope}] ${e.message}${formatFields(e.fields)}`);
  }
}
