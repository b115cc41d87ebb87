import assert from "../support/assert";
import { EUROPE_POOL, SntpClient, SntpServerError, SntpSyncError, type SntpClientOptions, type SntpSample } from "../../src/time/sntp-client";
import { SyncedClock } from "../../src/time/synced-clock";
import { craftPacket, FakeDatagrams } from "../support/fake-datagrams";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";
import { scoped, silentLogger } from "../../src/ports/logger";
import { settle, type Outcome } from "../support/outcome";

const [S0, S1, S2, S3] = EUROPE_POOL as [string, string, string, string];
const TIMEOUT = 3000;
const HOUR = 3_600_000;

function near(actual: number, expected: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) < 0.01, `${message ?? "value"}: expected ~${expected}, got ${actual}`);
}

function setup(random: number[] = [0], options: Partial<SntpClientOptions> = {}) {
  const clock = new ManualClock();
  const net = new FakeDatagrams(clock);
  const systemTimes: number[] = [];
  const synced = new SyncedClock(clock, { systemTime: { set: (ms) => systemTimes.push(ms) } });
  const valids: number[] = [];
  synced.onValid((ms) => valids.push(ms));
  const client = new SntpClient({
    datagrams: net,
    clock: synced,
    syncedClock: synced,
    random: new SequenceRandom(random),
    logger: scoped(silentLogger, "sntp"),
    requestTimeoutMs: TIMEOUT,
    retryBackoff: { initialMs: 1000, maxMs: 8000 },
    resyncIntervalMs: HOUR,
    ...options,
  });
  const samples: SntpSample[] = [];
  client.onSync((s) => samples.push(s));
  return { clock, net, synced, client, systemTimes, valids, samples };
}

type Setup = ReturnType<typeof setup>;

function allAnswer(t: Setup, offsetMs = 0): void {
  for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs });
}

function failures(outcome: Outcome<unknown>): SntpServerError[] {
  assert.ok(outcome.error instanceof SntpSyncError, `expected SntpSyncError, got ${String(outcome.error)}`);
  return [...outcome.error.failures];
}

