import { readFileSync, writeFileSync } from "node:fs";
import { crc32, deflateSync } from "node:zlib";

/**
 * A screenshot of an Xvfb screen: Xvfb started with `-fbdir <dir>` keeps its framebuffer in `<dir>/Xvfb_screen0`
 * as an XWD image (ZPixmap, 24/32 bits per pixel), which this turns into a PNG (no ImageMagick or xwd needed).
 * `crop` cuts out a rectangle (clamped to the screen).
 */
export function xvfbScreenshot(fbdir: string, out: string, crop?: { x: number; y: number; width: number; height: number }): { width: number; height: number } {
  const xwd = readFileSync(`${fbdir}/Xvfb_screen0`);
  const field = (i: number): number => xwd.readUInt32BE(i * 4);
  const headerSize = field(0);
  const format = field(2);
  const width = field(4);
  const height = field(5);
  const byteOrder = field(7);
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const masks = [field(14), field(15), field(16)];
  const colors = field(19);
  if (format !== 2 || (bitsPerPixel !== 32 && bitsPerPixel !== 24)) throw new Error(`unsupported XWD image (format ${format}, ${bitsPerPixel} bits per pixel)`);
  const data = headerSize + colors * 12;
  const x0 = Math.max(0, crop?.x ?? 0);
  const y0 = Math.max(0, crop?.y ?? 0);
  const w = Math.min(width - x0, crop?.width ?? width);
  const h = Math.min(height - y0, crop?.height ?? height);
  const shift = (mask: number): number => (mask === 0 ? 0 : 31 - Math.clz32(mask & -mask));
  const rows = Buffer.alloc(h * (1 + w * 3));
  const step = bitsPerPixel / 8;
  for (let y = 0; y < h; y++) {
    const row = y * (1 + w * 3);
    rows[row] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const at = data + (y0 + y) * bytesPerLine + (x0 + x) * step;
      const pixel = step === 4 ? (byteOrder === 0 ? xwd.readUInt32LE(at) : xwd.readUInt32BE(at)) : byteOrder === 0 ? xwd.readUIntLE(at, 3) : xwd.readUIntBE(at, 3);
      for (let c = 0; c < 3; c++) {
        const mask = masks[c]!;
        const bits = 32 - Math.clz32(mask >>> shift(mask));
        const value = (pixel & mask) >>> shift(mask);
        rows[row + 1 + x * 3 + c] = bits >= 8 ? value >>> (bits - 8) : Math.round((value * 255) / ((1 << bits) - 1));
      }
    }
  }
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  writeFileSync(out, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]));
  return { width: w, height: h };
}
