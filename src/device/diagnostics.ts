import type { Clock, TimerId } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import type { JsonObject } from "../azure/twin";
import type { TimeSanityReport } from "../time/time-sanity";
import { errorMessage } from "../core/listeners";
import { toJson } from "../core/json";

/** The diagnostics reported property: status and metadata only, no credentials, no payloads. */
export interface Diagnostics {
  readonly firmware: string;
  readonly profile: string;
  readonly wifi: { readonly rssi: number | null; readonly channel: number | null; readonly ip: string | null };
  readonly uptimeS: number;
  readonly resetReason: string;
  readonly freeHeap: number | null;
  readonly outboxDepth: number;
  /** Events the outbox had to drop since start (full while offline for long). */
  readonly eventsDropped: number;
  readonly bootPhase: string;
  readonly lastError: { readonly phase: string; readonly message: string; readonly at: string } | null;
  readonly safeMode?: { readonly active: boolean; readonly failedBoots: number; readonly reason: string | null };
  /** The clock's floor, and the SNTP times refused since start (below the floor, or a step not confirmed). */
  readonly time?: TimeSanityReport;
}

export interface DiagnosticsOptions {
  readonly twin: { report(patch: JsonObject): Promise<number> };
  readonly clock: Clock;
  readonly logger: ScopedLogger;
  readonly collect: () => Diagnostics;
  /** At most one PATCH per this interval; changes in between are merged into the next one. */
  readonly minIntervalMs: number;
  /** Whether the hub link is up: nothing is reported (or queued with stale values) while it is not. */
  readonly online: () => boolean;
  /** After a (re)connect, wait this long for the rest of the device to settle before reporting (default 1 s). */
  readonly settleMs?: number;
}

/** Keys whose change alone is not worth a PATCH (they change all the time). */
const NOISY = new Set(["uptimeS", "freeHeap"]);

/**
 * Reports diagnostics on connect and when something changes, throttled: a burst of changes becomes one
 * PATCH per interval, carrying the latest values.
 */
export class DiagnosticsReporter {
  private last: string | undefined;
  private lastSentAt = -Infinity;
  private timer: TimerId | undefined;

  constructor(private readonly options: DiagnosticsOptions) {}

  /**
   * After every (re)connect: report soon, whatever the throttle says (the hub may hold values from before an
   * outage), once the boot phase and link state have settled.
   */
  connected(): void {
    this.last = undefined;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.options.settleMs ?? 1000);
  }

  /** Something may have changed: report it when the throttle allows (and only while online). */
  changed(): void {
    if (this.timer !== undefined || !this.options.online()) return;
    const wait = this.lastSentAt + this.options.minIntervalMs - this.options.clock.monotonic();
    if (wait <= 0) this.flush();
    else
      this.timer = this.options.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
  }

  private flush(): void {
    if (!this.options.online()) return; // connected() reports everything when the link is back
    let current: Diagnostics;
    try {
      current = this.options.collect();
    } catch (error) {
      this.options.logger.error("collecting diagnostics failed", { error: errorMessage(error) });
      return;
    }
    const fingerprint = toJson(current, (key, value: unknown) => (NOISY.has(key) ? undefined : value));
    if (fingerprint === this.last) return;
    this.last = fingerprint;
    this.lastSentAt = this.options.clock.monotonic();
    this.options.twin.report({ diagnostics: current as unknown as JsonObject }).catch((error: unknown) => {
      this.last = undefined; // send again next time
      this.options.logger.debug("diagnostics not reported", { error: errorMessage(error) });
    });
  }
}
