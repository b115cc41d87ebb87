import assert from "../support/assert";
import { REBOOT_TIMES_KEY, RebootLimiter } from "../../src/boot/reboot-limit";
import { Commands, GET_LOG_MAX_BYTES, GET_LOG_MAX_LINE_CHARS, REBOOT_MIN_DELAY_MS, boundedLog, identifyCommand, rebootCommand } from "../../src/device/commands";
import { DirectMethods, MethodError } from "../../src/azure/direct-methods";
import type { HubClient } from "../../src/azure/hub-client";
import { MemoryStore, type KeyValueStore } from "../../src/ports/storage";
import { scoped, silentLogger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { ManualClock } from "../support/manual-clock";

const HOUR = 3_600_000;

/** A wall clock that is valid (set by SNTP) unless told otherwise. */
function wallClock(clock: ManualClock, valid = true) {
  return {
    now: () => clock.now(),
    get valid() {
      return valid;
    },
  };
}

/**
 * One boot of the device's reboot command over `store` (what survives the reboot): a fresh limiter and handler,
 * registered as a direct method behind the schema, as the firmware does. `restarts` records every restart.
 */
function boot(store: KeyValueStore, clock: ManualClock, options: { valid?: boolean } = {}) {
  const restarts: string[] = [];
  const methods = new DirectMethods(scoped(silentLogger, "m"));
  const hub = { methods, onCloudMessage: () => () => undefined } as unknown as HubClient;
  const commands = new Commands(hub, scoped(silentLogger, "commands"));
  const limiter = new RebootLimiter({ store, clock: wallClock(clock, options.valid ?? true) });
  commands.register("reboot", rebootCommand({ clock, limiter, logger: scoped(silentLogger, "device"), restart: (reason) => restarts.push(reason) }));
  const call = (payload: unknown = {}) => methods.invoke("reboot", utf8(JSON.stringify(payload)));
  return { restarts, call, limiter };
}

describe("reboot command: minimum delay and rate limit", () => {
  it("refuses a delay below the minimum with 400 and the reason, and restarts nothing", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const d = boot(store, clock);
    for (const delayMs of [0, 1, REBOOT_MIN_DELAY_MS - 1]) {
      const r = await d.call({ delayMs });
      assert.equal(r.status, 400, String(delayMs));
      assert.match((r.body as { error: string }).error, /delayMs must be 1000\.\.60000/);
    }
    await clock.advance(10_000);
    assert.deepEqual(d.restarts, []);
    assert.equal(store.get(REBOOT_TIMES_KEY), undefined, "a refused call writes nothing");
  });

  it("answers first and restarts after delayMs (default and minimum 1 s)", async () => {
    const clock = new ManualClock();
    const d = boot(new MemoryStore(), clock);
    assert.deepEqual(await d.call(), { status: 200, body: { rebootInMs: REBOOT_MIN_DELAY_MS } });
    await clock.advance(REBOOT_MIN_DELAY_MS - 1);
    assert.deepEqual(d.restarts, []);
    await clock.advance(1);
    assert.deepEqual(d.restarts, ["reboot command"]);
  });

  it("allows 3 reboots per hour across the reboots themselves, then 429 with the reason and the next allowed time", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore(); // the flash: survives every simulated reboot
    const start = clock.now();
    for (let i = 1; i <= 3; i++) {
      const d = boot(store, clock); // a new boot
      assert.deepEqual(await d.call({ delayMs: 2000 }), { status: 200, body: { rebootInMs: 2000 } }, `reboot ${i}`);
      await clock.advance(2000);
      assert.deepEqual(d.restarts, ["reboot command"]);
      await clock.advance(60_000); // the next boot reaches the hub
    }
    const fourth = boot(store, clock);
    const stored = store.get(REBOOT_TIMES_KEY);
    const refused = await fourth.call({ delayMs: 2000 });
    assert.equal(refused.status, 429);
    const nextAllowedAt = start + HOUR; // the first of the three leaves the window
    assert.deepEqual(refused.body, {
      error: `reboot refused: at most 3 reboots per hour; the next is allowed at ${new Date(nextAllowedAt).toISOString()}`,
      reason: "rate-limited",
      nextAllowedAt: new Date(nextAllowedAt).toISOString(),
      retryAfterS: Math.ceil((nextAllowedAt - clock.now()) / 1000),
    });
    await clock.advance(10_000);
    assert.deepEqual(fourth.restarts, [], "no restart after a 429");
    assert.equal(store.get(REBOOT_TIMES_KEY), stored, "a refusal writes nothing to flash");
    // Once the first reboot is an hour old, one more is allowed (and only one).
    await clock.advance(nextAllowedAt - clock.now());
    const fifth = boot(store, clock);
    assert.equal((await fifth.call()).status, 200);
    assert.equal((await boot(store, clock).call()).status, 429);
  });

  it("keeps at most `max` time stamps in its record", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    for (let i = 0; i < 6; i++) {
      assert.equal((await boot(store, clock).call()).status, 200);
      await clock.advance(HOUR / 2);
    }
    const record = JSON.parse(store.get(REBOOT_TIMES_KEY)!) as { v: number; at: number[] };
    assert.equal(record.v, 1);
    assert.ok(record.at.length <= 3 && record.at.length >= 1, JSON.stringify(record));
  });

  it("a second call while a reboot is scheduled answers with the time left and is not counted", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const d = boot(store, clock);
    assert.deepEqual(await d.call({ delayMs: 5000 }), { status: 200, body: { rebootInMs: 5000 } });
    await clock.advance(1500);
    assert.deepEqual(await d.call({ delayMs: 1000 }), { status: 200, body: { rebootInMs: 3500, alreadyScheduled: true } });
    assert.equal((JSON.parse(store.get(REBOOT_TIMES_KEY)!) as { at: number[] }).at.length, 1);
    await clock.advance(3500);
    assert.deepEqual(d.restarts, ["reboot command"], "one restart");
  });

  it("is conservative without a valid clock: 429 clock-not-set, nothing written", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const d = boot(store, clock, { valid: false });
    const r = await d.call();
    assert.equal(r.status, 429);
    assert.equal((r.body as { reason: string }).reason, "clock-not-set");
    assert.match((r.body as { error: string }).error, /clock is not set/);
    assert.equal(store.get(REBOOT_TIMES_KEY), undefined);
    await clock.advance(5000);
    assert.deepEqual(d.restarts, []);
  });

  it("counts a time stamp ahead of the clock (the clock was set back) as recent; one more than a day ahead is ignored", () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const now = clock.now();
    store.set(REBOOT_TIMES_KEY, JSON.stringify({ v: 1, at: [now - 10, now + 60_000, now + 120_000] }));
    const limiter = new RebootLimiter({ store, clock: wallClock(clock) });
    const refused = limiter.check();
    assert.equal(refused.allowed, false);
    assert.equal(refused.allowed ? undefined : refused.nextAllowedAt, now - 10 + HOUR);
    store.set(REBOOT_TIMES_KEY, JSON.stringify({ v: 1, at: [now - 10, now + 60_000, now + 25 * HOUR] }));
    assert.equal(limiter.check().allowed, true);
  });

  it("an unusable or unreadable record counts as no reboots and is reported; a failing write does not stop the reboot", () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const problems: string[] = [];
    store.set(REBOOT_TIMES_KEY, "{garbage");
    const limiter = new RebootLimiter({ store, clock: wallClock(clock), onProblem: (m) => problems.push(m) });
    assert.equal(limiter.acquire().allowed, true);
    assert.equal((JSON.parse(store.get(REBOOT_TIMES_KEY)!) as { at: number[] }).at.length, 1, "rewritten");
    const broken: KeyValueStore = {
      get: () => {
        throw new Error("flash");
      },
      set: () => {
        throw new Error("flash");
      },
      delete: () => undefined,
    };
    assert.equal(new RebootLimiter({ store: broken, clock: wallClock(clock), onProblem: (m) => problems.push(m) }).acquire().allowed, true);
    assert.equal(problems.length, 3, problems.join("; "));
  });

  it("answers 500 (not a restart) on a platform that cannot restart", async () => {
    const clock = new ManualClock();
    const limiter = new RebootLimiter({ store: new MemoryStore(), clock: wallClock(clock) });
    const handler = rebootCommand({ clock, limiter, logger: scoped(silentLogger, "d"), restart: undefined });
    assert.throws(() => handler({}), /cannot restart/);
  });

  it("refuses nonsense limits", () => {
    const clock = new ManualClock();
    assert.throws(() => new RebootLimiter({ store: new MemoryStore(), clock: wallClock(clock), max: 0 }), RangeError);
    assert.throws(() => new RebootLimiter({ store: new MemoryStore(), clock: wallClock(clock), windowMs: 0 }), RangeError);
  });
});

