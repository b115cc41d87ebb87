/**
 * PixelStrip in the simulator (lin/mac/win): there is no `neopixel` driver in mcsim, so the strip's elements (the
 * KIS.LIGHT segments, index 0 = the top one) are drawn by the device simulator's window (simulators/kislight.js).
 * `set` stages a colour and `show` sends what changed as one `{"leds": [[index, r, g, b], ...]}` message, as the
 * real strip shows its staged pixels on `update`.
 */
import type { PixelStrip, PixelStripOptions } from "ports/gpio";
import { postToWindow } from "adapters/sim-window";

export const NEOPIXEL_AVAILABLE = true;
/** Where the strip is (for the start-up log). */
export const STRIP_OUTPUT = "simulator window";

class WindowStrip implements PixelStrip {
  private staged: Array<[number, number, number, number]> = [];

  constructor(readonly length: number) {
    const dark: Array<[number, number, number, number]> = [];
    for (let i = 0; i < length; i++) dark.push([i, 0, 0, 0]);
    postToWindow({ leds: dark }); // cleared when opened, as on the device
  }

  set(index: number, r: number, g: number, b: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return;
    this.staged = this.staged.filter((entry) => entry[0] !== index);
    this.staged.push([index, r, g, b]);
  }

  show(): void {
    if (this.staged.length === 0) return;
    postToWindow({ leds: this.staged });
    this.staged = [];
  }

  close(): void {}
}

export function openPixelStrip(options: PixelStripOptions): PixelStrip {
  if (!Number.isInteger(options.elements) || options.elements < 1 || options.elements > 1024) throw new RangeError("pixel strip: 1..1024 elements");
  return new WindowStrip(options.elements);
}
