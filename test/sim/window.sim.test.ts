// The device simulators in mcsim (simulators/kisbox.js, kislight.js) with the firmware built for the device:
// buttons pressed in the window go through the firmware's gesture engine to the hub, and the LEDs the window shows
// are what the firmware's LED driver writes. Driven through the window's test hook (a copy of simulators/ with a
// hook/ folder: command files in, state file out; support/sim-window.ts), against the local cloud and chronyd.
// Run with `npm run test:sim -- window`; the screenshots go to build/screenshots/ (README: docs/images/).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../integration/support/processes";
import type { ReceivedTelemetry } from "../../host/hub/local-hub";
import { SimRig } from "./support/sim-rig";
import { SimWindow, type WindowEvent } from "./support/sim-window";

const SHOTS = join(__dirname, "../../screenshots");
const GREEN = [0, 255, 0] as const;
const WHITE = [255, 255, 255] as const;

function pressed(t: ReceivedTelemetry): { button?: number; gesture?: string } | undefined {
  try {
    return (JSON.parse(t.body) as { Button_pressed?: { button?: number; gesture?: string } }).Button_pressed;
  } catch {
    return undefined;
  }
}

describe("KIS.BOX in mcsim's device simulator (simulators/kisbox.js)", function () {
  this.timeout(600_000);
  let rig: SimRig;
  let window: SimWindow;

  before(async () => {
    rig = await SimRig.start("kisbox-sim-1", "box");
    window = SimWindow.prepare(rig.dir);
    const sim = await rig.powerOn(window.options);
    await sim.waitFor(/boot phase phase=online/, 90_000);
  });

  after(async () => {
    await rig?.dispose();
  });

  it("a click on button 1 → Button_pressed (short) at the hub → PUBACK → the button's LED turns green", async () => {
    const since = Date.now();
    const from = rig.sim!.lines.length;
    window.command(1, "click");
    await window.waitForEvent((e) => e.button === 1 && e.down === true, "button 1 down", since);
    await waitFor(() => rig.cloud.hub.telemetry.some((t) => t.receivedAt >= since && pressed(t)?.button === 1 && pressed(t)?.gesture === "short"), "Button_pressed button 1 short at the hub", 20_000);
    const ack = await window.waitForLed(0, WHITE, since);
    const green = await window.waitForLed(0, GREEN, since);
    assert.ok(green.t >= ack.t, "white (pressed) first, then green (delivered)");
    await rig.sim!.waitFor(/press button=1 state=delivered/, 5_000, from);
    const pattern = await window.waitForEvent((e) => e.pattern?.index === 0 && e.pattern.pattern === "on" && e.pattern.color === "green", "the pattern on green for LED 0", since);
    assert.ok(pattern.t <= green.t + 100, "the window names the pattern the driver was asked for");
    // the other buttons' LEDs were not touched
    assert.ok(!window.history(since).some((e) => e.index !== undefined && e.index !== 0 && e.rgb !== undefined && e.rgb.some((v) => v > 0)));
  });

  it("a double click and a long press reach the hub as such", async () => {
    const since = Date.now();
    window.command(2, "double");
    await waitFor(() => rig.cloud.hub.telemetry.some((t) => t.receivedAt >= since && pressed(t)?.button === 2 && pressed(t)?.gesture === "double"), "Button_pressed button 2 double", 20_000);
    await window.waitForLed(1, GREEN, since);
    const later = Date.now();
    window.command(3, "long", 1500);
    await waitFor(() => rig.cloud.hub.telemetry.some((t) => t.receivedAt >= later && pressed(t)?.button === 3 && pressed(t)?.gesture === "long"), "Button_pressed button 3 long", 20_000);
    await window.waitForLed(2, GREEN, later);
  });

  it("setColor from the hub: the window shows that colour and pattern; screenshot", async () => {
    const since = Date.now();
    const ok = await rig.cloud.hub.invokeMethod("setColor", { button: 2, color: "magenta" });
    assert.equal(ok.status, 200, JSON.stringify(ok.payload));
    await window.waitForLed(1, [255, 0, 255], since);
    const blink = await rig.cloud.hub.invokeMethod("setColor", { button: 3, color: "cyan", pattern: "blink", periodMs: 600 });
    assert.equal(blink.status, 200, JSON.stringify(blink.payload));
    const lit = await window.waitForLed(2, [0, 255, 255], since);
    const dark = await window.waitForEvent((e) => e.index === 2 && e.t > lit.t && e.rgb?.every((v) => v === 0) === true, "LED 3 dark (blinking)", since);
    const again = await window.waitForEvent((e) => e.index === 2 && e.t > dark.t && e.rgb?.join() === "0,255,255", "LED 3 lit again", since);
    assert.ok(again.t - lit.t >= 500 && again.t - lit.t <= 1200, `one blink period (600 ms) apart: ${again.t - lit.t} ms`);
    await window.waitForEvent((e: WindowEvent) => e.pattern?.index === 2 && e.pattern.pattern === "blink" && e.pattern.periodMs === 600, "the blink pattern named", since);
    // the screenshot while the blinking LED is lit (it stays lit for 300 ms)
    await window.waitForEvent((e) => e.index === 2 && e.t > again.t && e.rgb?.join() === "0,255,255", "LED 3 lit for the screenshot", again.t + 1);
    mkdirSync(SHOTS, { recursive: true });
    window.screenshot(join(SHOTS, "mcsim-kisbox.png"));
  });
});

describe("KIS.LIGHT in mcsim's device simulator (simulators/kislight.js)", function () {
  this.timeout(600_000);
  let rig: SimRig;
  let window: SimWindow;

  before(async () => {
    rig = await SimRig.start("kislight-sim-1", "light");
    window = SimWindow.prepare(rig.dir);
    const sim = await rig.powerOn(window.options);
    await sim.waitFor(/boot phase phase=online/, 90_000);
  });

  after(async () => {
    await rig?.dispose();
  });

  it("setColor from the hub switches a segment in the window; a breathe is drawn as the engine steps it; screenshot", async () => {
    const since = Date.now();
    const ok = await rig.cloud.hub.invokeMethod("setColor", { segment: 3, color: "green" });
    assert.equal(ok.status, 200, JSON.stringify(ok.payload));
    await window.waitForLed(2, GREEN, since);
    const red = await rig.cloud.hub.invokeMethod("setColor", { segment: 1, color: "red", brightness: 50 });
    assert.equal(red.status, 200, JSON.stringify(red.payload));
    // 50 % perceived brightness is a duty of 0.5^2.2 (the engine's gamma): 255 → 55
    await window.waitForLed(0, [55, 0, 0], since);
    const breathe = await rig.cloud.hub.invokeMethod("setColor", { segment: 4, color: "blue", pattern: "breathe", periodMs: 2000 });
    assert.equal(breathe.status, 200, JSON.stringify(breathe.payload));
    await waitFor(() => new Set(window.history(since).filter((e) => e.index === 3 && e.rgb).map((e) => e.rgb![2])).size >= 10, "segment 4 through 10 blue levels", 10_000);
    await waitFor(() => rig.cloud.hub.telemetry.some((t) => t.receivedAt >= since && t.body.includes("Set_Color_green")), "Set_Color_green at the hub", 10_000);
    mkdirSync(SHOTS, { recursive: true });
    window.screenshot(join(SHOTS, "mcsim-kislight.png"));
  });
});
