/** The portable SignatureVerifier: RSA PKCS#1 v1.5 and ECDSA P-256/P-384 over SHA-256/384/512. */
import type { SignatureVerifier } from "../ports/signature-verifier";
import type { PublicKey, SignatureAlgorithm } from "../x509/certificate";
import { verifyEcdsa } from "./ecdsa";
import { verifyRsaPkcs1 } from "./rsa-pkcs1";
import { hashBytes, portableHash, type HashFactory } from "./sha2";

export class PortableSignatureVerifier implements SignatureVerifier {
  /** `hash`: where digests come from (the portable SHA-2 by default; native ones on the device). */
  constructor(private readonly hash: HashFactory = portableHash) {}

  verify(algorithm: SignatureAlgorithm, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      if (algorithm.kind === "rsa-pkcs1" && key.kind === "rsa") {
        return verifyRsaPkcs1(key, algorithm.hash, hashBytes(this.hash, algorithm.hash, message), signature);
      }
      if (algorithm.kind === "ecdsa" && key.kind === "ec") {
        return verifyEcdsa(key.curve, key.point, hashBytes(this.hash, algorithm.hash, message), signature);
      }
      return false;
    } catch {
      return false;
    }
  }
}
