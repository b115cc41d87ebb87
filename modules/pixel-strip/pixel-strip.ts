/**
 * PixelStrip in the simulator (lin/mac/win): there is no `neopixel` driver for the simulator, so there is no strip.
 * `src/main.ts` shows the LED patterns as trace lines there instead (NEOPIXEL_AVAILABLE is false).
 */
import type { PixelStrip, PixelStripOptions } from "ports/gpio";

export const NEOPIXEL_AVAILABLE = false;

export function openPixelStrip(_options: PixelStripOptions): PixelStrip {
  throw new Error("no neopixel driver in the simulator");
}
