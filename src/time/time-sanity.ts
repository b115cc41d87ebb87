import type { KeyValueStore } from "../ports/storage";
import type { ScopedLogger } from "../ports/logger";
import { Listeners, errorMessage } from "../core/listeners";

/**
 * What an unauthenticated time (SNTP) must pass before the device uses it. SNTP replies carry no signature, so
 * a server, or anyone on the path to it, can offer any time; setting the clock back far enough would make
 * expired certificates valid again. The rules:
 *
 *  1. **Floor.** A time below the floor is refused, always. The floor is the larger of the floor compiled into
 *     the firmware (its build time) and the last trusted time kept in storage (key `time.floor`).
 *  2. **Steps need two servers.** A time more than `maxStepMs` (a day) away from the reference needs a second,
 *     different server (another name, answering from another address) agreeing within `agreementMs` (5 s).
 *     Within a day of the reference one server is enough. The reference is the anchor — the time applied by the
 *     first synchronisation of this boot or by the last step two servers confirmed, run on by the monotonic
 *     clock — so single-server corrections cannot add up: a server that shifts the time by 23 hours each hour
 *     gets no further than one day from the anchor. Before the first synchronisation after a boot the reference
 *     is the floor (the stored time is a lower bound, not a clock: the device may have been off for months, and
 *     then two servers must agree on how far ahead it is); a clock valid from the start (a host trusting its
 *     own) is its own reference until the first synchronisation.
 *  3. **The floor rises rarely, and only with authenticated time.** `trusted()` is called when the device has
 *     reached the hub over TLS (the hub's certificate was valid at the device's clock): the time is then stored
 *     when none is stored yet, and after that at most once per `persistEveryMs` (a day). A forged time that never
 *     gets through a TLS handshake never raises the floor. A factory reset keeps the key: a reset must not let the
 *     clock go back.
 *
 * Every refusal is logged (warn, with the offered time and the reason) and counted; `report()` is the
 * `time` member of the diagnostics.
 */

export const DAY_MS = 86_400_000;

/** The floor when a build sets none (host runs, tests): no build of this source is older. */
export const SOURCE_TIME_FLOOR_MS = Date.UTC(2026, 0, 1);

/** The KeyValueStore key of the last trusted time (an ISO 8601 string). */
export const TIME_FLOOR_KEY = "time.floor";

export type TimeRefusalReason =
  /** Below the floor (the build time, or the last trusted time stored). */
  | "below-floor"
  /** A step of more than a day and no second server answered. */
  | "unconfirmed"
  /** A step of more than a day and the second server's time differs by more than the agreement. */
  | "disagree";

export interface TimeRefusal {
  readonly reason: TimeRefusalReason;
  /** The time offered (Unix ms, as of the decision). */
  readonly offeredMs: number;
  readonly server: string;
  /** For "disagree": the second server and its time. */
  readonly otherServer?: string;
  readonly otherMs?: number;
}

export type TimeVerdict =
  | { readonly kind: "accept" }
  | { readonly kind: "refuse"; readonly reason: "below-floor" }
  /** More than a step away from the reference ("clock": the anchor or the valid clock; "floor": no valid clock yet). */
  | { readonly kind: "confirm"; readonly stepMs: number; readonly reference: "clock" | "floor" };

/** The `time` member of the diagnostics reported property. */
export interface TimeSanityReport {
  readonly floor: string;
  readonly refused: number;
  readonly lastRefusal: { readonly reason: TimeRefusalReason; readonly server: string; readonly offered: string } | null;
}

/** A time the sanity rules refused; the SNTP round fails with it (and is retried with backoff). */
export class TimeRefusedError extends Error {
  override readonly name = "TimeRefusedError";
  constructor(
    readonly refusal: TimeRefusal,
    message: string,
  ) {
    super(message);
  }
}

export interface TimeSanityOptions {
  /** The floor compiled into the firmware (Unix ms): its build time. */
  readonly buildFloorMs: number;
  /** Where the last trusted time is kept; none: the build floor only. */
  readonly store?: KeyValueStore;
  readonly logger: ScopedLogger;
  /** Largest step one server may make (default 1 day). */
  readonly maxStepMs?: number;
  /** How close two servers must be to confirm a larger step (default 5 s). */
  readonly agreementMs?: number;
  /** How often at most the trusted time is stored (default 1 day). */
  readonly persistEveryMs?: number;
}

/** ISO 8601 for a time, or the number itself when it is no valid date (a corrupt or absurd value). */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

export class TimeSanity {
  readonly maxStepMs: number;
  readonly agreementMs: number;
  private readonly persistEveryMs: number;
  private storedMs: number | undefined;
  private refusedCount = 0;
  private last: TimeRefusal | undefined;
  private readonly refusalListeners: Listeners<TimeRefusal>;
  /** The time last applied by a first or a confirmed synchronisation, and the monotonic time it was applied at. */
  private anchor: { readonly epochMs: number; readonly monotonic: number } | undefined;

  constructor(private readonly options: TimeSanityOptions) {
    this.maxStepMs = options.maxStepMs ?? DAY_MS;
    this.agreementMs = options.agreementMs ?? 5000;
    this.persistEveryMs = options.persistEveryMs ?? DAY_MS;
    if (!Number.isFinite(options.buildFloorMs)) throw new RangeError("TimeSanity: buildFloorMs must be a finite time");
    if (!(this.maxStepMs > 0) || !(this.agreementMs >= 0) || !(this.persistEveryMs > 0)) {
      throw new RangeError("TimeSanity: maxStepMs and persistEveryMs must be > 0, agreementMs >= 0");
    }
    this.refusalListeners = new Listeners<TimeRefusal>((e) => options.logger.error("refusal listener failed", { error: errorMessage(e) }));
    this.storedMs = this.load();
  }

