import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { CloudMessage } from "../../src/azure/cloud-messages";
import type { DesiredUpdate } from "../../src/azure/twin";
import { HubClient } from "../../src/azure/hub-client";
import { StreamMqttConnector } from "../../src/mqtt/mqtt-client";
import { scoped } from "../../src/ports/logger";
import type { MqttConnectOptions, MqttConnector, MqttSession, MqttSessionEvents } from "../../src/ports/mqtt";
import type { LocalHub } from "../../host/hub/local-hub";
import { NodeClock, NodeRandom } from "../../host/adapters/node-platform";
import { NodeStreamSocketPort } from "../../host/adapters/node-stream-socket";
import { Mosquitto } from "./support/mosquitto";
import { sleep, waitFor } from "./support/processes";
import { HUB_HOST, MemoryLogger, TestPki } from "./support/fixture";

const DEVICE = "box-portable-1";

/** Counts connection attempts (a reconnect shows up as a second one). */
class CountingConnector implements MqttConnector {
  attempts = 0;
  constructor(private readonly inner: MqttConnector) {}
  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession> {
    this.attempts++;
    return this.inner.connect(options, events);
  }
}

interface PortableDevice {
  readonly hub: HubClient;
  readonly logger: MemoryLogger;
  readonly connector: CountingConnector;
  waitConnected(timeoutMs?: number): Promise<void>;
  stop(): void;
}

interface DeviceOverrides {
  readonly maxIncomingBytes?: number;
}

/** HubClient over the portable MQTT client and the Node stream socket, connecting to 127.0.0.1:port. */
function portableDevice(pki: TestPki, deviceId: string, port: number, overrides: DeviceOverrides = {}): PortableDevice {
  const cred = pki.device(deviceId);
  const clock = new NodeClock();
  const logger = new MemoryLogger();
  const connector = new CountingConnector(
    new StreamMqttConnector({
      sockets: new NodeStreamSocketPort(),
      clock,
      logger: scoped(logger, "mqtt"),
      connectTimeoutMs: 10_000,
      ...(overrides.maxIncomingBytes !== undefined ? { maxIncomingBytes: overrides.maxIncomingBytes } : {}),
    }),
  );
  const hub = new HubClient(
    {
      // The certificate is checked against the hub's name; the socket goes to the local broker.
      endpoint: { host: HUB_HOST, port, address: "127.0.0.1" },
      identity: {
        deviceId,
        tls: { ca: [pki.caPem], certificate: readFileSync(cred.cert), key: readFileSync(cred.key) },
      },
      backoff: { initialMs: 100, maxMs: 1000 },
      twinTimeoutMs: 5000,
      window: 8,
      stableAfterMs: 1000,
    },
    { connector, clock, random: new NodeRandom(), logger },
  );
  hub.methods.register("echo", (payload) => ({ echoed: payload }));
  return {
    hub,
    logger,
    connector,
    waitConnected: (timeoutMs = 10_000) => waitFor(() => hub.status.state === "connected", `device ${deviceId} to connect`, timeoutMs),
    stop: () => {
      hub.stop();
      clock.clearAll();
    },
  };
}

