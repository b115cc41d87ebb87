import type { Clock, TimerId } from "../ports/clock";
import type { ButtonInput } from "../ports/gpio";
import type { KeyValueStore } from "../ports/storage";
import type { ScopedLogger } from "../ports/logger";
import type { PatternSpec, PatternTarget } from "./led-patterns";
import { errorMessage } from "../core/listeners";
import { SECURITY_KEYS } from "../update/security-floor";

/**
 * The KeyValueStore keys a factory reset erases: everything the owner or the cloud configured, and the state
 * derived from it.
 *
 *   config       the versioned device configuration (ConfigStore): Wi-Fi credentials, the hub assignment and
 *                the twin's writable settings as last applied — erasing it erases all three
 *   wifi, boot.assign, settings
 *                the records older firmware kept these in (ConfigStore imports and deletes them on its first
 *                open; erased too, so a device reset before that open does not import them again)
 *   boot.count   consecutive boots without the hub (BootCounter)
 *   safe.mode    the safe-mode record (SafeMode)
 *   setup.req    a pending request for setup mode (src/setup/setup-request.ts)
 *
 * Kept: the device identity, which shares the preference domain "kisme" on the device —
 * `deviceId`, `cert.len`, `cert.0`…, `key.len`, `key.0`… (modules/device-credentials) — so a reset device can
 * still authenticate to bootstrap and the hub. Also kept: the security-version floor of over-the-air updates
 * (`fw.secfloor`, `fw.secpending`: src/update/security-floor.ts), so a reset never re-opens a downgrade; the
 * trusted roots (resources), the firmware and its update state (the OTA partitions), the telemetry outbox
 * (RecordStorage, not a KeyValueStore key), `time.floor`, the last trusted time (TimeSanity): a reset must
 * not let the clock go back, and `reboot.times` (src/boot/reboot-limit.ts): a physical reset must not lift the
 * remote reboot rate limit.
 */
export const FACTORY_RESET_KEYS: readonly string[] = Object.freeze(["config", "wifi", "boot.assign", "settings", "boot.count", "safe.mode", "setup.req"]);

/** Keys that hold the device identity: never erased by a factory reset. */
export function isIdentityKey(key: string): boolean {
  // setup.pw: the setup access point's password printed on the device's label (credential-layout.ts).
  return key === "deviceId" || key === "setup.pw" || /^(cert|key)\.(len|\d+)$/.test(key);
}

/** Keys of the update security floor: never erased by a factory reset. */
export function isSecurityFloorKey(key: string): boolean {
  return SECURITY_KEYS.includes(key);
}

/**
 * Deletes `keys` (identity and security-floor keys are refused with a RangeError before anything is deleted).
 * Every key is tried; returns the keys that failed with their errors.
 */
export function eraseKeys(store: KeyValueStore, keys: readonly string[] = FACTORY_RESET_KEYS): { key: string; error: string }[] {
  for (const key of keys) if (isIdentityKey(key)) throw new RangeError(`factory reset must not erase the device identity (${key})`);
  for (const key of keys) if (isSecurityFloorKey(key)) throw new RangeError(`factory reset must not erase the update security floor (${key})`);
  const failed: { key: string; error: string }[] = [];
  for (const key of keys) {
    try {
      store.delete(key);
    } catch (error) {
      failed.push({ key, error: errorMessage(error) });
    }
  }
  return failed;
}

export type FactoryResetOutcome =
  /** The button was not held at power-up: a normal boot. */
  | "not-held"
  /** Released before `holdMs` (before `setupHoldMs` when that is set): nothing erased. */
  | "aborted"
  /** With `setupHoldMs`: released after it (solid blue) but before `holdMs`: start in setup mode, nothing erased. */
  | "setup"
  /** Held for `holdMs` (armed, solid red) and then released: erased. */
  | "erased"
  /** Armed, but the erase threw. */
  | "failed";

