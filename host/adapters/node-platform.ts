import { randomInt } from "node:crypto";
import type { Clock, TimerId } from "../../src/ports/clock";
import type { Random } from "../../src/ports/random";
import { formatFields, type LogFields, type LogLevel, type Logger } from "../../src/ports/logger";

/** Clock port over Node's timers. */
export class NodeClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return Date.now();
  }
  monotonic(): number {
    return performance.now();
  }
  setTimeout(callback: () => void, delayMs: number): TimerId {
    const id = this.nextId++;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        callback();
      }, delayMs),
    );
    return id;
  }
  clearTimeout(id: TimerId): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }
  /** Cancels every pending timer (used when a host device is shut down). */
  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** Random port over the OS CSPRNG. */
export class NodeRandom implements Random {
  next(): number {
    return randomInt(0, 2 ** 47) / 2 ** 47;
  }
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Line logger to a writable sink (stderr by default), filtered by level. */
export class LineLogger implements Logger {
  constructor(
    private readonly minLevel: LogLevel = "info",
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + "\n"),
  ) {}
  log(level: LogLevel, scope: string, message: string, fields?: LogFields): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    this.write(`${new Date().toISOString()} ${level.padEnd(5)} [${scope}] ${message}${formatFields(fields)}`);
  }
}
