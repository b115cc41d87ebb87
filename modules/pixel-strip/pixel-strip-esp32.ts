/**
 * PixelStrip over the SDK's `neopixel` driver (esp32: RMT, WS2812-style addressable LEDs; modules/drivers/neopixel).
 * Each element (a KIS.BOX button LED or a KIS.LIGHT segment) is `pixelsPerElement` consecutive pixels; element 0
 * starts at the first pixel, or at the far end of the strip when `reverse` is set (a column wired from the bottom
 * while segment 0 is the top one). The driver's own brightness stays at full: the caller has already scaled.
 */
import NeoPixel from "neopixel";
import type { PixelStrip, PixelStripOptions } from "ports/gpio";

export const NEOPIXEL_AVAILABLE = true;
/** Where the strip is (for the start-up log). */
export const STRIP_OUTPUT = "RMT";

class NeoPixelStrip implements PixelStrip {
  readonly length: number;
  private readonly per: number;

  constructor(
    private readonly pixels: NeoPixel,
    private readonly options: PixelStripOptions,
  ) {
    this.length = options.elements;
    this.per = options.pixelsPerElement ?? 1;
    pixels.fill(0);
    pixels.update();
  }

  set(index: number, r: number, g: number, b: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return;
    const element = this.options.reverse === true ? this.length - 1 - index : index;
    this.pixels.fill(this.pixels.makeRGB(r, g, b), element * this.per, this.per);
  }

  show(): void {
    this.pixels.update();
  }

  close(): void {
    try {
      this.pixels.fill(0);
      this.pixels.update();
      this.pixels.close();
    } catch {
      // already closed
    }
  }
}

/** Opens the strip (throws when the driver cannot: no RMT channel, no memory, bad pin). */
export function openPixelStrip(options: PixelStripOptions): PixelStrip {
  const per = options.pixelsPerElement ?? 1;
  if (!Number.isInteger(options.elements) || options.elements < 1 || !Number.isInteger(per) || per < 1 || options.elements * per > 1024) {
    throw new RangeError("pixel strip: 1..1024 pixels in whole elements");
  }
  const pixels = new NeoPixel({ pin: options.pin, length: options.elements * per, order: options.order ?? "GRB" });
  pixels.brightness = 255;
  return new NeoPixelStrip(pixels, options);
}
