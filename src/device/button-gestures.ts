import type { Clock, TimerId } from "../ports/clock";
import type { ButtonInput } from "../ports/gpio";
import { Listeners } from "../core/listeners";

export type Gesture = "short" | "long" | "double" | "stuck" | "recovered";

export interface GestureEvent {
  readonly button: number;
  readonly gesture: Gesture;
  /** When the gesture was decided, on the Clock.monotonic() time base (see ButtonGestures). */
  readonly atMs: number;
}

export interface GestureConfig {
  /** A level counts once it has lasted this long (ms, >= 0); shorter pulses are bounces and are ignored. */
  readonly debounceMs: number;
  /** A press held this long (ms) is a long press, reported when the hold reaches it. */
  readonly longMs: number;
  /** Whether to wait for a second press; off: a short press is reported as soon as its release is debounced. */
  readonly doublePress: boolean;
  /** The double-press window (ms), counted from the first release edge. */
  readonly doubleMs: number;
  /** A press held this long (ms) is a stuck button. */
  readonly stuckMs: number;
}

export const DEFAULT_GESTURE_CONFIG: GestureConfig = Object.freeze({
  debounceMs: 30,
  longMs: 1000,
  doublePress: true,
  doubleMs: 400,
  stuckMs: 30_000,
});

export function validateGestureConfig(config: GestureConfig): void {
  const { debounceMs, longMs, doubleMs, stuckMs, doublePress } = config;
  const whole = (value: number) => Number.isInteger(value) && value >= 0;
  if (!whole(debounceMs)) throw new RangeError(`debounceMs must be a whole number >= 0, got ${String(debounceMs)}`);
  if (!whole(longMs) || longMs <= debounceMs) throw new RangeError(`longMs must be a whole number > debounceMs, got ${String(longMs)}`);
  if (!whole(doubleMs) || doubleMs <= debounceMs) throw new RangeError(`doubleMs must be a whole number > debounceMs, got ${String(doubleMs)}`);
  if (!whole(stuckMs) || stuckMs <= longMs) throw new RangeError(`stuckMs must be a whole number > longMs, got ${String(stuckMs)}`);
  if (typeof doublePress !== "boolean") throw new RangeError("doublePress must be true or false");
}

export interface ButtonGesturesOptions {
  /** The button number reported in events. */
  readonly button: number;
  readonly clock: Clock;
  /** Pressed = low level (pull-up wiring). Default true. */
  readonly activeLow?: boolean;
  readonly config?: Partial<GestureConfig>;
  /** Called when a gesture listener throws. */
  readonly onError?: (error: unknown) => void;
}

type DeadlineKind = "commit" | "long" | "stuck" | "single";

/**
 * Gestures of one push-button, from raw edges with timestamps plus one Clock timer for the deadlines.
 * Times are ms on the Clock.monotonic() time base (adapters stamp edges with it). Rules, at the thresholds:
 *
 * - Debounce: a level counts once it has lasted `debounceMs`; the press/release then dates from its edge.
 *   An opposite edge exactly `debounceMs` after the edge does not cancel it; any earlier edge does.
 * - Long: held (debounced) for >= `longMs` → "long", decided at press + longMs while still held; a release
 *   edge exactly at press + longMs is a long press. The release of a long press reports nothing.
 * - Short: held < `longMs`. With double press off, "short" is reported when the release is debounced
 *   (release edge + debounceMs). With double press on, a second press that is debounced no later than
 *   release edge + `doubleMs` (i.e. whose edge comes <= doubleMs − debounceMs after the release edge) gives
 *   "double", decided when the second press is debounced; otherwise "short" is reported at exactly
 *   release edge + doubleMs, never later. The second press of a double reports nothing more (no long).
 * - Stuck: held for >= `stuckMs` → "stuck" once (at press + stuckMs); its release reports "recovered" (when
 *   debounced) instead of any other gesture. A button already down at attach/reset reports no gesture, but
 *   can be reported stuck.
 * - Reconfiguration applies at once: a press in progress is judged by the new thresholds; a threshold that
 *   is already passed fires at once (atMs = the time of the change); turning double press off reports a
 *   waiting short press at once. atMs is the decision time (a late timer does not shift it).
 */
export class ButtonGestures {
  private config: GestureConfig;
  private readonly activeLow: boolean;
  private readonly events: Listeners<GestureEvent>;
  /** Latest raw level as pressed/released, and when it began. */
  private raw = false;
  private rawAt: number;
  /** The debounced state, and when the current press began. */
  private stable = false;
  private pressAt: number;
  /** The current press has had its gesture (long, double) or is not to be reported. */
  private handled = false;
  private stuck = false;
  /** Release edge of a short press waiting for a second press. */
  private releaseAt: number | undefined;
  /** Time processed so far; edges are never taken as earlier. */
  private time: number;
  /** No decision is dated before this (the last reconfiguration). */
  private floor = -Infinity;
  private timer: TimerId | undefined;
  private timerAt: number | undefined;
  private detach: (() => void) | undefined;
  private disposed = false;

  constructor(private readonly options: ButtonGesturesOptions) {
    const config = { ...DEFAULT_GESTURE_CONFIG, ...options.config };
    validateGestureConfig(config);
    this.config = config;
    this.activeLow = options.activeLow ?? true;
    this.events = new Listeners<GestureEvent>(options.onError);
    this.time = this.rawAt = this.pressAt = options.clock.monotonic();
  }

  get button(): number {
    return this.options.button;
  }

  /** Debounced: the button is down. */
  get pressed(): boolean {
    return this.stable;
  }