  /** No time below this is ever accepted: max(build floor, last trusted time stored). */
  get floorMs(): number {
    return Math.max(this.options.buildFloorMs, this.storedMs ?? -Infinity);
  }

  /** The last trusted time stored, if any. */
  get storedFloorMs(): number | undefined {
    return this.storedMs;
  }

  get refused(): number {
    return this.refusedCount;
  }

  get lastRefusal(): TimeRefusal | undefined {
    return this.last;
  }

  /** The anchor run on to `monotonic`: the reference for steps; undefined before the first synchronisation. */
  referenceAt(monotonic: number): number | undefined {
    const anchor = this.anchor;
    return anchor ? anchor.epochMs + (monotonic - anchor.monotonic) : undefined;
  }

  /**
   * A time was applied at `monotonic`: the first of this boot, or one `confirmed` by two servers, becomes the
   * anchor; a single-server correction within the step does not move it.
   */
  applied(epochMs: number, monotonic: number, confirmed: boolean): void {
    if (confirmed || this.anchor === undefined) this.anchor = { epochMs, monotonic };
  }

  /**
   * What to do with `offeredMs`, given the reference (`currentMs`: the anchor run on, else the valid clock;
   * undefined while there is neither).
   */
  judge(offeredMs: number, currentMs: number | undefined): TimeVerdict {
    if (!(offeredMs >= this.floorMs)) return { kind: "refuse", reason: "below-floor" }; // NaN too
    const reference = currentMs ?? this.floorMs;
    const stepMs = offeredMs - reference;
    if (Math.abs(stepMs) > this.maxStepMs) return { kind: "confirm", stepMs, reference: currentMs === undefined ? "floor" : "clock" };
    return { kind: "accept" };
  }

  /** Whether two servers' times (as of the same moment) agree. */
  agree(aMs: number, bMs: number): boolean {
    return Math.abs(aMs - bMs) <= this.agreementMs;
  }

  /** Counts and logs a refusal; returns the error the SNTP round fails with. */
  refuse(refusal: TimeRefusal): TimeRefusedError {
    this.refusedCount++;
    this.last = refusal;
    const floor = this.floorMs;
    const step = `a step of more than ${Math.round(this.maxStepMs / 60_000) / 60} h needs a second server`;
    const detail =
      refusal.reason === "below-floor"
        ? `below the floor ${isoTime(floor)}`
        : refusal.reason === "unconfirmed"
          ? `${step}, and none answered`
          : `${step}, and ${refusal.otherServer ?? "?"} said ${isoTime(refusal.otherMs ?? NaN)}`;
    const message = `time refused (${refusal.reason}): ${refusal.server} offered ${isoTime(refusal.offeredMs)}, ${detail}`;
    this.options.logger.warn("time refused", {
      reason: refusal.reason,
      server: refusal.server,
      offered: isoTime(refusal.offeredMs),
      floor: isoTime(floor),
      other: refusal.otherServer,
      otherTime: refusal.otherMs === undefined ? undefined : isoTime(refusal.otherMs),
      refused: this.refusedCount,
    });
    this.refusalListeners.emit(refusal);
    return new TimeRefusedError(refusal, message);
  }

  onRefusal(listener: (refusal: TimeRefusal) => void): () => void {
    return this.refusalListeners.add(listener);
  }

  /**
   * The clock has been shown right by an authenticated exchange (the hub's TLS handshake accepted its certificate
   * at this time): store it as the new floor when none is stored, or the stored one is at least persistEveryMs
   * old. Never lowers the stored floor. Returns whether it wrote.
   */
  trusted(nowMs: number): boolean {
    if (!Number.isFinite(nowMs) || nowMs < this.options.buildFloorMs) return false;
    const stored = this.storedMs;
    if (stored !== undefined && nowMs - stored < this.persistEveryMs) return false;
    const store = this.options.store;
    if (!store) {
      this.storedMs = nowMs;
      return false;
    }
    try {
      store.set(TIME_FLOOR_KEY, isoTime(nowMs));
      this.storedMs = nowMs;
      this.options.logger.info("time floor stored", { floor: isoTime(nowMs) });
      return true;
    } catch (error) {
      this.options.logger.error("storing the time floor failed", { error: errorMessage(error) });
      return false;
    }
  }

  report(): TimeSanityReport {
    const last = this.last;
    return {
      floor: isoTime(this.floorMs),
      refused: this.refusedCount,
      lastRefusal: last ? { reason: last.reason, server: last.server, offered: isoTime(last.offeredMs) } : null,
    };
  }

  private load(): number | undefined {
    const store = this.options.store;
    if (!store) return undefined;
    let raw: string | undefined;
    try {
      raw = store.get(TIME_FLOOR_KEY);
    } catch (error) {
      this.options.logger.error("reading the time floor failed", { error: errorMessage(error) });
      return undefined;
    }
    if (raw === undefined) return undefined;
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) {
      this.options.logger.warn("stored time floor unreadable; using the build floor", { value: raw.slice(0, 40) });
      return undefined;
    }
    return ms;
  }
}
