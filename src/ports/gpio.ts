/**
 * Buttons and lights. Adapters (Moddable Digital/PWM/NeoPixel on the device, the terminal on the host)
 * implement these; the gesture and pattern logic above them is portable and driven by timestamps.
 */

/** The pin's internal pull resistor. */
export type Pull = "up" | "down" | "none";

/** How a push-button is wired. */
export interface ButtonPin {
  readonly pin: number;
  readonly pull: Pull;
  /**
   * The button pulls the pin low when pressed (the usual wiring with a pull-up). Carried for the gesture
   * layer, which maps levels to pressed/released; the input itself always reports the raw level.
   */
  readonly activeLow?: boolean;
}

/** `level` is the raw electrical level (true = high); `atMs` is on the Clock.monotonic() time base. */
export type EdgeListener = (level: boolean, atMs: number) => void;

/** One button input. Reports every level change it sees, bounces included; debouncing is the caller's job. */
export interface ButtonInput {
  /** Pressed = low level (pull-up wiring). Absent: true. */
  readonly activeLow?: boolean;
  /** Adds a listener for level changes; returns the function that removes it. */
  onEdge(listener: EdgeListener): () => void;
  /** The current raw level (true = high). */
  read(): boolean;
  close(): void;
}

export interface ButtonInputFactory {
  open(pin: ButtonPin): ButtonInput;
}

/** One RGB LED (a KIS.BOX button). Channels 0..255, brightness and gamma already applied by the caller. */
export interface RgbLed {
  set(r: number, g: number, b: number): void;
  close(): void;
}

/**
 * A row of individually coloured elements: the segments of a KIS.LIGHT column (the adapter maps a segment to
 * its pixels) or a plain addressable LED strip. `set` stages a colour; `show` makes the staged colours visible.
 */
export interface PixelStrip {
  readonly length: number;
  /** Channels 0..255, brightness and gamma already applied. */
  set(index: number, r: number, g: number, b: number): void;
  show(): void;
  close(): void;
}

/** A KIS.LIGHT signal column: one element per segment, bottom first. */
export type SegmentLight = PixelStrip;