  get isStuck(): boolean {
    return this.stuck;
  }

  get settings(): GestureConfig {
    return this.config;
  }

  onGesture(listener: (event: GestureEvent) => void): () => void {
    return this.events.add(listener);
  }

  /** Follows `input` (replacing any earlier input), starting from its current level. Returns the detach function. */
  attach(input: ButtonInput): () => void {
    this.detach?.();
    this.reset(input.read());
    const off = input.onEdge((level, atMs) => this.edge(level, atMs));
    this.detach = off;
    return () => {
      if (this.detach !== off) return;
      off();
      this.detach = undefined;
    };
  }

  /** Forgets any gesture in progress and starts from the raw `level` (a button already down gives no gesture). */
  reset(level: boolean): void {
    const now = Math.max(this.options.clock.monotonic(), this.time);
    this.raw = this.stable = this.handled = this.isActive(level);
    this.rawAt = this.pressAt = this.time = now;
    this.stuck = false;
    this.releaseAt = undefined;
    this.schedule();
  }

  /** A raw level change (`level` = electrical level) at `atMs`. Repeated levels count as movement (they restart the debounce). */
  edge(level: boolean, atMs: number): void {
    if (this.disposed) return;
    const t = Math.max(atMs, this.time);
    this.run(t); // deadlines up to the edge see the level before it
    this.raw = this.isActive(level);
    this.rawAt = t;
    this.run(t); // debounceMs 0 commits at once
    this.schedule();
  }

  /** Changes thresholds at run time (e.g. from the device twin). Throws RangeError on an invalid result and keeps the old one. */
  configure(patch: Partial<GestureConfig>): void {
    const next = { ...this.config, ...patch };
    validateGestureConfig(next);
    const now = Math.max(this.options.clock.monotonic(), this.time);
    this.run(now); // what was due under the old rules
    this.config = next;
    this.floor = now;
    if (!next.doublePress && this.releaseAt !== undefined) {
      this.releaseAt = undefined;
      this.emit("short", now);
    }
    this.run(now);
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    this.detach?.();
    this.detach = undefined;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = this.timerAt = undefined;
  }

  private isActive(level: boolean): boolean {
    return this.activeLow ? !level : level;
  }

  /** The earliest pending deadline; on a tie the first in the order commit, long, stuck, single. */
  private nextDeadline(): { kind: DeadlineKind; at: number } | undefined {
    const c = this.config;
    let kind: DeadlineKind | undefined;
    let at = Infinity;
    if (this.raw !== this.stable) {
      kind = "commit";
      at = this.rawAt + c.debounceMs;
    }
    // A hold deadline waits while a release edge is being debounced: it may turn out to be a bounce.
    if (this.stable && this.raw) {
      if (!this.handled && this.pressAt + c.longMs < at) {
        kind = "long";
        at = this.pressAt + c.longMs;
      }
      if (!this.stuck && this.pressAt + c.stuckMs < at) {
        kind = "stuck";
        at = this.pressAt + c.stuckMs;
      }
    }
    if (this.releaseAt !== undefined && this.releaseAt + c.doubleMs < at) {
      kind = "single";
      at = this.releaseAt + c.doubleMs;
    }
    return kind === undefined ? undefined : { kind, at };
  }

  /** Processes every deadline up to `until`, in time order. Each step settles one deadline, so this ends. */
  private run(until: number): void {
    for (let step = 0; step < 16 && !this.disposed; step++) {
      const next = this.nextDeadline();
      if (!next || next.at > until) break;
      this.time = Math.max(this.time, next.at);
      this.fire(next.kind, Math.max(next.at, this.floor));
    }
    this.time = Math.max(this.time, until);
  }

  private fire(kind: DeadlineKind, atMs: number): void {
    switch (kind) {
      case "commit":
        this.stable = this.raw;
        if (this.stable) this.pressCommitted(atMs);
        else this.releaseCommitted(atMs);
        return;
      case "long":
        this.handled = true;
        this.emit("long", atMs);
        return;
      case "stuck":
        this.stuck = this.handled = true;
        this.emit("stuck", atMs);
        return;
      case "single":
        this.releaseAt = undefined;
        this.emit("short", atMs);
        return;
    }
  }

  private pressCommitted(atMs: number): void {
    this.pressAt = this.rawAt;
    this.stuck = false;
    if (this.releaseAt === undefined) {
      this.handled = false;
      return;
    }
    this.releaseAt = undefined;
    this.handled = true;
    this.emit("double", atMs);
  }

  private releaseCommitted(atMs: number): void {
    const { stuck, handled } = this;
    this.stuck = this.handled = false;
    if (stuck) this.emit("recovered", atMs);
    else if (handled) return;
    else if (this.rawAt - this.pressAt >= this.config.longMs) this.emit("long", atMs); // only after longMs was lowered mid-press
    else if (this.config.doublePress) this.releaseAt = this.rawAt;
    else this.emit("short", atMs);
  }

  private emit(gesture: Gesture, atMs: number): void {
    this.events.emit({ button: this.options.button, gesture, atMs });
  }

  private schedule(): void {
    if (this.disposed) return;
    const at = this.nextDeadline()?.at;
    if (at === this.timerAt) return;
    const clock = this.options.clock;
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.timer = this.timerAt = undefined;
    if (at === undefined) return;
    this.timerAt = at;
    this.timer = clock.setTimeout(() => {
      this.timer = this.timerAt = undefined;
      this.run(clock.monotonic());
      this.schedule();
    }, Math.max(0, at - clock.monotonic()));
  }
}
