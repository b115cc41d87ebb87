import type { Clock, TimerId } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import type { PatternSpec } from "../device/led-patterns";
import { Listeners, errorMessage } from "../core/listeners";

/** Why setup mode was entered. */
export type SetupReason =
  /** No Wi-Fi credentials are stored (a new device, or one after a factory reset). */
  | "no-credentials"
  /** The stored network has not been joined for `notJoinedMs` (the station keeps retrying meanwhile). */
  | "not-joined"
  /** The first button was held at power-up for the setup time (3 s), not the factory-reset time. */
  | "gesture";

/** Why it ended. */
export type SetupEnd =
  /** Credentials were saved and the device joined that network. */
  | "joined"
  /** No client for `idleTimeoutMs` while a stored network exists to go back to. */
  | "timeout";

export type SetupModeEvent =
  | { readonly type: "entered"; readonly reason: SetupReason }
  | { readonly type: "ended"; readonly end: SetupEnd; readonly reason: SetupReason };

export interface SetupModeOptions {
  readonly clock: Clock;
  /** The stored network not joined for this long enters setup mode (ms, default 10 min). */
  readonly notJoinedMs?: number;
  /** Setup mode without a client request for this long ends it (ms, default 15 min). */
  readonly idleTimeoutMs?: number;
  readonly logger?: ScopedLogger;
}

/** What the status LED shows while setup mode is on: blue breathing (nothing else uses blue breathing). */
export const SETUP_MODE_LED: PatternSpec = Object.freeze({ pattern: "breathe", color: "blue", periodMs: 3000 });

export const DEFAULT_NOT_JOINED_MS = 10 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;

/**
 * When the device offers its setup access point. Enter: no stored credentials, the power-up gesture, or the stored
 * network not joined for `notJoinedMs` (measured from boot or from the last loss of the link). End: credentials
 * saved and joined (`completed()`), or `idleTimeoutMs` without a client — but only when a stored network exists
 * to go back to; a device with no credentials has no normal operation to return to and stays in setup mode.
 * The state machine decides only; the AP, DNS and HTTP listener follow its events.
 */
export class SetupMode {
  private readonly notJoinedMs: number;
  private readonly idleTimeoutMs: number;
  private readonly listeners: Listeners<SetupModeEvent>;
  private current: SetupReason | undefined;
  private hasCredentials = false;
  private joined = false;
  private started = false;
  private notJoinedTimer: TimerId | undefined;
  private idleTimer: TimerId | undefined;

  constructor(private readonly options: SetupModeOptions) {
    this.notJoinedMs = options.notJoinedMs ?? DEFAULT_NOT_JOINED_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    for (const [name, v] of [["notJoinedMs", this.notJoinedMs], ["idleTimeoutMs", this.idleTimeoutMs]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number of ms >= 1, got ${String(v)}`);
    }
    this.listeners = new Listeners<SetupModeEvent>((e) => options.logger?.error("setup mode listener failed", { error: errorMessage(e) }));
  }

  /** The reason setup mode is on, or undefined when it is off. */
  get active(): SetupReason | undefined {
    return this.current;
  }

  onChange(listener: (event: SetupModeEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * At boot: whether credentials are stored, whether the setup gesture was made, and whether the previous run asked
   * for setup mode because its stored network was not joined (src/setup/setup-request.ts).
   */
  start(boot: { readonly hasCredentials: boolean; readonly gesture: boolean; readonly request?: "not-joined" }): void {
    if (this.started) return;
    this.started = true;
    this.hasCredentials = boot.hasCredentials;
    if (!boot.hasCredentials) return this.enter("no-credentials");
    if (boot.gesture) return this.enter("gesture");
    if (boot.request === "not-joined") return this.enter("not-joined");
    this.armNotJoined();
  }

  /** The station has an IP address on the stored network. */
  stationJoined(): void {
    this.joined = true;
    this.clear("notJoined");
    // The stored network came back while setup mode waited for it: nothing left to set up.
    if (this.current === "not-joined") this.end("joined");
  }

  /** The station lost (or never got) its link: the not-joined time runs from now unless it already runs. */
  stationLost(): void {
    this.joined = false;
    if (this.current === undefined && this.started && this.hasCredentials) this.armNotJoined();
  }

  /** A client used the setup page or API: the idle timeout starts again. */
  clientSeen(): void {
    if (this.current !== undefined) this.armIdle();
  }

  /** Credentials were saved and joined: setup mode ends ("joined"). */
  completed(): void {
    this.hasCredentials = true;
    this.joined = true;
    if (this.current !== undefined) this.end("joined");
  }

  /** Stops all timers (the device is shutting down); no event. */
  stop(): void {
    this.clear("notJoined");
    this.clear("idle");
    this.started = false;
  }

  private enter(reason: SetupReason): void {
    if (this.current !== undefined) return;
    this.clear("notJoined");
    this.current = reason;
    this.options.logger?.warn("setup mode on", { reason });
    this.armIdle();
    this.listeners.emit({ type: "entered", reason });
  }

  private end(end: SetupEnd): void {
    const reason = this.current;
    if (reason === undefined) return;
    this.current = undefined;
    this.clear("idle");
    this.options.logger?.info("setup mode off", { end, reason });
    this.listeners.emit({ type: "ended", end, reason });
    if (!this.joined) this.armNotJoined();
  }

  private armNotJoined(): void {
    if (this.notJoinedTimer !== undefined || this.joined) return;
    this.notJoinedTimer = this.options.clock.setTimeout(() => {
      this.notJoinedTimer = undefined;
      if (!this.joined) this.enter("not-joined");
    }, this.notJoinedMs);
  }

  private armIdle(): void {
    this.clear("idle");
    this.idleTimer = this.options.clock.setTimeout(() => {
      this.idleTimer = undefined;
      // Nothing to go back to without credentials: stay reachable for setup.
      if (this.hasCredentials) this.end("timeout");
    }, this.idleTimeoutMs);
  }

  private clear(which: "notJoined" | "idle"): void {
    const id = which === "notJoined" ? this.notJoinedTimer : this.idleTimer;
    if (id !== undefined) this.options.clock.clearTimeout(id);
    if (which === "notJoined") this.notJoinedTimer = undefined;
    else this.idleTimer = undefined;
  }
}
