import { generateKeyPairSync, randomBytes } from "node:crypto";
import { request } from "node:https";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../src/ports/logger";
import { BLOB, BlobServer } from "../integration/support/blob-server";
import { TestPki } from "../integration/support/fixture";
import { powerOnOtaDevice } from "../integration/support/ota-device";
import { tempDir, waitFor } from "../integration/support/processes";
import { DelayLink } from "./delay-link";

export interface OtaSamples {
  readonly imageBytes: number;
  /** Desired update → image downloaded, hash and signature checked, written to the slot, slot switched (ms). */
  readonly updateMs: number[];
  /** A plain HTTPS GET of the same image on the same link, new connection (ms). */
  readonly downloadMs: number[];
}

/** A plain download: new TCP + TLS connection, GET, every byte read. */
function plainDownload(port: number, path: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const req = request({ host: "127.0.0.1", port, path, servername: BLOB, ca, agent: false }, (res) => {
      res.on("data", (d: Buffer) => (bytes += d.length));
      res.on("end", () => resolve(bytes));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * B4: the host's update path (OtaManager over the streamed HTTPS client, Node crypto, file-backed A/B slots) against
 * a plain HTTPS download of the same image, both through the same delay link to the same blob server.
 */
export async function measureOta(rttMs: number, runs: number, imageBytes = 1024 * 1024): Promise<OtaSamples> {
  const pki = new TestPki();
  const blobs = await BlobServer.start(pki.ca);
  const link = new DelayLink(rttMs);
  const proxy = await link.tcp(blobs.port);
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const image = randomBytes(imageBytes);
  const manifest = blobs.publish(image, pair.privateKey, { version: "1.3.0" });
  const path = new URL(manifest.url).pathname + new URL(manifest.url).search;
  const updateMs: number[] = [];
  const downloadMs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const dir = tempDir("bench-ota");
      const device = powerOnOtaDevice({
        flash: join(dir, "flash"),
        slotSize: 2 * imageBytes,
        factoryVersion: "1.2.3",
        blobPort: proxy.port,
        ca: pki.caPem,
        publicKey: new Uint8Array(pair.publicKey.export({ format: "der", type: "spki" })),
        logger: silentLogger,
      });
      try {
        const start = Date.now();
        device.ota.onDesired({ properties: { firmware: { ...manifest } }, version: 2 + i, full: true });
        await waitFor(() => ["rebooting", "failed"].includes(device.ota.status.status), "the update to be applied", 120_000);
        if (device.ota.status.status !== "rebooting") throw new Error(`the update failed: ${device.ota.status.lastError ?? "?"}`);
        updateMs.push(Date.now() - start);
      } finally {
        device.shutdown();
        rmSync(dir, { recursive: true, force: true });
      }
      const start = Date.now();
      const got = await plainDownload(proxy.port, path, pki.caPem);
      if (got !== imageBytes) throw new Error(`the plain download read ${got} of ${imageBytes} bytes`);
      downloadMs.push(Date.now() - start);
    }
    return { imageBytes, updateMs, downloadMs };
  } finally {
    await link.close();
    await blobs.close();
    rmSync(pki.dir, { recursive: true, force: true });
  }
}
