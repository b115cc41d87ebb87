import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHostDevice, SIMULATED_NETWORK, type HostDevice } from "../../host/device/host-device";
import { setupBanner, setupNetworks, type HostSetupReady } from "../../host/device/host-setup";
import { RebootingDevice } from "../../host/cli/rebooting-device";
import type { LocalHub } from "../../host/hub/local-hub";
import { StaticRoutes } from "../../src/net/guarded-network";
import { MemoryStore } from "../../src/ports/storage";
import { ConfigStore, EMPTY_CONFIG } from "../../src/storage/config-store";
import { WifiCredentialStore } from "../../src/wifi/wifi-credentials";
import { SETUP_REQUEST_KEY } from "../../src/setup/setup-request";
import { Mosquitto } from "./support/mosquitto";
import { waitFor } from "./support/processes";
import { HUB_HOST, MemoryLogger, TestPki } from "./support/fixture";

/**
 * Issue 13's third entry into setup mode, through the whole host firmware and a real broker: a box moved to another
 * site keeps retrying its stored network; when it has not joined it for `setupAfterNotJoinedMs` it leaves the setup
 * request and restarts; the next boot serves the setup page (reason not-joined), a join there is saved, and the box
 * boots on, reaches the hub and delivers a press. The request is gone after that boot (one-shot).
 */
describe("setup mode when the stored network is not joined (host firmware, mosquitto)", function () {
  this.timeout(60_000);
  const deviceId = "kisbox-moved-1";
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;
  let dir: string;

  before(async () => {
    pki = new TestPki();
    ({ broker, hub } = await pki.mosquittoHub(deviceId));
    dir = mkdtempSync(join(tmpdir(), "kisme-not-joined-"));
  });

  after(async () => {
    await hub?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("not joined for the time → request stored → restart into setup (not-joined) → join saved → online, press delivered", async () => {
    const store = new MemoryStore();
    // Provisioned for the old site's network, which is not in range here.
    new WifiCredentialStore(new ConfigStore({ store, defaults: EMPTY_CONFIG })).save({ ssid: "Alte-Halle", passphrase: "alte-halle-123" });
    const cred = pki.device(deviceId);
    const readies: HostSetupReady[] = [];
    const boots: boolean[] = [];
    const logger = new MemoryLogger();
    const device = new RebootingDevice(
      (onRestart, restarted) =>
        createHostDevice(
          {
            ca: [pki.caPem],
            cert: readFileSync(cred.cert),
            key: readFileSync(cred.key),
            logger,
            store,
            restarted,
            trustPlatformClock: true,
            skipBootstrap: true,
            routes: new StaticRoutes().set(HUB_HOST, 8883, "tcp", { address: "127.0.0.1", port: broker.port }),
            networks: setupNetworks(SIMULATED_NETWORK),
            update: { dir: join(dir, "firmware"), slotSize: 64 * 1024, onRestart },
            setup: { port: 0, lingerMs: 100, onReady: (ready) => readies.push(ready) },
            setupAfterNotJoinedMs: 1500,
          },
          { set: () => undefined },
        ),
      (_d, restarted) => boots.push(restarted),
    );
    try {
      device.start();
      // The first boot runs the firmware (credentials stored): no setup page yet.
      assert.equal(readies.length, 0);
      await waitFor(() => readies.length === 1, "setup mode after the restart", 10_000);
      assert.deepEqual(boots, [false, true], "a power-on, then the restart the watch asked for");
      const ready = readies[0]!;
      assert.equal(ready.reason, "not-joined");
      assert.match(setupBanner(ready, setupNetworks(SIMULATED_NETWORK))[0]!, /setup mode: the stored network was not joined in time/);
      assert.equal(store.get(SETUP_REQUEST_KEY), undefined, "the request was taken by the boot that honoured it");

      const base = `http://127.0.0.1:${ready.port}`;
      const status = (await (await fetch(`${base}/api/status`)).json()) as { token: string; storedSsid?: string | null };
      assert.equal(status.storedSsid, "Alte-Halle");
      const join = await fetch(`${base}/api/join`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-setup-token": status.token },
        body: JSON.stringify({ ssid: SIMULATED_NETWORK.ssid, passphrase: SIMULATED_NETWORK.passphrase }),
      });
      assert.equal(join.status, 200, await join.clone().text());

      const current = (): HostDevice => device.current;
      await waitFor(() => current().hub.status.state === "connected", "online on the new network", 15_000);
      assert.equal(new WifiCredentialStore(current().config).load().credentials?.ssid, SIMULATED_NETWORK.ssid);
      const rec = current().box!.press(1);
      await waitFor(() => hub.telemetry.some((t) => t.messageId === rec.id), "the press at the hub", 10_000);
      assert.deepEqual(boots, [false, true], "no further restart");
    } finally {
      device.stop();
    }
  });
});
