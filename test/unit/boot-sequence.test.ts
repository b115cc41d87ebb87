import assert from "../support/assert";
import { BootSequence, type Assignment, type BootOptions, type BootStatus, type TimeStage } from "../../src/boot/boot-sequence";
import type { CachedAssignment } from "../../src/bootstrap/assignment-policy";
import { HubClient } from "../../src/azure/hub-client";
import { WifiManager } from "../../src/wifi/wifi-manager";
import { MemoryStore } from "../../src/ports/storage";
import { scoped, silentLogger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { FakeConnector } from "../support/fake-mqtt";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";

class FakeTime implements TimeStage {
  valid = false;
  starts = 0;
  lastError: string | undefined = "no reply from 2.europe.pool.ntp.org";
  private listeners: Array<() => void> = [];
  start(): void {
    this.starts++;
  }
  onValid(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => undefined;
  }
  becomeValid(): void {
    this.valid = true;
    for (const l of this.listeners) l();
  }
}

class FakeBootstrap {
  calls = 0;
  answer: Assignment = { hubHostName: "iotrafi-prod-iot-hub.azure-devices.net", deviceId: "box-1", source: "service" };
  hang = false;
  /** What is cached (undefined: nothing, as on the first boot). */
  cache: CachedAssignment | undefined;
  /** A hub fixed for the run (no bootstrap service). */
  configured: Assignment | undefined;
  /** Called on each request (e.g. to note how many hub attempts came before it). */
  onRequest: (() => void) | undefined;
  resolve(): Promise<Assignment> {
    this.calls++;
    this.onRequest?.();
    return this.hang ? new Promise(() => undefined) : Promise.resolve(this.answer);
  }
  cached(): CachedAssignment | undefined {
    return this.cache;
  }
}

function setup(prepare?: (bootstrap: FakeBootstrap) => void, options: Partial<BootOptions> = {}) {
  const clock = new ManualClock();
  const random = new SequenceRandom([0.5]);
  const store = new MemoryStore();
  store.set("wifi", JSON.stringify({ v: 1, ssid: "Halle", passphrase: "geheim123" }));
  const radio = new SimulatedWifiRadio(clock, [{ ssid: "Halle", authMode: "wpa2-psk", passphrase: "geheim123" }]);
  const wifi = new WifiManager({ radio, store, clock, random, logger: scoped(silentLogger, "w"), backoff: { initialMs: 1000, maxMs: 8000 }, joinTimeoutMs: 5000 });
  const time = new FakeTime();
  const bootstrap = new FakeBootstrap();
  prepare?.(bootstrap);
  const connector = new FakeConnector();
  const hub = new HubClient(
    {
      endpoint: { host: "placeholder.azure-devices.net", port: 8883 },
      identity: { deviceId: "box-1", tls: { ca: [], certificate: utf8("c"), key: utf8("k") } },
      backoff: { initialMs: 1000, maxMs: 8000 },
      ready: () => time.valid,
    },
    { connector, clock, random, logger: silentLogger },
  );
  const boot = new BootSequence({
    wifi,
    time,
    bootstrap,
    hub,
    clock,
    logger: scoped(silentLogger, "boot"),
    deviceId: "box-1",
    hubPort: 8883,
    timeouts: { wifi: 30_000, time: 30_000, bootstrap: 20_000, hub: 120_000 },
    hubFailuresBeforeBootstrap: 3,
    ...options,
  });
  const phases: BootStatus[] = [];
  boot.onStatus((s) => phases.push(s));
  const phaseLog = (): string[] => phases.map((p) => p.phase).filter((p, i, all) => i === 0 || all[i - 1] !== p);
  return { clock, radio, wifi, time, bootstrap, connector, hub, boot, phaseLog };
}

describe("BootSequence", () => {
  it("goes Wi-Fi → time → bootstrap → hub → online, with no hub attempt before the clock is valid", async () => {
    const t = setup();
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.boot.status.phase, "time");
    assert.equal(t.time.starts, 1);
    await t.clock.advance(10_000);
    assert.equal(t.connector.attempts.length, 0, "no TLS connection while the clock is invalid");
    t.time.becomeValid();
    await flush();
    assert.equal(t.bootstrap.calls, 1);
    assert.equal(t.connector.attempts.length, 1);
    assert.equal(t.connector.attempts[0]!.serverName, "iotrafi-prod-iot-hub.azure-devices.net");
    assert.equal(t.boot.status.phase, "online");
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "bootstrap", "hub", "online"]);
    assert.equal(t.boot.status.hub, "iotrafi-prod-iot-hub.azure-devices.net");
  });

  it("records a Wi-Fi phase timeout as the last error and continues once Wi-Fi is up", async () => {
    const t = setup();
    t.radio.reachable = false;
    t.boot.start();
    await t.clock.advance(30_000);
    assert.equal(t.boot.status.phase, "wifi");
    assert.deepEqual([t.boot.status.lastError?.phase, t.boot.status.lastError?.message], ["wifi", "no Wi-Fi connection yet"]);
    t.radio.reachable = true;
    await t.clock.advance(20_000);
    assert.equal(t.boot.status.phase, "time");
  });

  it("reports the time phase timeout with the SNTP reason", async () => {
    const t = setup();
    t.boot.start();
    await t.clock.advance(100);
    await t.clock.advance(30_000);
    assert.equal(t.boot.status.lastError?.phase, "time");
    assert.match(t.boot.status.lastError!.message, /2\.europe\.pool\.ntp\.org/);
  });

  it("goes back to Wi-Fi when Wi-Fi is lost, then straight to the hub (time and assignment kept)", async () => {
    const t = setup();
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.boot.status.phase, "online");
    t.radio.dropLink();
    assert.equal(t.boot.status.phase, "wifi");
    assert.equal(t.hub.status.state, "stopped");
    await t.clock.advance(1000);
    assert.equal(t.boot.status.phase, "online");
    assert.equal(t.bootstrap.calls, 1, "no new bootstrap after a Wi-Fi loss");
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "bootstrap", "hub", "online", "wifi", "time", "hub", "online"]);
  });

  it("goes back to bootstrap after repeated hub failures, and uses the new assignment", async () => {
    const t = setup();
    t.time.valid = true;
    t.connector.refuse = "Connection refused: Server unavailable";
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.boot.status.phase, "hub");
    for (let i = 0; i < 2; i++) await t.clock.runNext();
    assert.equal(t.bootstrap.calls, 2, "third failure sent the sequence back to bootstrap");
    assert.match(t.boot.status.lastError!.message, /3 failed hub connections/);
    t.bootstrap.answer = { hubHostName: "iotrafi-prod-iot-hub.azure-devices.net", deviceId: "box-1", source: "cache", error: "service error 503" };
    t.connector.refuse = undefined;
    for (let i = 0; i < 10 && t.boot.status.phase !== "online"; i++) await t.clock.runNext();
    assert.equal(t.boot.status.phase, "online");
  });

  it("goes back to bootstrap when the hub is not reached within the hub timeout", async () => {
    const t = setup();
    t.time.valid = true;
    t.connector.hang = true;
    t.boot.start();
    await t.clock.advance(100);
    await t.clock.advance(120_000);
    assert.equal(t.bootstrap.calls, 2);
    assert.match(t.boot.status.lastError!.message, /hub not reached within 120000 ms/);
  });

  it("notes a bootstrap that does not answer and retries it", async () => {
    const t = setup();
    t.time.valid = true;
    t.bootstrap.hang = true;
    t.boot.start();
    await t.clock.advance(100);
    await t.clock.advance(20_000);
    assert.equal(t.boot.status.lastError?.phase, "bootstrap");
    assert.equal(t.bootstrap.calls, 2);
    t.bootstrap.hang = false;
    await t.clock.advance(20_000);
    assert.equal(t.boot.status.phase, "online");
  });

  it("returns from online to the hub phase when the connection drops, and back online on reconnect", async () => {
    const t = setup();
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    t.connector.last.drop("keep-alive timeout");
    await flush();
    assert.equal(t.boot.status.phase, "hub");
    assert.match(t.boot.status.lastError!.message, /keep-alive timeout/);
    await t.clock.runNext();
    assert.equal(t.boot.status.phase, "online");
  });
});

