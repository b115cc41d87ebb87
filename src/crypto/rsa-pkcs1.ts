/**
 * RSASSA-PKCS1-v1_5 signature verification (RFC 8017 8.2.2) with BigInt. The whole encoded message is rebuilt
 * and compared byte for byte (no parsing of the decrypted block), which closes the Bleichenbacher-2006 family of
 * forgeries that lenient parsers fall for.
 */
import { bitLength, bytesToBigInt, bigIntToBytes, modPow } from "./big-bytes";
import { bytesEqual } from "../core/bytes";
import type { HashName } from "./sha2";

/** DigestInfo DER prefixes (RFC 8017 9.2 note 1). */
const DIGEST_INFO: Readonly<Record<HashName, readonly number[]>> = {
  "SHA-256": [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20],
  "SHA-384": [0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30],
  "SHA-512": [0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40],
};

/** Smallest modulus accepted (NIST SP 800-131A); the largest bounds the work an attacker can make us do. */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 8192;

export interface RsaPublicKey {
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
}

/** Why a key cannot be used, or undefined when it can. */
export function rsaKeyProblem(key: RsaPublicKey): string | undefined {
  const bits = bitLength(bytesToBigInt(key.modulus));
  if (bits < RSA_MIN_BITS) return `RSA key of ${bits} bits (at least ${RSA_MIN_BITS} needed)`;
  if (bits > RSA_MAX_BITS) return `RSA key of ${bits} bits (at most ${RSA_MAX_BITS} accepted)`;
  const e = bytesToBigInt(key.exponent);
  // Small odd public exponents only: 65537 in practice; a huge one would make verification slow.
  if (e < 3n || e % 2n === 0n || key.exponent.length > 4) return "unusable RSA public exponent";
  return undefined;
}

/** True only if `signature` is a valid PKCS#1 v1.5 signature of `digest` (made with `hash`) under `key`. */
export function verifyRsaPkcs1(key: RsaPublicKey, hash: HashName, digest: Uint8Array, signature: Uint8Array): boolean {
  if (rsaKeyProblem(key) !== undefined) return false;
  const n = bytesToBigInt(key.modulus);
  const k = Math.ceil(bitLength(n) / 8);
  if (signature.length !== k) return false;
  const s = bytesToBigInt(signature);
  if (s >= n) return false;
  const em = bigIntToBytes(modPow(s, bytesToBigInt(key.exponent), n), k);
  if (!em) return false;
  const prefix = DIGEST_INFO[hash];
  const tLength = prefix.length + digest.length;
  if (k < tLength + 11) return false;
  const expected = new Uint8Array(k);
  expected[1] = 0x01;
  expected.fill(0xff, 2, k - tLength - 1);
  expected.set(prefix, k - tLength);
  expected.set(digest, k - digest.length);
  return bytesEqual(em, expected);
}
