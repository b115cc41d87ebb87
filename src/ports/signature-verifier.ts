/**
 * Checks one signature: the certificate validator's only cryptographic dependency, so each platform can bring
 * its fastest correct implementation (src/crypto/signature-verifier.ts is the portable one; the device injects
 * the SDK's native hashes into it; the host can use node:crypto).
 */
import type { PublicKey, SignatureAlgorithm } from "../x509/certificate";

export interface SignatureVerifier {
  /**
   * True only if `signature` is a valid `algorithm` signature over `message` by `key`. False for a wrong
   * signature and for any malformed, weak or unsupported input; never throws.
   */
  verify(algorithm: SignatureAlgorithm, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean;
}
