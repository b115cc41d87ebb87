import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EgressPolicy, INTEGRATION_GUIDE_EGRESS, type EgressAttempt } from "../../src/net/egress-policy";
import { StaticRoutes } from "../../src/net/guarded-network";
import { EUROPE_POOL } from "../../src/time/sntp-client";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import type { BootPhase } from "../../src/boot/boot-sequence";
import { silentLogger } from "../../src/ports/logger";
import { checkTelemetry } from "../../src/device/schema";
import { createHostDevice, type HostDevice } from "../../host/device/host-device";
import { startLocalCloud, type LocalCloud } from "../../host/cli/local-cloud";
import { Chrony } from "./support/chrony";
import { tempDir, waitFor } from "./support/processes";

/**
 * The whole firmware on the host, against real peers: chronyd for NTP, a local cloud (TLS broker with
 * client certificates, the hub's service side, the bootstrap service). Every outbound connection the
 * firmware attempts is recorded and checked against the integration guide's table.
 */
describe("full host run: boot, telemetry, twin and a method, within the egress table", function () {
  this.timeout(60_000);
  let chrony: Chrony[];
  let cloud: LocalCloud;
  let device: HostDevice;
  const attempts: EgressAttempt[] = [];
  const phases: BootPhase[] = [];

  before(async () => {
    chrony = [await Chrony.start(), await Chrony.start()];
    cloud = await startLocalCloud(join(tempDir("cloud"), "pki"), "box-full-1");
    const routes = new StaticRoutes()
      .set(DEFAULT_HUB_HOST, 8883, "tcp", { address: "127.0.0.1", port: cloud.broker.port })
      .set(BOOTSTRAP_HOST, 443, "tcp", { address: "127.0.0.1", port: cloud.bootstrap.port });
    // Only two of the four pool names have a server behind them: the others time out and are failed over.
    routes.set(EUROPE_POOL[0]!, 123, "udp", { address: "127.0.0.1", port: chrony[0]!.port });
    routes.set(EUROPE_POOL[1]!, 123, "udp", { address: "127.0.0.1", port: chrony[1]!.port });
    routes.set(EUROPE_POOL[2]!, 123, "udp", { address: "127.0.0.1", port: 9 });
    routes.set(EUROPE_POOL[3]!, 123, "udp", { address: "127.0.0.1", port: 9 });
    device = createHostDevice(
      {
        ca: [cloud.caPem],
        cert: readFileSync(cloud.device.cert),
        key: readFileSync(cloud.device.key),
        logger: silentLogger,
        routes,
        sntpRequestTimeoutMs: 300,
      },
      { set: () => undefined },
    );
    device.policy.onAttempt((a) => attempts.push(a));
    device.boot.onStatus((s) => phases[phases.length - 1] !== s.phase && phases.push(s.phase));
  });

  after(async () => {
    device?.stop();
    await cloud?.close();
    for (const c of chrony ?? []) await c.dispose();
  });

  it("boots through SNTP and bootstrap to the hub, with no TLS before the clock is valid", async () => {
    assert.equal(device.clock.valid, false);
    device.start();
    await waitFor(() => device.boot.status.phase === "online", "the device to come online", 20_000);
    assert.deepEqual(phases, ["wifi", "time", "bootstrap", "hub", "online"]);
    assert.equal(device.boot.status.assignmentSource, "service");
    assert.ok(Math.abs(device.clock.now() - Date.now()) < 1000, "time from chrony");
    const firstTcp = attempts.findIndex((a) => a.transport === "tcp");
    const firstNtp = attempts.findIndex((a) => a.transport === "udp");
    assert.ok(firstNtp >= 0 && firstNtp < firstTcp, "NTP before any TCP/TLS connection");
    assert.deepEqual(cloud.bootstrap.requests, ["GET /api/v1/devices/box-full-1/assignment"]);
  });

  it("sends telemetry, reports properties and answers a method", async () => {
    const press = device.box!.press(3);
    await waitFor(() => cloud.hub.telemetry.some((t) => t.messageId === press.id), "the press at the hub");
    assert.equal(await device.hub.twin.report({ firmware: "0.1.0" }), cloud.hub.reported["$version"]);
    const answer = await cloud.hub.invokeMethod("setColor", { button: 3, color: "red" });
    assert.equal(answer.status, 200);
  });

  it("emitted only declared events, with declared fields and nothing else", () => {
    assert.ok(cloud.hub.telemetry.length >= 2);
    for (const t of cloud.hub.telemetry) {
      const event = checkTelemetry(JSON.parse(t.body));
      assert.deepEqual(t.properties, { event }, "the only application property is the event name");
      // The device time travels in the body's `ts` (every event has one), not as $.ctime as well.
      assert.deepEqual(Object.keys(t.system).sort(), ["$.ce", "$.ct", "$.mid"]);
      assert.ok(Number.isFinite(Date.parse((JSON.parse(t.body) as Record<string, { ts: string }>)[event]!.ts)), "the event's device time");
    }
  });

  it("attempted only connections in the integration guide's table", () => {
    const table = new EgressPolicy(INTEGRATION_GUIDE_EGRESS, { debug() {}, info() {}, warn() {}, error() {} });
    assert.ok(attempts.length >= 3);
    for (const a of attempts) {
      assert.ok(a.allowed, `refused: ${a.transport} ${a.host}:${a.port}`);
      assert.ok(table.allows(a.host, a.port, a.transport), `not in the table: ${a.transport} ${a.host}:${a.port}`);
    }
    const kinds = new Set(attempts.map((a) => `${a.transport} ${a.host}:${a.port}`));
    assert.ok(kinds.has(`tcp ${DEFAULT_HUB_HOST}:8883`));
    assert.ok(kinds.has(`tcp ${BOOTSTRAP_HOST}:443`));
    assert.ok([...kinds].some((k) => /^udp [0-3]\.europe\.pool\.ntp\.org:123$/.test(k)));
  });

  it("refuses a connection to any other host or port, before any packet is sent", async () => {
    const connectionsBefore = cloud.broker.connections;
    for (const [host, port] of [["evil.example.com", 8883], [DEFAULT_HUB_HOST, 1883]] as const) {
      device.hub.reconfigure({ host, port });
      await waitFor(() => (device.hub.status.lastError ?? "").includes(`${host}:${port}`), `the refusal of ${host}:${port}`);
      assert.match(device.hub.status.lastError!, new RegExp(`egress refused: tcp ${host.replace(/\./g, "\\.")}:${port}`));
      assert.deepEqual(attempts.filter((a) => !a.allowed).pop(), { host, port, transport: "tcp", allowed: false, purpose: undefined });
    }
    assert.equal(cloud.broker.connections, connectionsBefore, "no socket reached the broker");
  });
});
