/**
 * RgbLed in the simulator (lin/mac/win): mcsim has no PWM, so each LED is drawn by the device simulator's window
 * (simulators/kisbox.js). The firmware's LedDriver runs as on the device and every channel value it writes goes to
 * the window as `{"leds": [[index, r, g, b]]}`: the window shows exactly what the PWM outputs would get.
 */
import type { RgbLed, RgbPins, RgbLedOptions } from "ports/gpio";
import { postToWindow } from "adapters/sim-window";

export const PWM_AVAILABLE = true;
/** Where the LEDs are (for the start-up log). */
export const LED_OUTPUT = "simulator window";

export function openRgbLeds(leds: readonly RgbPins[], _options: RgbLedOptions): RgbLed[] {
  return leds.map((_pins, index) => {
    postToWindow({ leds: [[index, 0, 0, 0]] }); // opened dark, as on the device
    return {
      set(r: number, g: number, b: number): void {
        postToWindow({ leds: [[index, r, g, b]] });
      },
      close(): void {},
    };
  });
}