describe("SntpClient", () => {
  describe("syncOnce", () => {
    it("uses the integration guide's europe pool names on port 123 by default", async () => {
      assert.deepEqual(EUROPE_POOL, ["0.europe.pool.ntp.org", "1.europe.pool.ntp.org", "2.europe.pool.ntp.org", "3.europe.pool.ntp.org"]);
      const clock = new ManualClock();
      const net = new FakeDatagrams(clock);
      allAnswer({ net } as Setup, 1500);
      const client = new SntpClient({ datagrams: net, clock, random: new SequenceRandom([0]), logger: scoped(silentLogger, "sntp") });
      const sample = await client.syncOnce();
      assert.equal(sample.server, S0);
      assert.equal(net.requests[0]!.port, 123);
      near(sample.offsetMs, 1500);
    });

    it("starts at the server chosen by random.next() * n", async () => {
      for (const [r, expected] of [
        [0, S0],
        [0.26, S1],
        [0.6, S2],
        [0.999, S3],
      ] as const) {
        const t = setup([r]);
        allAnswer(t);
        const sample = await t.client.syncOnce();
        assert.equal(sample.server, expected, `random ${r}`);
        assert.deepEqual(t.net.hosts, [expected]);
        assert.equal(sample.from.address, t.net.addressOf(expected));
      }
    });

    it("measures offset and delay against the server", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "answer", offsetMs: 42_000, roundTripMs: 80 });
      const outcome = settle(t.client.syncOnce());
      await t.clock.advance(79);
      assert.equal(outcome.done, false);
      await t.clock.advance(1);
      assert.ok(outcome.done && outcome.value);
      near(outcome.value.offsetMs, 42_000, "offset");
      near(outcome.value.delayMs, 80, "delay");
      assert.equal(outcome.value.stratum, 2);
      assert.equal(t.net.openSockets, 0, "the socket is closed");
    });

    it("fails over round-robin from the random start, each server timing out exactly at requestTimeoutMs", async () => {
      const t = setup([0.5]); // starts at index 2
      t.net.script(S1, { kind: "answer", offsetMs: 7 });
      const outcome = settle(t.client.syncOnce());
      await flush();
      assert.deepEqual(t.net.hosts, [S2]);
      await t.clock.advance(TIMEOUT - 1);
      assert.deepEqual(t.net.hosts, [S2], "still waiting 1 ms before the timeout");
      await t.clock.advance(1);
      assert.deepEqual(t.net.hosts, [S2, S3]);
      await t.clock.advance(TIMEOUT);
      assert.deepEqual(t.net.hosts, [S2, S3, S0]);
      await t.clock.advance(TIMEOUT);
      assert.deepEqual(t.net.hosts, [S2, S3, S0, S1]);
      assert.deepEqual(
        t.net.requests.map((r) => r.at),
        [0, TIMEOUT, 2 * TIMEOUT, 3 * TIMEOUT],
      );
      assert.ok(outcome.done && outcome.value);
      assert.equal(outcome.value.server, S1);
      near(outcome.value.offsetMs, 7);
      assert.equal(t.net.openSockets, 0);
    });

    it("takes a reply 1 ms before the timeout but not one that comes too late", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "answer", offsetMs: 100, roundTripMs: TIMEOUT - 1 });
      assert.equal((await settleAfter(t, TIMEOUT)).value?.server, S0);

      const u = setup([0]);
      u.net.script(S0, { kind: "answer", offsetMs: 100, roundTripMs: TIMEOUT });
      u.net.script(S1, { kind: "answer", offsetMs: 200, roundTripMs: 10 });
      const outcome = await settleAfter(u, TIMEOUT + 10);
      assert.equal(outcome.value?.server, S1);
      near(outcome.value!.offsetMs, 200);
    });

    it("fails over at once when the send fails (e.g. DNS) or the reply is bad", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "send-error", message: "getaddrinfo ENOTFOUND 0.europe.pool.ntp.org" });
      t.net.script(S1, { kind: "garbage" });
      t.net.script(S2, { kind: "answer", fields: { stratum: 16 } });
      t.net.script(S3, { kind: "answer", offsetMs: -5 });
      const outcome = settle(t.client.syncOnce());
      await flush();
      assert.ok(outcome.done && outcome.value, "no timeout needed");
      assert.equal(outcome.value.server, S3);
      assert.deepEqual(t.net.hosts, [S1, S2, S3], "S0 never got a packet out");
      assert.equal(t.clock.timerCount, 0);
    });

    it("ignores stray datagrams (wrong originate) while waiting, and late replies to an earlier request", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "answer", offsetMs: 1000, roundTripMs: TIMEOUT + 1000 }); // too late
      t.net.script(S1, { kind: "answer", offsetMs: 2000, roundTripMs: 2000 });
      const outcome = settle(t.client.syncOnce());
      await t.clock.advance(TIMEOUT + 500);
      // Forged replies claiming a wild time, without our originate timestamp.
      assert.ok(t.net.inject(craftPacket({ originate: new Uint8Array(8), receive: 0, transmit: 1 })));
      const first = t.net.requests[0]!;
      assert.ok(t.net.inject(craftPacket({ originate: first.bytes.slice(40, 48), receive: 5, transmit: 5 })), "a reply to the first request");
      await t.clock.advance(1000); // S0's real reply arrives now at its closed socket
      assert.equal(outcome.done, false);
      await t.clock.advance(500);
      assert.ok(outcome.done && outcome.value);
      assert.equal(outcome.value.server, S1);
      near(outcome.value.offsetMs, 2000);
    });

    it("rejects listing each server's failure when all fail", async () => {
      const t = setup([0.25]); // starts at index 1
      t.net.script(S0, { kind: "garbage" });
      t.net.script(S2, { kind: "send-error", message: "ENOTFOUND" });
      t.net.script(S3, { kind: "answer", fields: { leap: 3 } });
      const outcome = await settleAfter(t, 10 * TIMEOUT);
      const list = failures(outcome);
      assert.deepEqual(
        list.map((f) => [f.server, f.kind, f.detail]),
        [
          [S1, "timeout", undefined],
          [S2, "send", undefined],
          [S3, "reply", "unsynchronised"],
          [S0, "reply", "short"],
        ],
      );
      const message = (outcome.error as Error).message;
      for (const s of EUROPE_POOL) assert.match(message, new RegExp(s.replace(/\./g, "\\.")));
      assert.match(message, /no reply within 3000 ms/);
      assert.match(message, /ENOTFOUND/);
    });

    it("skips a server that sent kiss-o'-death DENY or RSTR for denyHoldMs", async () => {
      const t = setup([0], { denyHoldMs: 10 * 60_000 });
      allAnswer(t);
      t.net.script(S0, { kind: "kiss", code: "DENY" });
      t.net.script(S1, { kind: "kiss", code: "RSTR" });
      const first = settle(t.client.syncOnce());
      await flush();
      assert.equal(first.value?.server, S2, "fails over at once");
      assert.deepEqual(t.net.hosts, [S0, S1, S2]);

      const second = settle(t.client.syncOnce());
      await flush();
      assert.equal(second.value?.server, S2);
      assert.deepEqual(t.net.hosts.slice(3), [S2], "DENY and RSTR servers not asked");

      await t.clock.advance(10 * 60_000);
      t.net.script(S0, { kind: "answer" });
      const third = settle(t.client.syncOnce());
      await flush();
      assert.equal(third.value?.server, S0, "asked again after the hold");
    });

    it("backs off from a server that sent RATE, longer each time it repeats", async () => {
      const t = setup([0], { rateHoldMs: 60_000 });
      allAnswer(t);
      t.net.script(S0, { kind: "kiss", code: "RATE" });
      const asked = async (): Promise<boolean> => {
        const before = t.net.requests.length;
        await t.client.syncOnce();
        return t.net.requests[before]!.host === S0;
      };
      assert.equal(await asked(), true);
      assert.equal(await asked(), false, "held");
      await t.clock.advance(60_000);
      assert.equal(await asked(), true, "after 1 min; RATE again");
      await t.clock.advance(60_000);
      assert.equal(await asked(), false, "the hold doubled to 2 min");
      await t.clock.advance(60_000);
      assert.equal(await asked(), true);
    });

    it("treats other kiss codes as a failed server without a hold", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "kiss", code: "INIT" });
      t.net.script(S1, { kind: "answer" });
      await t.client.syncOnce();
      await t.client.syncOnce();
      assert.deepEqual(t.net.hosts, [S0, S1, S0, S1]);
    });

    it("fails at once, sending nothing, when every server is held", async () => {
      const t = setup([0]);
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "kiss", code: "DENY" });
      const first = settle(t.client.syncOnce());
      await flush();
      assert.deepEqual(
        failures(first).map((f) => [f.kind, f.detail]),
        EUROPE_POOL.map(() => ["kiss", "DENY"]),
      );
      const second = settle(t.client.syncOnce());
      await flush();
      assert.deepEqual(
        failures(second).map((f) => f.kind),
        ["held", "held", "held", "held"],
      );
      assert.match((second.error as Error).message, /kiss-o'-death DENY/);
      assert.equal(t.net.requests.length, 4);
    });
  });

  describe("start", () => {
    it("applies the time to the SyncedClock (and SystemTime) and resyncs after resyncIntervalMs", async () => {
      const t = setup([0]);
      allAnswer(t, 90_000);
      assert.equal(t.synced.valid, false);
      const before = t.synced.now();
      t.client.start();
      assert.equal(t.client.status.state, "syncing");
      await flush();
      assert.equal(t.synced.valid, true);
      near(t.synced.now(), before + 90_000, "now() is the server's time");
      assert.equal(t.systemTimes.length, 1);
      near(t.systemTimes[0]!, before + 90_000, "SystemTime.set");
      assert.deepEqual(t.valids, t.systemTimes, "onValid once, with the time set");
      assert.equal(t.samples.length, 1);
      const status = t.client.status;
      assert.equal(status.state, "waiting");
      assert.equal(status.synced, true);
      assert.equal(status.lastServer, S0);
      assert.equal(status.lastError, undefined);
      assert.equal(status.nextSyncInMs, HOUR);
      assert.equal(t.client.last, t.samples[0]);

      await t.clock.advance(HOUR - 1);
      assert.equal(t.net.requests.length, 1);
      await t.clock.advance(1);
      assert.equal(t.net.requests.length, 2, "resync after exactly an hour");
      assert.equal(t.samples.length, 2);
      near(t.samples[1]!.offsetMs, 0, "already in step");
      assert.equal(t.valids.length, 1, "onValid only once");
      assert.equal(t.systemTimes.length, 2, "SystemTime set on every sync");
      t.client.stop();
    });

    it("carries the sample forward to when it is applied", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "answer", offsetMs: 5000, roundTripMs: 200 });
      t.client.start();
      await t.clock.advance(200);
      near(t.synced.now() - t.clock.now(), 5000);
      t.client.stop();
    });

    it("retries with growing, jittered delays while every server is dead, and never gives up", async () => {
      const t = setup([0.5]);
      t.client.start();
      const delays: number[] = [];
      for (let round = 0; round < 6; round++) {
        await t.clock.advance(4 * TIMEOUT);
        const status = t.client.status;
        assert.equal(status.state, "waiting");
        assert.equal(status.synced, false);
        assert.equal(status.failures, round + 1);
        assert.match(status.lastError!, /no NTP server gave the time/);
        delays.push(status.nextSyncInMs!);
        await t.clock.advance(status.nextSyncInMs!);
      }
      assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000, 4000], "half of min(8000, 1000 * 2^n) with random 0.5");
      assert.equal(t.net.requests.length, 6 * 4 + 1, "4 servers per round; the 7th round has just begun");
      assert.equal(t.synced.valid, false);
      assert.equal(t.systemTimes.length, 0);

      t.net.script(S3, { kind: "answer", offsetMs: 1234 });
      await t.clock.advance(4 * TIMEOUT);
      assert.equal(t.client.status.synced, true);
      assert.equal(t.client.status.lastServer, S3);
      assert.equal(t.client.status.failures, 0, "backoff reset");
      assert.equal(t.synced.valid, true);
      near(t.synced.now() - t.clock.now(), 1234);
      t.client.stop();
    });

    it("retries with backoff when a resync fails, staying valid", async () => {
      const t = setup([0.5]);
      allAnswer(t, 10);
      t.client.start();
      await flush();
      for (const s of EUROPE_POOL) t.net.script(s, { kind: "ignore" });
      await t.clock.advance(HOUR + 4 * TIMEOUT);
      assert.equal(t.client.status.state, "waiting");
      assert.equal(t.client.status.nextSyncInMs, 500);
      assert.equal(t.client.status.synced, true);
      assert.ok(t.client.status.lastError);
      assert.equal(t.synced.valid, true);
      allAnswer(t, 10);
      await t.clock.advance(500);
      assert.equal(t.samples.length, 2);
      assert.equal(t.client.status.lastError, undefined);
      assert.equal(t.client.status.nextSyncInMs, HOUR);
      t.client.stop();
    });

    it("stop cancels the schedule and ignores a round in flight", async () => {
      const t = setup([0]);
      t.net.script(S0, { kind: "answer", roundTripMs: 100, offsetMs: 50_000 });
      t.client.start();
      t.client.start(); // no second round
      await t.clock.advance(50);
      t.client.stop();
      await t.clock.advance(100);
      assert.equal(t.synced.valid, false, "the late result is not applied");
      assert.equal(t.client.status.state, "stopped");
      await t.clock.advance(10 * HOUR);
      assert.equal(t.net.requests.length, 1);
      assert.equal(t.clock.timerCount, 0);
    });
  });
});

