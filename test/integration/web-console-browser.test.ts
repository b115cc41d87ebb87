// The web console in a real browser (Debian's chromium via playwright-core): what a developer clicks in the
// console reaches the simulated device and the hub, and what they do shows on the page (issue 14.2).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./support/browser";
import { withStartCli, type StartCli } from "./support/start-cli";

const SCREENSHOTS = join(__dirname, "../../screenshots");

function consoleUrl(cli: StartCli): string {
  const m = /console: (http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64})/.exec(cli.out);
  assert.ok(m, "npm start printed no console URL");
  return m[1]!;
}

describe("web console in Chromium", function () {
  this.timeout(120_000);
  let browser: Browser;
  let dir: string;

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kisme-console-ui-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function open(cli: StartCli, url = consoleUrl(cli)): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await page.locator("#conn", { hasText: "live" }).waitFor();
    return page;
  }

  it("KIS.BOX: a click on a button shows Button_pressed with its properties; setColor turns the LED green (200); a desired setting is acknowledged; a release reaches succeeded", async () => {
    await withStartCli(dir, ["--state-dir", join(dir, "state")], async (cli) => {
      await cli.until(/boot: online/, "the device online", 30_000);
      const page = await open(cli);
      await page.click("#button-2");
      const row = page.locator('#telemetry tr[data-event="Button_pressed"]').first();
      await row.waitFor();
      assert.match(await row.innerText(), /event=Button_pressed/);
      assert.match(await row.innerText(), /"button":2,"gesture":"short"/);

      await page.selectOption("#method", "setColor");
      await page.fill("#method-payload", JSON.stringify({ button: 2, color: "green" }));
      await page.click("#invoke");
      await page.locator('#method-result[data-status="200"]').waitFor();
      assert.match(await page.locator("#method-result").innerText(), /"color": "green"/);
      await page.locator('#led-2[data-color="green"]').waitFor();

      await page.fill("#method-payload", JSON.stringify({ button: 2, color: "pink" }));
      await page.click("#invoke");
      await page.locator('#method-result[data-status="refused"]').waitFor();

      await page.selectOption("#setting", "brightness");
      await page.fill("#setting-value", "35");
      await page.click("#set-desired");
      await page.locator("#desired", { hasText: '"brightness": 35' }).waitFor();
      await page.locator("#reported", { hasText: '"value": 35' }).waitFor();
      assert.match(await page.locator("#reported").innerText(), /"ac": 200/);

      mkdirSync(SCREENSHOTS, { recursive: true });
      writeFileSync(join(SCREENSHOTS, "console-box.png"), await page.screenshot({ fullPage: true }));

      await page.click("#release");
      await page.locator("#fw-status", { hasText: "succeeded" }).waitFor({ timeout: 60_000 });
      assert.equal(await page.locator("#fw-running").innerText(), "0.1.1");
      await page.close();
    });
  });

  it("KIS.LIGHT: segments drawn top to bottom; setColor from the console lights the segment", async () => {
    await withStartCli(dir, ["--state-dir", join(dir, "state"), "--profile", "light"], async (cli) => {
      await cli.until(/boot: online/, "the device online", 30_000);
      const page = await open(cli);
      assert.deepEqual(await page.locator(".segment").evaluateAll((els) => els.map((e) => e.getAttribute("data-segment"))), ["red", "yellow", "green", "blue", "white"]);
      await page.selectOption("#method", "setColor");
      await page.fill("#method-payload", JSON.stringify({ color: "yellow" }));
      await page.click("#invoke");
      await page.locator('#method-result[data-status="200"]').waitFor();
      await page.locator('#led-2[data-color="yellow"]').waitFor();
      writeFileSync(join(SCREENSHOTS, "console-light.png"), await page.screenshot({ fullPage: true }));
      await page.close();
    });
  });

  it("without the token the page shows nothing of the device and its requests are refused", async () => {
    await withStartCli(dir, ["--state-dir", join(dir, "state")], async (cli) => {
      await cli.until(/console: http/, "the console URL");
      const bare = consoleUrl(cli).replace(/#token=.*/, "");
      const page = await browser.newPage();
      const statuses: number[] = [];
      page.on("response", (r) => {
        if (r.url().includes("/api/")) statuses.push(r.status());
      });
      await page.goto(bare);
      await page.locator("#conn", { hasText: "no token" }).waitFor();
      assert.equal(await page.locator("#device-id").innerText(), "");
      const press = await page.evaluate(async () => (await fetch("/api/press", { method: "POST", headers: { "content-type": "application/json" }, body: '{"button":1}' })).status);
      assert.equal(press, 401);
      assert.doesNotMatch(cli.out, /Button_pressed queued/);
      await page.close();
    });
  });
});
