/**
 * SystemTime port (src/ports/system-time.ts) for the simulator builds (lin, mac, win): a logged no-op.
 *
 * In SDK 8.2.3 `Time.set` is an empty native function on lin (modules/base/time/lin/modTime.c: xs_time_set does
 * nothing), so mcsim never changes the host clock, and `Date.now()` — which the TLS layer checks certificate
 * dates against — stays the host's time. This port therefore does not call it at all; it reports the step SNTP
 * measured against the host clock (debug), so a wrong host clock is visible in the log. The portable SyncedClock
 * still becomes valid and keeps the SNTP time for the firmware itself.
 */
import type { SystemTime } from "ports/system-time";
import type { Logger } from "ports/logger";

export class PlatformSystemTime implements SystemTime {
  private reported = false;

  constructor(private readonly logger?: Logger) {}

  set(epochMs: number): void {
    const stepMs = Math.round(epochMs - Date.now());
    try {
      if (!this.reported) {
        this.reported = true;
        this.logger?.log("info", "time", "simulator: the host clock is not set (Time.set is a no-op on this platform)", { hostOffsetMs: stepMs });
      } else this.logger?.log("debug", "time", "simulator: host clock left as it is", { hostOffsetMs: stepMs });
    } catch {
      // logging never fails the caller
    }
  }
}
