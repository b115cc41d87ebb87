import { createHash, createPublicKey, verify } from "node:crypto";
import { p256Spki, type CryptoPort, type Sha256 } from "../../src/ports/crypto";

/** The crypto port over node:crypto (OpenSSL). */
export class NodeCrypto implements CryptoPort {
  sha256(): Sha256 {
    const hash = createHash("sha256");
    return {
      update: (data) => void hash.update(data),
      digest: () => new Uint8Array(hash.digest()),
    };
  }

  verifyP256(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      const key = createPublicKey({ key: Buffer.from(p256Spki(publicKey)), format: "der", type: "spki" });
      if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") return false;
      return verify("sha256", message, { key, dsaEncoding: "der" }, signature);
    } catch {
      return false;
    }
  }
}
