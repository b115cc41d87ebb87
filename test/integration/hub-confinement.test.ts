import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../../host/hub/embedded-broker";
import { LocalHub } from "../../host/hub/local-hub";
import { sleep, waitFor } from "./support/processes";
import { TestPki, testDevice, type TestDevice } from "./support/fixture";

/**
 * The local hub confines devices as IoT Hub does (issue 15, part 5): a second device certificate from the same
 * development CA can neither listen to nor act for the first device, and the first device sees none of it.
 */
describe("local hub: a device is confined to its own topics (two device certificates, one broker)", function () {
  this.timeout(60_000);
  const A = "box-conf-a";
  const B = "box-conf-b";
  let pki: TestPki;
  let broker: EmbeddedBroker;
  let hubA: LocalHub;
  let hubB: LocalHub;
  let device: TestDevice;
  /** Direct methods the firmware of device A executed. */
  const executed: string[] = [];
  const clients: mqtt.MqttClient[] = [];

  before(async () => {
    pki = new TestPki();
    const serviceB = pki.device("local-hub-b");
    broker = await EmbeddedBroker.start({ ca: pki.caPem, cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), serviceIdentities: ["local-hub", "local-hub-b"] });
    hubA = pki.hub(broker.port, A, "device-scoped");
    hubB = new LocalHub({ host: "127.0.0.1", port: broker.port, serverName: "localhost", ca: pki.caPem, cert: readFileSync(serviceB.cert), key: readFileSync(serviceB.key), serviceId: "local-hub-b", deviceId: B, addressing: "device-scoped" });
    await hubA.start();
    await hubB.start();
    await hubA.updateDesired({ owner: "a" });
    await hubB.updateDesired({ owner: "b" });
    device = testDevice(pki, A, broker.port);
    const invoke = device.hub.methods.invoke.bind(device.hub.methods);
    device.hub.methods.invoke = async (name, payload) => {
      executed.push(name);
      if (name === "slow") {
        await sleep(1500);
        return { status: 200, body: { from: "device A" } };
      }
      return invoke(name, payload);
    };
    device.start();
    await device.waitConnected();
    await waitFor(() => device.hub.twin.desiredVersion === hubA.desired["$version"], "device A to apply its twin");
  });

  after(async () => {
    for (const c of clients) c.end(true);
    device?.stop();
    await hubA?.stop();
    await hubB?.stop();
    await broker?.close();
  });

  /** A raw MQTT client with device B's certificate, recording what it receives. */
  async function connectB(clean = true): Promise<{ client: mqtt.MqttClient; received: { topic: string; body: string }[] }> {
    const cred = pki.device(B);
    const client = mqtt.connect({ protocol: "mqtts", host: "127.0.0.1", port: broker.port, servername: "localhost", ca: pki.caPem, cert: readFileSync(cred.cert), key: readFileSync(cred.key), clientId: B, clean, reconnectPeriod: 0, protocolVersion: 4 });
    clients.push(client);
    client.on("error", () => undefined);
    const received: { topic: string; body: string }[] = [];
    client.on("message", (topic, payload) => received.push({ topic, body: payload.toString("utf8") }));
    await new Promise((resolve, reject) => {
      client.once("connect", resolve);
      client.once("error", reject);
    });
    return { client, received };
  }

  /** The SUBACK's granted codes (MQTT.js rejects a SUBACK holding 0x80 and carries the packet on the error). */
  function granted(client: mqtt.MqttClient, filters: string[]): Promise<number[]> {
    return client.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }]))).then(
      (g) => g.map((x) => x.qos),
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? [],
    );
  }

  /**
   * What B could have changed for device A. Device A itself reports diagnostics and may send telemetry at any time,
   * so those count only when they carry something not A's.
   */
  function stateOfA() {
    return {
      executed: [...executed],
      desiredVersion: device.hub.twin.desiredVersion,
      desired: JSON.stringify(hubA.desired),
      reportedNotByA: ["forged", "owner"].filter((k) => k in hubA.reported),
      telemetryNotByA: hubA.telemetry.filter((t) => t.deviceId !== A || t.body === "{}").length,
      state: device.hub.status.state,
    };
  }

  const ALLOWED = [`devices/${B}/messages/devicebound/#`, "$iothub/twin/res/#", "$iothub/methods/POST/#", "$iothub/twin/PATCH/properties/desired/#"];

  it("refuses B's SUBSCRIBEs beyond its own (0x80, the connection stays up), and B receives nothing addressed to A", async () => {
    const { client, received } = await connectB();
    for (const filter of ["$iothub/#", "#", `devices/${A}/#`, "devices/+/messages/devicebound/#", `devices/${A}/messages/devicebound/#`, `$device/${A}/$iothub/#`, "$device/+/$iothub/#", "$iothub/twin/GET/#", "$iothub/methods/res/#", "$SYS/#"]) {
      assert.deepEqual(await granted(client, [filter]), [128], `SUBSCRIBE ${filter} refused`);
    }
    assert.equal(client.connected, true, "refused subscriptions leave the connection up");
    assert.deepEqual(await granted(client, ALLOWED), [1, 1, 1, 1], "its own subscriptions are granted");

    // The service addresses device A: method call, desired patch, twin response, cloud-to-device message.
    const versionBefore = device.hub.twin.desiredVersion;
    assert.equal((await hubA.invokeMethod("setColor", { color: "green" })).status, 200);
    const version = await hubA.updateDesired({ owner: "a", note: "for A only" });
    await waitFor(() => device.hub.twin.desiredVersion === version, "device A to apply the desired patch");
    assert.equal(version, versionBefore + 1);
    assert.equal(await device.hub.twin.report({ from: "A" }), hubA.reported["$version"]);
    await hubA.sendCloudMessage("for A only");
    // And device B's own: a method call from B's service side arrives under the device-facing topic.
    const call = hubB.invokeMethod("ping", { n: 1 }, 5000);
    await waitFor(() => received.length > 0, "B's method call");
    assert.match(received[0]!.topic, /^\$iothub\/methods\/POST\/ping\/\?\$rid=/);
    const rid = /\$rid=([^&]+)/.exec(received[0]!.topic)![1]!;
    await client.publishAsync(`$iothub/methods/res/200/?$rid=${rid}`, JSON.stringify({ pong: true }), { qos: 0 });
    assert.deepEqual(await call, { status: 200, payload: { pong: true } });
    await sleep(300);
    assert.deepEqual(
      received.map((m) => m.topic),
      [received[0]!.topic],
      "B received only its own method call: nothing of A's method, desired patch, twin response or C2D",
    );
    assert.equal(client.connected, true);
  });

  it("closes B's connection on each forbidden PUBLISH, and device A sees none of it", async () => {
    const before = stateOfA();
    const forbidden: [string, string, 0 | 1 | 2][] = [
      ["$iothub/methods/POST/reboot/?$rid=1", "{}", 1],
      ["$iothub/methods/POST/getLog/?$rid=2", "{}", 0],
      ["$iothub/twin/PATCH/properties/desired/?$version=99", JSON.stringify({ owner: "mallory", $version: 99 }), 1],
      ["$iothub/twin/res/200/?$rid=1", JSON.stringify({ desired: { owner: "mallory", $version: 99 }, reported: {} }), 1],
      [`devices/${A}/messages/events/`, "{}", 1],
      [`devices/${A}/messages/devicebound/$.mid=x`, "{}", 1],
      [`$device/${A}/$iothub/methods/POST/reboot/?$rid=3`, "{}", 1],
      [`$device/${A}/$iothub/twin/PATCH/properties/reported/?$rid=4`, JSON.stringify({ forged: true }), 1],
      ["$iothub/twin/GET/", "", 1], // no $rid
      [`devices/${B}/messages/events/`, "{}", 2], // QoS 2 closes the connection on IoT Hub
      ["$SYS/x", "{}", 1],
    ];
    for (const [topic, body, qos] of forbidden) {
      const { client } = await connectB();
      const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      client.publish(topic, body, { qos }, () => undefined);
      await Promise.race([closed, sleep(3000).then(() => assert.fail(`PUBLISH ${topic} (QoS ${qos}) did not close B's connection`))]);
    }
    // A will on a forbidden topic, the connection lost without DISCONNECT: the will is not published.
    const cred = pki.device(B);
    const willing = mqtt.connect({ protocol: "mqtts", host: "127.0.0.1", port: broker.port, servername: "localhost", ca: pki.caPem, cert: readFileSync(cred.cert), key: readFileSync(cred.key), clientId: B, reconnectPeriod: 0, will: { topic: "$iothub/methods/POST/reboot/?$rid=5", payload: Buffer.from("{}"), qos: 1, retain: false } });
    clients.push(willing);
    willing.on("error", () => undefined);
    await new Promise((resolve) => willing.once("connect", resolve));
    willing.stream.destroy();
    await sleep(500);
    assert.deepEqual(stateOfA(), before, "device A: no method executed, twin and telemetry unchanged");
    assert.equal(device.hub.status.state, "connected");
  });

  it("B's own twin and method requests reach only B's service side: A's twin, methods and answers are untouched", async () => {
    const before = stateOfA();
    const reportedB = hubB.reported["$version"] as number;
    const { client, received } = await connectB();
    await granted(client, ["$iothub/twin/res/#"]);
    await client.publishAsync("$iothub/twin/PATCH/properties/reported/?$rid=p1", JSON.stringify({ forged: "by B" }), { qos: 0 });
    await waitFor(() => received.some((m) => m.topic.startsWith("$iothub/twin/res/204/?$rid=p1")), "B's reported PATCH answered");
    assert.equal(hubB.reported["forged"], "by B", "B's PATCH changed B's twin");
    assert.equal(hubB.reported["$version"], reportedB + 1);
    await client.publishAsync("$iothub/twin/GET/?$rid=g1", "", { qos: 0 });
    await waitFor(() => received.some((m) => m.topic === "$iothub/twin/res/200/?$rid=g1"), "B's twin GET answered");
    const twin = JSON.parse(received.find((m) => m.topic === "$iothub/twin/res/200/?$rid=g1")!.body) as { desired: { owner: string } };
    assert.equal(twin.desired.owner, "b", "B gets B's twin, not A's");
    assert.deepEqual(stateOfA(), before, "A's twin untouched by B's requests");

    // A method answer forged by B (allowed topic, every plausible $rid) does not answer a call to A.
    const call = hubA.invokeMethod("slow", null, 5000);
    await waitFor(() => executed.at(-1) === "slow", "device A to receive the call");
    for (let rid = 1; rid <= 64; rid++) await client.publishAsync(`$iothub/methods/res/200/?$rid=${rid.toString(16)}`, JSON.stringify({ from: "B" }), { qos: 0 });
    assert.deepEqual(await call, { status: 200, payload: { from: "device A" } }, "the answer is device A's");
    assert.equal(client.connected, true);
  });

  it("a persistent session of B gets nothing queued from another device's topics, only its own", async () => {
    const first = await connectB(false);
    assert.deepEqual(await granted(first.client, [`devices/${B}/messages/devicebound/#`, `devices/${A}/#`]), [1, 128]);
    await first.client.endAsync();
    await hubA.sendCloudMessage("for A while B is away");
    const idB = await hubB.sendCloudMessage("for B while B is away");
    const again = await connectB(false);
    await waitFor(() => again.received.length > 0, "B's queued message");
    await sleep(300);
    assert.deepEqual(again.received.map((m) => m.body), ["for B while B is away"]);
    assert.ok(again.received[0]!.topic.startsWith(`devices/${B}/messages/devicebound/`) && again.received[0]!.topic.includes(idB));
  });
});
