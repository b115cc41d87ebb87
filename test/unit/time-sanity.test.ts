import assert from "../support/assert";
import { EUROPE_POOL, SntpClient } from "../../src/time/sntp-client";
import { SyncedClock } from "../../src/time/synced-clock";
import { DAY_MS, SOURCE_TIME_FLOOR_MS, TIME_FLOOR_KEY, TimeRefusedError, TimeSanity, type TimeRefusal } from "../../src/time/time-sanity";
import { FACTORY_RESET_KEYS } from "../../src/device/factory-reset";
import { MemoryStore } from "../../src/ports/storage";
import { scoped, type LogFields, type Logger } from "../../src/ports/logger";
import { FakeDatagrams } from "../support/fake-datagrams";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";

const [S0, S1, S2, S3] = EUROPE_POOL as [string, string, string, string];
const TIMEOUT = 3000;
const HOUR = 3_600_000;
/** The test's true time: what the ManualClock says (the fake servers answer relative to it). */
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

interface Line {
  readonly level: string;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

class Lines implements Logger {
  readonly lines: Line[] = [];
  log(level: string, _scope: string, message: string, fields?: LogFields): void {
    this.lines.push({ level, message, fields });
  }
  warnings(message: string): Line[] {
    return this.lines.filter((l) => l.level === "warn" && l.message === message);
  }
}

interface Options {
  /** The build floor (default: a year before NOW). */
  readonly buildFloorMs?: number;
  readonly store?: MemoryStore;
  /** Start with a valid clock (as after an earlier synchronisation). */
  readonly valid?: boolean;
}

function setup(options: Options = {}) {
  const clock = new ManualClock(NOW);
  const net = new FakeDatagrams(clock);
  const store = options.store ?? new MemoryStore();
  const logs = new Lines();
  const synced = new SyncedClock(clock, { valid: options.valid ?? false });
  const sanity = new TimeSanity({ buildFloorMs: options.buildFloorMs ?? NOW - 365 * DAY_MS, store, logger: scoped(logs, "time") });
  const refusals: TimeRefusal[] = [];
  sanity.onRefusal((r) => refusals.push(r));
  const client = new SntpClient({
    datagrams: net,
    clock: synced,
    syncedClock: synced,
    sanity,
    random: new SequenceRandom([0.1]), // S0 first; retries after 10 % of the backoff ceiling (100 ms, 200 ms, ...)
    logger: scoped(logs, "sntp"),
    requestTimeoutMs: TIMEOUT,
    retryBackoff: { initialMs: 1000, maxMs: 8000 },
    resyncIntervalMs: HOUR,
  });
  return { clock, net, store, logs, synced, sanity, refusals, client };
}

type Setup = ReturnType<typeof setup>;

/** How far the device's clock is from the true time, to the ms. */
function skew(t: Setup): number {
  return Math.round(t.synced.now() - t.clock.now());
}

/** Whether an ISO time is within a ms of `expectedMs` (NTP fractions are not whole ms). */
function isoNear(iso: unknown, expectedMs: number): boolean {
  return typeof iso === "string" && Math.abs(Date.parse(iso) - expectedMs) <= 1;
}

function near(actual: number, expected: number, toleranceMs: number, message: string): void {
  assert.ok(Math.abs(actual - expected) <= toleranceMs, `${message}: expected ~${expected}, got ${actual}`);
}

describe("time sanity (SNTP with a floor and the two-server rule)", () => {
  describe("the floor", () => {
    it("refuses a reply below the build floor, logs the offered time and counts it", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR });
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: -2 * HOUR });
      t.client.start();
      await flush();
      assert.equal(t.synced.valid, false, "the clock stays invalid");
      assert.equal(t.sanity.refused, 1);
      assert.equal(t.refusals[0]!.reason, "below-floor");
      assert.equal(t.refusals[0]!.server, S0);
      near(t.refusals[0]!.offeredMs, NOW - 2 * HOUR, 1, "offered");
      const warn = t.logs.warnings("time refused")[0]!;
      assert.equal(warn.fields!.reason, "below-floor");
      assert.equal(warn.fields!.server, S0);
      assert.ok(isoNear(warn.fields!.offered, NOW - 2 * HOUR), `offered ${String(warn.fields!.offered)}`);
      assert.equal(warn.fields!.floor, new Date(NOW - HOUR).toISOString());
      assert.equal(warn.fields!.refused, 1);
      assert.match(t.client.status.lastError!, /^time refused \(below-floor\): 0\.europe\.pool\.ntp\.org offered 2026-11-26T(10:00:00\.000|09:59:59\.999)Z, below the floor 2026-11-26T11:00:00\.000Z$/);
      assert.equal(t.client.status.state, "waiting", "retried with backoff");
      assert.deepEqual(t.net.hosts, [S0], "one server was enough to refuse");
      t.client.stop();
    });

    it("refuses below the floor even when two servers agree on it", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR, valid: true });
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: -3 * DAY_MS });
      t.client.start();
      await flush();
      assert.deepEqual(t.net.hosts, [S0]);
      assert.equal(t.refusals[0]!.reason, "below-floor");
      assert.equal(skew(t), 0, "the valid clock is untouched");
      t.client.stop();
    });

    it("accepts a reply at or above the floor from one server (a first sync within a day of the floor)", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR });
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      assert.equal(t.synced.valid, true);
      assert.equal(skew(t), 0);
      assert.deepEqual(t.net.hosts, [S0]);
      assert.equal(t.sanity.refused, 0);
      t.client.stop();
    });

    it("the stored last trusted time is a floor too, above an older build floor", async () => {
      const store = new MemoryStore();
      store.set(TIME_FLOOR_KEY, new Date(NOW - 10 * 60_000).toISOString());
      const t = setup({ store, buildFloorMs: NOW - 365 * DAY_MS });
      assert.equal(t.sanity.floorMs, NOW - 10 * 60_000);
      t.net.script(S0, { kind: "answer", offsetMs: -HOUR }); // above the build floor, below the stored one
      t.net.script(S1, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      assert.equal(t.synced.valid, false);
      assert.equal(t.refusals[0]!.reason, "below-floor");
      await t.clock.advance(t.client.status.nextSyncInMs!);
      // The retry starts at S0 again (random 0): still refused.
      assert.equal(t.sanity.refused, 2);
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      await t.clock.advance(t.client.status.nextSyncInMs!);
      assert.equal(t.synced.valid, true);
      t.client.stop();
    });

    it("an unreadable stored floor falls back to the build floor, with a warning", () => {
      const store = new MemoryStore();
      store.set(TIME_FLOOR_KEY, "yesterday");
      const t = setup({ store, buildFloorMs: NOW - DAY_MS });
      assert.equal(t.sanity.floorMs, NOW - DAY_MS);
      assert.equal(t.logs.warnings("stored time floor unreadable; using the build floor").length, 1);
    });
  });

  describe("steps of more than a day need two servers", () => {
    it("first sync after boot far above the floor (off for months): two agreeing servers accepted", async () => {
      const t = setup({ buildFloorMs: NOW - 200 * DAY_MS });
      t.net.script(S0, { kind: "answer", offsetMs: 0, roundTripMs: 40 });
      t.net.script(S1, { kind: "answer", offsetMs: 1500, roundTripMs: 20 }); // 1.5 s apart: within the agreement
      t.client.start();
      await t.clock.advance(100);
      assert.deepEqual(t.net.hosts, [S0, S1], "a second, different server was asked");
      assert.equal(t.synced.valid, true);
      assert.equal(skew(t), 1500, "the confirming (later) sample is applied");
      assert.equal(t.client.status.lastServer, S1);
      assert.equal(t.sanity.refused, 0);
      t.client.stop();
    });

    it("first sync far above the floor with only one server answering: refused, clock still invalid", async () => {
      const t = setup({ buildFloorMs: NOW - 200 * DAY_MS });
      t.net.script(S0, { kind: "answer" });
      t.client.start();
      await t.clock.advance(3 * TIMEOUT); // S1, S2, S3 time out in turn
      assert.deepEqual(t.net.hosts, [S0, S1, S2, S3], "every other server asked for a confirmation");
      assert.equal(t.synced.valid, false);
      assert.equal(t.refusals[0]!.reason, "unconfirmed");
      assert.match(t.client.status.lastError!, /time refused \(unconfirmed\)/);
      t.client.stop();
    });

    it("a step of 2 days from a valid clock, one server: refused, the clock keeps its time", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR });
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      assert.equal(t.synced.valid, true);
      t.net.script(S0, { kind: "answer", offsetMs: 2 * DAY_MS });
      for (const s of [S1, S2, S3]) t.net.script(s, { kind: "ignore" });
      await t.clock.advance(HOUR + 3 * TIMEOUT);
      assert.equal(t.refusals.length, 1);
      const refusal = t.refusals[0]!;
      assert.equal(refusal.reason, "unconfirmed");
      near(refusal.offeredMs, t.clock.now() + 2 * DAY_MS, 2, "offered (as of the refusal)");
      assert.equal(skew(t), 0, "not stepped");
      assert.equal(t.synced.valid, true, "still valid");
      assert.equal(t.client.status.synced, true);
      t.client.stop();
    });

    it("a step of 2 days from a valid clock confirmed by a second server within seconds: applied", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR });
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      t.net.script(S0, { kind: "answer", offsetMs: 2 * DAY_MS });
      t.net.script(S1, { kind: "answer", offsetMs: 2 * DAY_MS + 4000 });
      await t.clock.advance(HOUR);
      assert.deepEqual(t.net.hosts.slice(1), [S0, S1]);
      assert.equal(skew(t), 2 * DAY_MS + 4000);
      assert.equal(t.sanity.refused, 0);
      t.client.stop();
    });

    it("a step of 2 days with two disagreeing servers: refused", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR });
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      t.net.script(S0, { kind: "answer", offsetMs: 2 * DAY_MS });
      t.net.script(S1, { kind: "answer", offsetMs: 2 * DAY_MS + 60_000 });
      await t.clock.advance(HOUR);
      const refusal = t.refusals[0]!;
      assert.equal(refusal.reason, "disagree");
      assert.equal(refusal.otherServer, S1);
      near(refusal.otherMs! - refusal.offeredMs, 60_000, 2, "the difference");
      assert.equal(skew(t), 0);
      assert.match(t.client.status.lastError!, /time refused \(disagree\).*1\.europe\.pool\.ntp\.org said/);
      t.client.stop();
    });

    it("two pool names answering from one address are one server: no confirmation", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR, valid: true });
      t.net.script(S0, { kind: "answer", offsetMs: 2 * DAY_MS });
      t.net.script(S1, { kind: "answer", offsetMs: 2 * DAY_MS });
      t.net.setAddress(S1, t.net.addressOf(S0));
      t.client.start();
      await t.clock.advance(2 * TIMEOUT); // S1 answers at once (and does not count), S2 and S3 time out
      assert.deepEqual(t.net.hosts, [S0, S1, S2, S3]);
      assert.equal(t.refusals[0]!.reason, "unconfirmed");
      assert.equal(skew(t), 0);
      t.client.stop();
    });

    it("small corrections from one server are applied, in either direction", async () => {
      const t = setup({ buildFloorMs: NOW - 2 * DAY_MS, valid: true });
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      for (const offset of [3000, -20 * HOUR, -HOUR, 3 * HOUR]) {
        t.net.script(S0, { kind: "answer", offsetMs: offset });
        const asked = t.net.requests.length;
        await t.clock.advance(HOUR);
        assert.equal(t.net.requests.length, asked + 1, "one server only");
        assert.equal(skew(t), offset, `offset ${offset}`);
      }
      assert.equal(t.sanity.refused, 0);
      t.client.stop();
    });

    it("single-server corrections do not add up: a server walking the clock back 23 h every hour is stopped after a day", async () => {
      const t = setup({ buildFloorMs: NOW - 30 * DAY_MS, valid: true });
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      t.net.script(S0, { kind: "answer", offsetMs: -23 * HOUR });
      await t.clock.advance(HOUR);
      assert.equal(skew(t), -23 * HOUR, "a step of 23 h from one server is within the day");
      t.net.script(S0, { kind: "answer", offsetMs: -46 * HOUR }); // another 23 h back from the clock as it is now
      await t.clock.advance(HOUR + 3 * TIMEOUT);
      assert.equal(t.refusals.length, 1);
      assert.equal(t.refusals[0]!.reason, "unconfirmed", "46 h from the anchor (the first synchronisation) needs two servers");
      assert.equal(skew(t), -23 * HOUR);
      // A genuine server puts the clock back in one step: within a day of the anchor.
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      await t.clock.advance(t.client.status.nextSyncInMs!);
      assert.equal(skew(t), 0);
      t.client.stop();
    });

    it("a confirmed step moves the anchor: small corrections from one server around the new time", async () => {
      const t = setup({ buildFloorMs: NOW - HOUR });
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      t.client.start();
      await flush();
      t.net.script(S0, { kind: "answer", offsetMs: 3 * DAY_MS });
      t.net.script(S1, { kind: "answer", offsetMs: 3 * DAY_MS });
      await t.clock.advance(HOUR);
      assert.equal(skew(t), 3 * DAY_MS);
      t.net.script(S0, { kind: "answer", offsetMs: 3 * DAY_MS - 2 * HOUR });
      t.net.script(S1, { kind: "ignore" });
      const asked = t.net.requests.length;
      await t.clock.advance(HOUR);
      assert.equal(t.net.requests.length, asked + 1, "one server");
      assert.equal(skew(t), 3 * DAY_MS - 2 * HOUR);
      assert.equal(t.sanity.refused, 0);
      t.client.stop();
    });

    it("a confirmed step back of two days above the floor is applied (the clock had been wrong)", async () => {
      const t = setup({ buildFloorMs: NOW - 10 * DAY_MS });
      t.net.script(S0, { kind: "answer", offsetMs: 0 });
      t.net.script(S1, { kind: "answer", offsetMs: 0 });
      t.synced.set(NOW + 3 * DAY_MS); // e.g. confirmed earlier by two servers that were wrong
      t.client.start();
      await flush();
      assert.equal(skew(t), 0);
      assert.deepEqual(t.net.hosts, [S0, S1]);
      t.client.stop();
    });
  });

  describe("the stored floor", () => {
    it("is written when the time is trusted: first time, then at most once a day; never lowered; survives a restart", () => {
      const store = new MemoryStore();
      const logs = new Lines();
      const sanity = new TimeSanity({ buildFloorMs: NOW - DAY_MS, store, logger: scoped(logs, "time") });
      assert.equal(sanity.storedFloorMs, undefined);
      assert.equal(sanity.trusted(NOW), true, "first trusted time");
      assert.equal(store.get(TIME_FLOOR_KEY), new Date(NOW).toISOString());
      assert.equal(sanity.trusted(NOW + HOUR), false, "an hour later: not yet");
      assert.equal(sanity.trusted(NOW + DAY_MS - 1), false);
      assert.equal(sanity.trusted(NOW - HOUR), false, "never lowered");
      assert.equal(store.get(TIME_FLOOR_KEY), new Date(NOW).toISOString());
      assert.equal(sanity.trusted(NOW + DAY_MS), true, "a day later");
      assert.equal(sanity.floorMs, NOW + DAY_MS);
      assert.equal(sanity.trusted(NOW - 2 * DAY_MS), false, "below the build floor");

      const restarted = new TimeSanity({ buildFloorMs: NOW - DAY_MS, store, logger: scoped(logs, "time") });
      assert.equal(restarted.floorMs, NOW + DAY_MS, "the same store after a restart");
      assert.equal(restarted.judge(NOW + DAY_MS - 1, undefined).kind, "refuse");
      assert.equal(restarted.judge(NOW + DAY_MS, undefined).kind, "accept");
    });

    it("is kept by a factory reset", () => {
      assert.ok(!FACTORY_RESET_KEYS.includes(TIME_FLOOR_KEY));
      assert.ok(TIME_FLOOR_KEY.length <= 15);
    });

    it("a build without a floor uses the source's own (no build of it is older)", () => {
      assert.ok(SOURCE_TIME_FLOOR_MS <= NOW && SOURCE_TIME_FLOOR_MS >= Date.UTC(2025, 0, 1));
    });
  });

  describe("the rules alone", () => {
    const sanity = new TimeSanity({ buildFloorMs: NOW, logger: scoped({ log() {} }, "time") });

    it("judges against the floor, then the clock (or the floor before the first sync)", () => {
      assert.deepEqual(sanity.judge(NOW - 1, undefined), { kind: "refuse", reason: "below-floor" });
      assert.deepEqual(sanity.judge(Number.NaN, NOW), { kind: "refuse", reason: "below-floor" });
      assert.deepEqual(sanity.judge(NOW + DAY_MS, undefined), { kind: "accept" });
      assert.deepEqual(sanity.judge(NOW + DAY_MS + 1, undefined), { kind: "confirm", stepMs: DAY_MS + 1, reference: "floor" });
      assert.deepEqual(sanity.judge(NOW + 5 * DAY_MS, NOW + 4.5 * DAY_MS), { kind: "accept" });
      assert.deepEqual(sanity.judge(NOW + DAY_MS, NOW + 3 * DAY_MS), { kind: "confirm", stepMs: -2 * DAY_MS, reference: "clock" });
    });

    it("two servers agree within 5 s", () => {
      assert.equal(sanity.agree(NOW, NOW + 5000), true);
      assert.equal(sanity.agree(NOW + 5001, NOW), false);
    });

    it("counts refusals for the diagnostics", () => {
      const s = new TimeSanity({ buildFloorMs: NOW, logger: scoped({ log() {} }, "time") });
      assert.deepEqual(s.report(), { floor: new Date(NOW).toISOString(), refused: 0, lastRefusal: null });
      const error = s.refuse({ reason: "below-floor", offeredMs: NOW - 1000, server: S2 });
      assert.ok(error instanceof TimeRefusedError);
      assert.equal(error.refusal.reason, "below-floor");
      s.refuse({ reason: "unconfirmed", offeredMs: NOW + 9 * DAY_MS, server: S3 });
      assert.deepEqual(s.report(), {
        floor: new Date(NOW).toISOString(),
        refused: 2,
        lastRefusal: { reason: "unconfirmed", server: S3, offered: new Date(NOW + 9 * DAY_MS).toISOString() },
      });
    });
  });
});
