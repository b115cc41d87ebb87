import type { Clock, TimerId } from "../ports/clock";
import type { BootPhase } from "../boot/boot-sequence";
import type { LedColor } from "./colors";
import type { LedSink, PressFeedback } from "./kis-box";
import type { PatternSpec, PatternTarget } from "./led-patterns";

/** What a button LED shows: the cloud-set colour, or local feedback about the last press. */
export type FeedbackState = "base" | "ack" | "queued" | "delivered" | "dropped";

export interface TimedPattern {
  readonly spec: PatternSpec;
  readonly durationMs: number;
}

export interface FeedbackConfig {
  /** Shown at once on a press, for at least durationMs. */
  readonly ack: TimedPattern;
  /** While a press of this button waits for its PUBACK. */
  readonly queued: PatternSpec;
  /** The PUBACK arrived. */
  readonly delivered: TimedPattern;
  /** The event was dropped (never to be delivered). */
  readonly dropped: TimedPattern;
  /** Brightness (0..100 %) of the cloud-set colour. */
  readonly baseBrightness: number;
}

export const DEFAULT_FEEDBACK_CONFIG: FeedbackConfig = Object.freeze<FeedbackConfig>({
  ack: { spec: { pattern: "on", color: "white" }, durationMs: 150 },
  queued: { pattern: "blink", color: "blue", periodMs: 1600 },
  delivered: { spec: { pattern: "on", color: "green" }, durationMs: 1000 },
  dropped: { spec: { pattern: "blink", color: "red", periodMs: 250 }, durationMs: 2000 },
  baseBrightness: 100,
});

export function validateFeedbackConfig(config: FeedbackConfig): void {
  for (const key of ["ack", "delivered", "dropped"] as const) {
    const d = config[key].durationMs;
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`${key}.durationMs must be a whole number >= 1, got ${String(d)}`);
  }
  const b = config.baseBrightness;
  if (!(b >= 0 && b <= 100)) throw new RangeError(`baseBrightness must be 0..100, got ${String(b)}`);
}

export interface LedFeedbackOptions {
  readonly clock: Clock;
  /** Where patterns go (a LedDriver). */
  readonly target: PatternTarget;
  readonly buttonCount: number;
  /** LED index of a button (default button − 1). */
  readonly ledIndex?: (button: number) => number;
  readonly config?: Partial<FeedbackConfig>;
}

/** Presses remembered per button while waiting for their outcome; the oldest is forgotten beyond this. */
const MAX_PENDING = 32;

interface ButtonState {
  base: LedColor;
  /** The cloud-set pattern (setColor with a pattern); a plain colour when undefined. */
  baseSpec: PatternSpec | undefined;
  state: FeedbackState;
  /** Message ids of presses still waiting for PUBACK. */
  readonly pending: Set<string>;
  /** An outcome that arrived during the ack, shown when the ack ends (dropped wins over delivered). */
  outcome: "delivered" | "dropped" | undefined;
  timer: TimerId | undefined;
}

/**
 * Local feedback for KIS.BOX presses. Fed with the box's PressFeedback events (the "queued" one is the press)
 * and with the cloud-set colours (it is the box's LedSink):
 *
 *   press → ack (ackMs, even if the outcome is already known) → queued (until PUBACK or drop)
 *         → delivered (deliveredMs) or dropped (droppedMs) → queued while other presses wait, else base.
 *
 * A new press restarts the ack from any state. The cloud-set colour is the base every path returns to; a
 * setColor during feedback is shown when the feedback ends.
 */
export class LedFeedback implements LedSink {
  private config: FeedbackConfig;
  private readonly buttons: ButtonState[] = [];

  constructor(private readonly options: LedFeedbackOptions) {
    if (!Number.isInteger(options.buttonCount) || options.buttonCount < 1) throw new RangeError("buttonCount must be at least 1");
    const config = { ...DEFAULT_FEEDBACK_CONFIG, ...options.config };
    validateFeedbackConfig(config);
    this.config = config;
    for (let i = 0; i < options.buttonCount; i++) {
      this.buttons.push({ base: "off", baseSpec: undefined, state: "base", pending: new Set(), outcome: undefined, timer: undefined });
    }
  }

  /** The cloud-set colour of `button` (KisBox's LedSink). */
  show(button: number, color: LedColor): void {
    const b = this.button(button);
    b.base = color;
    b.baseSpec = undefined;
    if (b.state === "base") this.apply(button, b);
  }

  /** A cloud-set pattern (blink, breathe ...) as the base state of `button`. */
  showPattern(button: number, spec: PatternSpec): void {
    const b = this.button(button);
    b.base = typeof spec.color === "string" ? spec.color : b.base;
    b.baseSpec = spec;
    if (b.state === "base") this.apply(button, b);
  }

