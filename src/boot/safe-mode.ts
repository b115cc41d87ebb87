import type { Clock, TimerId } from "../ports/clock";
import type { KeyValueStore } from "../ports/storage";
import type { ScopedLogger } from "../ports/logger";
import { Listeners, errorMessage } from "../core/listeners";
import { BootCounter } from "./boot-counter";
import { toJson } from "../core/json";

export const SAFE_MODE_KEY = "safe.mode";

export interface SafeModeStatus {
  /** In safe mode: only connectivity, the twin and updates run; product behaviour is off. */
  readonly active: boolean;
  /** Consecutive boots that have not reached the hub, this one included (0 once reached). */
  readonly failedBoots: number;
  /** Why safe mode was entered (while active). */
  readonly reason: string | undefined;
  /** The hub has been reached since this boot, and safe mode ends at this Clock.monotonic() time (while active). */
  readonly leavesAtMs: number | undefined;
}

export interface SafeModeOptions {
  readonly store: KeyValueStore;
  readonly clock: Clock;
  readonly logger?: ScopedLogger;
  /** Consecutive boots that never reached the hub before the next boot enters safe mode (default 5). */
  readonly threshold?: number;
  /** How long the hub must stay connected before safe mode ends (ms, default 10 minutes). */
  readonly stableMs?: number;
}

/** What SafeMode follows: the hub link (HubClient). */
export interface HubLink {
  onStatus(listener: (status: { readonly state: string }) => void): () => void;
}

/**
 * Safe mode against boot loops. At start, `begin()` counts the boot (BootCounter); when `threshold` boots in a row
 * never reached the hub, this boot enters safe mode, persisted (`{"v":1,"reason":"..."}` under "safe.mode") so a
 * restart stays in it. The firmware assembly reads `active` once, at assembly, and then runs only connectivity,
 * the twin and updates. Reaching the hub resets the boot count; staying connected for `stableMs` leaves safe mode
 * (the record is removed and `onChange` fires: the assembly restarts the device into normal operation). A lost
 * connection restarts the `stableMs` wait at the next connect.
 */
export class SafeMode {
  private readonly counter: BootCounter;
  private readonly listeners: Listeners<SafeModeStatus>;
  private readonly threshold: number;
  private readonly stableMs: number;
  private isActive = false;
  private reason: string | undefined;
  private timer: TimerId | undefined;
  private leavesAt: number | undefined;
  private begun = false;

  constructor(private readonly options: SafeModeOptions) {
    this.threshold = options.threshold ?? 5;
    this.stableMs = options.stableMs ?? 10 * 60_000;
    if (!(Number.isInteger(this.threshold) && this.threshold >= 1)) throw new RangeError(`threshold must be a whole number >= 1, got ${String(this.threshold)}`);
    if (!(Number.isFinite(this.stableMs) && this.stableMs >= 0)) throw new RangeError(`stableMs must be >= 0, got ${String(this.stableMs)}`);
    // Counted up to threshold + 1 (safe mode, decided and stored): a boot loop stops writing the count.
    this.counter = new BootCounter(options.store, (m) => options.logger?.warn(m), undefined, this.threshold + 1);
    this.listeners = new Listeners<SafeModeStatus>((e) => options.logger?.error("safe-mode listener failed", { error: errorMessage(e) }));
  }

  get active(): boolean {
    return this.isActive;
  }

  get status(): SafeModeStatus {
    return { active: this.isActive, failedBoots: this.counter.count, reason: this.reason, leavesAtMs: this.leavesAt };
  }

  onChange(listener: (status: SafeModeStatus) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Counts this boot and decides; call once at start, before the firmware is assembled. Returns `active`. */
  begin(): boolean {
    if (this.begun) return this.isActive;
    this.begun = true;
    const boots = this.counter.begin();
    const stored = this.readRecord();
    if (stored !== undefined) {
      this.isActive = true;
      this.reason = stored;
    } else if (boots - 1 >= this.threshold) {
      this.isActive = true;
      this.reason = `${boots - 1} boots in a row did not reach the hub`;
      this.writeRecord(this.reason);
    }
    if (this.isActive) this.options.logger?.warn("safe mode: product behaviour off until the hub has been reached and stayed up", { reason: this.reason, boots });
    return this.isActive;
  }

  /** The hub is connected: the boot counts as good; in safe mode the stable wait starts. */
  hubReached(): void {
    this.counter.reset();
    if (!this.isActive || this.timer !== undefined) return;
    this.leavesAt = this.options.clock.monotonic() + this.stableMs;
    this.timer = this.options.clock.setTimeout(() => this.leave(), this.stableMs);
    this.listeners.emit(this.status);
  }

  /** The hub connection is gone: the stable wait starts again at the next connect. */
  hubLost(): void {
    if (this.timer === undefined) return;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.leavesAt = undefined;
    this.listeners.emit(this.status);
  }

  /** Follows a hub link: connected → hubReached(), any other state → hubLost(). Returns the unsubscribe function. */
  follow(hub: HubLink): () => void {
    return hub.onStatus((s) => (s.state === "connected" ? this.hubReached() : this.hubLost()));
  }

  dispose(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private leave(): void {
    this.timer = undefined;
    this.leavesAt = undefined;
    this.isActive = false;
    this.reason = undefined;
    try {
      this.options.store.delete(SAFE_MODE_KEY);
    } catch (error) {
      this.options.logger?.warn("safe-mode record not cleared", { error: errorMessage(error) });
    }
    this.options.logger?.info("safe mode left: the hub stayed connected");
    this.listeners.emit(this.status);
  }

  private readRecord(): string | undefined {
    try {
      const raw = this.options.store.get(SAFE_MODE_KEY);
      if (raw === undefined) return undefined;
      const record = JSON.parse(raw) as { v?: unknown; reason?: unknown };
      return typeof record.reason === "string" ? record.reason : "safe mode (stored)";
    } catch {
      return "safe mode (stored record unreadable)"; // stay on the safe side
    }
  }

  private writeRecord(reason: string): void {
    try {
      this.options.store.set(SAFE_MODE_KEY, toJson({ v: 1, reason: reason.slice(0, 200) }));
    } catch (error) {
      this.options.logger?.warn("safe-mode record not stored", { error: errorMessage(error) });
    }
  }
}
