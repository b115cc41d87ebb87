/**
 * Seeded input generators for fuzzing the parsers that take input from the network. Portable (ES2022 only):
 * runs on Node and inside XS. Every draw comes from the injected Random, so a failing input is reproduced from
 * its seed and index. Nesting is bounded (XS has a small stack): nothing here recurses deeper than `maxDepth`.
 */
import type { Random } from "../../src/ports/random";
import { SeededRandom } from "./manual-clock";
import { concatBytes } from "../../src/core/bytes";

/** Characters that mean something in topics, property bags, JSON or URLs, plus awkward Unicode. */
export const RESERVED = ["&", "=", "%", "/", "?", "#", "+", "$", ".", " ", "\u0000", "\n", '"', "\\", "é", "€", "😀", "\ud800", "\udc00", "\ufffd", "\u2028"];
/** Percent escapes: valid, truncated, invalid hex, overlong and surrogate encodings. */
export const PERCENT = ["%20", "%24", "%26", "%3D", "%25", "%2", "%", "%ZZ", "%C3%A9", "%C3", "%E2%82%AC", "%F0%9F%98%80", "%F0%9F", "%C0%AF", "%ED%A0%80", "%FF", "%00"];
/** Numbers at and beyond the edges of what parsers expect. */
export const HUGE_NUMBERS = ["1e400", "-1e400", "1e-400", "-0", "9007199254740993", "123456789012345678901234567890", "0.1e1", "4294967296", "-2147483649", "1.7976931348623157e308", "5e-324"];

export class Fuzz {
  readonly random: Random;

  constructor(seedOrRandom: number | Random = 1) {
    this.random = typeof seedOrRandom === "number" ? new SeededRandom(seedOrRandom) : seedOrRandom;
  }

  /** A whole number in [0, n). */
  int(n: number): number {
    return Math.floor(this.random.next() * n);
  }

