import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface ReleaseKey {
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo: the firmware's `releaseKey`. */
  readonly publicKeyDer: Uint8Array;
}

/**
 * A development release key (P-256), made once and kept at `path` (PKCS#8 PEM, owner-only) so a device keeps
 * accepting local releases across runs. Only for local state folders (git-ignored): never a production key.
 */
export function devReleaseKey(path: string): ReleaseKey {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  }
  const privateKey = createPrivateKey(readFileSync(path));
  return { privateKey, publicKeyDer: new Uint8Array(createPublicKey(privateKey).export({ type: "spki", format: "der" })) };
}
