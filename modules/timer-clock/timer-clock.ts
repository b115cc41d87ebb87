/**
 * Clock port over the SDK's `timer` module (Timer.set / Timer.clear) and `time` (Time.ticks / Time.delta).
 *
 * - `now()` is `Date.now()`: wall-clock time, meaningful on a device only once it has been set (SNTP).
 * - `monotonic()` accumulates `Time.delta` between readings. On esp32 `Time.ticks` is a 32-bit millisecond
 *   counter (it wraps after 49.7 days and is an int32, so it turns negative after 24.8 days); `Time.delta` is
 *   wrap-safe for gaps below 24.8 days, and an hourly timer keeps the gaps short. On lin/mac/win `Time.ticks` is
 *   the host's wall clock, so negative steps are clamped to keep the value non-decreasing.
 * - Callbacks run from the host's timer; an exception there would abort the VM, so each callback is guarded and
 *   the exception reported to `onError`.
 */
import Timer from "timer";
import Time from "time";
import type { Clock, TimerId } from "ports/clock";

const MAX_DELAY_MS = 0x7fffffff;
const REFRESH_MS = 60 * 60 * 1000;

export class TimerClock implements Clock {
  private readonly timers = new Map<TimerId, Timer>();
  private nextId = 1;
  private lastTicks = Time.ticks;
  private elapsed = 0;
  private readonly refresh: Timer;

  constructor(private readonly onError: (error: unknown) => void = (error) => trace(`timer callback failed: ${String(error)}\n`)) {
    this.refresh = Timer.repeat(() => void this.monotonic(), REFRESH_MS);
  }

  now(): number {
    return Date.now();
  }

  monotonic(): number {
    const ticks = Time.ticks;
    const step = Time.delta(this.lastTicks, ticks);
    this.lastTicks = ticks;
    if (step > 0) this.elapsed += step;
    return this.elapsed;
  }

  setTimeout(callback: () => void, delayMs: number): TimerId {
    const id = this.nextId;
    this.nextId = id >= 0x3fffffff ? 1 : id + 1;
    const delay = Number.isFinite(delayMs) ? Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(delayMs))) : MAX_DELAY_MS;
    const timer = Timer.set(() => {
      this.timers.delete(id);
      try {
        callback();
      } catch (error) {
        this.report(error);
      }
    }, delay);
    this.timers.set(id, timer);
    return id;
  }

  clearTimeout(id: TimerId): void {
    const timer = this.timers.get(id);
    if (timer === undefined) return;
    this.timers.delete(id);
    Timer.clear(timer);
  }

  /** Cancels every pending timer and the monotonic refresh. */
  close(): void {
    for (const timer of this.timers.values()) Timer.clear(timer);
    this.timers.clear();
    Timer.clear(this.refresh);
  }

  private report(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // nothing more to do
    }
  }
}
