import { PortableSha256 } from "../../src/crypto/sha2";

/** SHA-256 for tests inside XS, which has no crypto: the firmware's own portable implementation. */
export { PortableSha256 as PureSha256 };

export function sha256(data: Uint8Array): Uint8Array {
  const h = new PortableSha256();
  h.update(data);
  return h.digest();
}
