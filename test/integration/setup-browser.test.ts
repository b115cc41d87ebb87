// Field setup in a real browser (Debian's chromium via playwright-core) against `npm start -- --unprovisioned`:
// the setup page of a device without Wi-Fi, a wrong and then the right passphrase, the device online afterwards
// with a press delivered; and the networks that cannot be chosen (issue 13).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./support/browser";
import { withStartCli, type StartCli } from "./support/start-cli";

const SCREENSHOTS = join(__dirname, "../../screenshots");

function printed(cli: StartCli): { url: string; password: string; passphrase: string } {
  const url = /setup page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(cli.out)?.[1];
  const password = /setup password: (\S+)/.exec(cli.out)?.[1];
  const passphrase = /KISME-SIM \(WPA2, passphrase (\S+)\)/.exec(cli.out)?.[1];
  assert.ok(url && password && passphrase, "npm start printed the setup page, the password and the WPA2 network");
  return { url, password, passphrase };
}

/** Width and height from a PNG's IHDR. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("setup page in Chromium (npm start -- --unprovisioned)", function () {
  this.timeout(120_000);
  let browser: Browser;
  let dir: string;

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kisme-setup-ui-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function open(url: string, locale: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 }, locale });
    await page.goto(url);
    await page.locator('#networks input[value="KISME-SIM"]').waitFor();
    await page.locator("#id", { hasText: "kisbox-sim-1" }).waitFor();
    return page;
  }

  it("a factory-reset box: wrong passphrase refused, the right one joins, the box comes online and delivers a press; the form fits 360 px", async () => {
    const state = join(dir, "state");
    // A box that was set up before: the factory reset (--unprovisioned) must make it forget that network.
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "store.json"), JSON.stringify({ config: JSON.stringify({ v: 2, wifi: { ssid: "Alte-Halle", passphrase: "altes-passwort" }, hub: null, settings: {} }) }));
    await withStartCli(dir, ["--unprovisioned", "--no-console", "--state-dir", state], async (cli) => {
      await cli.until(/simulated networks: .*Altbau-WEP \(WEP\)\n/, "the setup page, its password and the networks", 30_000);
      const { url, password, passphrase } = printed(cli);
      assert.match(password, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
      assert.doesNotMatch(cli.out, /boot: time/, "nothing boots on before setup");
      const page = await open(url, "en-US");
      assert.equal(await page.getAttribute("html", "lang"), "en");
      assert.equal(await page.locator("#st").innerText(), "none", "the old network is forgotten");

      // The form is usable at 360 px: every part lies within the viewport's width.
      for (const selector of ["#networks", 'input[value="KISME-SIM"]', "#passphrase", "#join", "#rescan"]) {
        const box = await page.locator(selector).boundingBox();
        assert.ok(box && box.width > 0 && box.height > 0, `${selector} is visible`);
        assert.ok(box.x >= 0 && box.x + box.width <= 360, `${selector} fits 360 px (x ${box.x}, width ${box.width})`);
      }
      assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth), 360, "no horizontal scrolling");
      mkdirSync(SCREENSHOTS, { recursive: true });
      const png = await page.screenshot({ path: join(SCREENSHOTS, "setup-page-360.png"), fullPage: true });
      assert.equal(pngSize(png).width, 360);
      assert.deepEqual(pngSize(readFileSync(join(SCREENSHOTS, "setup-page-360.png"))), pngSize(png));

      await page.check('input[value="KISME-SIM"]');
      await page.fill("#passphrase", "falsches-passwort");
      await page.click("#join");
      await page.locator('#result[data-result="wrong-passphrase"]').waitFor();
      assert.match(await page.locator("#result").innerText(), /KISME-SIM did not accept the password/);
      assert.doesNotMatch(cli.out, /boot: time/);

      await page.fill("#passphrase", passphrase);
      await page.click("#join");
      await page.locator('#result[data-result="joined"]').waitFor();
      assert.match(await page.locator("#result").innerText(), /Connected to KISME-SIM, address 192\.0\.2\.10/);
      await page.locator("#st", { hasText: "KISME-SIM" }).waitFor();
      assert.equal(await page.locator("#passphrase").inputValue(), "", "the field is cleared");
      const html = await page.content();
      assert.ok(!html.includes(passphrase), "the stored passphrase is never sent back");

      await cli.until(/boot: online \(hub iotrafi-prod-iot-hub\.azure-devices\.net, assigned by the bootstrap service\)/, "the box online after setup", 30_000);
      cli.send("1");
      await cli.until(/button 1: Button_pressed .*delivered \(PUBACK\)/, "the press delivered");
      await page.close();
    });
    const store = JSON.parse(readFileSync(join(state, "store.json"), "utf8")) as Record<string, string>;
    assert.deepEqual((JSON.parse(store.config!) as { wifi: unknown }).wifi, { ssid: "KISME-SIM", passphrase: "kisme-simulated-wlan" });
  });

  it("open, WPA3-only and WEP networks cannot be chosen (German page), and the API refuses them too", async () => {
    await withStartCli(dir, ["--unprovisioned", "--no-console", "--state-dir", join(dir, "state")], async (cli) => {
      await cli.until(/simulated networks: .*Altbau-WEP \(WEP\)\n/, "the setup page, its password and the networks", 30_000);
      const { url } = printed(cli);
      const page = await open(url, "de-DE");
      assert.equal(await page.getAttribute("html", "lang"), "de");
      assert.match(await page.locator("label[for=passphrase]").innerText(), /WLAN-Passwort/);
      for (const [ssid, why] of [["Cafe-Offen", /offenes Netz/], ["Buero-WPA3", /nur WPA3/], ["Altbau-WEP", /WEP/]] as const) {
        const radio = page.locator(`#networks input[value="${ssid}"]`);
        const entry = page.locator("#networks li", { has: page.locator(`input[value="${ssid}"]`) });
        assert.equal(await radio.isDisabled(), true, `${ssid} disabled`);
        await radio.click({ force: true });
        assert.equal(await radio.isChecked(), false, `${ssid} cannot be checked`);
        assert.match(await entry.innerText(), why);
      }
      assert.equal(await page.locator('#networks input[value="KISME-SIM"]').isDisabled(), false);
      // Nothing chosen: the page asks for a network instead of sending anything.
      await page.fill("#passphrase", "irgendein-passwort");
      await page.click("#join");
      await page.locator('#result[data-result="error"]', { hasText: "Bitte zuerst ein Netz wählen" }).waitFor();
      // The device refuses them itself, whatever a page sends.
      const statuses = await page.evaluate(async () => {
        const { token } = (await (await fetch("/api/status")).json()) as { token: string };
        const out: number[] = [];
        for (const ssid of ["Cafe-Offen", "Buero-WPA3"]) {
          const r = await fetch("/api/join", { method: "POST", headers: { "content-type": "application/json", "x-setup-token": token }, body: JSON.stringify({ ssid, passphrase: "nur-wpa3-geht-nicht" }) });
          out.push(r.status);
        }
        return out;
      });
      assert.deepEqual(statuses, [400, 400]);
      assert.doesNotMatch(cli.out, /boot: time/, "still in setup mode");
      await page.close();
    });
  });
});
