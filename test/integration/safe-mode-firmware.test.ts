import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createHostDevice, type HostDevice } from "../../host/device/host-device";
import type { LocalHub } from "../../host/hub/local-hub";
import { StaticRoutes } from "../../src/net/guarded-network";
import { MemoryStore } from "../../src/ports/storage";
import { Mosquitto } from "./support/mosquitto";
import { freePort, sleep, waitFor } from "./support/processes";
import { HUB_HOST, MemoryLogger, TestPki } from "./support/fixture";

/**
 * Safe mode through the whole host firmware: boots that never reach the hub are counted in storage; after the
 * threshold the product behaviour stays off (only connectivity, twin and updates); reaching the hub and staying
 * up clears it.
 */
describe("safe mode through the whole host firmware", function () {
  this.timeout(60_000);
  const deviceId = "kisbox-safe-1";
  const store = new MemoryStore();
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;

  function boot(port: number): HostDevice {
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
        safeMode: { threshold: 2, stableMs: 500 },
        routes: new StaticRoutes().set(HUB_HOST, 8883, "tcp", { address: "127.0.0.1", port }),
        hub: { backoff: { initialMs: 50, maxMs: 200 } },
      },
      { set: () => undefined },
    );
    d.start();
    return d;
  }

  before(async () => {
    pki = new TestPki();
    ({ broker, hub } = await pki.mosquittoHub(deviceId));
  });

  after(async () => {
    await hub?.stop();
    await broker?.stop();
  });

  it("enters safe mode after boots that never reached the hub, and leaves it once the hub stays reachable", async () => {
    const nowhere = await freePort(); // nothing listens: the hub is unreachable
    for (let i = 1; i <= 2; i++) {
      const d = boot(nowhere);
      assert.equal(d.safeMode.active, false, `boot ${i} is normal`);
      assert.ok(d.box, "product behaviour runs");
      await sleep(300);
      d.stop();
    }
    const safe = boot(broker.port);
    assert.equal(safe.safeMode.active, true, "the third failed boot in a row enters safe mode");
    assert.equal(safe.box, undefined, "no product behaviour in safe mode");
    await waitFor(() => safe.hub.status.state === "connected", "connectivity still works in safe mode");
    assert.equal((await hub.invokeMethod("setColor", { color: "red" })).status, 404, "product commands are off");
    assert.equal((await hub.invokeMethod("getLog", { lines: 2 })).status, 200, "diagnostics stay on");
    await waitFor(() => !safe.safeMode.active, "leaving safe mode after staying up", 10_000);
    safe.stop();
    const normal = boot(broker.port);
    assert.equal(normal.safeMode.active, false);
    assert.ok(normal.box);
    normal.stop();
  });
});
