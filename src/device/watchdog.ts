import type { Clock, TimerId } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import type { WatchdogPort } from "../ports/watchdog";
import { Listeners, errorMessage } from "../core/listeners";

/** A monitored part of the firmware: it calls `beat()` whenever it makes progress. */
export interface Heartbeat {
  readonly name: string;
  beat(): void;
  /** Stops monitoring this part. */
  dispose(): void;
}

export interface WatchdogStatus {
  readonly running: boolean;
  /** False once a monitored part has been silent too long (the port is no longer fed). */
  readonly healthy: boolean;
  /** The parts that are overdue, by name. */
  readonly stalled: readonly string[];
  /** Feeds so far. */
  readonly feeds: number;
  /** Largest lateness of the feeding timer seen (ms): how long the loop was blocked at worst. */
  readonly maxLagMs: number;
}

export interface LoopWatchdogOptions {
  readonly clock: Clock;
  readonly port: WatchdogPort;
  readonly logger?: ScopedLogger;
  /** The platform watchdog's timeout (ms): without a feed for this long it fires. */
  readonly timeoutMs: number;
  /** How often the loop feeds (ms, default timeoutMs / 4; must be below timeoutMs). */
  readonly tickMs?: number;
}

interface Part {
  readonly name: string;
  readonly maxSilenceMs: number;
  readonly fine: (() => boolean) | undefined;
  last: number;
}

/**
 * Loop health: a Clock timer ticks every `tickMs` and feeds the platform watchdog, but only while every
 * registered part has beaten within its `maxSilenceMs`. A blocked event loop cannot tick (so the port starves
 * and the platform resets); a part that stops making progress (a wedged state machine, a task that never
 * returns) makes the watchdog stop feeding on purpose, after reporting the part once through `onStall`.
 * A part that beats again before the platform fires brings feeding back.
 */
export class LoopWatchdog {
  private readonly parts = new Set<Part>();
  private readonly tickMs: number;
  private readonly stalls: Listeners<readonly string[]>;
  private timer: TimerId | undefined;
  private running = false;
  private feeds = 0;
  private maxLagMs = 0;
  private expectedAt = 0;
  private stalled: readonly string[] = [];

  constructor(private readonly options: LoopWatchdogOptions) {
    const { timeoutMs } = options;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${String(timeoutMs)}`);
    this.tickMs = options.tickMs ?? Math.max(1, Math.floor(timeoutMs / 4));
    if (!(this.tickMs > 0 && this.tickMs < timeoutMs)) throw new RangeError(`tickMs must be > 0 and < timeoutMs (${timeoutMs}), got ${String(this.tickMs)}`);
    this.stalls = new Listeners<readonly string[]>((e) => options.logger?.error("watchdog stall listener failed", { error: errorMessage(e) }));
  }

  get status(): WatchdogStatus {
    return { running: this.running, healthy: this.stalled.length === 0, stalled: this.stalled, feeds: this.feeds, maxLagMs: this.maxLagMs };
  }

  /** Called with the overdue parts when feeding stops because of them. */
  onStall(listener: (parts: readonly string[]) => void): () => void {
    return this.stalls.add(listener);
  }

  /**
   * Monitors a part that must beat at least every `maxSilenceMs` (counted from registration). `fine`, when given,
   * is asked at every tick and counts as a beat when it answers true: a part that is legitimately quiet (e.g. the
   * boot sequence once online) need not beat. A throwing `fine` counts as false.
   */
  register(name: string, maxSilenceMs: number, fine?: () => boolean): Heartbeat {
    if (!(Number.isFinite(maxSilenceMs) && maxSilenceMs > 0)) throw new RangeError(`maxSilenceMs must be > 0, got ${String(maxSilenceMs)}`);
    const part: Part = { name, maxSilenceMs, fine, last: this.options.clock.monotonic() };
    this.parts.add(part);
    return {
      name,
      beat: () => {
        part.last = this.options.clock.monotonic();
      },
      dispose: () => {
        this.parts.delete(part);
      },
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.options.clock.monotonic();
    for (const part of this.parts) part.last = Math.max(part.last, now);
    this.options.port.start(this.options.timeoutMs);
    this.options.port.feed();
    this.feeds++;
    this.schedule();
  }

  /** Disarms the platform watchdog and stops ticking. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.options.port.stop();
  }

  private isFine(part: Part): boolean {
    try {
      return part.fine!() === true;
    } catch (error) {
      this.options.logger?.error("watchdog: health check failed", { part: part.name, error: errorMessage(error) });
      return false;
    }
  }

  private schedule(): void {
    this.expectedAt = this.options.clock.monotonic() + this.tickMs;
    this.timer = this.options.clock.setTimeout(() => this.tick(), this.tickMs);
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.options.clock.monotonic();
    this.maxLagMs = Math.max(this.maxLagMs, now - this.expectedAt);
    const overdue: string[] = [];
    for (const part of this.parts) {
      if (part.fine && this.isFine(part)) part.last = now;
      if (now - part.last > part.maxSilenceMs) overdue.push(part.name);
    }
    if (overdue.length === 0) {
      if (this.stalled.length > 0) this.options.logger?.warn("watchdog: parts recovered, feeding again");
      this.stalled = [];
      this.options.port.feed();
      this.feeds++;
    } else if (overdue.join("\n") !== this.stalled.join("\n")) {
      this.stalled = overdue;
      this.options.logger?.error("watchdog: parts stalled, no longer feeding", { parts: overdue.join(",") });
      this.stalls.emit(overdue);
    }
    this.schedule();
  }
}

/**
 * A WatchdogPort made of a Clock timer: not fed for `timeoutMs`, it calls `expire` (e.g. platform.restart). It
 * runs on the event loop it watches, so it cannot see a blocked loop — that is the platform's part (on the ESP32,
 * Moddable's runtime feeds the ESP-IDF task watchdog from its message loop, modMessageService, when
 * CONFIG_ESP_TASK_WDT_EN is set: a blocked XS task resets the chip). What it adds is the deliberate case: the
 * LoopWatchdog stops feeding because a monitored part stalled, and this restarts the device. For platforms
 * without a native watchdog port.
 */
export class ClockWatchdog implements WatchdogPort {
  private timer: TimerId | undefined;
  private timeoutMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly expire: () => void,
  ) {}

  start(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.feed();
  }

  feed(): void {
    if (this.timeoutMs <= 0) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.expire();
    }, this.timeoutMs);
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timeoutMs = 0;
  }
}
