/**
 * A strict DER reader for the parts of X.509 the certificate validator reads: single-byte tags, definite
 * minimal lengths, every element inside its parent's bounds. Anything else is a DerError, so a crafted
 * certificate can never be read two ways.
 */

export class DerError extends Error {
  override readonly name = "DerError";
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag number n, constructed (`[n] EXPLICIT`) or primitive (`[n] IMPLICIT` of a primitive type). */
export const contextTag = (n: number, constructed: boolean): number => 0x80 | (constructed ? 0x20 : 0) | n;

export interface DerElement {
  readonly tag: number;
  /** The whole element: tag, length and value. */
  readonly der: Uint8Array;
  /** The value only. */
  readonly value: Uint8Array;
}

/** Reads consecutive elements from `bytes` (one level; open a constructed element with `DerReader.of`). */
export class DerReader {
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** A reader over the contents of `element`, which must have `tag`. */
  static of(element: DerElement, tag: number): DerReader {
    if (element.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
    return new DerReader(element.value);
  }

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  peekTag(): number | undefined {
    return this.done ? undefined : this.bytes[this.at];
  }

  /** The next element; with `tag`, it must have that tag. */
  read(tag?: number): DerElement {
    const bytes = this.bytes;
    const start = this.at;
    if (start + 2 > bytes.length) throw new DerError("truncated element");
    const t = bytes[start]!;
    if ((t & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not used in X.509");
    if (tag !== undefined && t !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${t.toString(16)}`);
    let length = bytes[start + 1]!;
    let header = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0) throw new DerError("indefinite length");
      if (count > 3) throw new DerError("length too large");
      if (start + 2 + count > bytes.length) throw new DerError("truncated length");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[start + 2 + i]!;
      if (bytes[start + 2] === 0 || length < 0x80) throw new DerError("length not minimally encoded");
      header += count;
    }
    const end = start + header + length;
    if (end > bytes.length) throw new DerError("element runs past its parent");
    this.at = end;
    return { tag: t, der: bytes.subarray(start, end), value: bytes.subarray(start + header, end) };
  }

  /** The next element if it has `tag`, else undefined (nothing consumed). */
  optional(tag: number): DerElement | undefined {
    return this.peekTag() === tag ? this.read(tag) : undefined;
  }

  /** Throws unless every byte has been read (no trailing data). */
  end(what: string): void {
    if (!this.done) throw new DerError(`trailing data after ${what}`);
  }
}

/** Parses a whole DER value that must be exactly one element with `tag`. */
export function parseOne(bytes: Uint8Array, tag: number): DerElement {
  const reader = new DerReader(bytes);
  const element = reader.read(tag);
  reader.end("the element");
  return element;
}

/** Dotted-decimal text of an OBJECT IDENTIFIER's value. */
export function oidText(value: Uint8Array): string {
  if (value.length === 0) throw new DerError("empty OID");
  const arcs: number[] = [];
  let arc = 0;
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    if (arc === 0 && b === 0x80) throw new DerError("OID arc not minimally encoded");
    arc = arc * 128 + (b & 0x7f);
    if (arc > Number.MAX_SAFE_INTEGER / 128) throw new DerError("OID arc too large");
    if (!(b & 0x80)) {
      arcs.push(arc);
      arc = 0;
    } else if (i === value.length - 1) throw new DerError("truncated OID");
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

/** An INTEGER's value as unsigned big-endian bytes; throws for a negative or non-minimal encoding. */
export function unsignedInteger(element: DerElement): Uint8Array {
  const v = element.value;
  if (element.tag !== TAG.INTEGER || v.length === 0) throw new DerError("expected an INTEGER");
  if (v[0]! & 0x80) throw new DerError("negative INTEGER");
  if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) throw new DerError("INTEGER not minimally encoded");
  return v[0] === 0 && v.length > 1 ? v.subarray(1) : v;
}

/** A small non-negative INTEGER (up to 2^31). */
export function smallInteger(element: DerElement): number {
  const bytes = unsignedInteger(element);
  if (bytes.length > 4 || (bytes.length === 4 && bytes[0]! & 0x80)) throw new DerError("INTEGER too large");
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

/** A BIT STRING's bytes; only whole bytes (no unused bits) are accepted, as keys and signatures use. */
export function bitStringBytes(element: DerElement): Uint8Array {
  const v = element.value;
  if (element.tag !== TAG.BIT_STRING || v.length === 0) throw new DerError("expected a BIT STRING");
  if (v[0] !== 0) throw new DerError("BIT STRING with unused bits");
  return v.subarray(1);
}

/** A BIT STRING used as named bits (keyUsage): bit i of the result is the DER bit i (0 = most significant). */
export function namedBits(element: DerElement): number {
  const v = element.value;
  if (element.tag !== TAG.BIT_STRING || v.length === 0) throw new DerError("expected a BIT STRING");
  const unused = v[0]!;
  if (unused > 7 || (v.length === 1 && unused !== 0)) throw new DerError("bad BIT STRING");
  if (v.length > 1 && v[v.length - 1]! & ((1 << unused) - 1)) throw new DerError("BIT STRING unused bits set");
  let bits = 0;
  for (let i = 1; i < v.length && i <= 2; i++) {
    for (let b = 0; b < 8; b++) if (v[i]! & (0x80 >> b)) bits |= 1 << ((i - 1) * 8 + b);
  }
  return bits;
}

export function booleanValue(element: DerElement): boolean {
  const v = element.value;
  if (element.tag !== TAG.BOOLEAN || v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new DerError("bad BOOLEAN");
  return v[0] === 0xff;
}

/**
 * UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ) as milliseconds since the epoch.
 * RFC 5280 4.1.2.5: seconds present, no fractions, always Zulu.
 */
export function timeValue(element: DerElement): number {
  let text = "";
  for (const b of element.value) {
    if (b > 0x7f) throw new DerError("bad time");
    text += String.fromCharCode(b);
  }
  let year: number;
  let rest: string;
  if (element.tag === TAG.UTC_TIME && /^\d{12}Z$/.test(text)) {
    const yy = Number(text.slice(0, 2));
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = text.slice(2);
  } else if (element.tag === TAG.GENERALIZED_TIME && /^\d{14}Z$/.test(text)) {
    year = Number(text.slice(0, 4));
    rest = text.slice(4);
  } else {
    throw new DerError(`bad time "${text}"`);
  }
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map((i) => Number(rest.slice(i, i + 2))) as [number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) throw new DerError(`bad time "${text}"`);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) throw new DerError(`bad time "${text}"`);
  return ms;
}
