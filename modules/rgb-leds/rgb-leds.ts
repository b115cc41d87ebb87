/**
 * RgbLed in the simulator (lin/mac/win): mcsim has no PWM, so there are no LEDs to open. `src/main.ts` shows the
 * LED patterns as trace lines there instead (PWM_AVAILABLE is false).
 */
import type { RgbLed, RgbPins, RgbLedOptions } from "ports/gpio";

export const PWM_AVAILABLE = false;

export function openRgbLeds(_leds: readonly RgbPins[], _options: RgbLedOptions): RgbLed[] {
  throw new Error("no PWM in the simulator");
}
