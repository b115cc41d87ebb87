import assert from "../support/assert";
import { ManualClock } from "../support/manual-clock";
import type { PressFeedback } from "../../src/device/kis-box";
import {
  DEFAULT_FEEDBACK_CONFIG,
  DEFAULT_STATUS_PATTERNS,
  LedFeedback,
  statusForBootPhase,
  statusPattern,
  type DeviceStatus,
  type FeedbackConfig,
} from "../../src/device/led-feedback";
import { LedDriver, LedPatterns, type PatternSpec, type Rgb } from "../../src/device/led-patterns";

const label = (spec: PatternSpec) => `${spec.pattern}:${typeof spec.color === "string" ? spec.color : "rgb"}`;

function setup(config?: Partial<FeedbackConfig>, buttonCount = 3) {
  const clock = new ManualClock();
  const shown: string[] = [];
  const current = new Map<number, PatternSpec>();
  const fb = new LedFeedback({
    clock,
    buttonCount,
    config,
    target: {
      set: (index, spec) => {
        current.set(index, spec);
        shown.push(`${clock.monotonic()} ${index} ${label(spec)}`);
      },
    },
  });
  const event = (button: number, messageId: string, state: PressFeedback["state"]) => fb.feedback({ button, messageId, state });
  /** State of the button and what its LED shows. */
  const look = (button: number) => `${fb.state(button)} ${label(current.get(button - 1)!)}`;
  return { clock, fb, shown, current, event, look };
}

