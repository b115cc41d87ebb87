import type { Clock, TimerId } from "../ports/clock";
import type { SystemTime } from "../ports/system-time";
import { Listeners } from "../core/listeners";

export interface SyncedClockOptions {
  /** The platform clock to set as well (TLS on the device checks certificate dates against it). */
  readonly systemTime?: SystemTime;
  /** Start valid: a host run that trusts the OS clock. Default false. */
  readonly valid?: boolean;
  /** Called when a listener or SystemTime.set throws. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The device's wall clock. Until the first `set` (SNTP) it is the base clock and not valid; after it,
 * `now()` is the set time plus the base's monotonic time elapsed since. Timers are the base clock's.
 */
export class SyncedClock implements Clock {
  private anchor: { readonly epochMs: number; readonly monotonic: number } | undefined;
  private isValid: boolean;
  private readonly validListeners: Listeners<number>;

  constructor(
    private readonly base: Clock,
    private readonly options: SyncedClockOptions = {},
  ) {
    this.isValid = options.valid ?? false;
    this.validListeners = new Listeners<number>(options.onError);
  }

  /** True once the time has been set (or when constructed as valid). */
  get valid(): boolean {
    return this.isValid;
  }

  now(): number {
    const anchor = this.anchor;
    return anchor ? anchor.epochMs + (this.base.monotonic() - anchor.monotonic) : this.base.now();
  }

  monotonic(): number {
    return this.base.monotonic();
  }

  setTimeout(callback: () => void, delayMs: number): TimerId {
    return this.base.setTimeout(callback, delayMs);
  }

  clearTimeout(id: TimerId): void {
    this.base.clearTimeout(id);
  }

  /** Sets the time to `epochMs` (Unix ms, as of now), sets the system clock and makes the clock valid. */
  set(epochMs: number): void {
    this.anchor = { epochMs, monotonic: this.base.monotonic() };
    try {
      this.options.systemTime?.set(epochMs);
    } catch (error) {
      this.options.onError?.(error);
    }
    if (this.isValid) return;
    this.isValid = true;
    this.validListeners.emit(epochMs);
  }

  /** Called once, with the time set, when the clock first becomes valid (not for a clock constructed valid). */
  onValid(listener: (epochMs: number) => void): () => void {
    return this.validListeners.add(listener);
  }
}