describe("BootSequence: a configured hub (no bootstrap service)", () => {
  const HUB = "localhost";
  const configured = (b: FakeBootstrap) => {
    b.configured = { hubHostName: HUB, deviceId: "box-1", source: "configured" };
  };

  it("goes Wi-Fi → time → hub → online and never asks the service", async () => {
    const t = setup(configured);
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "hub", "online"]);
    assert.deepEqual([t.boot.status.hub, t.boot.status.assignmentSource], [HUB, "configured"]);
    assert.equal(t.connector.attempts[0]!.serverName, HUB);
    assert.equal(t.bootstrap.calls, 0);
  });

  it("keeps retrying the configured hub after repeated failures and the hub timeout: no bootstrap phase", async () => {
    const t = setup(configured);
    t.time.valid = true;
    t.connector.refuse = "connection refused by the broker: not authorized (CONNACK return code 5)";
    t.boot.start();
    await t.clock.advance(100);
    await t.clock.advance(130_000);
    assert.ok(t.connector.attempts.length >= 5, `attempts: ${t.connector.attempts.length}`);
    assert.ok(t.connector.attempts.every((a) => a.serverName === HUB));
    assert.equal(t.bootstrap.calls, 0);
    assert.ok(!t.phaseLog().includes("bootstrap"), t.phaseLog().join(" "));
    assert.match(t.boot.status.lastError!.message, /hub not reached within 120000 ms/);
    t.connector.refuse = undefined;
    for (let i = 0; i < 10 && t.boot.status.phase !== "online"; i++) await t.clock.runNext();
    assert.equal(t.boot.status.phase, "online");
  });
});

