// For tsconfig.moddable.json only: the SDK's `neopixel` driver (modules/drivers/neopixel), whose declaration SDK 8.2.3
// ships in typings/neopixel.d.ts and @moddable/typings 5.6.0 lacks (mcconfig uses the SDK's own typings).
declare module "neopixel" {
  class NeoPixel extends HostBuffer {
    constructor(options?: { pin?: number; length?: number; order?: string });
    close(): void;
    update(): void;
    makeRGB(r: number, g: number, b: number): number;
    makeHSB(h: number, s: number, b: number): number;
    setPixel(index: number, color: number): void;
    fill(color: number, index?: number, count?: number): void;
    getPixel(index: number): number;
    get brightness(): number;
    set brightness(value: number);
    get length(): number;
  }
  export default NeoPixel;
}