describe("LedFeedback", () => {
  it("press → ack → queued → delivered → back to the cloud-set colour", async () => {
    const t = setup();
    t.fb.show(1, "red"); // setColor
    assert.equal(t.look(1), "base on:red");
    t.event(1, "m1", "queued");
    assert.equal(t.look(1), "ack on:white", "acknowledged at once");
    await t.clock.advance(149);
    assert.equal(t.fb.state(1), "ack");
    await t.clock.advance(1);
    assert.equal(t.look(1), "queued blink:blue");
    await t.clock.advance(5000);
    assert.equal(t.look(1), "queued blink:blue", "queued until the outcome is known");
    t.event(1, "m1", "delivered");
    assert.equal(t.look(1), "delivered on:green");
    await t.clock.advance(1000);
    assert.equal(t.look(1), "base on:red");
    assert.deepEqual(t.shown, ["0 0 on:red", "0 0 on:white", "150 0 blink:blue", "5150 0 on:green", "6150 0 on:red"]);
    assert.equal(t.clock.timerCount, 0);
  });

  it("shows the whole ack even when the PUBACK comes first, then the confirmation", async () => {
    const t = setup();
    t.fb.show(2, "yellow");
    t.event(2, "m1", "queued");
    await t.clock.advance(40);
    t.event(2, "m1", "delivered");
    assert.equal(t.look(2), "ack on:white");
    await t.clock.advance(110);
    assert.equal(t.look(2), "delivered on:green");
    await t.clock.advance(1000);
    assert.equal(t.look(2), "base on:yellow");
    assert.deepEqual(t.shown, ["0 1 on:yellow", "0 1 on:white", "150 1 on:green", "1150 1 on:yellow"]);
  });

  it("dropped → red error → back to the cloud-set colour", async () => {
    const t = setup();
    t.fb.show(3, "cyan");
    t.event(3, "m1", "queued");
    await t.clock.advance(500);
    t.event(3, "m1", "dropped");
    assert.equal(t.look(3), "dropped blink:red");
    await t.clock.advance(1999);
    assert.equal(t.fb.state(3), "dropped");
    await t.clock.advance(1);
    assert.equal(t.look(3), "base on:cyan");
  });

  it("a drop during the ack wins over a delivery", async () => {
    const t = setup();
    t.event(1, "a", "queued");
    t.event(1, "b", "queued");
    t.event(1, "a", "dropped");
    t.event(1, "b", "delivered");
    await t.clock.advance(150);
    assert.equal(t.look(1), "dropped blink:red");
    await t.clock.advance(2000);
    assert.equal(t.look(1), "base off:off");
  });

  it("returns to queued while other presses still wait", async () => {
    const t = setup();
    t.fb.show(1, "blue");
    t.event(1, "m1", "queued");
    t.event(1, "m2", "queued");
    assert.equal(t.fb.pendingCount(1), 2);
    await t.clock.advance(150);
    t.event(1, "m1", "delivered");
    await t.clock.advance(1000);
    assert.equal(t.look(1), "queued blink:blue");
    t.event(1, "m2", "delivered");
    await t.clock.advance(1000);
    assert.equal(t.look(1), "base on:blue");
    assert.equal(t.fb.pendingCount(1), 0);
  });

  it("a new press restarts the ack from any state", async () => {
    const t = setup();
    t.event(1, "m1", "queued");
    await t.clock.advance(150);
    t.event(1, "m1", "delivered");
    await t.clock.advance(500);
    t.event(1, "m2", "queued");
    assert.equal(t.look(1), "ack on:white");
    await t.clock.advance(150);
    assert.equal(t.look(1), "queued blink:blue");
  });

  it("keeps each button separate", async () => {
    const t = setup();
    t.fb.show(1, "green");
    t.fb.show(2, "magenta");
    t.event(1, "m1", "queued");
    assert.equal(t.look(2), "base on:magenta");
    await t.clock.advance(150);
    t.event(2, "m2", "queued");
    assert.deepEqual([t.fb.state(1), t.fb.state(2), t.fb.state(3)], ["queued", "ack", "base"]);
  });

  it("a colour set during feedback becomes the base it returns to; in base it shows at once", async () => {
    const t = setup();
    t.fb.show(1, "red");
    t.event(1, "m1", "queued");
    t.fb.show(1, "green");
    assert.equal(t.look(1), "ack on:white", "feedback is not interrupted");
    assert.equal(t.fb.base(1), "green");
    await t.clock.advance(150);
    t.event(1, "m1", "delivered");
    await t.clock.advance(1000);
    assert.equal(t.look(1), "base on:green");
    t.fb.show(1, "off");
    assert.equal(t.look(1), "base off:off");
  });

  it("is configurable: patterns, durations and the brightness of the base colour", async () => {
    const t = setup({
      ack: { spec: { pattern: "flash", color: "white", periodMs: 100 }, durationMs: 300 },
      queued: { pattern: "breathe", color: "yellow" },
      delivered: { spec: { pattern: "blink", color: "green", periodMs: 200 }, durationMs: 600 },
      baseBrightness: 40,
    });
    t.fb.show(1, "red");
    assert.equal(t.current.get(0)!.brightness, 40);
    t.event(1, "m", "queued");
    assert.equal(t.look(1), "ack flash:white");
    await t.clock.advance(299);
    assert.equal(t.fb.state(1), "ack");
    await t.clock.advance(1);
    assert.equal(t.look(1), "queued breathe:yellow");
    t.event(1, "m", "delivered");
    await t.clock.advance(600);
    assert.equal(t.look(1), "base on:red");
    t.fb.configure({ baseBrightness: 100 });
    assert.equal(t.current.get(0)!.brightness, 100, "shown again with the new settings");
    assert.throws(() => t.fb.configure({ ack: { spec: { pattern: "on", color: "white" }, durationMs: 0 } }), /durationMs/);
    assert.throws(() => t.fb.configure({ baseBrightness: 120 }), /baseBrightness/);
    assert.deepEqual(DEFAULT_FEEDBACK_CONFIG.delivered, { spec: { pattern: "on", color: "green" }, durationMs: 1000 });
  });

  it("maps buttons to LEDs and refuses unknown buttons", () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const fb = new LedFeedback({ clock, buttonCount: 2, ledIndex: (b) => 10 + b, target: { set: (i) => seen.push(i) } });
    fb.show(2, "white");
    assert.deepEqual(seen, [12]);
    assert.throws(() => fb.show(3, "red"), /button must be 1\.\.2/);
    assert.throws(() => fb.feedback({ button: 0, messageId: "x", state: "queued" }), RangeError);
    assert.throws(() => new LedFeedback({ clock, buttonCount: 0, target: { set: () => {} } }), RangeError);
  });

  it("stops its timers on dispose", async () => {
    const t = setup();
    t.event(1, "m", "queued");
    t.fb.dispose();
    assert.equal(t.clock.timerCount, 0);
    await t.clock.advance(1000);
    assert.equal(t.fb.state(1), "ack");
  });

  it("shows the right colours on the LED through a LedDriver", async () => {
    const clock = new ManualClock();
    const engine = new LedPatterns({ count: 1 });
    const colours: string[] = [];
    const hex = (c: Rgb) => [c.r, c.g, c.b].map((v) => v.toString(16).padStart(2, "0")).join("");
    const driver = new LedDriver(engine, clock, { write: (_, c) => colours.push(`${clock.monotonic()} ${hex(c)}`) });
    const fb = new LedFeedback({ clock, buttonCount: 1, target: driver });
    fb.show(1, "red");
    fb.feedback({ button: 1, messageId: "m", state: "queued" });
    await clock.advance(2000);
    fb.feedback({ button: 1, messageId: "m", state: "delivered" });
    await clock.advance(1500);
    assert.deepEqual(colours, [
      "0 ff0000", // base
      "0 ffffff", // ack
      "150 0000ff", // queued: slow blue blink (1600 ms period)
      "950 000000",
      "1750 0000ff",
      "2000 00ff00", // delivered
      "3000 ff0000", // back to the cloud-set colour
    ]);
    assert.equal(clock.timerCount, 0);
  });
});

describe("Status indication", () => {
  const statuses: DeviceStatus[] = ["booting", "no-wifi", "no-time", "no-hub", "updating", "online", "error"];

  it("maps every status to its own valid pattern", () => {
    const engine = new LedPatterns({ count: 1 });
    const seen = new Set<string>();
    for (const status of statuses) {
      const spec = statusPattern(status);
      engine.set(0, spec, 0); // throws on an invalid spec
      seen.add(JSON.stringify(spec));
    }
    assert.equal(seen.size, statuses.length);
    assert.deepEqual(Object.keys(DEFAULT_STATUS_PATTERNS).sort(), [...statuses].sort());
    assert.deepEqual(statusPattern("online"), { pattern: "on", color: "green", brightness: 30 });
    assert.deepEqual(statusPattern("no-wifi"), { pattern: "blink", color: "red", periodMs: 1000 });
    const custom = { ...DEFAULT_STATUS_PATTERNS, online: { pattern: "off", color: "off" } as const };
    assert.deepEqual(statusPattern("online", custom), { pattern: "off", color: "off" });
  });

  it("shows what the boot sequence still waits for", () => {
    assert.deepEqual(
      (["wifi", "time", "bootstrap", "hub", "online"] as const).map(statusForBootPhase),
      ["no-wifi", "no-time", "no-hub", "no-hub", "online"],
    );
  });
});