  base(button: number): LedColor {
    return this.button(button).base;
  }

  state(button: number): FeedbackState {
    return this.button(button).state;
  }

  /** Number of presses of `button` still waiting for their outcome. */
  pendingCount(button: number): number {
    return this.button(button).pending.size;
  }

  feedback(event: PressFeedback): void {
    const b = this.button(event.button);
    if (event.state === "queued") {
      b.pending.add(event.messageId);
      if (b.pending.size > MAX_PENDING) b.pending.delete(b.pending.values().next().value!);
      this.enter(event.button, b, "ack");
      return;
    }
    b.pending.delete(event.messageId);
    if (b.state === "ack") b.outcome = b.outcome === "dropped" ? "dropped" : event.state;
    else this.enter(event.button, b, event.state);
  }

  /** Changes patterns and durations; the current state is shown again with the new settings. */
  configure(patch: Partial<FeedbackConfig>): void {
    const next = { ...this.config, ...patch };
    validateFeedbackConfig(next);
    this.config = next;
    this.buttons.forEach((b, i) => this.enter(i + 1, b, b.state));
  }

  /** The pattern for the current state of `button`. */
  pattern(button: number): PatternSpec {
    const b = this.button(button);
    return this.specFor(b);
  }

  dispose(): void {
    for (const b of this.buttons) this.stopTimer(b);
  }

  private enter(button: number, b: ButtonState, state: FeedbackState): void {
    this.stopTimer(b);
    b.state = state;
    const timed = state === "ack" || state === "delivered" || state === "dropped" ? this.config[state] : undefined;
    if (timed) b.timer = this.options.clock.setTimeout(() => this.expired(button, b), timed.durationMs);
    this.apply(button, b);
  }

  private expired(button: number, b: ButtonState): void {
    b.timer = undefined;
    const outcome = b.state === "ack" ? b.outcome : undefined;
    b.outcome = undefined;
    if (outcome) this.enter(button, b, outcome);
    else this.enter(button, b, b.pending.size > 0 ? "queued" : "base");
  }

  private specFor(b: ButtonState): PatternSpec {
    switch (b.state) {
      case "base":
        if (b.baseSpec) return b.baseSpec;
        return b.base === "off" ? { pattern: "off", color: "off" } : { pattern: "on", color: b.base, brightness: this.config.baseBrightness };
      case "queued":
        return this.config.queued;
      default:
        return this.config[b.state].spec;
    }
  }

  private apply(button: number, b: ButtonState): void {
    this.options.target.set(this.options.ledIndex ? this.options.ledIndex(button) : button - 1, this.specFor(b));
  }

  private stopTimer(b: ButtonState): void {
    if (b.timer !== undefined) this.options.clock.clearTimeout(b.timer);
    b.timer = undefined;
  }

  private button(button: number): ButtonState {
    const b = Number.isInteger(button) ? this.buttons[button - 1] : undefined;
    if (!b) throw new RangeError(`button must be 1..${this.buttons.length}, got ${String(button)}`);
    return b;
  }
}

/** What the status LED/segment tells: the boot phases and errors. */
export type DeviceStatus = "booting" | "no-wifi" | "no-time" | "no-hub" | "updating" | "online" | "error";

export type StatusPatterns = { readonly [status in DeviceStatus]: PatternSpec };

export const DEFAULT_STATUS_PATTERNS: StatusPatterns = Object.freeze<StatusPatterns>({
  booting: { pattern: "breathe", color: "white", periodMs: 2000 },
  "no-wifi": { pattern: "blink", color: "red", periodMs: 1000 },
  "no-time": { pattern: "blink", color: "magenta", periodMs: 1000 },
  "no-hub": { pattern: "blink", color: "yellow", periodMs: 1000 },
  updating: { pattern: "breathe", color: "cyan", periodMs: 1000 },
  online: { pattern: "on", color: "green", brightness: 30 },
  error: { pattern: "blink", color: "red", periodMs: 250 },
});

/** The pattern for a status (pure). */
export function statusPattern(status: DeviceStatus, table: StatusPatterns = DEFAULT_STATUS_PATTERNS): PatternSpec {
  return table[status];
}

/** The status while the boot sequence is in `phase`: what it still waits for. */
export function statusForBootPhase(phase: BootPhase): DeviceStatus {
  switch (phase) {
    case "wifi":
      return "no-wifi";
    case "time":
      return "no-time";
    case "bootstrap":
    case "hub":
      return "no-hub";
    case "online":
      return "online";
  }
}
