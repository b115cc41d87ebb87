// Field setup in the Moddable simulator: the lin build without stored Wi-Fi serves the setup page from mcsim (the
// SDK's ECMA-419 HTTP server on a loopback port) and the same Chromium flow as `npm start -- --unprovisioned`
// completes setup: a wrong passphrase refused, the right one joined, then Wi-Fi → time → bootstrap → hub with
// presses delivered. Needs the SDK: `npm run test:sim -- setup`.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Browser } from "playwright-core";
import type { LocalCloud } from "../../host/cli/local-cloud";
import { waitFor } from "../integration/support/processes";
import { launchChromium } from "../integration/support/browser";
import { SimRig } from "./support/sim-rig";

const PASSWORD = "abcd-efgh-jkmn-pqrs"; // this simulated device's setup password, as provisioning would write it

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("setup mode in the Moddable simulator (mcsim)", function () {
  this.timeout(600_000);
  let rig: SimRig;
  let cloud: LocalCloud;
  let browser: Browser;
  let port: number;

  before(async () => {
    port = await freePort();
    // No Wi-Fi in the build (wifiSsid empty): the device starts as after a factory reset.
    rig = await SimRig.start("kisbox-sim-1", "box", { firmwareVersion: "1.0.0", simulatePressEverySeconds: "3", wifiSsid: "", wifiPassphrase: "", setupPort: String(port) });
    cloud = rig.cloud;
    // The preference store (NVS on the device) as provisioning leaves it: the setup password only.
    writeFileSync("/tmp/modpreferences.json", JSON.stringify({ kisme: { "setup.pw": PASSWORD } }));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await rig?.dispose();
  });

  it("serves the setup page; a wrong passphrase is refused, the right one joins and the box goes online and delivers presses", async () => {
    const s = await rig.powerOn();
    await s.waitFor(new RegExp(`setup page: http://127\\.0\\.0\\.1:${port}/ \\(access point KISME-SIM1\\)`), 60_000);
    assert.ok(!s.lines.some((l) => /boot phase phase=time/.test(l)), "nothing boots on before setup");
    const page = await browser.newPage({ viewport: { width: 360, height: 740 }, locale: "en-US" });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('#networks input[value="KISME-SIM"]').waitFor({ timeout: 30_000 });
    await page.locator("#id", { hasText: "kisbox-sim-1" }).waitFor();
    for (const ssid of ["Cafe-Offen", "Buero-WPA3", "Altbau-WEP"]) assert.equal(await page.locator(`#networks input[value="${ssid}"]`).isDisabled(), true, ssid);
    await page.check('input[value="KISME-SIM"]');
    await page.fill("#passphrase", "falsches-passwort");
    await page.click("#join");
    await page.locator('#result[data-result="wrong-passphrase"]').waitFor({ timeout: 30_000 });
    await page.fill("#passphrase", "kisme-simulated-wlan");
    await page.click("#join");
    await page.locator('#result[data-result="joined"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator("#result").innerText(), /Connected to KISME-SIM, address 127\.0\.0\.1/);
    await page.close();
    await s.waitFor(/setup mode over; starting/, 30_000);
    await s.waitFor(/boot phase phase=online/, 60_000);
    await waitFor(() => cloud.hub.telemetry.some((t) => t.body.includes("Button_pressed")), "a Button_pressed event at the hub", 30_000);
  });
});
