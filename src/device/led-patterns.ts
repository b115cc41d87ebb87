import type { Clock, TimerId } from "../ports/clock";
import type { PixelStrip, RgbLed } from "../ports/gpio";
import type { LedColor } from "./colors";

/** Channels 0..255. */
export interface Rgb {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

const rgb = (r: number, g: number, b: number): Rgb => Object.freeze({ r, g, b });

export const BLACK: Rgb = rgb(0, 0, 0);

/** The colour names of the setColor method, at full scale. */
export const COLOR_RGB: { readonly [name in LedColor]: Rgb } = Object.freeze({
  off: BLACK,
  red: rgb(255, 0, 0),
  green: rgb(0, 255, 0),
  blue: rgb(0, 0, 255),
  yellow: rgb(255, 255, 0),
  white: rgb(255, 255, 255),
  cyan: rgb(0, 255, 255),
  magenta: rgb(255, 0, 255),
});

export type PatternKind = "off" | "on" | "blink" | "flash" | "breathe";

export interface PatternSpec {
  readonly pattern: PatternKind;
  readonly color: LedColor | Rgb;
  /** Length of one cycle, ms (whole, >= 2). Defaults: blink 1000, flash 1000, breathe 2000. */
  readonly periodMs?: number;
  /** Perceived brightness 0..100 % (default 100). */
  readonly brightness?: number;
  /** flash: lit share of the period, % (default 10). */
  readonly dutyPercent?: number;
  /** breathe: brightness levels from dark to full (default 20); a cycle has 2 × steps equal slots. */
  readonly steps?: number;
}

export const DEFAULT_PERIOD_MS: { readonly [kind in "blink" | "flash" | "breathe"]: number } = Object.freeze({ blink: 1000, flash: 1000, breathe: 2000 });
export const DEFAULT_GAMMA = 2.2;

/**
 * The brightness rule: `percent` is perceived brightness, so the PWM duty is (percent/100)^gamma and a
 * channel becomes round(value × duty). A lit channel never rounds to off: any value > 0 at percent > 0 gives
 * at least 1. 0 % is off, 100 % the colour unchanged.
 */
export function scaleChannel(value: number, percent: number, gamma = DEFAULT_GAMMA): number {
  if (value <= 0 || percent <= 0) return 0;
  if (percent >= 100) return value;
  const scaled = Math.round(value * Math.pow(percent / 100, gamma));
  return scaled < 1 ? 1 : scaled;
}

export function scaleRgb(color: Rgb, percent: number, gamma = DEFAULT_GAMMA): Rgb {
  if (percent <= 0) return BLACK;
  return rgb(scaleChannel(color.r, percent, gamma), scaleChannel(color.g, percent, gamma), scaleChannel(color.b, percent, gamma));
}

export function sameRgb(a: Rgb | undefined, b: Rgb | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.r === b.r && a.g === b.g && a.b === b.b);
}

export function colorRgb(color: LedColor | Rgb): Rgb {
  if (typeof color === "string") {
    const named = (COLOR_RGB as Record<string, Rgb | undefined>)[color];
    if (!named || !Object.prototype.hasOwnProperty.call(COLOR_RGB, color)) throw new RangeError(`unknown colour ${JSON.stringify(color)}`);
    return named;
  }
  const channel = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255;
  if (typeof color !== "object" || color === null || !channel(color.r) || !channel(color.g) || !channel(color.b)) {
    throw new RangeError("colour must be a name or {r, g, b} with whole channels 0..255");
  }
  return color;
}

/** One line for a log or a display: `blink red period=500 brightness=40` (period and brightness only when set). */
export function describePattern(spec: PatternSpec): string {
  const color = typeof spec.color === "string" ? spec.color : `rgb(${spec.color.r},${spec.color.g},${spec.color.b})`;
  const period = spec.periodMs !== undefined ? ` period=${spec.periodMs}` : "";
  const brightness = spec.brightness !== undefined ? ` brightness=${spec.brightness}` : "";
  return `${spec.pattern} ${color}${period}${brightness}`;
}

/** A pattern compiled to one period of a step function: segment i starts at bounds[i] and shows values[i]. */
interface Track {
  readonly spec: PatternSpec;
  readonly startMs: number;
  /** 0 when the output never changes. */
  readonly periodMs: number;
  readonly bounds: readonly number[];
  readonly values: readonly Rgb[];
  /** The last segment differs from the first, so a new cycle is a change. */
  readonly wrapChanges: boolean;
}

