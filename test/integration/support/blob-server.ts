import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { issueServer, type CertificateAuthority } from "../../../host/pki/dev-pki";
import { BLOB_HOST, LocalBlobStore } from "../../../host/hub/local-blob-store";
import { signRelease } from "../../../host/update/release-signer";
import type { FirmwareManifest } from "../../../src/update/update-manifest";

export { serveBlob, type BlobHandler, type Served } from "../../../host/hub/local-blob-store";

/** The blob storage host firmware images are served from (tests route it to the loopback server). */
export const BLOB = BLOB_HOST;

/** The host's blob store with a certificate from the test CA, publishing images with signed manifests. */
export class BlobServer extends LocalBlobStore {
  static async start(ca: CertificateAuthority): Promise<BlobServer> {
    const cred = issueServer(ca, [BLOB]);
    return new BlobServer({ cert: readFileSync(cred.cert), key: readFileSync(cred.key) }).listen();
  }

  /**
   * Publishes `body` at `/firmware/kisbox-{version}.bin` and returns its manifest signed with `key`; `fields`
   * override what is signed (a wrong size or hash, say).
   */
  publish(body: Buffer, key: KeyObject, fields: Partial<FirmwareManifest> & { readonly version: string }): FirmwareManifest {
    const url = `${this.put(`/firmware/kisbox-${fields.version}.bin`, body)}?sv=2024-11-04&sr=b&sig=abc%3D`;
    const { signature: _ignored, ...signed } = fields;
    return signRelease(body, key, { url, ...signed });
  }
}
