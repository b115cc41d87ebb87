import assert from "../support/assert";
import { MemoryStore } from "../../src/ports/storage";
import { CONFIG_KEY, ConfigStore, EMPTY_CONFIG } from "../../src/storage/config-store";
import { DEFAULT_ASSIGNMENT_POLICY, connackCodeOf, decideAtBoot, decideOnHubFailure } from "../../src/bootstrap/assignment-policy";

const HUB = "iotrafi-prod-iot-hub.azure-devices.net";
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const DAY = 24 * 3600_000;
const POLICY = { maxAgeMs: 7 * DAY, failuresBeforeBootstrap: 3 };

describe("assignment policy (cache-first hub)", () => {
  it("defaults: 7 days, 3 failed attempts", () => {
    assert.deepEqual({ ...DEFAULT_ASSIGNMENT_POLICY }, POLICY);
  });

  it("no cached assignment: bootstrap first (the first boot, unchanged)", () => {
    assert.deepEqual(decideAtBoot(undefined, NOW, POLICY), { action: "bootstrap-first", reason: "no cached hub assignment" });
  });

  it("a valid cached assignment: the cached hub at once, the service not asked", () => {
    const d = decideAtBoot({ hubHostName: HUB, deviceId: "box-1", obtainedAt: NOW - 2 * DAY }, NOW, POLICY);
    assert.equal(d.action, "use-cache");
    assert.match(d.reason, /2 d old/);
    assert.equal(decideAtBoot({ hubHostName: HUB, deviceId: "box-1", obtainedAt: NOW - 7 * DAY }, NOW, POLICY).action, "use-cache", "exactly the max age is still valid");
    assert.equal(decideAtBoot({ hubHostName: HUB, deviceId: "box-1", obtainedAt: NOW + 3600_000 }, NOW, POLICY).action, "use-cache", "a little ahead (clock drift)");
  });

  it("a stale cached assignment: the cached hub at once, refreshed in the background", () => {
    const d = decideAtBoot({ hubHostName: HUB, deviceId: "box-1", obtainedAt: NOW - 8 * DAY }, NOW, POLICY);
    assert.deepEqual(d, { action: "use-cache-refresh", reason: "cached hub assignment is 8 d old (max 7 d)" });
    assert.equal(decideAtBoot({ hubHostName: HUB, deviceId: "box-1", obtainedAt: NOW - 2 * DAY }, NOW, { ...POLICY, maxAgeMs: DAY }).action, "use-cache-refresh", "the max age is configurable");
  });

  it("a cached assignment of unknown age (older firmware) or stamped in the future: used, and refreshed in the background", () => {
    assert.deepEqual(decideAtBoot({ hubHostName: HUB, deviceId: "box-1" }, NOW, POLICY), { action: "use-cache-refresh", reason: "cached hub assignment of unknown age (no time stamp)" });
    assert.equal(decideAtBoot({ hubHostName: HUB, deviceId: "box-1", obtainedAt: NOW + 30 * DAY }, NOW, POLICY).action, "use-cache-refresh");
  });

  it("reads the CONNACK return code from the link error", () => {
    assert.equal(connackCodeOf("connection refused by the broker: not authorized (CONNACK return code 5)"), 5);
    assert.equal(connackCodeOf("attempt timed out after 30000 ms"), undefined);
    assert.equal(connackCodeOf(undefined), undefined);
  });

  it("hub refused the device (unknown device: CONNACK 4/5, identifier rejected 2): bootstrap at once", () => {
    for (const [code, text] of [[5, "not authorized"], [4, "bad user name or password"], [2, "identifier rejected"]] as const) {
      const d = decideOnHubFailure({ failures: 1, lastError: `connection refused by the broker: ${text} (CONNACK return code ${code})`, askedSinceOnline: false }, POLICY);
      assert.equal(d.action, "bootstrap", `code ${code}`);
      assert.match(d.reason, new RegExp(`refused the device \\(CONNACK return code ${code}\\)`));
    }
  });

  it("a refusal right after the service was asked waits for the failure count (no bootstrap loop)", () => {
    const lastError = "connection refused by the broker: not authorized (CONNACK return code 5)";
    assert.equal(decideOnHubFailure({ failures: 1, lastError, askedSinceOnline: true }, POLICY).action, "keep");
    assert.equal(decideOnHubFailure({ failures: 3, lastError, askedSinceOnline: true }, POLICY).action, "bootstrap");
  });

  it("other failures (server unavailable, timeouts, TCP): the cached hub is kept with backoff until N consecutive failures", () => {
    const unavailable = "connection refused by the broker: server unavailable (CONNACK return code 3)";
    assert.deepEqual(decideOnHubFailure({ failures: 1, lastError: unavailable, askedSinceOnline: false }, POLICY), { action: "keep", reason: "1 of 3 failed hub connections" });
    assert.equal(decideOnHubFailure({ failures: 2, lastError: "ECONNREFUSED", askedSinceOnline: false }, POLICY).action, "keep");
    assert.deepEqual(decideOnHubFailure({ failures: 3, lastError: "ECONNREFUSED", askedSinceOnline: false }, POLICY), { action: "bootstrap", reason: "3 failed hub connections (ECONNREFUSED)" });
    assert.equal(decideOnHubFailure({ failures: 4, lastError: undefined, askedSinceOnline: false }, { ...POLICY, failuresBeforeBootstrap: 5 }).action, "keep");
  });
});

describe("the cached assignment's time stamp (config record, hub section)", () => {
  const open = (hub: unknown) => {
    const store = new MemoryStore();
    store.set(CONFIG_KEY, JSON.stringify({ v: 2, wifi: null, hub, settings: {} }));
    return { store, config: new ConfigStore({ store, defaults: EMPTY_CONFIG }) };
  };

  it("a record of older firmware (no obtainedAt) stays readable: an assignment of unknown age", () => {
    const { config } = open({ deviceId: "box-1", hubHostName: HUB });
    assert.deepEqual(config.config.hub, { deviceId: "box-1", hubHostName: HUB });
    assert.deepEqual(config.problems, []);
  });

  it("obtainedAt is stored and read back; a bad one makes the section unusable (bootstrap first)", () => {
    const a = open(null);
    a.config.update({ hub: { deviceId: "box-1", hubHostName: HUB, obtainedAt: NOW } });
    assert.deepEqual(new ConfigStore({ store: a.store, defaults: EMPTY_CONFIG }).config.hub, { deviceId: "box-1", hubHostName: HUB, obtainedAt: NOW });
    const b = open({ deviceId: "box-1", hubHostName: HUB, obtainedAt: "yesterday" });
    assert.equal(b.config.config.hub, null);
    assert.equal(b.config.problems[0]!.kind, "invalid-section");
  });
});