/** A service-side MQTT.js client (the hub service's certificate: every topic allowed by the ACL). */
async function serviceClient(pki: TestPki, port: number, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect({
    protocol: "mqtts",
    host: "127.0.0.1",
    port,
    servername: "localhost",
    ca: pki.caPem,
    cert: readFileSync(pki.service.cert),
    key: readFileSync(pki.service.key),
    clientId,
    clean: true,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

describe("Portable MQTT client against mosquitto (TLS, client certificates, per-device ACL)", function () {
  this.timeout(60_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;
  let device: PortableDevice | undefined;
  let service: MqttClient | undefined;

  before(async () => {
    pki = new TestPki();
    ({ broker, hub } = await pki.mosquittoHub(DEVICE));
  });

  afterEach(async function () {
    device?.stop();
    await service?.endAsync(true);
    if (this.currentTest?.state === "failed") {
      process.stdout.write(`--- device log ---\n${device?.logger.lines.join("\n") ?? ""}\n--- mosquitto log ---\n${broker.log}\n`);
    }
    device = undefined;
    service = undefined;
    await sleep(50);
  });

  after(async () => {
    await hub?.stop();
    await broker?.stop();
  });

  it("plain round trip: publish QoS 0/1 to a service subscriber, subscribe with two filters, receive QoS 1 and an empty QoS 0", async () => {
    const id = "rt-1";
    const cred = pki.device(id);
    const clock = new NodeClock();
    service = await serviceClient(pki, broker.port, "svc-rt");
    const seen: { topic: string; payload: string; qos: number }[] = [];
    service.on("message", (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), qos: packet.qos }));
    await service.subscribeAsync({ [`devices/${id}/#`]: { qos: 1 } });

    const received: { topic: string; payload: string }[] = [];
    const closes: string[] = [];
    const connector = new StreamMqttConnector({ sockets: new NodeStreamSocketPort(), clock });
    const session = await connector.connect(
      {
        host: "127.0.0.1",
        port: broker.port,
        serverName: "localhost",
        clientId: id,
        username: id,
        cleanSession: true,
        keepAliveSeconds: 30,
        tls: { ca: [pki.caPem], certificate: readFileSync(cred.cert), key: readFileSync(cred.key) },
      },
      { onMessage: (topic, payload) => received.push({ topic, payload: Buffer.from(payload).toString() }), onClose: (r) => closes.push(r) },
    );
    try {
      await session.publish(`devices/${id}/messages/events/a`, Buffer.from("zero"), 0);
      await session.publish(`devices/${id}/messages/events/b`, Buffer.from("one"), 1);
      await waitFor(() => seen.length === 2, "both messages at the service");
      assert.deepEqual(
        seen.sort((x, y) => x.topic.localeCompare(y.topic)),
        [
          { topic: `devices/${id}/messages/events/a`, payload: "zero", qos: 0 },
          { topic: `devices/${id}/messages/events/b`, payload: "one", qos: 1 },
        ],
      );
      const granted = await session.subscribe([
        { topic: `devices/${id}/messages/devicebound/#`, qos: 1 },
        { topic: "$iothub/methods/POST/#", qos: 0 },
      ]);
      // (mosquitto 2.0 grants filters its ACL denies and filters at delivery instead, so no 128 here; the unit tests cover it.)
      assert.deepEqual(granted, [1, 0]);
      await service.publishAsync(`devices/${id}/messages/devicebound/x=1`, "down", { qos: 1 });
      await service.publishAsync(`devices/${id}/messages/devicebound/x=2`, "", { qos: 0 });
      await waitFor(() => received.length === 2, "both messages at the device");
      assert.deepEqual(received, [
        { topic: `devices/${id}/messages/devicebound/x=1`, payload: "down" },
        { topic: `devices/${id}/messages/devicebound/x=2`, payload: "" },
      ]);
    } finally {
      session.close();
      clock.clearAll();
    }
    await waitFor(() => closes.length === 1, "onClose");
    assert.deepEqual(closes, ["closed by the application"]);
  });

  it("twin: the reported-properties PATCH is answered by a 204 with an EMPTY payload, and report() resolves with the version", async () => {
    service = await serviceClient(pki, broker.port, "svc-sniffer");
    const responses: { topic: string; bytes: number }[] = [];
    service.on("message", (topic, payload) => responses.push({ topic, bytes: payload.length }));
    await service.subscribeAsync({ "$iothub/twin/res/#": { qos: 0 } });

    device = portableDevice(pki, DEVICE, broker.port);
    const updates: DesiredUpdate[] = [];
    device.hub.twin.onDesired((u) => updates.push(u));
    device.hub.start();
    await device.waitConnected();
    await waitFor(() => updates.length === 1 && updates[0]!.full, "the desired properties of the first GET");
    const version = await device.hub.twin.report({ firmware: { version: "0.2.0" }, client: "portable" });
    assert.equal(version, hub.reported["$version"]);
    assert.deepEqual(hub.reported["firmware"], { version: "0.2.0" });
    const second = await device.hub.twin.report({ rssi: -60 });
    assert.equal(second, version + 1);
    await waitFor(() => responses.filter((r) => r.topic.startsWith("$iothub/twin/res/204/")).length === 2, "the two 204 replies at the sniffer");
    for (const r of responses.filter((x) => x.topic.startsWith("$iothub/twin/res/204/"))) assert.equal(r.bytes, 0, `${r.topic} has an empty payload`);

    const v = await hub.updateDesired({ brightness: 55 });
    await waitFor(() => updates.some((u) => u.version === v), "the desired patch");
    assert.equal(device.connector.attempts, 1, "no reconnect: the parser never stalled");
  });

  it("delivers an EMPTY cloud-to-device message, and one with properties", async () => {
    device = portableDevice(pki, DEVICE, broker.port);
    const got: CloudMessage[] = [];
    device.hub.onCloudMessage((m) => got.push(m));
    device.hub.start();
    await device.waitConnected();
    const empty = await hub.sendCloudMessage("");
    const full = await hub.sendCloudMessage('{"hello":1}', { kind: "greeting" });
    await waitFor(() => got.length === 2, "both C2D messages");
    assert.equal(got[0]!.messageId, empty);
    assert.equal(got[0]!.payload.length, 0);
    assert.equal(got[1]!.messageId, full);
    assert.deepEqual(got[1]!.properties, { kind: "greeting" });
    assert.equal(Buffer.from(got[1]!.payload).toString(), '{"hello":1}');
  });

  it("answers a direct method", async () => {
    device = portableDevice(pki, DEVICE, broker.port);
    device.hub.start();
    await device.waitConnected();
    assert.deepEqual(await hub.invokeMethod("echo", { n: 1, s: "ä" }), { status: 200, payload: { echoed: { n: 1, s: "ä" } } });
    assert.equal((await hub.invokeMethod("nope", {})).status, 404);
    assert.equal((await hub.invokeMethodRaw("echo", "{bad")).status, 400);
  });

  it("sends telemetry confirmed by PUBACK, including a 100 KB message", async () => {
    device = portableDevice(pki, DEVICE, broker.port);
    const delivered: string[] = [];
    device.hub.outbox.onEvent((e) => e.type === "delivered" && delivered.push(e.record.id));
    device.hub.start();
    await device.waitConnected();
    const before = hub.telemetry.length;
    const small = device.hub.sendTelemetry({ event: "Button_pressed", button: 1 }, { source: "portable" });
    const blob = "0123456789".repeat(10_000);
    const large = device.hub.sendTelemetry({ blob });
    await waitFor(() => delivered.length === 2, "PUBACK for both");
    assert.deepEqual(delivered, [small.id, large.id]);
    const arrived = hub.telemetry.slice(before);
    assert.equal(arrived.length, 2);
    assert.equal(arrived[0]!.messageId, small.id);
    assert.deepEqual(arrived[0]!.properties, { source: "portable" });
    assert.equal(arrived[1]!.messageId, large.id);
    assert.ok(arrived[1]!.body.length > 100_000);
    assert.equal(JSON.parse(arrived[1]!.body).blob, blob);
  });

  it("drops an oversized cloud-to-device message (acknowledged, not redelivered) and still receives the next one", async () => {
    device = portableDevice(pki, DEVICE, broker.port, { maxIncomingBytes: 4096 });
    const got: CloudMessage[] = [];
    device.hub.onCloudMessage((m) => got.push(m));
    device.hub.start();
    await device.waitConnected();
    await hub.sendCloudMessage("x".repeat(20_000));
    const next = await hub.sendCloudMessage("next");
    await waitFor(() => got.length === 1, "the message after the oversized one");
    assert.equal(got[0]!.messageId, next);
    assert.ok(device.logger.lines.some((l) => /incoming message too large; dropped/.test(l) && /"bytes":20000/.test(l)), "logged");
    await sleep(500);
    assert.equal(got.length, 1);
    assert.equal(device.connector.attempts, 1, "the connection stayed up");

    // A new connection with the same persistent session gets nothing more: the broker had its PUBACK.
    device.stop();
    await sleep(200);
    device = portableDevice(pki, DEVICE, broker.port, { maxIncomingBytes: 4096 });
    const later: CloudMessage[] = [];
    device.hub.onCloudMessage((m) => later.push(m));
    device.hub.start();
    await device.waitConnected();
    const probe = await hub.sendCloudMessage("probe");
    await waitFor(() => later.length >= 1, "the probe");
    assert.deepEqual(
      later.map((m) => m.messageId),
      [probe],
    );
    assert.ok(!device.logger.lines.some((l) => /too large/.test(l)), "no redelivery of the oversized message");
  });
});