describe("SyncedClock", () => {
  it("is the base clock and not valid until set", () => {
    const base = new ManualClock(1_000_000);
    const clock = new SyncedClock(base);
    assert.equal(clock.valid, false);
    assert.equal(clock.now(), 1_000_000);
    assert.equal(clock.monotonic(), base.monotonic());
  });

  it("can be constructed valid (a host trusting the OS clock)", () => {
    const clock = new SyncedClock(new ManualClock(), { valid: true });
    assert.equal(clock.valid, true);
  });

  it("after set, now() is the set time plus monotonic time elapsed; SystemTime is set; onValid fires once", async () => {
    const base = new ManualClock(0);
    const sets: number[] = [];
    const clock = new SyncedClock(base, { systemTime: { set: (ms) => sets.push(ms) } });
    const valids: number[] = [];
    clock.onValid((ms) => valids.push(ms));
    await base.advance(5000);
    const t = Date.UTC(2026, 10, 26, 12, 0, 0);
    clock.set(t);
    assert.equal(clock.valid, true);
    assert.equal(clock.now(), t);
    await base.advance(1500);
    assert.equal(clock.now(), t + 1500);
    clock.set(t + 10_000);
    assert.equal(clock.now(), t + 10_000);
    assert.deepEqual(sets, [t, t + 10_000]);
    assert.deepEqual(valids, [t]);
  });

  it("delegates timers to the base clock", async () => {
    const base = new ManualClock();
    const clock = new SyncedClock(base);
    let fired = 0;
    clock.setTimeout(() => fired++, 100);
    const cancelled = clock.setTimeout(() => fired++, 100);
    clock.clearTimeout(cancelled);
    assert.equal(base.timerCount, 1);
    clock.set(0); // setting the time does not move timers
    await base.advance(100);
    assert.equal(fired, 1);
  });

  it("still becomes valid when SystemTime.set throws, and reports the error", () => {
    const errors: unknown[] = [];
    const clock = new SyncedClock(new ManualClock(), {
      systemTime: {
        set() {
          throw new Error("no RTC");
        },
      },
      onError: (e) => errors.push(e),
    });
    clock.set(123);
    assert.equal(clock.valid, true);
    assert.equal(clock.now(), 123);
    assert.equal(errors.length, 1);
  });
});

async function settleAfter(t: Setup, ms: number): Promise<Outcome<SntpSample>> {
  const outcome = settle(t.client.syncOnce());
  await t.clock.advance(ms);
  return outcome;
}
