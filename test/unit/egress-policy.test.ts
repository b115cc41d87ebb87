import assert from "../support/assert";
import { EgressDeniedError, EgressPolicy, INTEGRATION_GUIDE_EGRESS, hostMatches, type EgressAttempt } from "../../src/net/egress-policy";
import { ClockNotValidError, GuardedDatagramPort, GuardedHttpsClient, GuardedMqttConnector, StaticRoutes } from "../../src/net/guarded-network";
import { scoped, type LogLevel } from "../../src/ports/logger";
import type { MqttConnectOptions } from "../../src/ports/mqtt";
import type { HttpsRequest } from "../../src/ports/https";
import { utf8 } from "../../src/core/bytes";
import { FakeConnector } from "../support/fake-mqtt";
import { flush } from "../support/manual-clock";

const tls = { ca: [], certificate: utf8("c"), key: utf8("k") };

function policy() {
  const logged: string[] = [];
  const p = new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped({ log: (level: LogLevel, _s, m, f) => logged.push(`${level} ${m} ${JSON.stringify(f)}`) }, "egress"));
  const attempts: EgressAttempt[] = [];
  p.onAttempt((a) => attempts.push(a));
  return { p, logged, attempts };
}

describe("egress policy (integration guide, table 1)", () => {
  it("allows exactly the guide's endpoints", () => {
    const { p } = policy();
    for (const [host, port, t] of [
      ["0.europe.pool.ntp.org", 123, "udp"],
      ["3.europe.pool.ntp.org", 123, "udp"],
      ["bootstrap.centersightcloud.com", 443, "tcp"],
      ["iotrafi.centersightcloud.com", 443, "tcp"],
      ["connect.centersightcloud.com", 443, "tcp"],
      ["kismefw.blob.core.windows.net", 443, "tcp"],
      ["iotrafi-prod-iot-hub.azure-devices.net", 8883, "tcp"],
      ["IOTRAFI-PROD-IOT-HUB.azure-devices.net.", 8883, "tcp"],
      ["192.168.1.1", 53, "udp"],
      ["192.168.1.1", 53, "tcp"],
      ["255.255.255.255", 67, "udp"],
    ] as const) {
      assert.ok(p.allows(host, port, t), `${t} ${host}:${port}`);
    }
  });

  it("refuses other hosts, ports and transports", () => {
    const { p } = policy();
    for (const [host, port, t] of [
      ["4.europe.pool.ntp.org", 123, "udp"],
      ["time.google.com", 123, "udp"],
      ["0.europe.pool.ntp.org", 123, "tcp"],
      ["bootstrap.centersightcloud.com", 80, "tcp"],
      ["bootstrap.centersightcloud.com", 8883, "tcp"],
      ["iotrafi-prod-iot-hub.azure-devices.net", 443, "tcp"],
      ["other-hub.azure-devices.net", 8883, "tcp"],
      ["blob.core.windows.net", 443, "tcp"],
      ["a.b.blob.core.windows.net", 443, "tcp"],
      ["evil.com/.blob.core.windows.net", 443, "tcp"],
      ["example.com", 443, "tcp"],
    ] as const) {
      assert.equal(p.allows(host, port, t), false, `${t} ${host}:${port}`);
    }
  });

  it("matches wildcard patterns to exactly one DNS label of at most 63 characters", () => {
    assert.ok(hostMatches("*.blob.core.windows.net", "x.blob.core.windows.net"));
    assert.ok(hostMatches("*.blob.core.windows.net", "a".repeat(63) + ".blob.core.windows.net"));
    assert.equal(hostMatches("*.blob.core.windows.net", "a".repeat(64) + ".blob.core.windows.net"), false);
    assert.equal(hostMatches("*.blob.core.windows.net", "-x.blob.core.windows.net"), false);
    assert.equal(hostMatches("*.blob.core.windows.net", "x_y.blob.core.windows.net"), false);
  });

  it("logs a refused connection with host and port and throws a clear error", () => {
    const { p, logged, attempts } = policy();
    assert.throws(() => p.check("example.com", 443, "tcp"), (e) => e instanceof EgressDeniedError && /tcp example\.com:443/.test(e.message));
    assert.match(logged.join("\n"), /warn egress refused .*"host":"example.com","port":443/);
    assert.deepEqual(attempts, [{ host: "example.com", port: 443, transport: "tcp", allowed: false, purpose: undefined }]);
  });
});