describe("BootSequence: cache-first hub", () => {
  const CACHED = "hub-a.azure-devices.net";
  const OTHER = "hub-b.azure-devices.net";
  const NOW = Date.UTC(2026, 10, 26, 12, 0, 0); // the ManualClock's start
  const DAY = 24 * 3600_000;
  const REFUSED = "connection refused by the broker: not authorized (CONNACK return code 5)";
  const cached = (obtainedAt?: number) => (b: FakeBootstrap) => {
    b.cache = { hubHostName: CACHED, deviceId: "box-1", ...(obtainedAt !== undefined ? { obtainedAt } : {}) };
  };

  it("a valid cached assignment: Wi-Fi → time → hub → online, the bootstrap service is not asked", async () => {
    const t = setup(cached(NOW - DAY));
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.boot.status.phase, "online");
    assert.equal(t.bootstrap.calls, 0);
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "hub", "online"]);
    assert.equal(t.connector.attempts[0]!.serverName, CACHED);
    assert.deepEqual([t.boot.status.hub, t.boot.status.assignmentSource], [CACHED, "cache"]);
    t.connector.last.drop("keep-alive timeout");
    await t.clock.advance(10_000);
    assert.equal(t.boot.status.phase, "online");
    assert.equal(t.bootstrap.calls, 0, "a reconnect that works does not ask the service");
  });

  it("no cached assignment (first boot): bootstrap first, as before", async () => {
    const t = setup();
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.bootstrap.calls, 1);
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "bootstrap", "hub", "online"]);
  });

  it("a stale cached assignment: the cached hub at once, bootstrap in the background once online; another hub is used from the next reconnect", async () => {
    const t = setup(cached(NOW - 8 * DAY));
    const attemptsAtRequest: number[] = [];
    t.bootstrap.onRequest = () => attemptsAtRequest.push(t.connector.attempts.length);
    t.bootstrap.answer = { hubHostName: OTHER, deviceId: "box-1", source: "service" };
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.boot.status.phase, "online");
    assert.deepEqual(attemptsAtRequest, [1], "asked once, after the hub connection");
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "hub", "online"], "no bootstrap phase: the working connection is not touched");
    assert.equal(t.connector.attempts.length, 1);
    assert.equal(t.boot.status.hub, CACHED);
    t.connector.last.drop("keep-alive timeout");
    await t.clock.advance(10_000);
    assert.equal(t.boot.status.phase, "online");
    assert.equal(t.connector.attempts[t.connector.attempts.length - 1]!.serverName, OTHER, "the next reconnect goes to the refreshed hub");
    assert.deepEqual([t.boot.status.hub, t.boot.status.assignmentSource], [OTHER, "service"]);
    assert.equal(t.bootstrap.calls, 1);
  });

  it("a cached assignment of unknown age (older firmware) is used and refreshed; an unchanged answer changes nothing", async () => {
    const t = setup(cached(undefined));
    t.bootstrap.answer = { hubHostName: CACHED, deviceId: "box-1", source: "service" };
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.bootstrap.calls, 1);
    t.connector.last.drop("keep-alive timeout");
    await t.clock.advance(10_000);
    assert.deepEqual(t.connector.attempts.map((a) => a.serverName), [CACHED, CACHED]);
  });

  it("a failed background bootstrap keeps the cached hub and is retried later", async () => {
    const t = setup(cached(NOW - 8 * DAY), { assignmentRetryMs: 3600_000 });
    t.bootstrap.answer = { hubHostName: "iotrafi-prod-iot-hub.azure-devices.net", deviceId: "box-1", source: "default", error: "service error (503)" };
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.bootstrap.calls, 1);
    assert.equal(t.boot.status.phase, "online");
    assert.equal(t.boot.status.hub, CACHED);
    await t.clock.advance(3600_000);
    assert.equal(t.bootstrap.calls, 2, "retried after assignmentRetryMs");
    t.connector.last.drop("keep-alive timeout");
    await t.clock.advance(10_000);
    assert.deepEqual(t.connector.attempts.map((a) => a.serverName), [CACHED, CACHED]);
  });

  it("the cached hub refuses the device (unknown device, CONNACK 5): bootstrap at once, then its hub", async () => {
    const t = setup(cached(NOW - DAY));
    t.bootstrap.answer = { hubHostName: OTHER, deviceId: "box-1", source: "service" };
    t.connector.refuse = REFUSED;
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.bootstrap.calls, 1, "asked after the first refusal");
    assert.match(t.boot.status.lastError!.message, /refused the device \(CONNACK return code 5\)/);
    t.connector.refuse = undefined;
    for (let i = 0; i < 10 && t.boot.status.phase !== "online"; i++) await t.clock.runNext();
    assert.equal(t.boot.status.phase, "online");
    assert.equal(t.connector.attempts[0]!.serverName, CACHED);
    assert.ok(t.connector.attempts.slice(1).every((a) => a.serverName === OTHER), "then only the hub the service named");
    assert.equal(t.bootstrap.calls, 1);
    assert.deepEqual(t.phaseLog(), ["wifi", "time", "hub", "bootstrap", "hub", "online"]);
  });

  it("refused again by the hub the service named: no bootstrap loop, the failure count decides", async () => {
    const t = setup(cached(NOW - DAY));
    t.bootstrap.answer = { hubHostName: CACHED, deviceId: "box-1", source: "service" };
    t.connector.refuse = REFUSED;
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.bootstrap.calls, 1);
    await t.clock.runNext(); // the second attempt (backoff), refused again
    assert.equal(t.bootstrap.calls, 1, "not asked again on the next refusal");
    for (let i = 0; i < 10 && t.bootstrap.calls < 2; i++) await t.clock.runNext();
    assert.equal(t.bootstrap.calls, 2);
    assert.match(t.boot.status.lastError!.message, /3 failed hub connections/);
  });

  it("the cached hub fails 3 times (not a refusal): bootstrap; when the service fails too, the cached hub is kept", async () => {
    const t = setup(cached(NOW - DAY));
    t.bootstrap.answer = { hubHostName: "iotrafi-prod-iot-hub.azure-devices.net", deviceId: "box-1", source: "default", error: "request failed: ECONNREFUSED" };
    t.connector.refuse = "Connection refused: Server unavailable";
    t.time.valid = true;
    t.boot.start();
    await t.clock.advance(100);
    assert.equal(t.bootstrap.calls, 0, "one failure: the cached hub is kept, with backoff");
    for (let i = 0; i < 10 && t.bootstrap.calls < 1; i++) await t.clock.runNext();
    assert.equal(t.bootstrap.calls, 1);
    t.connector.refuse = undefined;
    for (let i = 0; i < 10 && t.boot.status.phase !== "online"; i++) await t.clock.runNext();
    assert.equal(t.boot.status.phase, "online");
    assert.ok(t.connector.attempts.every((a) => a.serverName === CACHED), "never the compiled-in hub");
    assert.equal(t.boot.status.hub, CACHED);
  });
});