export interface FactoryResetOptions {
  readonly input: ButtonInput;
  readonly clock: Clock;
  /** Where the feedback shows (e.g. the KIS.BOX's button LEDs, or a KIS.LIGHT's segments). */
  readonly leds: PatternTarget;
  /** Which LEDs/segments show it (default [0]). */
  readonly ledIndices?: readonly number[];
  /** The erase: e.g. `() => { if (eraseKeys(store).length) throw ... }`, or a ConfigStore.reset() plus others. */
  readonly erase: () => void;
  /** Pressed = low level (pull-up wiring). Default true. */
  readonly activeLow?: boolean;
  /** How long the button must be held to arm (ms, default 10 s). */
  readonly holdMs?: number;
  /**
   * The setup gesture: held this long (ms, e.g. 3 s; < holdMs) the LEDs turn solid blue, and releasing before
   * `holdMs` resolves "setup". Unset: no setup gesture (releasing before `holdMs` aborts, as before).
   */
  readonly setupHoldMs?: number;
  /** A level must last this long to count (ms, default 50). */
  readonly debounceMs?: number;
  /** Armed but never released for this long (ms, default 60 s): a stuck button, nothing is erased. */
  readonly releaseTimeoutMs?: number;
  readonly logger?: ScopedLogger;
}

const HOLDING: PatternSpec = Object.freeze({ pattern: "blink", color: "white", periodMs: 200 });
const SETUP: PatternSpec = Object.freeze({ pattern: "on", color: "blue" });
const ARMED: PatternSpec = Object.freeze({ pattern: "on", color: "red" });
const OFF: PatternSpec = Object.freeze({ pattern: "off", color: "off" });
const DONE: PatternSpec = Object.freeze({ pattern: "blink", color: "red", periodMs: 1000 });

/**
 * Factory reset at power-up. `run()` looks at the button once: not pressed → "not-held" at once. Pressed → the
 * LEDs blink white fast while it is held; after `holdMs` they turn solid red (armed); releasing then erases and
 * resolves "erased" (the caller restarts the device). Releasing before `holdMs` aborts: LEDs off, "aborted".
 * Bounces shorter than `debounceMs` are ignored. Erasing on release rather than on arming means a button stuck
 * down (or held by accident for a minute) never wipes the device: after `releaseTimeoutMs` armed, it gives up
 * with "aborted". With `setupHoldMs` (the setup gesture, e.g. 3 s) the LEDs turn solid blue at that time;
 * releasing while blue resolves "setup" (nothing erased), holding on to `holdMs` turns them red as before. The
 * two are told apart by colour and by a 7 s gap, so a setup cannot end in an erase by a short slip.
 */
export class FactoryReset {
  private readonly holdMs: number;
  private readonly debounceMs: number;
  private readonly releaseTimeoutMs: number;
  private readonly activeLow: boolean;
  private readonly setupHoldMs: number | undefined;
  private state: "idle" | "holding" | "setup" | "armed" | "done" = "idle";
  private setupTimer: TimerId | undefined;
  private deadline: TimerId | undefined;
  private debounce: TimerId | undefined;
  private detach: (() => void) | undefined;
  private finish: ((outcome: FactoryResetOutcome) => void) | undefined;
  private result: Promise<FactoryResetOutcome> | undefined;

  constructor(private readonly options: FactoryResetOptions) {
    this.holdMs = options.holdMs ?? 10_000;
    this.debounceMs = options.debounceMs ?? 50;
    this.releaseTimeoutMs = options.releaseTimeoutMs ?? 60_000;
    this.activeLow = options.activeLow ?? true;
    this.setupHoldMs = options.setupHoldMs;
    const whole = (v: number) => Number.isInteger(v) && v >= 0;
    if (!whole(this.debounceMs)) throw new RangeError(`debounceMs must be a whole number >= 0, got ${String(this.debounceMs)}`);
    if (!whole(this.holdMs) || this.holdMs <= this.debounceMs) throw new RangeError(`holdMs must be a whole number > debounceMs, got ${String(this.holdMs)}`);
    const setup = this.setupHoldMs;
    if (setup !== undefined && (!whole(setup) || setup <= this.debounceMs || setup >= this.holdMs)) {
      throw new RangeError(`setupHoldMs must be a whole number > debounceMs and < holdMs, got ${String(setup)}`);
    }
    if (!whole(this.releaseTimeoutMs) || this.releaseTimeoutMs <= this.debounceMs) throw new RangeError(`releaseTimeoutMs must be a whole number > debounceMs, got ${String(this.releaseTimeoutMs)}`);
  }

