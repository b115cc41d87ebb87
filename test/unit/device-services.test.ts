import assert from "../support/assert";
import { RING_LOG_MAX_LINE_CHARS, RingLog } from "../../src/core/ring-log";
import { DeviceSettings, type SettingValues } from "../../src/device/settings";
import { DiagnosticsReporter, type Diagnostics } from "../../src/device/diagnostics";
import type { DesiredUpdate, JsonObject } from "../../src/azure/twin";
import { MemoryStore } from "../../src/ports/storage";
import { scoped, silentLogger, type LogLevel } from "../../src/ports/logger";
import { ManualClock, flush } from "../support/manual-clock";

describe("RingLog", () => {
  it("forwards everything and keeps the newest entries at or above its level", () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const forwarded: string[] = [];
    const log = new RingLog({ log: (l: LogLevel, s, m) => forwarded.push(`${l} ${s} ${m}`) }, clock, 3, "info");
    log.log("debug", "a", "noise");
    for (let i = 1; i <= 5; i++) log.log(i % 2 ? "info" : "error", "hub", `event ${i}`, { n: i });
    assert.equal(forwarded.length, 6);
    assert.deepEqual(log.tailText(10), ["2026-01-01T00:00:00.000Z info [hub] event 3 n=3", "2026-01-01T00:00:00.000Z error [hub] event 4 n=4", "2026-01-01T00:00:00.000Z info [hub] event 5 n=5"]);
    assert.deepEqual(log.tailText(1), ["2026-01-01T00:00:00.000Z info [hub] event 5 n=5"]);
    assert.deepEqual(log.tailText(0), []);
  });

  it("keeps each entry as its line, stamped when it was logged, and cuts a long one", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const log = new RingLog(silentLogger, clock, 2, "info");
    log.log("warn", "ota", "first", { url: "/fw.bin?…" });
    await clock.advance(1500);
    log.log("info", "x", "y".repeat(600));
    const [first, long] = log.tailText(2);
    assert.equal(first, "2026-01-01T00:00:00.000Z warn [ota] first url=/fw.bin?…");
    assert.equal(long!.length, RING_LOG_MAX_LINE_CHARS);
    assert.ok(long!.startsWith("2026-01-01T00:00:01.500Z info [x] yyy") && long!.endsWith("y…"));
  });
});

class FakeTwin {
  reports: JsonObject[] = [];
  private listener: ((u: DesiredUpdate) => void) | undefined;
  fail = false;
  onDesired(l: (u: DesiredUpdate) => void): () => void {
    this.listener = l;
    return () => undefined;
  }
  report(patch: JsonObject): Promise<number> {
    this.reports.push(patch);
    return this.fail ? Promise.reject(new Error("offline")) : Promise.resolve(this.reports.length);
  }
  desired(properties: JsonObject, version: number, full = false): void {
    this.listener!({ properties, version, full });
  }
}

describe("DeviceSettings (writable twin properties)", () => {
  function setup(store = new MemoryStore(), refuse?: (v: SettingValues) => string | undefined) {
    const twin = new FakeTwin();
    const applied: SettingValues[] = [];
    const settings = new DeviceSettings({
      twin,
      store,
      logger: scoped(silentLogger, "settings"),
      names: ["brightness", "longPressMs", "doublePress"],
      defaults: { brightness: 80, longPressMs: 1000, doublePress: true },
      apply: (v) => {
        const why = refuse?.(v);
        if (why) throw new Error(why);
        applied.push(v);
      },
    });
    return { twin, applied, settings, store };
  }

  it("applies defaults at start, then desired values at once, persists and acknowledges them", () => {
    const t = setup();
    assert.deepEqual(t.applied[0], { brightness: 80, longPressMs: 1000, doublePress: true });
    t.twin.desired({ brightness: 40 }, 5);
    assert.equal(t.settings.current.brightness, 40);
    assert.deepEqual(t.applied[1], { brightness: 40, longPressMs: 1000, doublePress: true });
    assert.deepEqual(t.twin.reports, [{ brightness: { value: 40, ac: 200, av: 5, ad: "applied" } }]);
    assert.match(t.store.get("settings")!, /"brightness":40/);
  });

  it("keeps persisted settings across a restart", () => {
    const store = new MemoryStore();
    setup(store).twin.desired({ longPressMs: 1500, doublePress: false }, 2);
    const again = setup(store);
    assert.deepEqual(again.applied[0], { brightness: 80, longPressMs: 1500, doublePress: false });
  });

  it("refuses an invalid value with 400 and a reason, changing nothing", () => {
    const t = setup();
    t.twin.desired({ brightness: 140, doublePress: "yes" }, 3);
    assert.equal(t.settings.current.brightness, 80);
    assert.equal(t.applied.length, 1);
    assert.deepEqual(t.twin.reports[0], {
      brightness: { value: 80, ac: 400, av: 3, ad: "brightness must be 0..100" },
      doublePress: { value: true, ac: 400, av: 3, ad: "doublePress must be true or false" },
    });
  });

  it("answers 500 when the device cannot apply a value, and keeps the old one", () => {
    const t = setup(new MemoryStore(), (v) => (v.longPressMs === 9000 ? "hardware says no" : undefined));
    t.twin.desired({ longPressMs: 9000 }, 4);
    assert.equal(t.settings.current.longPressMs, 1000);
    assert.deepEqual(t.twin.reports[0], { longPressMs: { value: 1000, ac: 500, av: 4, ad: "not applied: hardware says no" } });
  });

  it("ignores properties the product does not have, and falls back to defaults on a corrupt record", () => {
    const t = setup();
    t.twin.desired({ colourScheme: "dark", $metadata: 1 }, 6);
    assert.deepEqual(t.twin.reports, []);
    const store = new MemoryStore();
    store.set("settings", "{oops");
    assert.deepEqual(setup(store).applied[0], { brightness: 80, longPressMs: 1000, doublePress: true });
  });
});

