import assert from "../support/assert";
import { ManualClock } from "../support/manual-clock";
import { LED_COLORS } from "../../src/device/colors";
import {
  BLACK,
  COLOR_RGB,
  LedDriver,
  LedPatterns,
  colorRgb,
  describePattern,
  rgbLedSink,
  sameRgb,
  scaleChannel,
  scaleRgb,
  stripSink,
  type PatternSpec,
  type Rgb,
} from "../../src/device/led-patterns";
import type { PixelStrip, RgbLed } from "../../src/ports/gpio";

const RED: Rgb = { r: 255, g: 0, b: 0 };
const hex = (c: Rgb) => [c.r, c.g, c.b].map((v) => v.toString(16).padStart(2, "0")).join("");

/** The colour of LED 0 at each of `times`, as hex. */
function sample(spec: PatternSpec, times: readonly number[], startMs = 0): string[] {
  const leds = new LedPatterns({ count: 1 });
  leds.set(0, spec, startMs);
  return times.map((t) => hex(leds.frame(t)[0]!));
}

/** Walks nextChange from `from` to `until`, returning the change times. */
function changes(leds: LedPatterns, from: number, until: number): number[] {
  const out: number[] = [];
  for (let t: number | undefined = leds.nextChange(from); t !== undefined && t <= until; t = leds.nextChange(t)) out.push(t);
  return out;
}

describe("LED colours and brightness", () => {
  it("maps every setColor colour name to RGB", () => {
    assert.deepEqual(Object.keys(COLOR_RGB).sort(), [...LED_COLORS].sort());
    assert.deepEqual(
      LED_COLORS.map((c) => hex(COLOR_RGB[c])),
      ["000000", "ff0000", "00ff00", "0000ff", "ffff00", "ffffff", "00ffff", "ff00ff"],
    );
    assert.equal(colorRgb("cyan"), COLOR_RGB.cyan);
    assert.deepEqual(colorRgb({ r: 1, g: 2, b: 3 }), { r: 1, g: 2, b: 3 });
    assert.throws(() => colorRgb("orange" as never), /unknown colour/);
    assert.throws(() => colorRgb("toString" as never), /unknown colour/);
    assert.throws(() => colorRgb({ r: 256, g: 0, b: 0 }), RangeError);
    assert.throws(() => colorRgb({ r: 1.5, g: 0, b: 0 }), RangeError);
  });

  it("scales perceived brightness with gamma 2.2, never rounding a lit channel to off", () => {
    assert.equal(scaleChannel(255, 100), 255);
    assert.equal(scaleChannel(255, 0), 0);
    assert.equal(scaleChannel(0, 50), 0);
    assert.equal(scaleChannel(255, 50), 55); // 255 × 0.5^2.2 = 55.5
    assert.equal(scaleChannel(255, 30), 18);
    assert.equal(scaleChannel(255, 10), 2);
    assert.equal(scaleChannel(255, 1), 1, "a lit LED stays lit at 1 %");
    assert.equal(scaleChannel(255, 50, 1), 128, "gamma 1 is linear");
    assert.deepEqual(scaleRgb(COLOR_RGB.yellow, 50), { r: 55, g: 55, b: 0 });
    assert.equal(scaleRgb(COLOR_RGB.white, 0), BLACK);
  });

  it("applies the brightness of each LED to its pattern", () => {
    const leds = new LedPatterns({ count: 3 });
    leds.set(0, { pattern: "on", color: "red", brightness: 50 }, 0);
    leds.set(1, { pattern: "on", color: "white" }, 0);
    leds.set(2, { pattern: "blink", color: "green", brightness: 10 }, 0);
    assert.deepEqual(leds.frame(0).map(hex), ["370000", "ffffff", "000200"]);
    const linear = new LedPatterns({ count: 1, gamma: 1 });
    linear.set(0, { pattern: "on", color: "blue", brightness: 50 }, 0);
    assert.equal(hex(linear.rgb(0, 0)), "000080");
  });
});

