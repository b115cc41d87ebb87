import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostDevice } from "../../host/device/host-device";
import type { LocalHub } from "../../host/hub/local-hub";
import { StaticRoutes } from "../../src/net/guarded-network";
import { MemoryStore } from "../../src/ports/storage";
import { BLOB, BlobServer } from "./support/blob-server";
import { Mosquitto } from "./support/mosquitto";
import { tempDir, waitFor } from "./support/processes";
import { HUB_HOST, TestPki, testDevice } from "./support/fixture";

/**
 * The whole update through the firmware on the host: the cloud sets the desired `firmware`, the device
 * downloads from "blob storage" (HTTPS on loopback, through the egress guard), verifies, switches slot,
 * restarts (the host device is built anew from its folders: the next boot), reaches the hub on the new
 * image, and only then marks it valid and reports `succeeded`.
 */
describe("over-the-air update through the whole host firmware", function () {
  this.timeout(60_000);
  const deviceId = "kisbox-ota-1";
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;
  let blobs: BlobServer;
  let device: HostDevice | undefined;
  let restarts = 0;
  const store = new MemoryStore();
  const updateDir = join(tempDir("ota"), "flash");
  const image = randomBytes(120 * 1024 + 7);
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

  function boot(): HostDevice {
    const d = testDevice(pki, deviceId, broker.port, {
      store,
      releaseKey: new Uint8Array(publicKey.export({ type: "spki", format: "der" })),
      ota: { rebootDelayMs: 100, progressIntervalMs: 200 },
      update: {
        dir: updateDir,
        slotSize: 1024 * 1024,
        onRestart: () => {
          restarts++;
          // The device restarts: stop this one, boot the next from the same flash and storage.
          setTimeout(() => {
            device?.stop();
            device = boot();
          }, 10);
        },
      },
      routes: new StaticRoutes()
        .set(HUB_HOST, 8883, "tcp", { address: "127.0.0.1", port: broker.port })
        .set(BLOB, 443, "tcp", { address: "127.0.0.1", port: blobs.port }),
      hub: { backoff: { initialMs: 100, maxMs: 1000 } },
    });
    d.start();
    return d;
  }

  before(async () => {
    pki = new TestPki();
    blobs = await BlobServer.start(pki.ca);
    ({ broker, hub } = await pki.mosquittoHub(deviceId));
    device = boot();
    await waitFor(() => device!.hub.status.state === "connected", "the device on the factory image");
  });

  after(async () => {
    device?.stop();
    await hub?.stop();
    await broker?.stop();
    await blobs?.close();
  });

  it("installs a signed image, restarts into it, and marks it valid once it has reached the hub", async () => {
    assert.equal(device!.ota?.status.currentVersion, "0.1.0");
    // Published at /firmware/kisbox-0.2.0.bin, signed with the release key.
    const manifest = blobs.publish(image, privateKey, { version: "0.2.0" });
    await hub.updateDesired({ firmware: { ...manifest } });
    await waitFor(() => restarts === 1, "the restart into the new image", 30_000);
    await waitFor(() => (hub.reported["firmware"] as { status?: string } | undefined)?.status === "succeeded", "succeeded reported by the new image", 30_000);
    const reported = hub.reported["firmware"] as Record<string, unknown>;
    assert.equal(reported["currentVersion"], "0.2.0");
    assert.equal(device!.hub.status.state, "connected");
    type BootRecord = { pending: unknown; boot: string; slots: Record<string, { version: string } | null> };
    const record = (): BootRecord => JSON.parse(readFileSync(join(updateDir, "boot.json"), "utf8")) as BootRecord;
    // Marked valid when the hub's 204 for that report reaches the device, just after the hub recorded it.
    await waitFor(() => record().pending === null, "the new image marked valid");
    const boot = record();
    assert.equal(boot.slots[boot.boot]!.version, "0.2.0");
  });
});