  /** "idle" before run(), "holding", ("setup" with setupHoldMs,) "armed", then "done". */
  get phase(): "idle" | "holding" | "setup" | "armed" | "done" {
    return this.state;
  }

  /** Checks the button (once; later calls return the same result). */
  run(): Promise<FactoryResetOutcome> {
    this.result ??= new Promise<FactoryResetOutcome>((resolve) => {
      this.finish = resolve;
      if (!this.pressed(this.options.input.read())) return this.end("not-held");
      this.state = "holding";
      this.options.logger?.info("button held at power-up: factory reset when held", { holdMs: this.holdMs, setupHoldMs: this.setupHoldMs });
      this.show(HOLDING);
      this.detach = this.options.input.onEdge((level) => this.edge(level));
      this.deadline = this.options.clock.setTimeout(() => this.arm(), this.holdMs);
      if (this.setupHoldMs !== undefined) this.setupTimer = this.options.clock.setTimeout(() => this.setupReached(), this.setupHoldMs);
    });
    return this.result;
  }

  /** Gives up (e.g. the boot must go on): "aborted" if still undecided. */
  cancel(): void {
    if (this.state === "holding" || this.state === "setup" || this.state === "armed") {
      this.show(OFF);
      this.end("aborted");
    }
  }

  private pressed(level: boolean): boolean {
    return this.activeLow ? !level : level;
  }

  private edge(level: boolean): void {
    if (this.state !== "holding" && this.state !== "setup" && this.state !== "armed") return;
    if (this.pressed(level)) {
      // pressed again within the debounce time: it was a bounce
      if (this.debounce !== undefined) this.options.clock.clearTimeout(this.debounce);
      this.debounce = undefined;
      return;
    }
    if (this.debounce !== undefined) return;
    this.debounce = this.options.clock.setTimeout(() => {
      this.debounce = undefined;
      if (this.pressed(this.options.input.read())) return;
      this.released();
    }, this.debounceMs);
  }

  private setupReached(): void {
    this.setupTimer = undefined;
    if (this.state !== "holding") return;
    this.state = "setup";
    this.options.logger?.info("release now for setup mode; keep holding for a factory reset", { holdMs: this.holdMs });
    this.show(SETUP);
  }

  private arm(): void {
    this.deadline = undefined;
    if (this.state !== "holding" && this.state !== "setup") return;
    this.state = "armed";
    this.options.logger?.warn("factory reset armed: release the button to erase the configuration");
    this.show(ARMED);
    this.deadline = this.options.clock.setTimeout(() => {
      this.deadline = undefined;
      this.options.logger?.warn("factory reset: button not released (stuck?); nothing erased");
      this.show(OFF);
      this.end("aborted");
    }, this.releaseTimeoutMs);
  }

  private released(): void {
    if (this.state === "holding") {
      this.options.logger?.info("factory reset aborted: released early");
      this.show(OFF);
      return this.end("aborted");
    }
    if (this.state === "setup") {
      this.options.logger?.info("setup gesture: starting in setup mode");
      this.show(OFF);
      return this.end("setup");
    }
    if (this.state !== "armed") return;
    try {
      this.options.erase();
    } catch (error) {
      this.options.logger?.error("factory reset failed", { error: errorMessage(error) });
      this.show(OFF);
      return this.end("failed");
    }
    this.options.logger?.warn("factory reset: configuration and credentials erased");
    this.show(DONE);
    this.end("erased");
  }

  private show(spec: PatternSpec): void {
    for (const index of this.options.ledIndices ?? [0]) {
      try {
        this.options.leds.set(index, spec);
      } catch (error) {
        this.options.logger?.warn("factory reset feedback failed", { error: errorMessage(error) });
      }
    }
  }

  private end(outcome: FactoryResetOutcome): void {
    this.state = "done";
    this.detach?.();
    this.detach = undefined;
    const clock = this.options.clock;
    if (this.deadline !== undefined) clock.clearTimeout(this.deadline);
    if (this.debounce !== undefined) clock.clearTimeout(this.debounce);
    if (this.setupTimer !== undefined) clock.clearTimeout(this.setupTimer);
    this.deadline = this.debounce = this.setupTimer = undefined;
    this.finish?.(outcome);
    this.finish = undefined;
  }
}
