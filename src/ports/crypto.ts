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