describe("network guards", () => {
  const hubOptions = (host: string, port = 8883): MqttConnectOptions => ({
    host,
    port,
    serverName: host,
    clientId: "d",
    username: "u",
    cleanSession: false,
    keepAliveSeconds: 60,
    tls,
  });
  const events = { onMessage: () => undefined, onClose: () => undefined };

  it("routes an allowed MQTT connection, keeping the logical name for the certificate check", async () => {
    const inner = new FakeConnector();
    const routes = new StaticRoutes().set("iotrafi-prod-iot-hub.azure-devices.net", 8883, "tcp", { address: "127.0.0.1", port: 41883 });
    const guard = new GuardedMqttConnector(inner, { policy: policy().p, routes, clockValid: () => true });
    await guard.connect(hubOptions("iotrafi-prod-iot-hub.azure-devices.net"), events);
    assert.deepEqual([inner.attempts[0]!.host, inner.attempts[0]!.port, inner.attempts[0]!.serverName], ["127.0.0.1", 41883, "iotrafi-prod-iot-hub.azure-devices.net"]);
  });

  it("refuses a hub outside the table before any connection, even when a route exists", async () => {
    const inner = new FakeConnector();
    const routes = new StaticRoutes().set("myhub.azure-devices.net", 8883, "tcp", { address: "127.0.0.1", port: 1 });
    const guard = new GuardedMqttConnector(inner, { policy: policy().p, routes, clockValid: () => true });
    await assert.rejects(guard.connect(hubOptions("myhub.azure-devices.net"), events), EgressDeniedError);
    assert.equal(inner.attempts.length, 0);
  });

  it("refuses TLS while the clock is not valid", async () => {
    const inner = new FakeConnector();
    let valid = false;
    const guard = new GuardedMqttConnector(inner, { policy: policy().p, clockValid: () => valid });
    await assert.rejects(guard.connect(hubOptions("iotrafi-prod-iot-hub.azure-devices.net"), events), ClockNotValidError);
    assert.equal(inner.attempts.length, 0);
    valid = true;
    await guard.connect(hubOptions("iotrafi-prod-iot-hub.azure-devices.net"), events);
    assert.equal(inner.attempts.length, 1);
  });

  it("guards HTTPS the same way and passes the route to the adapter", async () => {
    const seen: HttpsRequest[] = [];
    const inner = { request: (r: HttpsRequest) => (seen.push(r), Promise.resolve({ status: 200, headers: {}, body: new Uint8Array(0) })) };
    const routes = new StaticRoutes().set("bootstrap.centersightcloud.com", 443, "tcp", { address: "127.0.0.1", port: 8443 });
    const guard = new GuardedHttpsClient(inner, { policy: policy().p, routes, clockValid: () => true });
    const base = { port: 443, method: "GET" as const, path: "/", ca: [], timeoutMs: 1000, maxBodyBytes: 100 };
    await guard.request({ ...base, host: "bootstrap.centersightcloud.com" });
    assert.deepEqual(seen[0]!.route, { address: "127.0.0.1", port: 8443 });
    await assert.rejects(guard.request({ ...base, host: "example.com" }), EgressDeniedError);
    assert.equal(seen.length, 1);
  });

  it("guards UDP sends by name and routes them", async () => {
    const sent: string[] = [];
    const inner = { open: () => ({ send: (h: string, p: number) => (sent.push(`${h}:${p}`), Promise.resolve()), close: () => undefined }) };
    const routes = new StaticRoutes().set("1.europe.pool.ntp.org", 123, "udp", { address: "127.0.0.1", port: 12301 });
    const socket = new GuardedDatagramPort(inner, { policy: policy().p, routes, clockValid: () => false }).open({ onMessage: () => undefined });
    await socket.send("1.europe.pool.ntp.org", 123, new Uint8Array(48));
    await socket.send("2.europe.pool.ntp.org", 123, new Uint8Array(48));
    await assert.rejects(socket.send("time.google.com", 123, new Uint8Array(48)), EgressDeniedError);
    await flush();
    assert.deepEqual(sent, ["127.0.0.1:12301", "2.europe.pool.ntp.org:123"], "NTP needs no valid clock; unrouted names go out as they are");
  });
});
