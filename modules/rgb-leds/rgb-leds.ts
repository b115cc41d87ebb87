/**
 * RgbLed in the simulator (lin/mac/win): mcsim has no PWM, so there are no LEDs to open. `src/main.ts` shows the
 * LED patterns as trace lines there instead (PWM_AVAILABLE is false).
 */
import type { RgbLed } from "ports/gpio";

export const PWM_AVAILABLE = false;

export interface RgbPins {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

export interface RgbLedOptions {
  readonly commonAnode?: boolean;
  readonly hz?: number;
  readonly onProblem: (message: string, pin: number, error?: unknown) => void;
}

export function openRgbLeds(_leds: readonly RgbPins[], _options: RgbLedOptions): RgbLed[] {
  throw new Error("no PWM in the simulator");
}