function checkWhole(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${what} must be a whole number ${min}..${max}, got ${String(value)}`);
}

function compile(spec: PatternSpec, startMs: number, gamma: number): Track {
  const full = colorRgb(spec.color);
  const brightness = spec.brightness ?? 100;
  if (!(brightness >= 0 && brightness <= 100)) throw new RangeError(`brightness must be 0..100, got ${String(brightness)}`);
  const lit = (percent: number) => scaleRgb(full, percent, gamma);
  const start = Math.floor(startMs);
  const still = (value: Rgb): Track => ({ spec, startMs: start, periodMs: 0, bounds: [0], values: [value], wrapChanges: false });
  if (spec.pattern === "off") return still(BLACK);
  if (spec.pattern === "on") return still(lit(brightness));
  if (spec.pattern !== "blink" && spec.pattern !== "flash" && spec.pattern !== "breathe") {
    throw new RangeError(`unknown pattern ${JSON.stringify(spec.pattern)}`);
  }
  const period = spec.periodMs ?? DEFAULT_PERIOD_MS[spec.pattern];
  checkWhole(period, 2, 86_400_000, "periodMs");
  const bounds: number[] = [];
  const values: Rgb[] = [];
  if (spec.pattern === "breathe") {
    const steps = spec.steps ?? 20;
    checkWhole(steps, 1, 255, "steps");
    const slots = 2 * steps;
    for (let s = 0; s < slots; s++) {
      const level = s <= steps ? s : slots - s; // 0, 1, …, steps, …, 1: a triangle in perceived brightness
      bounds.push(Math.ceil((s * period) / slots));
      values.push(level === 0 ? BLACK : lit((brightness * level) / steps));
    }
  } else {
    let onMs = Math.floor(period / 2);
    if (spec.pattern === "flash") {
      const duty = spec.dutyPercent ?? 10;
      if (!(duty > 0 && duty < 100)) throw new RangeError(`dutyPercent must be between 0 and 100, got ${String(duty)}`);
      onMs = Math.min(period - 1, Math.max(1, Math.round((period * duty) / 100)));
    }
    bounds.push(0, onMs);
    values.push(lit(brightness), BLACK);
  }
  // Drop empty slots and steps that do not change the output, so every remaining bound is a real change.
  const b: number[] = [];
  const v: Rgb[] = [];
  for (let i = 0; i < bounds.length; i++) {
    if (b.length > 0 && b[b.length - 1] === bounds[i]) {
      b.pop();
      v.pop();
    }
    if (v.length > 0 && sameRgb(v[v.length - 1], values[i])) continue;
    b.push(bounds[i]!);
    v.push(values[i]!);
  }
  if (v.length === 1) return still(v[0]!);
  return { spec, startMs: start, periodMs: period, bounds: b, values: v, wrapChanges: !sameRgb(v[v.length - 1], v[0]) };
}

/** Index of the segment that covers `phase` (the last bound <= phase). */
function segmentAt(track: Track, phase: number): number {
  const bounds = track.bounds;
  let lo = 0;
  let hi = bounds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bounds[mid]! <= phase) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function phaseOf(track: Track, t: number): number {
  const p = (t - track.startMs) % track.periodMs;
  return p < 0 ? p + track.periodMs : p;
}

function valueAt(track: Track, t: number): Rgb {
  if (track.periodMs === 0) return track.values[0]!;
  return track.values[segmentAt(track, phaseOf(track, t))]!;
}

function changeAfter(track: Track, t: number): number | undefined {
  if (track.periodMs === 0) return undefined;
  const phase = phaseOf(track, t);
  const cycle = t - phase;
  const i = segmentAt(track, phase);
  if (i + 1 < track.bounds.length) return cycle + track.bounds[i + 1]!;
  return cycle + track.periodMs + (track.wrapChanges ? 0 : track.bounds[1]!);
}

export interface LedPatternsOptions {
  /** LEDs (or segments), indexed from 0. */
  readonly count: number;
  /** Exponent of the brightness rule (default 2.2; 1 = linear). */
  readonly gamma?: number;
}

/**
 * Per-LED patterns as pure functions of time: `frame(t)` is the colour of every LED at `t` (ms, any time
 * base, whole ms), and `nextChange(t)` the first later time at which the frame differs, so a driver sleeps
 * until then instead of polling. Blink is lit for the first floor(period/2) ms of each cycle, flash for
 * round(period × duty) ms (at least 1, at most period − 1), breathe rises and falls in equal slots; every
 * cycle starts at the `startMs` given to `set` (lit first).
 */
export class LedPatterns {
  private readonly tracks: Track[];
  private readonly gamma: number;

  constructor(options: LedPatternsOptions) {
    checkWhole(options.count, 1, 1024, "count");
    this.gamma = options.gamma ?? DEFAULT_GAMMA;
    if (!(this.gamma > 0 && this.gamma <= 5)) throw new RangeError(`gamma must be in (0, 5], got ${String(this.gamma)}`);
    const off = compile({ pattern: "off", color: "off" }, 0, this.gamma);
    this.tracks = new Array<Track>(options.count).fill(off);
  }

  get count(): number {
    return this.tracks.length;
  }

  /** Shows `spec` on LED `index`, its cycle starting at `startMs`. Throws RangeError on an invalid spec. */
  set(index: number, spec: PatternSpec, startMs: number): void {
    this.checkIndex(index);
    this.tracks[index] = compile(spec, startMs, this.gamma);
  }

  spec(index: number): PatternSpec {
    this.checkIndex(index);
    return this.tracks[index]!.spec;
  }

  rgb(index: number, nowMs: number): Rgb {
    this.checkIndex(index);
    return valueAt(this.tracks[index]!, Math.floor(nowMs));
  }

  frame(nowMs: number): Rgb[] {
    const t = Math.floor(nowMs);
    const out = new Array<Rgb>(this.tracks.length);
    for (let i = 0; i < this.tracks.length; i++) out[i] = valueAt(this.tracks[i]!, t);
    return out;
  }

  /** The first time after `nowMs` at which some LED changes colour; undefined when nothing will change. */
  nextChange(nowMs: number): number | undefined {
    const t = Math.floor(nowMs);
    let next: number | undefined;
    for (const track of this.tracks) {
      const at = changeAfter(track, t);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.tracks.length) throw new RangeError(`LED index must be 0..${this.tracks.length - 1}, got ${String(index)}`);
  }
}

/** Where frames go: one write per LED whose colour changed, then `show` once. */
export interface FrameSink {
  write(index: number, color: Rgb): void;
  show?(): void;
}

/** Something that shows a pattern on an LED from now on (LedDriver). */
export interface PatternTarget {
  set(index: number, spec: PatternSpec): void;
}

export function rgbLedSink(leds: readonly RgbLed[]): FrameSink {
  return { write: (index, c) => leds[index]?.set(c.r, c.g, c.b) };
}

export function stripSink(strip: PixelStrip): FrameSink {
  return { write: (index, c) => strip.set(index, c.r, c.g, c.b), show: () => strip.show() };
}

/**
 * Drives a LedPatterns onto a sink with one Clock timer, armed for the next change only: nothing runs while
 * the LEDs are steady. Pattern cycles start when `set` is called (Clock.monotonic()).
 */
export class LedDriver implements PatternTarget {
  private readonly shown: Array<Rgb | undefined>;
  private timer: TimerId | undefined;
  private timerAt: number | undefined;
  private disposed = false;

  constructor(
    private readonly engine: LedPatterns,
    private readonly clock: Clock,
    private readonly sink: FrameSink,
  ) {
    this.shown = new Array<Rgb | undefined>(engine.count).fill(undefined);
  }

  set(index: number, spec: PatternSpec): void {
    this.engine.set(index, spec, this.clock.monotonic());
    this.refresh();
  }

  /** Writes what changed and re-arms the timer. Call after changing the engine directly. */
  refresh(): void {
    if (this.disposed) return;
    const now = this.clock.monotonic();
    const frame = this.engine.frame(now);
    let changed = false;
    for (let i = 0; i < frame.length; i++) {
      if (sameRgb(frame[i], this.shown[i])) continue;
      this.shown[i] = frame[i];
      this.sink.write(i, frame[i]!);
      changed = true;
    }
    if (changed) this.sink.show?.();
    this.arm(this.engine.nextChange(now));
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.timerAt = undefined;
  }

  private arm(at: number | undefined): void {
    if (at === this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.timerAt = undefined;
    if (at === undefined) return;
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = this.timerAt = undefined;
      this.refresh();
    }, Math.max(0, at - this.clock.monotonic()));
  }
}
