import assert from "../support/assert";
import { HubClient, qos1PublishBytes, type HubClientConfig } from "../../src/azure/hub-client";
import { encodePublish } from "../../src/mqtt/mqtt-codec";
import { MethodError } from "../../src/azure/direct-methods";
import type { CloudMessage } from "../../src/azure/cloud-messages";
import type { DesiredUpdate } from "../../src/azure/twin";
import { silentLogger, type LogLevel, type Logger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { FakeConnector, type FakeSession } from "../support/fake-mqtt";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";
import { settle } from "../support/outcome";

const HUB = "iotrafi-prod-iot-hub.azure-devices.net";

function setup(overrides: Partial<HubClientConfig> = {}, logger: Logger = silentLogger) {
  const clock = new ManualClock();
  const connector = new FakeConnector();
  const client = new HubClient(
    {
      endpoint: { host: HUB, port: 8883 },
      identity: { deviceId: "box-1", modelId: "dtmi:kisme:KisBox;1", tls: { ca: [], certificate: utf8("c"), key: utf8("k") } },
      backoff: { initialMs: 1000, maxMs: 60_000 },
      window: 2,
      twinTimeoutMs: 5000,
      ...overrides,
    },
    { connector, clock, random: new SequenceRandom([0.5]), logger },
  );
  return { clock, connector, client };
}

/** Answers the twin GET a fresh session sends. */
function answerTwinGet(session: FakeSession, desired: object = { $version: 1 }): void {
  const get = session.on("$iothub/twin/GET/").pop()!;
  const rid = /\$rid=(\w+)/.exec(get.topic)![1]!;
  session.deliver(`$iothub/twin/res/200/?$rid=${rid}`, JSON.stringify({ desired, reported: { $version: 1 } }));
}

describe("HubClient", () => {
  it("connects as the device, subscribes to the four feature topics and GETs the twin", async () => {
    const t = setup();
    t.client.start();
    await flush();
    const s = t.connector.last;
    assert.equal(s.options.clientId, "box-1");
    assert.equal(s.options.username, `${HUB}/box-1/?api-version=2021-04-12&model-id=dtmi%3Akisme%3AKisBox%3B1`);
    assert.equal(s.options.cleanSession, false);
    assert.deepEqual(
      s.subscriptions.map((x) => x.topic),
      ["devices/box-1/messages/devicebound/#", "$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#"],
    );
    assert.equal(s.on("$iothub/twin/GET/").length, 1);
    assert.equal(t.client.status.state, "connected");
  });

  it("publishes telemetry with QoS 1 on the events topic with the property bag", async () => {
    const t = setup();
    t.client.start();
    await flush();
    const rec = t.client.sendTelemetry({ event: "Button_pressed", button: 1 }, { event: "Button_pressed" });
    const pub = t.connector.last.on("devices/").pop()!;
    assert.equal(pub.qos, 1);
    // No $.ctime: the event's own body carries its device time (`ts`), as every event in the schema does.
    assert.equal(pub.topic, `devices/box-1/messages/events/$.mid=${rec.id}&$.ct=application%2Fjson&$.ce=utf-8&event=Button_pressed`);
    assert.deepEqual(JSON.parse(pub.text), { event: "Button_pressed", button: 1 });
  });

  it("bounds telemetry in flight by the bytes of the PUBLISH packets; a PUBACK frees its share at once", async () => {
    const body = { Button_pressed: { button: 1, gesture: "short", ts: "2026-11-26T12:00:00.000Z" } };
    const t = setup({ window: 100, inFlightBytes: 1000 });
    for (let i = 0; i < 10; i++) t.client.sendTelemetry(body, { event: "Button_pressed" });
    t.client.start();
    await flush();
    const s = t.connector.last;
    const sizes = s.on("devices/").map((p) => qos1PublishBytes(utf8(p.topic).length, p.payload.length));
    const fit = Math.floor(1000 / sizes[0]!);
    assert.ok(fit >= 2 && fit < 10, `the test needs a budget of a few messages (${sizes[0]} B each)`);
    assert.equal(sizes.length, fit, "as many as fit into 1000 bytes");
    assert.equal(t.client.outbox.inFlightBytes, sizes.reduce((a, b) => a + b, 0));
    assert.ok(t.client.outbox.inFlightBytes <= 1000);
    s.on("devices/")[0]!.ack();
    await flush();
    assert.equal(s.on("devices/").length, fit + 1, "one PUBACK, one more PUBLISH");
    assert.ok(t.client.outbox.inFlightBytes <= 1000);
  });

  it("sends a message larger than the byte budget, alone", async () => {
    const t = setup({ window: 100, inFlightBytes: 300 });
    t.client.sendTelemetry({ big: "x".repeat(500) });
    t.client.sendTelemetry({ small: 1 });
    t.client.start();
    await flush();
    const s = t.connector.last;
    assert.equal(s.on("devices/").length, 1, "the large one goes alone; the small one waits behind it (order)");
    s.on("devices/")[0]!.ack();
    await flush();
    assert.equal(s.on("devices/").length, 2);
    assert.equal(JSON.parse(s.on("devices/")[1]!.text).small, 1);
  });

  it("computes the PUBLISH size the codec encodes", () => {
    const topic = "devices/box-1/messages/events/a=b";
    for (const payload of [0, 10, 90, 200, 16_400]) {
      const packet = encodePublish({ topic, qos: 1, packetId: 7 }, new Uint8Array(payload));
      assert.equal(qos1PublishBytes(utf8(topic).length, payload), packet.length, `payload ${payload}`);
    }
  });

  it("refuses reserved or invalid telemetry properties and unserialisable bodies, storing nothing", () => {
    const t = setup();
    assert.throws(() => t.client.sendTelemetry({}, { "$.mid": "x" }), /reserved/);
    assert.throws(() => t.client.sendTelemetry({}, { "iothub-connection-device-id": "x" }), /reserved/);
    assert.throws(() => t.client.sendTelemetry({}, { a: "\uDC00" }), /surrogate/);
    assert.throws(() => t.client.sendTelemetry(undefined), /not serialisable/);
    assert.equal(t.client.outbox.depth, 0);
  });

  it("queues telemetry while offline and delivers it after connecting, acknowledged by PUBACK", async () => {
    const t = setup();
    const delivered: string[] = [];
    t.client.outbox.onEvent((e) => e.type === "delivered" && delivered.push(e.record.body));
    t.client.sendTelemetry({ n: 1 });
    t.client.sendTelemetry({ n: 2 });
    t.client.sendTelemetry({ n: 3 });
    t.client.start();
    await flush();
    const s = t.connector.last;
    const pubs = s.on("devices/");
    assert.equal(pubs.length, 2, "window of 2");
    pubs[0]!.ack();
    await flush();
    assert.deepEqual(delivered, ['{"n":1}']);
    assert.equal(s.on("devices/").length, 3);
  });

  it("reconnects with backoff after the connection drops, re-subscribes, re-GETs and resends unacknowledged telemetry", async () => {
    const t = setup();
    t.client.start();
    await flush();
    const first = t.connector.last;
    answerTwinGet(first);
    const a = t.client.sendTelemetry({ n: 1 });
    first.drop("broker went away");
    await flush();
    assert.equal(t.client.status.state, "waiting");
    assert.equal(t.client.status.retryInMs, 500);
    await t.clock.advance(500);
    const second = t.connector.last;
    assert.notEqual(second, first);
    assert.equal(second.subscriptions.length, 4);
    assert.equal(second.on("$iothub/twin/GET/").length, 1);
    const resent = second.on("devices/");
    assert.equal(resent.length, 1);
    assert.match(resent[0]!.topic, new RegExp(`\\$\\.mid=${a.id}&`));
  });

  it("backs off when the hub refuses the connection", async () => {
    const t = setup();
    t.connector.refuse = "Connection refused: Not authorized";
    t.client.start();
    await flush();
    assert.equal(t.client.status.state, "waiting");
    assert.match(t.client.status.lastError!, /Not authorized/);
    t.connector.refuse = undefined;
    await t.clock.advance(t.client.status.retryInMs!);
    assert.equal(t.client.status.state, "connected");
  });

  it("closes the session and retries when a subscription is refused", async () => {
    const t = setup();
    t.connector.autoAckQos1 = true;
    t.client.start();
    const s0 = t.connector.last;
    s0.grant = () => 128;
    await flush();
    assert.equal(s0.closed, true);
    assert.match(t.client.status.lastError!, /subscription refused/);
  });

  it("pipelines the setup: queued telemetry goes out right behind the SUBSCRIBE, before the SUBACK; the twin GET waits for it", async () => {
    const t = setup();
    t.connector.holdSuback = true;
    t.client.sendTelemetry({ n: 1 });
    t.client.sendTelemetry({ n: 2 });
    t.client.sendTelemetry({ n: 3 });
    t.client.start();
    await flush();
    const s = t.connector.last;
    // SUBSCRIBE first, then the outbox's first window (2), all before any SUBACK; no twin GET yet.
    assert.deepEqual(
      s.sent.map((x) => x.replace(/^PUBLISH devices\/box-1\/messages\/events\/.*$/, "PUBLISH telemetry")),
      ["SUBSCRIBE", "PUBLISH telemetry", "PUBLISH telemetry"],
    );
    assert.equal(t.client.status.state, "connected");
    s.published[0]!.ack(); // a PUBACK before the SUBACK moves the window on
    await flush();
    assert.equal(s.on("devices/").length, 3);
    assert.equal(s.on("$iothub/twin/GET/").length, 0);
    s.suback();
    await flush();
    assert.equal(s.on("$iothub/twin/GET/").length, 1);
    assert.equal(s.closed, false);
  });

  it("a refused subscription after pipelined telemetry closes the session; what was not acknowledged is sent again", async () => {
    const t = setup();
    t.connector.holdSuback = true;
    const rec = t.client.sendTelemetry({ n: 1 });
    t.client.start();
    await flush();
    const s0 = t.connector.last;
    assert.equal(s0.on("devices/").length, 1);
    s0.grant = (sub) => (sub.topic.startsWith("$iothub/methods/") ? 128 : sub.qos);
    s0.suback();
    await flush();
    assert.equal(s0.closed, true);
    assert.equal(t.client.status.state, "waiting");
    assert.match(t.client.status.lastError!, /subscription refused by the hub \(granted 1,0,0,128\)/);
    assert.equal(t.client.status.failures, 1); // a failed connection: backoff, not an immediate retry
    t.clock.advance(t.client.status.retryInMs!);
    await flush();
    const s1 = t.connector.last;
    assert.notEqual(s1, s0);
    assert.deepEqual(s1.on("devices/").map((p) => JSON.parse(p.text)), [{ n: 1 }]);
    assert.match(s1.on("devices/")[0]!.topic, new RegExp(`\\$\\.mid=${rec.id}&`));
  });

  it("a SUBACK that never comes ends the session after attemptTimeoutMs", async () => {
    const t = setup({ attemptTimeoutMs: 10_000 });
    t.connector.holdSuback = true;
    t.client.start();
    await flush();
    const s0 = t.connector.last;
    t.clock.advance(9_999);
    await flush();
    assert.equal(s0.closed, false);
    t.clock.advance(1);
    await flush();
    assert.equal(s0.closed, true);
    assert.match(t.client.status.lastError!, /no SUBACK within 10000 ms/);
  });

  it("answers direct methods: 200, 404, 400 for malformed JSON or bad arguments, 500 on failure", async () => {
    const t = setup();
    t.client.methods.register("setColor", (p) => {
      const color = (p as { color?: unknown } | null)?.color;
      if (color !== "red") throw new MethodError(400, "unsupported color");
      return { color };
    });
    t.client.methods.register("crash", () => {
      throw new Error("bug");
    });
    t.client.start();
    await flush();
    const s = t.connector.last;
    s.deliver("$iothub/methods/POST/setColor/?$rid=1", '{"color":"red"}');
    s.deliver("$iothub/methods/POST/nope/?$rid=2", "{}");
    s.deliver("$iothub/methods/POST/setColor/?$rid=3", "{bad");
    s.deliver("$iothub/methods/POST/setColor/?$rid=4", '{"color":"pink"}');
    s.deliver("$iothub/methods/POST/crash/?$rid=5", "{}");
    await flush();
    const replies = s
      .on("$iothub/methods/res/")
      .map((p) => [p.topic, JSON.parse(p.text)] as [string, unknown])
      .sort((a, b) => a[0].slice(-1).localeCompare(b[0].slice(-1)));
    assert.deepEqual(replies, [
      ["$iothub/methods/res/200/?$rid=1", { color: "red" }],
      ["$iothub/methods/res/404/?$rid=2", { error: "unknown method: nope" }],
      ["$iothub/methods/res/400/?$rid=3", replies[2]![1]],
      ["$iothub/methods/res/400/?$rid=4", { error: "unsupported color" }],
      ["$iothub/methods/res/500/?$rid=5", { error: "method crash failed" }],
    ]);
    assert.match(JSON.stringify(replies[2]![1]), /malformed payload/);
  });

  it("decodes cloud-to-device messages and survives malformed ones", async () => {
    const t = setup();
    const got: CloudMessage[] = [];
    t.client.onCloudMessage((m) => got.push(m));
    t.client.start();
    await flush();
    const s = t.connector.last;
    s.deliver("devices/box-1/messages/devicebound/%24.mid=m1&%24.to=%2Fdevices%2Fbox-1%2Fmessages%2FdeviceBound&color=gr%C3%BCn", "hi");
    s.deliver("devices/box-1/messages/devicebound/a=%ZZ", "bad");
    s.deliver("devices/box-1/messages/devicebound/", "no props");
    assert.equal(got.length, 2);
    assert.equal(got[0]!.messageId, "m1");
    assert.deepEqual(got[0]!.properties, { color: "grün" });
    assert.equal(got[0]!.system["$.to"], "/devices/box-1/messages/deviceBound");
    assert.equal(new TextDecoder().decode(got[1]!.payload), "no props");
    assert.equal(t.client.status.state, "connected");
  });

  it("applies desired properties from the full twin and from patches by version", async () => {
    const t = setup();
    const updates: DesiredUpdate[] = [];
    t.client.twin.onDesired((u) => updates.push(u));
    t.client.start();
    await flush();
    const s = t.connector.last;
    answerTwinGet(s, { brightness: 30, $version: 3 });
    await flush();
    s.deliver("$iothub/twin/PATCH/properties/desired/?$version=4", '{"brightness":40,"$version":4}');
    s.deliver("$iothub/twin/PATCH/properties/desired/?$version=2", '{"brightness":1,"$version":2}');
    assert.deepEqual(updates.map((u) => [u.version, u.full, u.properties.brightness]), [[3, true, 30], [4, false, 40]]);
  });

  it("retries a twin GET that timed out while the session lasts, without dropping the link", async () => {
    const t = setup();
    t.client.start();
    await flush();
    const s = t.connector.last;
    await t.clock.advance(5000);
    assert.equal(s.on("$iothub/twin/GET/").length, 1);
    await t.clock.advance(2000);
    assert.equal(s.on("$iothub/twin/GET/").length, 2);
    assert.equal(t.client.status.state, "connected");
  });

  it("waits for the ready precondition before any connection attempt", async () => {
    let ready = false;
    const t = setup({ ready: () => ready });
    t.client.start();
    await t.clock.advance(30_000);
    assert.equal(t.connector.attempts.length, 0);
    ready = true;
    await t.clock.advance(1000);
    assert.equal(t.connector.attempts.length, 1);
  });

  it("goodbye: sends nothing new, awaits the PUBACKs in flight, then DISCONNECT; the link stays stopped", async () => {
    const t = setup(); // window 2
    t.client.start();
    await flush();
    const s = t.connector.last;
    for (const n of [1, 2, 3]) t.client.sendTelemetry({ n });
    const pubs = s.on("devices/");
    assert.equal(pubs.length, 2, "two in flight, one queued");
    const done = settle(t.client.goodbye());
    await flush();
    pubs[0]!.ack();
    await flush();
    assert.equal(s.on("devices/").length, 2, "nothing new sent during the goodbye");
    assert.equal(done.done, false, "waits for the second PUBACK");
    assert.equal(s.disconnected, false);
    pubs[1]!.ack();
    await flush();
    assert.ok(done.done);
    assert.equal(s.disconnected, true, "DISCONNECT after the last PUBACK");
    assert.equal(t.client.status.state, "stopped");
    assert.equal(t.client.outbox.depth, 1, "the unsent event stays queued");
    await t.clock.advance(60_000);
    assert.equal(t.connector.sessions.length, 1, "no reconnect after the goodbye");
  });

  it("logs the end of a connection it closed itself (goodbye, stop) as information, a lost one as a warning", async () => {
    const lines: string[] = [];
    const logger: Logger = { log: (level: LogLevel, _scope: string, message: string) => void (message === "disconnected" && lines.push(level)) };
    const t = setup({}, logger);
    t.client.start();
    await flush();
    t.connector.last.drop("connection reset");
    await t.clock.advance(60_000);
    assert.equal(t.connector.sessions.length, 2);
    t.client.stop();
    t.client.start();
    await t.clock.advance(60_000);
    await t.client.goodbye();
    assert.deepEqual(lines, ["warn", "info", "info"]);
  });

  it("goodbye waits at most ackTimeoutMs for PUBACKs; what was not acknowledged is sent again after the next start", async () => {
    const t = setup();
    t.client.start();
    await flush();
    const s = t.connector.last;
    const a = t.client.sendTelemetry({ n: 1 });
    const done = settle(t.client.goodbye({ ackTimeoutMs: 3000 }));
    await t.clock.advance(2999);
    assert.equal(done.done, false);
    await t.clock.advance(1);
    assert.ok(done.done);
    assert.equal(s.disconnected, true);
    assert.equal(t.client.outbox.depth, 1);
    t.client.start();
    await flush();
    const resent = t.connector.last.on("devices/");
    assert.equal(resent.length, 1, "sent again on the next session");
    assert.match(resent[0]!.topic, new RegExp(`\\$\\.mid=${a.id}&`));
  });

  it("goodbye while the link is down just stops it", async () => {
    const t = setup();
    t.connector.refuse = "Connection refused";
    t.client.start();
    await flush();
    assert.equal(t.client.status.state, "waiting");
    await t.client.goodbye();
    assert.equal(t.client.status.state, "stopped");
    t.connector.refuse = undefined;
    await t.clock.advance(60_000);
    assert.equal(t.connector.sessions.length, 0);
  });

  it("rejects a keep-alive above 1177 s at construction", () => {
    assert.throws(() => setup({ keepAliveSeconds: 1200 }), /1177/);
  });
});
