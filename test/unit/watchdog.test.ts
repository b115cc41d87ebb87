import assert from "../support/assert";
import { ClockWatchdog, LoopWatchdog } from "../../src/device/watchdog";
import type { WatchdogPort } from "../../src/ports/watchdog";
import { ManualClock } from "../support/manual-clock";

/** A platform watchdog that records feeds and "fires" when starved for its timeout. */
class FakeWatchdogPort implements WatchdogPort {
  armed = false;
  timeoutMs = 0;
  lastFeed = 0;
  feeds = 0;
  constructor(private readonly clock: ManualClock) {}
  start(timeoutMs: number): void {
    this.armed = true;
    this.timeoutMs = timeoutMs;
    this.lastFeed = this.clock.monotonic();
  }
  feed(): void {
    this.feeds++;
    this.lastFeed = this.clock.monotonic();
  }
  stop(): void {
    this.armed = false;
  }
  get fired(): boolean {
    return this.armed && this.clock.monotonic() - this.lastFeed > this.timeoutMs;
  }
}

function setup(tickMs?: number) {
  const clock = new ManualClock();
  const port = new FakeWatchdogPort(clock);
  const watchdog = new LoopWatchdog({ clock, port, timeoutMs: 8000, ...(tickMs ? { tickMs } : {}) });
  return { clock, port, watchdog };
}

describe("LoopWatchdog", () => {
  it("arms the port and feeds it every tick while the loop runs", async () => {
    const t = setup();
    t.watchdog.start();
    assert.ok(t.port.armed);
    assert.equal(t.port.timeoutMs, 8000);
    await t.clock.advance(60_000);
    assert.equal(t.port.feeds, 1 + 60_000 / 2000);
    assert.ok(!t.port.fired);
    assert.ok(t.watchdog.status.healthy);
  });

  it("stops feeding when a monitored part stops beating, so the platform fires; reports it once", async () => {
    const t = setup();
    const part = t.watchdog.register("boot", 10_000);
    const stalls: string[][] = [];
    t.watchdog.onStall((parts) => stalls.push([...parts]));
    t.watchdog.start();
    for (let i = 0; i < 5; i++) {
      await t.clock.advance(5000);
      part.beat();
    }
    assert.ok(!t.port.fired);
    await t.clock.advance(12_000); // silent for more than 10 s
    assert.deepEqual(stalls, [["boot"]]);
    assert.deepEqual(t.watchdog.status.stalled, ["boot"]);
    assert.ok(!t.watchdog.status.healthy);
    await t.clock.advance(8000);
    assert.ok(t.port.fired, "the platform watchdog is starved");
    assert.equal(stalls.length, 1);
  });

  it("feeds again when the part recovers before the platform fires", async () => {
    const t = setup();
    const part = t.watchdog.register("hub", 3000);
    t.watchdog.start();
    await t.clock.advance(4000);
    assert.ok(!t.watchdog.status.healthy);
    part.beat();
    const before = t.port.feeds;
    await t.clock.advance(2000);
    assert.ok(t.watchdog.status.healthy);
    assert.equal(t.port.feeds, before + 1);
    assert.ok(!t.port.fired);
  });

  it("a part whose health check answers true counts as beating; a throwing check counts as silent", async () => {
    const t = setup();
    let online = false;
    t.watchdog.register("boot", 10_000, () => online);
    let throwing = false;
    t.watchdog.register("checker", 10_000, () => {
      if (throwing) throw new Error("bug");
      return true;
    });
    t.watchdog.start();
    online = true;
    await t.clock.advance(60_000);
    assert.ok(t.watchdog.status.healthy);
    online = false;
    await t.clock.advance(12_000);
    assert.deepEqual(t.watchdog.status.stalled, ["boot"]);
    online = true;
    throwing = true;
    await t.clock.advance(12_000);
    assert.deepEqual(t.watchdog.status.stalled, ["checker"]);
  });

  it("a disposed part is no longer monitored; stop disarms the port", async () => {
    const t = setup();
    const part = t.watchdog.register("ota", 1000);
    t.watchdog.start();
    part.dispose();
    await t.clock.advance(20_000);
    assert.ok(t.watchdog.status.healthy);
    t.watchdog.stop();
    assert.ok(!t.port.armed);
    assert.equal(t.clock.timerCount, 0);
  });

  it("measures how late the feeding timer ran (a blocked loop)", async () => {
    const manual = new ManualClock();
    let blocked = 0; // a loop blocked for `blocked` ms: the timer callback sees the time jump
    const clock = {
      now: () => manual.now() + blocked,
      monotonic: () => manual.monotonic() + blocked,
      setTimeout: (cb: () => void, ms: number) => manual.setTimeout(cb, ms),
      clearTimeout: (id: number) => manual.clearTimeout(id),
    };
    const watchdog = new LoopWatchdog({ clock, port: new FakeWatchdogPort(manual), timeoutMs: 8000, tickMs: 1000 });
    watchdog.start();
    await manual.advance(1000);
    assert.equal(watchdog.status.maxLagMs, 0);
    blocked = 2500;
    await manual.advance(1000);
    assert.equal(watchdog.status.maxLagMs, 2500);
  });

  it("ClockWatchdog restarts the device when a stalled part makes the LoopWatchdog stop feeding", async () => {
    const clock = new ManualClock();
    let restarts = 0;
    const watchdog = new LoopWatchdog({ clock, port: new ClockWatchdog(clock, () => restarts++), timeoutMs: 8000 });
    const part = watchdog.register("hub", 20_000);
    watchdog.start();
    for (let i = 0; i < 10; i++) {
      await clock.advance(10_000);
      part.beat();
    }
    assert.equal(restarts, 0);
    await clock.advance(20_000 + 2000 + 8000);
    assert.equal(restarts, 1);
    watchdog.stop();
    assert.equal(clock.timerCount, 0);
  });

  it("refuses a tick not shorter than the timeout", () => {
    const clock = new ManualClock();
    assert.throws(() => new LoopWatchdog({ clock, port: new FakeWatchdogPort(clock), timeoutMs: 1000, tickMs: 1000 }), RangeError);
    assert.throws(() => new LoopWatchdog({ clock, port: new FakeWatchdogPort(clock), timeoutMs: 0 }), RangeError);
  });
});
