/**
 * SystemTime port (src/ports/system-time.ts) on esp32: sets the system clock with the SDK's `Time.set(seconds)`
 * (module "time"), i.e. settimeofday() in ESP-IDF. From then on `Date.now()` — and with it the TLS layer's check
 * of certificate dates — runs on the set time; the RTC keeps counting across light sleep (not across a reset or
 * power loss: every boot takes the time from SNTP again).
 *
 * `Time.set` takes whole seconds (tv_usec = 0), so the epoch is rounded to the nearest second (error <= 0.5 s).
 * The portable SyncedClock keeps its own millisecond anchor, so only the platform clock loses precision.
 */
import Time from "time";
import type { SystemTime } from "ports/system-time";
import type { Logger } from "ports/logger";

export class PlatformSystemTime implements SystemTime {
  constructor(private readonly logger?: Logger) {}

  set(epochMs: number): void {
    if (!Number.isFinite(epochMs) || epochMs < 0 || epochMs / 1000 > 0xffffffff) throw new RangeError(`cannot set the system clock to ${String(epochMs)}`);
    const before = Date.now();
    Time.set(Math.round(epochMs / 1000));
    try {
      this.logger?.log("debug", "time", "system clock set", { stepMs: Math.round(epochMs - before) });
    } catch {
      // logging never fails the caller
    }
  }
}
