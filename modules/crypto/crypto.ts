/**
 * CryptoPort (src/ports/crypto.ts) with the SDK's own cryptography (modules/crypt, in every build through the TLS
 * manifest): SHA-256 from `crypt`'s Digest (incremental, native), ECDSA P-256 verification from its `ecdsa`,
 * `curve` and `ecp` modules (XS BigInt arithmetic; one verification per update manifest).
 *
 * The signature is checked as strict DER with 0 < r, s < n (p256RawSignature) before it reaches the SDK's ECDSA,
 * which would otherwise be handed values it does not range-check; anything malformed is false, never an exception.
 */
import { Digest } from "crypt";
import ECDSA from "ecdsa";
import Curve from "curve";
import ECPoint from "ecp";
import { p256Point, p256RawSignature, type CryptoPort, type Sha256 } from "ports/crypto";
import type { Hash, HashFactory, HashName } from "crypto/sha2";

interface DigestLike {
  write(data: ArrayBufferLike | ArrayBufferView): void;
  close(): ArrayBuffer;
}
const DigestClass = Digest as unknown as new (type: "SHA256" | "SHA384" | "SHA512") => DigestLike;

const SDK_DIGEST_NAMES: Readonly<Record<HashName, "SHA256" | "SHA384" | "SHA512">> = { "SHA-256": "SHA256", "SHA-384": "SHA384", "SHA-512": "SHA512" };

/** SHA-256/384/512 from the SDK's native digests, for the certificate validator's signature checks. */
export const sdkHash: HashFactory = (name: HashName): Hash => {
  const digest = new DigestClass(SDK_DIGEST_NAMES[name]);
  return {
    update: (data: Uint8Array) => digest.write(data),
    digest: () => new Uint8Array(digest.close()),
  };
};

export class ModdableCrypto implements CryptoPort {
  sha256(): Sha256 {
    const digest = new DigestClass("SHA256");
    let done = false;
    return {
      update(data: Uint8Array): void {
        if (done) throw new Error("SHA-256: update after digest");
        digest.write(data);
      },
      digest(): Uint8Array {
        if (done) throw new Error("SHA-256: digest twice");
        done = true;
        return new Uint8Array(digest.close());
      },
    };
  }

  verifyP256(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      const point = p256Point(publicKey);
      const raw = p256RawSignature(signature);
      if (!point || !raw) return false;
      const hash = new DigestClass("SHA256");
      hash.write(message);
      const verifier = new ECDSA(ECPoint.fromOctetString(point), new Curve("secp256r1"));
      return verifier.verify(hash.close(), raw.slice().buffer, false) === true;
    } catch {
      return false; // e.g. a point not on the curve
    }
  }
}
