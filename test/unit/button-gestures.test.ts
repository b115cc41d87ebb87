import assert from "../support/assert";
import { ManualClock } from "../support/manual-clock";
import { ButtonGestures, DEFAULT_GESTURE_CONFIG, type GestureConfig, type GestureEvent } from "../../src/device/button-gestures";
import type { ButtonInput, EdgeListener } from "../../src/ports/gpio";

/** A button input whose edges the test makes, stamped with the clock's monotonic time. */
class FakeButton implements ButtonInput {
  private listeners: EdgeListener[] = [];
  closed = false;
  constructor(public level: boolean) {}
  onEdge(listener: EdgeListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
  read(): boolean {
    return this.level;
  }
  close(): void {
    this.closed = true;
  }
  drive(level: boolean, atMs: number): void {
    this.level = level;
    for (const l of this.listeners.slice()) l(level, atMs);
  }
  get listenerCount(): number {
    return this.listeners.length;
  }
}

type Step = readonly [atMs: number, pressed: boolean];

function setup(options: { config?: Partial<GestureConfig>; activeLow?: boolean; downAtStart?: boolean } = {}) {
  const clock = new ManualClock();
  const activeLow = options.activeLow ?? true;
  const levelFor = (pressed: boolean) => (activeLow ? !pressed : pressed);
  const input = new FakeButton(levelFor(options.downAtStart ?? false));
  const gestures = new ButtonGestures({ button: 3, clock, activeLow, config: options.config });
  const events: GestureEvent[] = [];
  const emittedAt: number[] = [];
  let maxTimers = 0;
  gestures.onGesture((e) => {
    events.push(e);
    emittedAt.push(clock.monotonic());
  });
  gestures.attach(input);
  /** Moves the clock to `ms` (monotonic), firing due timers on the way. */
  const to = async (ms: number) => {
    while (clock.monotonic() < ms) {
      maxTimers = Math.max(maxTimers, clock.timerCount);
      const delay = clock.nextDelay();
      await clock.advance(delay === undefined ? ms - clock.monotonic() : Math.min(delay, ms - clock.monotonic()));
    }
  };
  /** Plays (time, pressed) steps, then runs the clock on to `endMs`. */
  const play = async (steps: readonly Step[], endMs?: number) => {
    for (const [atMs, pressed] of steps) {
      await to(atMs);
      input.drive(levelFor(pressed), atMs);
    }
    if (endMs !== undefined) await to(endMs);
  };
  const log = () => events.map((e) => `${e.gesture}@${e.atMs}`);
  return { clock, input, gestures, events, emittedAt, play, to, log, levelFor, maxTimers: () => Math.max(maxTimers, clock.timerCount) };
}

const press = (downMs: number, upMs: number): Step[] => [
  [downMs, true],
  [upMs, false],
];

describe("ButtonGestures", () => {
  it("has the documented defaults", () => {
    assert.deepEqual({ ...DEFAULT_GESTURE_CONFIG }, { debounceMs: 30, longMs: 1000, doublePress: true, doubleMs: 400, stuckMs: 30_000 });
    const t = setup();
    assert.deepEqual(t.gestures.settings, DEFAULT_GESTURE_CONFIG);
    assert.equal(t.gestures.button, 3);
    assert.equal(t.gestures.pressed, false);
  });

  it("reports a short press when its release is debounced when double press is off", async () => {
    const t = setup({ config: { doublePress: false } });
    await t.play(press(100, 300), 5000);
    assert.deepEqual(t.log(), ["short@330"]);
    assert.deepEqual(t.emittedAt, [330]);
    assert.deepEqual(t.events[0], { button: 3, gesture: "short", atMs: 330 });
  });

  it("swallows bouncing edges: a press and a release count once each", async () => {
    const t = setup({ config: { doublePress: false } });
    const bouncyPress: Step[] = [[100, true], [103, false], [107, true], [112, false], [120, true]];
    const bouncyRelease: Step[] = [[400, false], [402, true], [405, false], [409, true], [415, false]];
    await t.play([...bouncyPress, ...bouncyRelease], 2000);
    assert.deepEqual(t.log(), ["short@445"]);
  });

  it("ignores a pulse shorter than debounceMs and counts one that lasts exactly debounceMs", async () => {
    const t = setup({ config: { doublePress: false } });
    await t.play(press(100, 129), 1000); // 29 ms: noise
    assert.deepEqual(t.log(), []);
    assert.equal(t.gestures.pressed, false);
    await t.play(press(1000, 1030), 2000); // 30 ms: a press (the release edge at exactly +30 does not cancel it)
    assert.deepEqual(t.log(), ["short@1060"]);
  });

  it("treats a repeated level as movement that restarts the debounce", async () => {
    const t = setup({ config: { doublePress: false } });
    await t.play([[100, true], [120, true], [145, false]], 1000); // the press dates from 120 and never lasted 30 ms
    assert.deepEqual(t.log(), []);
  });

  it("with debounceMs 0 takes every edge at once", async () => {
    const t = setup({ config: { doublePress: false, debounceMs: 0 } });
    await t.play(press(100, 101), 200);
    assert.deepEqual(t.log(), ["short@101"]);
  });

  it("fires long when the hold reaches longMs, not at the release", async () => {
    const t = setup();
    await t.play([[0, true]], 999);
    assert.deepEqual(t.log(), []);
    await t.to(1000);
    assert.deepEqual(t.log(), ["long@1000"]);
    assert.deepEqual(t.emittedAt, [1000]);
    await t.play([[4000, false]], 10_000);
    assert.deepEqual(t.log(), ["long@1000"], "the release of a long press reports nothing");
  });

  it("held exactly longMs is long; longMs − 1 is short", async () => {
    const exact = setup();
    await exact.play(press(0, 1000), 5000);
    assert.deepEqual(exact.log(), ["long@1000"]);
    const under = setup({ config: { doublePress: false } });
    await under.play(press(0, 999), 5000);
    assert.deepEqual(under.log(), ["short@1029"]);
  });

  it("decides the same when edges arrive before the timers have run", () => {
    const t = setup();
    t.input.drive(t.levelFor(true), 0);
    t.input.drive(t.levelFor(false), 1000); // the clock is still at 0
    assert.deepEqual(t.log(), ["long@1000"]);
    const u = setup({ config: { doublePress: false } });
    u.input.drive(u.levelFor(true), 0);
    u.input.drive(u.levelFor(false), 999);
    u.input.drive(u.levelFor(true), 5000); // the release is settled before this edge is looked at
    assert.deepEqual(u.log(), ["short@1029"]);
  });

  it("does not let a release bounce near the threshold turn a long press into a short one", async () => {
    const t = setup();
    await t.play([[0, true], [995, false], [1010, true]], 2000); // a 15 ms glitch across the threshold
    assert.deepEqual(t.log(), ["long@1000"]);
    assert.deepEqual(t.emittedAt, [1010], "decided once the glitch proved to be one");
    await t.play([[3000, false]], 5000);
    assert.deepEqual(t.log(), ["long@1000"]);
  });

  it("a real release just before the threshold is a short press even though it is debounced after it", async () => {
    const t = setup({ config: { doublePress: false } });
    await t.play(press(0, 990), 3000);
    assert.deepEqual(t.log(), ["short@1020"]);
  });

  it("reports a double press when the second press is debounced within doubleMs of the first release", async () => {
    const t = setup();
    await t.play([...press(0, 100), ...press(300, 400)], 5000);
    assert.deepEqual(t.log(), ["double@330"]);
    assert.deepEqual(t.emittedAt, [330], "decided on the second press, not its release");
  });

  it("second press edge at release + doubleMs − debounceMs is a double; 1 ms later it is two shorts", async () => {
    const edge = setup();
    await edge.play([...press(0, 100), ...press(470, 600)], 5000);
    assert.deepEqual(edge.log(), ["double@500"]);
    const late = setup();
    await late.play([...press(0, 100), ...press(471, 600)], 5000);
    assert.deepEqual(late.log(), ["short@500", "short@1000"]);
  });

  it("never delays a single press beyond the double-press window", async () => {
    for (let gap = 30; gap <= 700; gap += 10) {
      const t = setup();
      const release = 200;
      await t.play([...press(0, release), ...press(release + gap, release + gap + 80)], 5000);
      const first = t.events[0]!;
      if (gap + 30 <= 400) {
        assert.deepEqual(t.log(), [`double@${release + gap + 30}`], `gap ${gap}`);
      } else {
        assert.equal(first.gesture, "short", `gap ${gap}`);
        assert.equal(first.atMs, release + 400, `gap ${gap}`);
        assert.ok(t.emittedAt[0]! <= release + 400, `gap ${gap}: emitted at ${t.emittedAt[0]}`);
        assert.equal(t.events.length, 2, `gap ${gap}: the second press counts on its own`);
      }
    }
  });

  it("with double press off reports each short press at once, also two in quick succession", async () => {
    const t = setup({ config: { doublePress: false } });
    await t.play([...press(0, 100), ...press(200, 300)], 5000);
    assert.deepEqual(t.log(), ["short@130", "short@330"]);
  });

  it("a long press is not a candidate for a double; a press after it starts afresh", async () => {
    const t = setup();
    await t.play([...press(0, 1500), ...press(1600, 1700)], 5000);
    assert.deepEqual(t.log(), ["long@1000", "short@2100"]);
  });

  it("the second press of a double gives no long press; a third press starts a new gesture", async () => {
    const t = setup();
    await t.play([...press(0, 100), ...press(200, 2000), ...press(3000, 3100)], 6000);
    assert.deepEqual(t.log(), ["double@230", "short@3500"]);
  });

  it("reports a stuck button once, then recovered after its release", async () => {
    const t = setup();
    await t.play([[0, true]], 120_000);
    assert.deepEqual(t.log(), ["long@1000", "stuck@30000"]);
    assert.equal(t.gestures.isStuck, true);
    assert.equal(t.clock.timerCount, 0, "no timer runs while the button is stuck");
    await t.play([[120_000, false]], 121_000);
    assert.deepEqual(t.log(), ["long@1000", "stuck@30000", "recovered@120030"]);
    assert.equal(t.gestures.isStuck, false);
    await t.play(press(122_000, 122_100), 123_000);
    assert.deepEqual(t.log().slice(3), ["short@122500"]);
  });

  it("held exactly stuckMs is stuck", async () => {
    const t = setup();
    await t.play(press(0, 30_000), 31_000);
    assert.deepEqual(t.log(), ["long@1000", "stuck@30000", "recovered@30030"]);
  });

  it("a button already down at attach gives no gesture, but is reported stuck if it stays down", async () => {
    const quick = setup({ downAtStart: true });
    assert.equal(quick.gestures.pressed, true);
    await quick.play([[500, false]], 5000);
    assert.deepEqual(quick.log(), []);
    const held = setup({ downAtStart: true });
    await held.play([[40_000, false]], 41_000);
    assert.deepEqual(held.log(), ["stuck@30000", "recovered@40030"]);
  });

  it("maps levels per pin: active-low presses on a low level, active-high on a high one", async () => {
    const low = setup({ activeLow: true, config: { doublePress: false } });
    assert.equal(low.input.level, true, "idle high with a pull-up");
    low.input.drive(false, 0);
    low.input.drive(true, 100);
    await low.to(1000);
    assert.deepEqual(low.log(), ["short@130"]);

    const high = setup({ activeLow: false, config: { doublePress: false } });
    assert.equal(high.input.level, false, "idle low with a pull-down");
    high.input.drive(true, 0);
    high.input.drive(false, 100);
    await high.to(1000);
    assert.deepEqual(high.log(), ["short@130"]);

    const wrong = setup({ activeLow: true, config: { doublePress: false } });
    wrong.input.drive(true, 0); // stays at the idle level: nothing happens
    await wrong.to(1000);
    assert.deepEqual(wrong.log(), []);
  });

  it("defaults to active-low", async () => {
    const clock = new ManualClock();
    const g = new ButtonGestures({ button: 1, clock, config: { doublePress: false } });
    const seen: string[] = [];
    g.onGesture((e) => seen.push(e.gesture));
    g.edge(false, 0);
    g.edge(true, 100);
    await clock.advance(1000);
    assert.deepEqual(seen, ["short"]);
  });

  it("applies a new debounce time to the next edges", async () => {
    const t = setup({ config: { doublePress: false } });
    t.gestures.configure({ debounceMs: 100 });
    await t.play(press(0, 50), 1000);
    assert.deepEqual(t.log(), [], "50 ms is now a bounce");
    await t.play(press(1000, 1200), 2000);
    assert.deepEqual(t.log(), ["short@1300"]);
  });

  it("judges a press in progress by a changed long threshold", async () => {
    const lowered = setup();
    await lowered.play([[0, true]], 500);
    lowered.gestures.configure({ longMs: 300 });
    assert.deepEqual(lowered.log(), ["long@500"], "already passed: fires at the change");
    const raised = setup();
    await raised.play([[0, true]], 500);
    raised.gestures.configure({ longMs: 2000 });
    await raised.to(1999);
    assert.deepEqual(raised.log(), []);
    await raised.to(2000);
    assert.deepEqual(raised.log(), ["long@2000"]);
  });

  it("turning double press off reports a waiting short press at once; turning it on waits again", async () => {
    const t = setup();
    await t.play(press(0, 100), 200);
    t.gestures.configure({ doublePress: false });
    assert.deepEqual(t.log(), ["short@200"]);
    await t.play(press(1000, 1100), 1130);
    assert.deepEqual(t.log(), ["short@200", "short@1130"]);
    t.gestures.configure({ doublePress: true, doubleMs: 250 });
    await t.play([...press(2000, 2100), ...press(2300, 2400)], 3000);
    assert.deepEqual(t.log().slice(2), ["double@2330"]);
    await t.play(press(4000, 4100), 5000);
    assert.deepEqual(t.log().slice(3), ["short@4350"]);
  });

  it("refuses an invalid configuration and keeps the old one", () => {
    const t = setup();
    assert.throws(() => t.gestures.configure({ debounceMs: -1 }), RangeError);
    assert.throws(() => t.gestures.configure({ longMs: 20 }), /longMs/);
    assert.throws(() => t.gestures.configure({ doubleMs: 30 }), /doubleMs/);
    assert.throws(() => t.gestures.configure({ stuckMs: 1000 }), /stuckMs/);
    assert.throws(() => t.gestures.configure({ debounceMs: 1.5 }), /whole/);
    assert.throws(() => new ButtonGestures({ button: 1, clock: new ManualClock(), config: { longMs: Number.NaN } }), RangeError);
    assert.deepEqual(t.gestures.settings, DEFAULT_GESTURE_CONFIG);
  });

  it("keeps at most one timer, and none while idle", async () => {
    const t = setup();
    await t.play([...press(0, 100), ...press(200, 300), ...press(1000, 2500), [3000, true], [3003, false], [3010, true], [3200, false]], 10_000);
    assert.equal(t.maxTimers(), 1);
    assert.equal(t.clock.timerCount, 0);
    assert.deepEqual(t.log(), ["double@230", "long@2000", "short@3600"]);
  });

  it("keeps going when a listener throws, reporting the error", async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const g = new ButtonGestures({ button: 1, clock, config: { doublePress: false }, onError: (e) => errors.push(e) });
    const seen: string[] = [];
    g.onGesture(() => {
      throw new Error("ui bug");
    });
    g.onGesture((e) => seen.push(e.gesture));
    g.edge(false, 0);
    g.edge(true, 100);
    await clock.advance(200);
    assert.deepEqual(seen, ["short"]);
    assert.equal(errors.length, 1);
  });

  it("stops after dispose and after detaching its input", async () => {
    const t = setup({ config: { doublePress: false } });
    await t.play([[0, true]], 10);
    t.gestures.dispose();
    assert.equal(t.clock.timerCount, 0);
    assert.equal(t.input.listenerCount, 0);
    await t.play([[100, false]], 5000);
    assert.deepEqual(t.log(), []);

    const u = setup({ config: { doublePress: false } });
    const second = new FakeButton(true);
    const detach = u.gestures.attach(second);
    assert.equal(u.input.listenerCount, 0, "attaching replaces the earlier input");
    second.drive(false, 0);
    second.drive(true, 100);
    await u.to(500);
    assert.deepEqual(u.log(), ["short@130"]);
    detach();
    assert.equal(second.listenerCount, 0);
  });
});
