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
import { SimWindow } from "./support/sim-window";

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
  let window: SimWindow;

  before(async () => {
    port = await freePort();
    // No Wi-Fi in the build (wifiSsid empty): the device starts as after a factory reset.
    rig = await SimRig.start("kisbox-sim-1", "box", { firmwareVersion: "1.0.0", wifiSsid: "", wifiPassphrase: "", setupPort: String(port) });
    cloud = rig.cloud;
    // The preference store (NVS on the device) as provisioning leaves it: the setup password only.
    writeFileSync("/tmp/modpreferences.json", JSON.stringify({ kisme: { "setup.pw": PASSWORD } }));
    browser = await launchChromium();
    window = SimWindow.prepare(rig.dir); // the device window with its test hook: buttons held at power-up
  });

  after(async () => {
    await browser?.close();
    await rig?.dispose();
  });

  it("serves the setup page; a wrong passphrase is refused, the right one joins and the box goes online and delivers a press from the window", async () => {
    const s = await rig.powerOn(window.options);
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
    await pressInWindow();
  });

  /** A click on button 2 of the window reaches the hub as Button_pressed. */
  async function pressInWindow(): Promise<void> {
    const since = Date.now();
    window.command(2, "click");
    await waitFor(() => cloud.hub.telemetry.some((t) => t.receivedAt >= since && t.body.includes("Button_pressed")), "a Button_pressed event at the hub", 30_000);
  }

  /** The setup page's API (the browser flow is the case above): status, then a join with the session token. */
  async function joinFromApi(): Promise<{ storedSsid: string | null }> {
    const base = `http://127.0.0.1:${port}`;
    const status = (await (await fetch(`${base}/api/status`)).json()) as { token: string; storedSsid: string | null };
    const join = await fetch(`${base}/api/join`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-setup-token": status.token },
      body: JSON.stringify({ ssid: "KISME-SIM", passphrase: "kisme-simulated-wlan" }),
    });
    assert.equal(join.status, 200, await join.clone().text());
    return status;
  }

  it("factory reset: button 1 held 10 s at power-up erases the network → setup mode again → joined → online, presses delivered", async () => {
    // The box above is online with its network stored. Power off; hold button 1 while powering up, past the 10 s.
    await rig.sim?.stop();
    window.command(1, "down");
    const s = await rig.powerOn(window.options);
    await s.waitFor(/button held at power-up/, 30_000);
    await s.waitFor(/factory reset armed/, 30_000);
    window.command(1, "up");
    await s.waitFor(/factory reset: configuration and credentials erased/, 10_000);
    assert.ok(!s.has(/boot phase phase=/), "nothing booted while the button was held");
    // The simulator cannot restart itself: power it on again, as the board's restart would boot it.
    const after = await rig.powerOn(window.options);
    await after.waitFor(new RegExp(`setup page: http://127\\.0\\.0\\.1:${port}/`), 60_000);
    assert.ok(after.has(/setup mode on reason=no-credentials/), "for want of credentials");
    const status = await joinFromApi();
    assert.equal(status.storedSsid, null, "the reset erased the stored network");
    await after.waitFor(/setup mode over; starting/, 30_000);
    await after.waitFor(/boot phase phase=online/, 60_000);
    await pressInWindow();
  });

  it("setup gesture: button 1 held 3–10 s at power-up opens setup mode with the network kept; a join there boots on", async () => {
    await rig.sim?.stop();
    window.command(1, "down");
    const s = await rig.powerOn(window.options);
    await s.waitFor(/release now for setup mode/, 30_000);
    window.command(1, "up");
    await s.waitFor(/setup gesture: starting in setup mode/, 10_000);
    await s.waitFor(new RegExp(`setup page: http://127\\.0\\.0\\.1:${port}/`), 30_000);
    assert.ok(s.has(/setup mode on reason=gesture/));
    const status = await joinFromApi();
    assert.equal(status.storedSsid, "KISME-SIM", "nothing was erased");
    await s.waitFor(/setup mode over; starting/, 30_000);
    await s.waitFor(/boot phase phase=online/, 60_000);
    await pressInWindow();
  });
});