describe("describePattern (the LED trace line the simulator's console reads back)", () => {
  it("names the pattern and colour, with period and brightness only when set", () => {
    assert.equal(describePattern({ pattern: "on", color: "green" }), "on green");
    assert.equal(describePattern({ pattern: "blink", color: "cyan", periodMs: 600 }), "blink cyan period=600");
    assert.equal(describePattern({ pattern: "breathe", color: { r: 1, g: 2, b: 3 }, periodMs: 2000, brightness: 40 }), "breathe rgb(1,2,3) period=2000 brightness=40");
  });
});

describe("LedPatterns", () => {
  it("starts dark; off and on never change", () => {
    const leds = new LedPatterns({ count: 2 });
    assert.deepEqual(leds.frame(12345), [BLACK, BLACK]);
    assert.equal(leds.nextChange(0), undefined);
    leds.set(0, { pattern: "on", color: "magenta" }, 0);
    leds.set(1, { pattern: "off", color: "red" }, 0);
    assert.deepEqual(leds.frame(0).map(hex), ["ff00ff", "000000"]);
    assert.deepEqual(leds.frame(99_999).map(hex), ["ff00ff", "000000"]);
    assert.equal(leds.nextChange(0), undefined);
    assert.deepEqual(leds.spec(0), { pattern: "on", color: "magenta" });
  });

  it("blink: lit for the first half of each period from its start", () => {
    const spec: PatternSpec = { pattern: "blink", color: "red" };
    assert.deepEqual(sample(spec, [0, 499, 500, 999, 1000, 1499, 1500]), ["ff0000", "ff0000", "000000", "000000", "ff0000", "ff0000", "000000"]);
    assert.deepEqual(sample({ ...spec, periodMs: 300 }, [250, 399, 400, 549, 550], 250), ["ff0000", "ff0000", "000000", "000000", "ff0000"]);
    assert.deepEqual(sample({ ...spec, periodMs: 5 }, [0, 1, 2, 3, 4, 5]), ["ff0000", "ff0000", "000000", "000000", "000000", "ff0000"], "odd period: floor(5/2) ms lit");
    const leds = new LedPatterns({ count: 1 });
    leds.set(0, spec, 0);
    assert.deepEqual(changes(leds, 0, 3000), [500, 1000, 1500, 2000, 2500, 3000]);
    assert.equal(leds.nextChange(499), 500);
    assert.equal(leds.nextChange(500.7), 1000);
  });

  it("flash: lit for dutyPercent of the period (default 10 %)", () => {
    const spec: PatternSpec = { pattern: "flash", color: "white", periodMs: 1000 };
    assert.deepEqual(sample(spec, [0, 99, 100, 999, 1000, 1099, 1100]), ["ffffff", "ffffff", "000000", "000000", "ffffff", "ffffff", "000000"]);
    assert.deepEqual(sample({ ...spec, dutyPercent: 25, periodMs: 400 }, [0, 99, 100, 399, 400]), ["ffffff", "ffffff", "000000", "000000", "ffffff"]);
    assert.deepEqual(sample({ ...spec, dutyPercent: 1, periodMs: 20 }, [0, 1, 19, 20]), ["ffffff", "000000", "000000", "ffffff"], "at least 1 ms lit");
    const leds = new LedPatterns({ count: 1 });
    leds.set(0, spec, 0);
    assert.deepEqual(changes(leds, 0, 2000), [100, 1000, 1100, 2000]);
  });

  it("breathe: rises and falls in equal slots, a triangle in perceived brightness", () => {
    const leds = new LedPatterns({ count: 1 });
    leds.set(0, { pattern: "breathe", color: "red", periodMs: 2000, steps: 20 }, 0);
    const levels: number[] = [];
    for (let slot = 0; slot < 40; slot++) {
      const first = leds.frame(slot * 50)[0]!;
      assert.ok(sameRgb(first, leds.frame(slot * 50 + 49)[0]), `slot ${slot} is steady`);
      const level = slot <= 20 ? slot : 40 - slot;
      assert.deepEqual(first, level === 0 ? BLACK : scaleRgb(RED, level * 5), `slot ${slot}`);
      levels.push(first.r);
    }
    assert.equal(levels[0], 0);
    assert.equal(levels[20], 255);
    for (let s = 1; s <= 20; s++) assert.ok(levels[s]! > levels[s - 1]!, `rising at ${s}`);
    for (let s = 21; s < 40; s++) assert.ok(levels[s]! < levels[s - 1]!, `falling at ${s}`);
    assert.deepEqual(changes(leds, 0, 2000), Array.from({ length: 40 }, (_, i) => (i + 1) * 50));
    assert.equal(hex(leds.frame(2000)[0]!), "000000", "the next cycle starts dark");
  });

  it("breathe with a period that is not a multiple of its slots keeps whole-ms slots", () => {
    const leds = new LedPatterns({ count: 1 });
    leds.set(0, { pattern: "breathe", color: "green", periodMs: 1000, steps: 3 }, 0); // 6 slots of 166.67 ms
    assert.deepEqual(changes(leds, 0, 1000), [167, 334, 500, 667, 834, 1000]);
    assert.deepEqual(sample({ pattern: "breathe", color: "green", periodMs: 1000, steps: 3 }, [166, 167, 499, 500]), ["000000", "001700", "006900", "00ff00"]);
  });

  it("schedules only real changes: steps that look the same are skipped", () => {
    const dim = new LedPatterns({ count: 1 });
    dim.set(0, { pattern: "breathe", color: "red", brightness: 1, periodMs: 2000, steps: 20 }, 0); // every lit level is 1
    assert.deepEqual(changes(dim, 0, 4000), [50, 2000, 2050, 4000]);
    const dark = new LedPatterns({ count: 1 });
    dark.set(0, { pattern: "blink", color: "red", brightness: 0 }, 0);
    assert.equal(dark.nextChange(0), undefined);
    const black = new LedPatterns({ count: 1 });
    black.set(0, { pattern: "breathe", color: "off" }, 0);
    assert.equal(black.nextChange(0), undefined);
  });

  it("nextChange is the first time the frame differs, across several LEDs", () => {
    const leds = new LedPatterns({ count: 4 });
    leds.set(0, { pattern: "blink", color: "red", periodMs: 700 }, 0);
    leds.set(1, { pattern: "flash", color: "green", periodMs: 900 }, 130);
    leds.set(2, { pattern: "breathe", color: "blue", periodMs: 1300, steps: 7 }, 55);
    leds.set(3, { pattern: "on", color: "white" }, 0);
    let t = 0;
    for (let n = 0; n < 200; n++) {
      const next = leds.nextChange(t)!;
      assert.ok(next > t, `${next} after ${t}`);
      const now = leds.frame(t).map(hex).join(" ");
      assert.equal(leds.frame(next - 1).map(hex).join(" "), now, `steady until ${next}`);
      assert.notEqual(leds.frame(next).map(hex).join(" "), now, `changes at ${next}`);
      t = next;
    }
  });

  it("refuses invalid patterns and indexes", () => {
    const leds = new LedPatterns({ count: 2 });
    assert.throws(() => leds.set(2, { pattern: "on", color: "red" }, 0), /LED index/);
    assert.throws(() => leds.set(0, { pattern: "blink", color: "red", periodMs: 1 }, 0), /periodMs/);
    assert.throws(() => leds.set(0, { pattern: "blink", color: "red", periodMs: 10.5 }, 0), /periodMs/);
    assert.throws(() => leds.set(0, { pattern: "on", color: "red", brightness: 101 }, 0), /brightness/);
    assert.throws(() => leds.set(0, { pattern: "on", color: "red", brightness: Number.NaN }, 0), /brightness/);
    assert.throws(() => leds.set(0, { pattern: "flash", color: "red", dutyPercent: 100 }, 0), /dutyPercent/);
    assert.throws(() => leds.set(0, { pattern: "breathe", color: "red", steps: 0 }, 0), /steps/);
    assert.throws(() => leds.set(0, { pattern: "strobe" as never, color: "red" }, 0), /unknown pattern/);
    assert.throws(() => new LedPatterns({ count: 0 }), RangeError);
    assert.throws(() => new LedPatterns({ count: 1, gamma: 0 }), /gamma/);
    assert.deepEqual(leds.frame(0), [BLACK, BLACK], "a refused pattern leaves the LED as it was");
  });
});

