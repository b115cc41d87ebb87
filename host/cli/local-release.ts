import { randomBytes, type KeyObject } from "node:crypto";
import { isFirmwareProduct, type FirmwareManifest, type FirmwareProduct } from "../../src/update/update-manifest";
import type { LocalBlobStore } from "../hub/local-blob-store";
import type { LocalHub } from "../hub/local-hub";
import { signRelease } from "../update/release-signer";

/** MAJOR.MINOR.PATCH+1 of a version (a pre-release tag is dropped: 1.2.3-rc.1 → 1.2.4). */
export function nextPatch(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) throw new RangeError(`not a version: ${JSON.stringify(version)}`);
  return `${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
}

/** The firmware product of an app name: "kisbox" or "box" → "box", "kislight" or "light" → "light". */
export function firmwareProductOf(name: string): FirmwareProduct {
  const product = name.replace(/^kis/, "");
  if (!isFirmwareProduct(product)) throw new RangeError(`not a KIS.ME product: ${JSON.stringify(name)}`);
  return product;
}

/**
 * A release as the cloud would roll it out, for trying an update locally: an image (random bytes: the host
 * firmware only stores and verifies it), signed with the development release key as a kisme-fw:v2 manifest for
 * the running product (security version 0), published in the local blob store, and set as the device's desired
 * `firmware`.
 */
export class LocalRelease {
  private readonly firmwareProduct: FirmwareProduct;

  constructor(
    private readonly blobs: LocalBlobStore,
    private readonly hub: LocalHub,
    private readonly key: KeyObject,
    /** The app name ("kisbox", "kislight"; the image's file name) or the product ("box", "light"). */
    private readonly product: string,
    private readonly imageBytes = 200 * 1024,
  ) {
    this.firmwareProduct = firmwareProductOf(product);
  }

  async publish(runningVersion: string): Promise<FirmwareManifest> {
    const version = nextPatch(runningVersion);
    const image = randomBytes(this.imageBytes);
    const url = this.blobs.put(`/firmware/${this.product}-${version}.bin`, image);
    const manifest = signRelease(image, this.key, { product: this.firmwareProduct, version, url });
    await this.hub.updateDesired({ firmware: { ...manifest } });
    return manifest;
  }
}
