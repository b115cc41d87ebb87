import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createHostDevice, type HostDevice } from "../../host/device/host-device";
import type { LocalHub } from "../../host/hub/local-hub";
import { issueServer } from "../../host/pki/dev-pki";
import { StaticRoutes } from "../../src/net/guarded-network";
import { MemoryStore } from "../../src/ports/storage";
import { canonicalMessage } from "../../src/update/update-manifest";
import { Mosquitto } from "./support/mosquitto";
import { tempDir, waitFor } from "./support/processes";
import { HUB_HOST, MemoryLogger, TestPki } from "./support/fixture";

const BLOB = "kismefw.blob.core.windows.net";

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
  let blob: Server;
  let device: HostDevice | undefined;
  let restarts = 0;
  const store = new MemoryStore();
  const updateDir = join(tempDir("ota"), "flash");
  const image = randomBytes(120 * 1024 + 7);
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

  function boot(): HostDevice {
    const cred = pki.device(deviceId);
    const d = createHostDevice(
      {
        ca: [pki.caPem],
        cert: readFileSync(cred.cert),
        key: readFileSync(cred.key),
        logger: new MemoryLogger(),
        store,
        trustPlatformClock: true,
        skipBootstrap: true,
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
          .set(BLOB, 443, "tcp", { address: "127.0.0.1", port: (blob.address() as AddressInfo).port }),
        hub: { backoff: { initialMs: 100, maxMs: 1000 } },
      },
      { set: () => undefined },
    );
    d.start();
    return d;
  }

  before(async () => {
    pki = new TestPki();
    const cred = issueServer(pki.ca, [BLOB]);
    blob = createServer({ cert: readFileSync(cred.cert), key: readFileSync(cred.key) }, (req, res) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, {
        "content-length": String(image.length - start),
        ...(range ? { "content-range": `bytes ${start}-${image.length - 1}/${image.length}` } : {}),
      });
      res.end(image.subarray(start));
    });
    await new Promise<void>((resolve) => blob.listen(0, "127.0.0.1", () => resolve()));
    ({ broker, hub } = await pki.mosquittoHub(deviceId));
    device = boot();
    await waitFor(() => device!.hub.status.state === "connected", "the device on the factory image");
  });

  after(async () => {
    device?.stop();
    await hub?.stop();
    await broker?.stop();
    blob?.close();
  });

  it("installs a signed image, restarts into it, and marks it valid once it has reached the hub", async () => {
    assert.equal(device!.ota?.status.currentVersion, "0.1.0");
    const manifest = { version: "0.2.0", size: image.length, sha256: createHash("sha256").update(image).digest("hex"), allowDowngrade: false };
    const signature = sign("sha256", Buffer.from(canonicalMessage(manifest)), privateKey).toString("base64");
    await hub.updateDesired({ firmware: { version: "0.2.0", url: `https://${BLOB}/firmware/kisbox-0.2.0.bin`, size: image.length, sha256: manifest.sha256, signature } });
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