describe("MethodError details", () => {
  it("adds its details to the error body", async () => {
    const m = new DirectMethods(scoped(silentLogger, "m"));
    m.register("x", () => {
      throw new MethodError(429, "slow down", { retryAfterS: 5 });
    });
    assert.deepEqual(await m.invoke("x", utf8("{}")), { status: 429, body: { error: "slow down", retryAfterS: 5 } });
  });
});

describe("getLog: bounded in lines and bytes", () => {
  const jsonBytes = (lines: string[]) => utf8(JSON.stringify({ lines })).length;

  it("passes a small log through unchanged", () => {
    assert.deepEqual(boundedLog(["a", "b"]), { lines: ["a", "b"] });
    assert.deepEqual(boundedLog([]), { lines: [] });
  });

  it("cuts long lines to GET_LOG_MAX_LINE_CHARS, ending in …", () => {
    const { lines } = boundedLog(["x".repeat(5000), "short"]);
    assert.equal(lines[0]!.length, GET_LOG_MAX_LINE_CHARS);
    assert.ok(lines[0]!.endsWith("…"));
    assert.equal(lines[1], "short");
  });

  it("keeps the newest lines within GET_LOG_MAX_BYTES and says how many older ones were left out", () => {
    const all = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, "0")} ${"é\"\u0001".repeat(200)}`);
    const r = boundedLog(all);
    assert.ok(r.omitted !== undefined && r.omitted > 0);
    assert.equal(r.lines.length + r.omitted!, 100);
    assert.ok(r.lines[r.lines.length - 1]!.startsWith("099 "), "the newest line is kept");
    assert.ok(r.lines[0]!.startsWith(`${String(r.omitted).padStart(3, "0")} `), "the lines kept are the newest, in order");
    assert.ok(jsonBytes(r.lines) <= GET_LOG_MAX_BYTES + 20, `${jsonBytes(r.lines)} bytes`);
    assert.ok(jsonBytes(r.lines) > GET_LOG_MAX_BYTES - 2 * GET_LOG_MAX_LINE_CHARS * 6, "and uses the room it has");
  });

  it("does not split a surrogate pair when cutting", () => {
    const line = "a".repeat(GET_LOG_MAX_LINE_CHARS - 2) + "😀".repeat(10);
    const cut = boundedLog([line]).lines[0]!;
    assert.ok(cut.length <= GET_LOG_MAX_LINE_CHARS);
    assert.equal(utf8(cut).length, new TextEncoder().encode(cut).length);
    assert.ok(!/[\ud800-\udbff]…$/.test(cut));
  });
});

describe("identify: bounded and with one timer", () => {
  it("blinks for its seconds, and a repeated call restarts the blink instead of adding timers", async () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const handler = identifyCommand(
      clock,
      () => events.push("show"),
      () => events.push("restore"),
    );
    assert.deepEqual(handler({ seconds: 5 }), { seconds: 5 });
    await clock.advance(4000);
    assert.deepEqual(handler({}), { seconds: 10 });
    await clock.advance(9999);
    assert.deepEqual(events, ["show", "show"], "the first call's timer was replaced");
    await clock.advance(1);
    assert.deepEqual(events, ["show", "show", "restore"]);
    await clock.advance(60_000);
    assert.equal(events.length, 3);
  });

  it("refuses seconds outside 1..600 with 400 (the schema)", async () => {
    const clock = new ManualClock();
    const methods = new DirectMethods(scoped(silentLogger, "m"));
    const hub = { methods, onCloudMessage: () => () => undefined } as unknown as HubClient;
    const commands = new Commands(hub, scoped(silentLogger, "commands"));
    let shown = 0;
    commands.register("identify", identifyCommand(clock, () => shown++, () => undefined));
    for (const seconds of [0, 601, 1.5, -1]) assert.equal((await methods.invoke("identify", utf8(JSON.stringify({ seconds })))).status, 400, String(seconds));
    assert.equal((await methods.invoke("getLog", utf8("{}"))).status, 404);
    assert.equal(shown, 0);
  });
});
