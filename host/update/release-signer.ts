import { createHash, sign, type KeyObject } from "node:crypto";
import { canonicalMessage, type FirmwareManifest } from "../../src/update/update-manifest";

/**
 * The manifest for `image` at `url`, signed with the release key as scripts/release-image.mjs does (ECDSA P-256,
 * SHA-256, DER, base64) over the firmware's own canonical message; `overrides` replace signed fields (tests sign
 * a wrong size or hash with them).
 */
export function signRelease(image: Buffer, key: KeyObject, fields: Partial<Omit<FirmwareManifest, "signature">> & { readonly version: string; readonly url: string }): FirmwareManifest {
  const unsigned = { size: image.length, sha256: createHash("sha256").update(image).digest("hex"), ...fields };
  const signature = sign("sha256", Buffer.from(canonicalMessage(unsigned)), key).toString("base64");
  return { ...unsigned, signature };
}