describe("LedDriver", () => {
  function setup(count = 2) {
    const clock = new ManualClock();
    const writes: string[] = [];
    let shows = 0;
    const engine = new LedPatterns({ count });
    const driver = new LedDriver(engine, clock, {
      write: (i, c) => writes.push(`${clock.monotonic()} ${i}=${hex(c)}`),
      show: () => shows++,
    });
    return { clock, writes, engine, driver, shows: () => shows };
  }

  it("writes the LEDs that change and sleeps until the next change", async () => {
    const t = setup();
    t.driver.set(0, { pattern: "blink", color: "red", periodMs: 1000 });
    assert.deepEqual(t.writes, ["0 0=ff0000", "0 1=000000"]);
    assert.equal(t.shows(), 1);
    assert.equal(t.clock.timerCount, 1);
    assert.equal(t.clock.nextDelay(), 500);
    await t.clock.advance(2000);
    assert.deepEqual(t.writes.slice(2), ["500 0=000000", "1000 0=ff0000", "1500 0=000000", "2000 0=ff0000"]);
    assert.equal(t.shows(), 5);
  });

  it("arms no timer while the LEDs are steady", async () => {
    const t = setup();
    t.driver.set(1, { pattern: "on", color: "green" });
    assert.equal(t.clock.timerCount, 0);
    t.driver.set(1, { pattern: "on", color: "green" });
    assert.deepEqual(t.writes, ["0 0=000000", "0 1=00ff00"], "nothing is written again");
    t.driver.set(0, { pattern: "flash", color: "white", periodMs: 1000 });
    await t.clock.advance(100);
    t.driver.set(0, { pattern: "off", color: "off" });
    assert.equal(t.clock.timerCount, 0);
    assert.deepEqual(t.writes.slice(2), ["0 0=ffffff", "100 0=000000"]);
  });

  it("starts a pattern's cycle when it is set", async () => {
    const t = setup(1);
    await t.clock.advance(333);
    t.driver.set(0, { pattern: "blink", color: "blue", periodMs: 200 });
    await t.clock.advance(250);
    assert.deepEqual(t.writes, ["333 0=0000ff", "433 0=000000", "533 0=0000ff"]);
  });

  it("stops on dispose", async () => {
    const t = setup(1);
    t.driver.set(0, { pattern: "blink", color: "red" });
    t.driver.dispose();
    assert.equal(t.clock.timerCount, 0);
    await t.clock.advance(5000);
    assert.equal(t.writes.length, 1);
  });

  it("drives RGB LEDs and pixel strips through the ports", () => {
    const clock = new ManualClock();
    const rgb: string[] = [];
    const led = (n: number): RgbLed => ({ set: (r, g, b) => rgb.push(`${n}:${r},${g},${b}`), close: () => {} });
    const single = new LedDriver(new LedPatterns({ count: 2 }), clock, rgbLedSink([led(0), led(1)]));
    single.set(1, { pattern: "on", color: "yellow", brightness: 50 });
    assert.deepEqual(rgb, ["0:0,0,0", "1:55,55,0"]);

    const staged: string[] = [];
    const strip: PixelStrip = {
      length: 3,
      set: (i, r, g, b) => staged.push(`${i}:${r},${g},${b}`),
      show: () => staged.push("show"),
      close: () => {},
    };
    const column = new LedDriver(new LedPatterns({ count: 3 }), clock, stripSink(strip));
    column.set(2, { pattern: "on", color: "red" });
    assert.deepEqual(staged, ["0:0,0,0", "1:0,0,0", "2:255,0,0", "show"]);
  });
});