  /** A whole number in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.random.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Random bytes, length 0..maxLength (short lengths more likely). */
  bytes(maxLength = 64): Uint8Array {
    const length = this.chance(0.5) ? this.int(Math.min(maxLength, 8) + 1) : this.int(maxLength + 1);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** A string mixing ASCII, reserved characters, percent escapes, surrogates and huge numbers. */
  string(maxParts = 8): string {
    let out = "";
    const parts = this.int(maxParts + 1);
    for (let i = 0; i < parts; i++) {
      switch (this.int(6)) {
        case 0:
          out += this.pick(RESERVED);
          break;
        case 1:
          out += this.pick(PERCENT);
          break;
        case 2:
          out += this.pick(HUGE_NUMBERS);
          break;
        case 3:
          out += String.fromCharCode(this.int(0x10000)); // any code unit, lone surrogates included
          break;
        default:
          out += this.ascii(6);
      }
    }
    return out;
  }

  /** Letters and digits, 0..maxLength of them. */
  ascii(maxLength = 8): string {
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let out = "";
    const length = this.int(maxLength + 1);
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  /** A well-formed Unicode string (no lone surrogates), possibly with reserved characters. */
  text(maxParts = 6): string {
    let out = "";
    const parts = this.int(maxParts + 1);
    for (let i = 0; i < parts; i++) {
      const c = this.pick(RESERVED);
      if (this.chance(0.3) && !/[\ud800-\udfff]/.test(c)) out += c;
      else if (this.chance(0.1)) out += "😀";
      else out += this.ascii(5);
    }
    return out;
  }

  /** A random JSON value, nested at most `maxDepth` levels. */
  json(maxDepth = 4): unknown {
    const kind = this.int(maxDepth > 0 ? 8 : 5);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
        return this.string(4);
      case 4:
        return this.int(3) === 0 ? "" : this.ascii(6);
      case 5:
      case 6: {
        const out: Record<string, unknown> = {};
        const n = this.int(5);
        // defineProperty, as JSON.parse does: plain assignment of "constructor" fails where built-ins are frozen (XS),
        // and of "__proto__" would set the prototype
        for (let i = 0; i < n; i++) Object.defineProperty(out, this.key(), { value: this.json(maxDepth - 1), writable: true, enumerable: true, configurable: true });
        return out;
      }
      default: {
        const n = this.int(4);
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(this.json(maxDepth - 1));
        return out;
      }
    }
  }

  /** An object key, now and then one that means something (`$version`, `__proto__`, ...). */
  key(): string {
    if (this.chance(0.3)) return this.pick(["$version", "$metadata", "__proto__", "constructor", "method", "payload", "deviceId", "hubHostName", "brightness", "button", "color", ""]);
    return this.chance(0.2) ? this.string(2) : this.ascii(6);
  }

  number(): number {
    switch (this.int(6)) {
      case 0:
        return this.int(10);
      case 1:
        return -this.int(1000);
      case 2:
        return this.random.next() * 1e6;
      case 3:
        return Number(this.pick(HUGE_NUMBERS));
      case 4:
        return this.pick([0, -0, 1, 255, 256, 65_535, 65_536, 2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE]);
      default:
        return this.range(0, 100);
    }
  }

  /** JSON text: valid JSON of a random value, deep nesting (bounded), huge numbers, or mutated JSON. */
  jsonText(): string {
    switch (this.int(6)) {
      case 0: {
        const depth = this.range(1, 48); // deep, but bounded: XS's stack is small
        const open = this.chance(0.5) ? "[" : '{"a":';
        const close = open === "[" ? "]" : "}";
        return open.repeat(depth) + (this.chance(0.5) ? "1" : this.pick(HUGE_NUMBERS)) + (this.chance(0.8) ? close.repeat(depth) : "");
      }
      case 1:
        return this.mutateString(JSON.stringify(this.json()) ?? "null");
      case 2:
        return this.string(6);
      default:
        return JSON.stringify(this.json()) ?? "null";
    }
  }

  /** Bit flips, truncation, insertion, deletion and duplication of a valid example. */
  mutateBytes(input: Uint8Array, rounds = 1 + this.int(3)): Uint8Array {
    let data: Uint8Array = input.slice();
    for (let r = 0; r < rounds; r++) {
      const at = this.int(data.length + 1);
      switch (this.int(7)) {
        case 0:
          if (data.length > 0) {
            const i = this.int(data.length);
            data[i]! ^= 1 << this.int(8);
          }
          break;
        case 1:
          data = data.slice(0, at); // truncation
          break;
        case 2: {
          const extra = this.bytes(8); // insertion
          data = concatBytes([data.subarray(0, at), extra, data.subarray(at)]);
          break;
        }
        case 3: {
          const end = Math.min(data.length, at + 1 + this.int(8)); // deletion
          data = concatBytes([data.subarray(0, at), data.subarray(end)]);
          break;
        }
        case 4: {
          const end = Math.min(data.length, at + 1 + this.int(16)); // duplication of a slice
          data = concatBytes([data.subarray(0, end), data.subarray(at, end), data.subarray(end)]);
          break;
        }
        case 5:
          if (data.length > 0) data[this.int(data.length)] = this.pick([0x00, 0xff, 0x7f, 0x80, 0xc0, 0x30, 0x32]);
          break;
        default:
          data = concatBytes([data, data]); // the whole thing twice
          if (data.length > 4096) data = data.slice(0, 4096);
      }
    }
    return data;
  }

  /** Character-level mutations of a valid string. */
  mutateString(input: string, rounds = 1 + this.int(3)): string {
    let s = input;
    for (let r = 0; r < rounds; r++) {
      const at = this.int(s.length + 1);
      switch (this.int(6)) {
        case 0:
          s = s.slice(0, at);
          break;
        case 1:
          s = s.slice(0, at) + this.pick(this.chance(0.5) ? RESERVED : PERCENT) + s.slice(at);
          break;
        case 2:
          s = s.slice(0, at) + s.slice(at + 1 + this.int(4));
          break;
        case 3:
          s = s.slice(0, at) + s.slice(at, at + 1 + this.int(10)) + s.slice(at);
          break;
        case 4:
          if (s.length > 0) {
            const i = this.int(s.length);
            s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << this.int(16))) + s.slice(i + 1);
          }
          break;
        default:
          s = s.slice(0, at) + this.string(2) + s.slice(at);
      }
    }
    return s;
  }

  /** Splits bytes into random chunks (single bytes, empty chunks and the whole included). */
  chunks(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < data.length) {
      const size = this.chance(0.2) ? 1 : this.chance(0.05) ? 0 : 1 + this.int(Math.max(1, data.length - i));
      out.push(data.subarray(i, i + size));
      i += size;
    }
    return out;
  }
}

/** The per-parser outcome of a fuzz run. */
export interface FuzzStats {
  readonly name: string;
  inputs: number;
  /** Parsed (or handled) without an error. */
  accepted: number;
  /** Refused with one of the parser's documented error classes (or a documented result, e.g. a 400). */
  rejected: number;
  /** Anything else: an undocumented exception, a failed property (round trip, invariant). Must stay 0. */
  crashes: number;
  /** The first few crashes, for the report. */
  readonly examples: string[];
}

export function newStats(name: string): FuzzStats {
  return { name, inputs: 0, accepted: 0, rejected: 0, crashes: 0, examples: [] };
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs one input: accepted, rejected with an allowed error class, or a crash (anything else). */
export function classify(stats: FuzzStats, input: () => string, run: () => void, allowed: readonly ErrorClass[]): void {
  stats.inputs++;
  try {
    run();
    stats.accepted++;
  } catch (error) {
    if (allowed.some((c) => error instanceof c)) stats.rejected++;
    else crash(stats, input(), error);
  }
}

export function crash(stats: FuzzStats, input: string, error: unknown): void {
  stats.crashes++;
  if (stats.examples.length < 5) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    stats.examples.push(`${what.slice(0, 300)} <- ${input.slice(0, 300)}`);
  }
}

export function showBytes(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length && i < 200; i++) out += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return `hex:${out}${bytes.length > 200 ? "..." : ""}`;
}