describe("DiagnosticsReporter", () => {
  function setup() {
    const clock = new ManualClock();
    const twin = new FakeTwin();
    let state: Diagnostics = {
      firmware: "0.1.0",
      profile: "box",
      wifi: { rssi: -60, channel: 6, ip: "192.0.2.10" },
      uptimeS: 1,
      resetReason: "power-on",
      freeHeap: 100_000,
      outboxDepth: 0,
      eventsDropped: 0,
      bootPhase: "online",
      lastError: null,
    };
    let online = true;
    const reporter = new DiagnosticsReporter({ twin, clock, logger: scoped(silentLogger, "d"), collect: () => state, minIntervalMs: 30_000, online: () => online, settleMs: 1000 });
    return {
      clock,
      twin,
      reporter,
      set: (patch: Partial<Diagnostics>) => (state = { ...state, ...patch }),
      goOnline: (value: boolean) => (online = value),
    };
  }

  it("reports on connect, then at most once per interval with the latest values", async () => {
    const t = setup();
    t.reporter.connected();
    assert.equal(t.twin.reports.length, 0, "waits for the device to settle");
    await t.clock.advance(1000);
    assert.equal(t.twin.reports.length, 1);
    for (let i = 1; i <= 50; i++) {
      t.set({ outboxDepth: i, uptimeS: i });
      t.reporter.changed();
      await t.clock.advance(100);
    }
    assert.equal(t.twin.reports.length, 1, "a burst within the interval is held back");
    await t.clock.advance(30_000);
    assert.equal(t.twin.reports.length, 2);
    assert.equal((t.twin.reports[1]!.diagnostics as { outboxDepth: number }).outboxDepth, 50);
  });

  it("does not report when only uptime or free heap moved", async () => {
    const t = setup();
    t.reporter.connected();
    await t.clock.advance(60_000);
    assert.equal(t.twin.reports.length, 1);
    t.set({ uptimeS: 999, freeHeap: 5 });
    t.reporter.changed();
    await t.clock.advance(60_000);
    assert.equal(t.twin.reports.length, 1);
    t.set({ bootPhase: "hub" });
    t.reporter.changed();
    assert.equal(t.twin.reports.length, 2);
  });

  it("reports again after reconnecting, and retries a report that failed", async () => {
    const t = setup();
    t.twin.fail = true;
    t.reporter.connected();
    await t.clock.advance(1000);
    await flush();
    t.twin.fail = false;
    await t.clock.advance(30_000);
    t.reporter.changed();
    assert.equal(t.twin.reports.length, 2, "the failed report is sent again");
    t.reporter.connected();
    await t.clock.advance(1000);
    assert.equal(t.twin.reports.length, 3, "a reconnect reports at once, throttle or not");
  });

  it("reports nothing while offline, then the current values once connected", async () => {
    const t = setup();
    t.goOnline(false);
    t.set({ bootPhase: "wifi" });
    t.reporter.changed();
    await t.clock.advance(60_000);
    assert.equal(t.twin.reports.length, 0, "no stale snapshot queued while offline");
    t.goOnline(true);
    t.set({ bootPhase: "online" });
    t.reporter.connected();
    await t.clock.advance(1000);
    assert.equal((t.twin.reports[0]!.diagnostics as { bootPhase: string }).bootPhase, "online");
  });
});
