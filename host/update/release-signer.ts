import { createHash, sign, type KeyObject } from "node:crypto";
import { canonicalMessage, type FirmwareManifest } from "../../src/update/update-manifest";

/** What signRelease needs besides the image: `product` defaults to "box" (the simulator's and the tests' device), `securityVersion` to 0. */
export type ReleaseFields = Partial<Omit<FirmwareManifest, "signature">> & { readonly version: string; readonly url: string };

/**
 * The kisme-fw:v2 manifest for `image` at `url`, signed with the release key as scripts/release-image.mjs does
 * (ECDSA P-256, SHA-256, DER, base64) over the firmware's own canonical message; `fields` replace signed fields
 * (tests sign a wrong size or hash, another product, a downgrade with them).
 */
export function signRelease(image: Buffer, key: KeyObject, fields: ReleaseFields): FirmwareManifest {
  const unsigned = { product: "box" as const, securityVersion: 0, size: image.length, sha256: createHash("sha256").update(image).digest("hex"), ...fields };
  const signature = sign("sha256", Buffer.from(canonicalMessage(unsigned)), key).toString("base64");
  return { ...unsigned, signature };
}
