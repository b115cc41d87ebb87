/** Conversions between big-endian unsigned byte strings and BigInt, and the modular arithmetic the verifiers share. */

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = "0x0";
  for (const b of bytes) hex += (b < 16 ? "0" : "") + b.toString(16);
  return BigInt(hex);
}

/** `value` as exactly `length` big-endian bytes; undefined if it does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array | undefined {
  if (value < 0n) return undefined;
  let hex = value.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  if (hex.length / 2 > length) return undefined;
  const out = new Uint8Array(length);
  const start = length - hex.length / 2;
  for (let i = 0; i < hex.length / 2; i++) out[start + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** base^exponent mod m, left-to-right square and multiply (public exponents only: not constant-time). */
export function modPow(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  const b = mod(base, m);
  const bits = exponent.toString(2);
  for (let i = 0; i < bits.length; i++) {
    result = (result * result) % m;
    if (bits.charCodeAt(i) === 49) result = (result * b) % m;
  }
  return result;
}

/** The inverse of a modulo m (m > 1, gcd(a, m) = 1), by the extended Euclidean algorithm; 0n if there is none. */
export function modInverse(a: bigint, m: bigint): bigint {
  let r0 = m, r1 = mod(a, m);
  let t0 = 0n, t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return r0 === 1n ? mod(t0, m) : 0n;
}
