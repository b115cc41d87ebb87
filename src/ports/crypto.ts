/**
 * Cryptography the core needs and XS lacks: incremental SHA-256 (an image is hashed as it streams) and
 * ECDSA P-256 signature verification (firmware manifests). mbedTLS on the device, node:crypto on the host.
 */
export interface Sha256 {
  update(data: Uint8Array): void;
  /** The 32-byte digest; the hash cannot be updated afterwards. */
  digest(): Uint8Array;
}

export interface CryptoPort {
  sha256(): Sha256;
  /**
   * ECDSA P-256 with SHA-256 over `message`. `publicKey` is either a DER SubjectPublicKeyInfo or the raw
   * 65-byte uncompressed point (0x04 || X || Y); `signature` is DER (SEQUENCE of r, s). Returns false for
   * any malformed input, never throws.
   */
  verifyP256(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** DER SubjectPublicKeyInfo prefix for an uncompressed P-256 point (id-ecPublicKey, prime256v1). */
export const P256_SPKI_PREFIX: readonly number[] = [
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
  0x42, 0x00,
];

/** The public key as DER SubjectPublicKeyInfo (raw uncompressed points are wrapped; DER is returned as is). */
export function p256Spki(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length === 65 && publicKey[0] === 0x04) {
    const out = new Uint8Array(P256_SPKI_PREFIX.length + 65);
    out.set(P256_SPKI_PREFIX, 0);
    out.set(publicKey, P256_SPKI_PREFIX.length);
    return out;
  }
  return publicKey;
}

/** The raw 65-byte point of a P-256 key given raw or as DER SubjectPublicKeyInfo; undefined if it is neither. */
export function p256Point(publicKey: Uint8Array): Uint8Array | undefined {
  if (publicKey.length === 65 && publicKey[0] === 0x04) return publicKey;
  if (publicKey.length !== P256_SPKI_PREFIX.length + 65) return undefined;
  for (let i = 0; i < P256_SPKI_PREFIX.length; i++) if (publicKey[i] !== P256_SPKI_PREFIX[i]) return undefined;
  return publicKey.subarray(P256_SPKI_PREFIX.length);
}

/** The P-256 group order n (big-endian). */
const P256_ORDER = [
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
  0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/**
 * A DER ECDSA signature (SEQUENCE { INTEGER r, INTEGER s }) as the 64-byte r || s, or undefined unless it is
 * strict DER with 0 < r, s < n. For ECDSA code that takes the raw form (the Moddable SDK's) and would misbehave
 * on r or s out of range.
 */
export function p256RawSignature(der: Uint8Array): Uint8Array | undefined {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(64);
  let at = 2;
  for (let k = 0; k < 2; k++) {
    if (der[at] !== 0x02) return undefined;
    const length = der[at + 1]!;
    const start = at + 2;
    if (length < 1 || length > 33 || start + length > der.length) return undefined;
    if (der[start]! & 0x80) return undefined; // negative
    if (length > 1 && der[start] === 0 && !(der[start + 1]! & 0x80)) return undefined; // not minimal
    let value = der.subarray(start, start + length);
    if (value.length === 33) {
      if (value[0] !== 0) return undefined;
      value = value.subarray(1);
    }
    const fixed = new Uint8Array(32);
    fixed.set(value, 32 - value.length);
    if (fixed.every((b) => b === 0) || compare(fixed, P256_ORDER) >= 0) return undefined;
    out.set(fixed, k * 32);
    at = start + length;
  }
  return at === der.length ? out : undefined;
}

function compare(a: Uint8Array, b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}
