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

// ---- what every platform's adapter takes (modules/button-inputs, rgb-leds, pixel-strip; the simulator variants
// have no hardware and refuse or return none, but take the same options) ----

export interface ButtonInputOptions {
  /** The firmware's monotonic clock (TimerClock.monotonic): the gesture layer's time base. */
  readonly monotonic: () => number;
  /** Called when a listener throws or a pin cannot be opened. */
  readonly onError: (error: unknown, pin: number) => void;
}

/** The three channel pins of one RGB LED. */
export interface RgbPins {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

export interface RgbLedOptions {
  /** Common anode: the channel pins sink current, so 0 duty is full on. Default false (common cathode). */
  readonly commonAnode?: boolean;
  /** PWM frequency (default 1000 Hz, 10-bit resolution by default in the SDK). */
  readonly hz?: number;
  /** Reports a channel that fell back to on/off, or an LED that could not be opened at all. */
  readonly onProblem: (message: string, pin: number, error?: unknown) => void;
}

export interface PixelStripOptions {
  /** Data pin. */
  readonly pin: number;
  /** Elements (segments or LEDs) on the strip. */
  readonly elements: number;
  /** Pixels per element (default 1). */
  readonly pixelsPerElement?: number;
  /** Colour order of the LEDs (the driver's `order`, default "GRB"). */
  readonly order?: string;
  /** Element 0 is at the end of the strip (default false). */
  readonly reverse?: boolean;
}
