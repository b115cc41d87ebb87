import type { KeyValueStore } from "../ports/storage";
import { errorMessage } from "../core/listeners";
import { toJson } from "../core/json";

/** The times of the last commanded reboots, `{"v":1,"at":[<Unix ms>, ...]}` (NVS key: at most 15 characters). */
export const REBOOT_TIMES_KEY = "reboot.times";

/** A time stamp further ahead of the clock than this is not a clock set back but an unusable record entry. */
const MAX_AHEAD_MS = 24 * 3_600_000;

export interface RebootLimitOptions {
  readonly store: KeyValueStore;
  /** The wall clock (SyncedClock): `now()` counts only while `valid`. */
  readonly clock: { now(): number; readonly valid: boolean };
  /** Reboots allowed within `windowMs` (default 3). */
  readonly max?: number;
  /** The sliding window (ms, default one hour). */
  readonly windowMs?: number;
  readonly onProblem?: (message: string) => void;
}

export type RebootDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** `rate-limited` (max reboots within the window) or `clock-not-set` (the window cannot be judged). */
      readonly reason: "rate-limited" | "clock-not-set";
      readonly message: string;
      /** Unix ms from which a reboot is allowed again (rate-limited only). */
      readonly nextAllowedAt?: number;
    };

/**
 * At most `max` commanded reboots within a sliding `windowMs`, across the reboots themselves: the time of every
 * accepted reboot is stored (wall clock, after SNTP) before the restart, and only then — a refused request writes
 * nothing, so refusals cost no flash; the record holds at most `max` time stamps. Conservative where it cannot
 * judge: while the clock is not valid no reboot is allowed (a command can only arrive over the hub's TLS
 * connection, which needs a valid clock, so this does not happen in practice); a time stamp ahead of the clock
 * (the clock was set back) counts as recent. An unreadable record counts as no reboots and is reported.
 */
export class RebootLimiter {
  readonly max: number;
  readonly windowMs: number;

  constructor(private readonly options: RebootLimitOptions) {
    this.max = options.max ?? 3;
    this.windowMs = options.windowMs ?? 3_600_000;
    if (!(Number.isInteger(this.max) && this.max >= 1)) throw new RangeError(`max must be a whole number >= 1, got ${String(this.max)}`);
    if (!(Number.isFinite(this.windowMs) && this.windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${String(this.windowMs)}`);
  }

  /** Whether a reboot is allowed now; writes nothing. */
  check(): RebootDecision {
    return this.decide().decision;
  }

  /** Checks and, when allowed, stores this reboot's time (before the restart it permits). */
  acquire(): RebootDecision {
    const { decision, recent, now } = this.decide();
    if (!decision.allowed) return decision;
    try {
      this.options.store.set(REBOOT_TIMES_KEY, toJson({ v: 1, at: [...recent, now].slice(-this.max) }));
    } catch (error) {
      this.problem(`reboot time not stored: ${errorMessage(error)}`);
    }
    return decision;
  }

  private decide(): { decision: RebootDecision; recent: number[]; now: number } {
    const now = this.options.clock.now();
    if (!this.options.clock.valid) {
      return { decision: { allowed: false, reason: "clock-not-set", message: "reboot refused: the clock is not set, so the reboot rate limit cannot be checked" }, recent: [], now };
    }
    const recent = this.recent(now);
    if (recent.length < this.max) return { decision: { allowed: true }, recent, now };
    // The oldest of the last `max` reboots leaves the window first.
    const nextAllowedAt = recent[recent.length - this.max]! + this.windowMs;
    const per = this.windowMs === 3_600_000 ? "per hour" : `per ${Math.round(this.windowMs / 1000)} s`;
    const message = `reboot refused: at most ${this.max} reboots ${per}; the next is allowed at ${new Date(nextAllowedAt).toISOString()}`;
    return { decision: { allowed: false, reason: "rate-limited", message, nextAllowedAt }, recent, now };
  }

  /** The stored time stamps still inside the window at `now`, oldest first. */
  private recent(now: number): number[] {
    let raw: string | undefined;
    try {
      raw = this.options.store.get(REBOOT_TIMES_KEY);
    } catch (error) {
      this.problem(`reboot times unreadable: ${errorMessage(error)}`);
      return [];
    }
    if (raw === undefined) return [];
    let at: unknown;
    try {
      const record = JSON.parse(raw) as { v?: unknown; at?: unknown };
      if (record.v !== 1) throw new Error("unknown record format");
      at = record.at;
    } catch (error) {
      this.problem(`reboot times record unusable (${errorMessage(error)})`);
      return [];
    }
    if (!Array.isArray(at)) return [];
    return at
      .filter((t): t is number => typeof t === "number" && Number.isFinite(t) && t > now - this.windowMs && t <= now + MAX_AHEAD_MS)
      .sort((a, b) => a - b);
  }

  private problem(message: string): void {
    try {
      this.options.onProblem?.(message);
    } catch {
      // a reporting hook must not break the command
    }
  }
}
