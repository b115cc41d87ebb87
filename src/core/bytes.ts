// Made on first use, not at load: the device build preloads this module, and TextEncoder is a global only at run time.
let encoder: InstanceType<typeof TextEncoder> | undefined;

export function utf8(text: string): Uint8Array {
  encoder ??= new TextEncoder();
  return encoder.encode(text);
}

/** Decodes UTF-8, refusing malformed input rather than inventing U+FFFD characters. */
export function fromUtf8(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

/** `text` cut to at most `maxChars` UTF-16 units, ending in "…" when cut, never between a surrogate pair's halves. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars - 1;
  if ((text.charCodeAt(cut - 1) & 0xfc00) === 0xd800) cut--;
  return `${text.slice(0, cut)}…`;
}

/** UTF-8 length of a string without encoding it (a lone surrogate counts as the 3-byte U+FFFD it becomes). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Equal contents (not timing-safe: for public data such as certificates and hashes of them). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The parts joined into one new array (an array argument, not a spread: XS's stack is small). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
