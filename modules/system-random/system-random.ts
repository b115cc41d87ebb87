/**
 * Random port for the simulator builds (lin, mac, win).
 *
 * There XS's Math.random is the C library's `rand()`, which nothing seeds (xs/sources/xsMath.c has the `srand`
 * call commented out): every launch of mcsim returns the same sequence. That would give each run the same outbox
 * message-id prefix and the same backoff jitter, so this port runs its own generator (sfc32) seeded from the
 * clock at start-up, mixed with Math.random. Not cryptographic; the esp32 build uses the hardware RNG instead
 * (system-random-esp32.ts).
 */
import Time from "time";
import type { Random } from "ports/random";

export class SystemRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number = Date.now()) {
    const ticks = Time.ticks;
    this.a = (seed >>> 0) ^ 0x9e3779b9;
    this.b = Math.floor(seed / 0x100000000) ^ (ticks >>> 0) ^ 0x243f6a88;
    this.c = Math.floor(Math.random() * 0x100000000) ^ 0xb7e15162;
    this.d = 1;
    for (let i = 0; i < 16; i++) this.step();
  }

  next(): number {
    return this.step() / 0x100000000;
  }

  /** sfc32: a small, fast 32-bit generator with a 2^128 state. */
  private step(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}
