import type { Clock } from "../ports/clock";
import type { LogFields, LogLevel, Logger } from "../ports/logger";
import { formatFields } from "../ports/logger";
import { truncateText } from "./bytes";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A kept line longer than this is cut (ending in "…"): getLog sends at most 512 characters of a line anyway. */
export const RING_LOG_MAX_LINE_CHARS = 512;

/**
 * A bounded, in-memory log of recent events and errors for diagnostics. It forwards everything to the
 * platform logger and keeps the last `capacity` entries at or above `minLevel`. Nothing of it leaves the
 * device except its tail, on request (the getLog method).
 *
 * An entry is kept as the text line getLog sends, made when it is logged: one string per entry. Kept as an object
 * with its fields, an entry cost the ESP32 about ten XS slots more, and a full ring of 100 about 16 KB of a 154 KB
 * heap (B6's press burst).
 */
export class RingLog implements Logger {
  private readonly lines: (string | undefined)[];
  private next = 0;
  private count = 0;

  constructor(
    private readonly inner: Logger,
    private readonly clock: Clock,
    private readonly capacity = 100,
    private readonly minLevel: LogLevel = "info",
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("ring log capacity must be at least 1");
    this.lines = new Array<string | undefined>(capacity);
  }

  log(level: LogLevel, scope: string, message: string, fields?: LogFields): void {
    this.inner.log(level, scope, message, fields);
    if (RANK[level] < RANK[this.minLevel]) return;
    this.lines[this.next] = truncateText(`${new Date(this.clock.now()).toISOString()} ${level} [${scope}] ${message}${formatFields(fields)}`, RING_LOG_MAX_LINE_CHARS);
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest `lines` entries, oldest first, as text: `<ISO time> <level> [<scope>] <message> key=value`. */
  tailText(lines: number): string[] {
    const n = Math.max(0, Math.min(lines, this.count));
    const out: string[] = [];
    for (let i = n; i > 0; i--) out.push(this.lines[(this.next - i + this.capacity) % this.capacity]!);
    return out;
  }
}
