import assert from "../support/assert";
import { ManualClock, flush } from "../support/manual-clock";
import { FakeStreamSocketPort, type FakeStreamSocket } from "../support/fake-stream-socket";
import { StreamMqttConnector, type StreamMqttConnectorOptions } from "../../src/mqtt/mqtt-client";
import { decodeUtf8, encodeUtf8 } from "../../src/mqtt/mqtt-codec";
import { MqttConnectError, type MqttConnectOptions, type MqttSession } from "../../src/ports/mqtt";
import type { LogFields, ScopedLogger } from "../../src/ports/logger";
import { settle } from "../support/outcome";

const OPTIONS: MqttConnectOptions = {
  host: "127.0.0.1",
  port: 8883,
  serverName: "hub.azure-devices.net",
  clientId: "box-1",
  username: "hub.azure-devices.net/box-1/?api-version=2021-04-12",
  cleanSession: false,
  keepAliveSeconds: 60,
  tls: { ca: [Uint8Array.of(1, 1)], certificate: Uint8Array.of(2, 2), key: Uint8Array.of(3, 3) },
};

interface Received {
  topic: string;
  text: string;
  payload: Uint8Array;
}

function setup(overrides: Partial<StreamMqttConnectorOptions> = {}, options: Partial<MqttConnectOptions> = {}) {
  const clock = new ManualClock();
  const sockets = new FakeStreamSocketPort();
  const logs: string[] = [];
  const line = (level: string) => (message: string, fields?: LogFields) => void logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const logger: ScopedLogger = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  const connector = new StreamMqttConnector({ sockets, clock, logger, connectTimeoutMs: 5000, maxIncomingBytes: 256, pingTimeoutMs: 10_000, ...overrides });
  const messages: Received[] = [];
  const closes: string[] = [];
  let onMessage: (topic: string, payload: Uint8Array) => void = (topic, payload) => void messages.push({ topic, text: decodeUtf8(payload) ?? "<binary>", payload });
  const events = {
    onMessage: (topic: string, payload: Uint8Array) => onMessage(topic, payload),
    onClose: (reason: string) => void closes.push(reason),
  };
  const connecting = settle(connector.connect({ ...OPTIONS, ...options }, events));
  return {
    clock,
    sockets,
    logs,
    messages,
    closes,
    connecting,
    get socket(): FakeStreamSocket {
      return sockets.last;
    },
    setHandler(handler: (topic: string, payload: Uint8Array) => void): void {
      onMessage = handler;
    },
  };
}

type Setup = ReturnType<typeof setup>;

async function open(overrides: Partial<StreamMqttConnectorOptions> = {}, options: Partial<MqttConnectOptions> = {}): Promise<Setup & { session: MqttSession }> {
  const t = setup(overrides, options);
  t.socket.accept();
  t.socket.connack(0);
  await flush();
  assert.ok(t.connecting.done && t.connecting.value, `connected (${String(t.connecting.error)})`);
  return Object.assign(t, { session: t.connecting.value });
}

describe("StreamMqttConnector: connecting", () => {
  it("opens the socket with the TLS options and sends CONNECT once TCP and TLS are up", async () => {
    const t = setup();
    assert.deepEqual(t.socket.options, {
      host: "127.0.0.1",
      port: 8883,
      tls: { serverName: "hub.azure-devices.net", ca: [Uint8Array.of(1, 1)], certificate: Uint8Array.of(2, 2), key: Uint8Array.of(3, 3) },
    });
    assert.equal(t.socket.writes.length, 0, "nothing before onConnect");
    t.socket.accept();
    assert.deepEqual(t.socket.packets, [
      {
        type: "connect",
        protocolLevel: 4,
        clientId: "box-1",
        cleanSession: false,
        keepAliveSeconds: 60,
        username: "hub.azure-devices.net/box-1/?api-version=2021-04-12",
      },
    ]);
    await flush();
    assert.equal(t.connecting.done, false, "waits for CONNACK");
  });

  it("checks the certificate against the host when no server name is given, and sends a password when there is one", async () => {
    const t = setup({}, { serverName: undefined, password: "sas-token", cleanSession: true, keepAliveSeconds: 180 });
    assert.equal(t.socket.options.tls?.serverName, "127.0.0.1");
    t.socket.accept();
    const [connect] = t.socket.sent("connect");
    assert.ok(connect);
    assert.deepEqual(connect.password, encodeUtf8("sas-token"));
    assert.equal(connect.cleanSession, true);
    assert.equal(connect.keepAliveSeconds, 180);
  });

  it("resolves on an accepted CONNACK", async () => {
    const t = setup();
    t.socket.accept();
    t.socket.connack(0, true);
    await flush();
    assert.ok(t.connecting.done && t.connecting.value);
    assert.equal(t.socket.closed, false);
    assert.ok(t.logs.some((l) => /^debug connected .*"sessionPresent":true/.test(l)));
  });

  const refusals: [number, string][] = [
    [1, "unacceptable protocol version"],
    [2, "identifier rejected"],
    [3, "server unavailable"],
    [4, "bad user name or password"],
    [5, "not authorized"],
    [6, "unknown return code 6"],
  ];
  for (const [code, text] of refusals) {
    it(`rejects CONNACK return code ${code} (${text}) with MqttConnectError`, async () => {
      const t = setup();
      t.socket.accept();
      t.socket.connack(code);
      await flush();
      const error = t.connecting.error;
      assert.ok(error instanceof MqttConnectError, `got ${String(error)}`);
      assert.equal(error.returnCode, code);
      assert.equal(error.name, "MqttConnectError");
      assert.equal(error.message, `connection refused by the broker: ${text} (CONNACK return code ${code})`);
      assert.ok(t.socket.closed);
      assert.deepEqual(t.closes, [], "onClose is only for established sessions");
      assert.equal(t.clock.timerCount, 0);
    });
  }

  it("gives up when no CONNACK arrives in time", async () => {
    const t = setup();
    t.socket.accept();
    await t.clock.advance(4999);
    assert.equal(t.connecting.done, false);
    await t.clock.advance(1);
    assert.ok(t.connecting.error instanceof MqttConnectError);
    assert.equal((t.connecting.error as Error).message, "no CONNACK within 5000 ms");
    assert.equal((t.connecting.error as MqttConnectError).returnCode, undefined);
    assert.ok(t.socket.closed);
  });

  it("gives up when TCP/TLS never completes (the timeout covers the whole attempt)", async () => {
    const t = setup();
    await t.clock.advance(5000);
    assert.match((t.connecting.error as Error).message, /no CONNACK within 5000 ms/);
    assert.ok(t.socket.closed);
  });

  it("rejects with the socket's reason when the connection closes before CONNACK", async () => {
    const t = setup();
    t.socket.drop("self-signed certificate in certificate chain");
    await flush();
    assert.ok(t.connecting.error instanceof MqttConnectError);
    assert.equal((t.connecting.error as Error).message, "self-signed certificate in certificate chain");
    assert.equal(t.clock.timerCount, 0, "the connect timer is cleared");

    const u = setup();
    u.socket.accept();
    u.socket.drop("");
    await flush();
    assert.equal((u.connecting.error as Error).message, "connection closed before CONNACK");
  });

  it("rejects when the socket port throws, and on invalid options without opening a socket", async () => {
    const t = setup();
    t.sockets.throwOnConnect = new Error("no route");
    const failed = settle(new StreamMqttConnector({ sockets: t.sockets, clock: t.clock }).connect(OPTIONS, { onMessage() {}, onClose() {} }));
    await flush();
    assert.match((failed.error as Error).message, /^connect failed: no route/);

    const sockets = new FakeStreamSocketPort();
    const clock = new ManualClock();
    const invalid = settle(new StreamMqttConnector({ sockets, clock }).connect({ ...OPTIONS, clientId: "a\u0000b" }, { onMessage() {}, onClose() {} }));
    await flush();
    assert.match((invalid.error as Error).message, /^invalid connect options/);
    assert.equal(sockets.sockets.length, 0);
    assert.equal(clock.timerCount, 0);
  });

  it("treats anything but CONNACK first as a protocol error", async () => {
    const t = setup();
    t.socket.accept();
    t.socket.puback(1);
    await flush();
    assert.match((t.connecting.error as Error).message, /protocol error: expected CONNACK, got PUBACK/);
    assert.ok(t.socket.closed);
  });

  it("rejects malformed bytes before CONNACK", async () => {
    const t = setup();
    t.socket.accept();
    t.socket.feed([0x20, 0x03, 0, 0, 0]);
    await flush();
    assert.match((t.connecting.error as Error).message, /protocol error: CONNACK with remaining length 3/);
  });
});

describe("StreamMqttConnector: publishing and subscribing", () => {
  it("QoS 0 resolves once written", async () => {
    const t = await open();
    const p = settle(t.session.publish("devices/box-1/messages/events/", encodeUtf8('{"a":1}'), 0));
    const [publish] = t.socket.sent("publish");
    assert.deepEqual(publish, { type: "publish", topic: "devices/box-1/messages/events/", payload: encodeUtf8('{"a":1}'), qos: 0, dup: false, retain: false });
    await flush();
    assert.ok(p.done && !p.error);
  });

  it("QoS 1 resolves on the matching PUBACK, also out of order", async () => {
    const t = await open();
    const a = settle(t.session.publish("t/a", encodeUtf8("a"), 1));
    const b = settle(t.session.publish("t/b", encodeUtf8("b"), 1));
    const c = settle(t.session.publish("t/c", new Uint8Array(0), 1));
    const ids = t.socket.sent("publish").map((p) => p.packetId);
    assert.deepEqual(ids, [1, 2, 3]);
    await flush();
    assert.equal(a.done || b.done || c.done, false);
    t.socket.puback(3);
    await flush();
    assert.deepEqual([a.done, b.done, c.done], [false, false, true]);
    t.socket.puback(1);
    t.socket.puback(99); // unknown: ignored
    await flush();
    assert.deepEqual([a.done, b.done, c.done], [true, false, true]);
    t.socket.puback(2);
    await flush();
    assert.ok(b.done && !b.error && !a.error && !c.error);
    assert.ok(t.logs.some((l) => /PUBACK for an unknown packet id {"id":99}/.test(l)));
    assert.equal(t.socket.closed, false);
  });

  it("publishTagged: done(tag) on the matching PUBACK, after the socket's call; done(tag, error) for what the close cut off", async () => {
    const t = await open();
    const calls: string[] = [];
    const done = (tag: number, error?: Error): void => void calls.push(error ? `${tag}:${error.message}` : `${tag}`);
    t.session.publishTagged!("t/a", encodeUtf8("a"), 41, done);
    t.session.publishTagged!("t/b", encodeUtf8("b"), 42, done);
    const publishes = t.socket.sent("publish");
    assert.deepEqual(publishes.map((p) => [p.topic, p.qos, p.packetId]), [["t/a", 1, 1], ["t/b", 1, 2]]);
    t.socket.puback(2);
    assert.deepEqual(calls, [], "never beneath the socket's callback");
    await flush();
    assert.deepEqual(calls, ["42"]);
    t.socket.drop("reset");
    await flush();
    assert.equal(calls.length, 2);
    assert.match(calls[1]!, /^41:/);
    t.session.publishTagged!("t/c", encodeUtf8("c"), 43, done);
    await flush();
    assert.equal(calls.length, 3, "a closed session reports at once, as a failure");
    assert.match(calls[2]!, /^43:/);
  });

  it("writes a small PUBLISH as one buffer (one TLS record), header and payload together", async () => {
    const t = await open();
    const before = t.socket.writes.length;
    void t.session.publish("t/small", encodeUtf8('{"a":1}'), 1);
    assert.equal(t.socket.writes.length, before + 1);
  });

  it("writes a large payload after the header without copying it into one packet", async () => {
    const t = await open();
    const payload = new Uint8Array(100_000).fill(0x41);
    void t.session.publish("big", payload, 1);
    assert.equal(t.socket.writes.length, 3, "CONNECT, PUBLISH header, payload");
    const [publish] = t.socket.sent("publish");
    assert.ok(publish && publish.payload.length === 100_000);
  });

  it("SUBSCRIBE resolves with the granted codes, 128 for a refused filter", async () => {
    const t = await open();
    const s = settle(
      t.session.subscribe([
        { topic: "devices/box-1/messages/devicebound/#", qos: 1 },
        { topic: "$iothub/twin/res/#", qos: 0 },
        { topic: "$iothub/methods/POST/#", qos: 0 },
      ]),
    );
    const [subscribe] = t.socket.sent("subscribe");
    assert.deepEqual(subscribe, {
      type: "subscribe",
      packetId: 1,
      subscriptions: [
        { topic: "devices/box-1/messages/devicebound/#", qos: 1 },
        { topic: "$iothub/twin/res/#", qos: 0 },
        { topic: "$iothub/methods/POST/#", qos: 0 },
      ],
    });
    t.socket.suback(1, [1, 0x80, 0]);
    await flush();
    assert.deepEqual(s.value, [1, 128, 0]);
    assert.deepEqual(await t.session.subscribe([]), []);
  });

  it("closes on a SUBACK with the wrong number of return codes", async () => {
    const t = await open();
    const s = settle(t.session.subscribe([{ topic: "a", qos: 0 }]));
    t.socket.suback(1, [0, 0]);
    await flush();
    assert.match((s.error as Error).message, /SUBACK with 2 return codes for 1 topic filters/);
    assert.equal(t.closes.length, 1);
  });

  it("rejects QoS 2, wildcards and empty topics in publish without closing", async () => {
    const t = await open();
    await assert.rejects(t.session.publish("t", new Uint8Array(0), 2 as unknown as 0), /QoS 2 is not supported/);
    await assert.rejects(t.session.publish("a/#", new Uint8Array(0), 0), /wildcard/);
    await assert.rejects(t.session.publish("", new Uint8Array(0), 1), /empty topic/);
    assert.equal(t.socket.closed, false);
    assert.equal(t.socket.sent("publish").length, 0);
  });

  it("packet ids run 1..65535, wrap around and skip ids still in use", async () => {
    const t = await open();
    const first = settle(t.session.publish("t", new Uint8Array(0), 1)); // id 1, kept pending
    const sub = settle(t.session.subscribe([{ topic: "s", qos: 0 }])); // id 2, kept pending
    t.socket.recording = false; // 65k packets: don't decode them all
    for (let id = 3; id <= 65_535; id++) {
      void t.session.publish("t", new Uint8Array(0), 1);
      t.socket.puback(id);
    }
    t.socket.recording = true;
    const next = settle(t.session.publish("t", new Uint8Array(0), 1));
    assert.equal(t.socket.sent("publish").pop()?.packetId, 3, "1 and 2 are in use, so the counter wraps to 3");
    t.socket.puback(1);
    t.socket.suback(2, [0]);
    await flush();
    assert.ok(first.done && sub.done && !next.done);
    void t.session.publish("t", new Uint8Array(0), 1);
    assert.equal(t.socket.sent("publish").pop()?.packetId, 4);
    t.socket.puback(3);
    await flush();
    assert.ok(next.done && !next.error);
  });
});

describe("StreamMqttConnector: keep-alive", () => {
  it("sends PINGREQ when nothing was sent for keepAliveSeconds, and counts any packet sent", async () => {
    const t = await open();
    await t.clock.advance(59_999);
    assert.equal(t.socket.sent("pingreq").length, 0);
    await t.clock.advance(1);
    assert.equal(t.socket.sent("pingreq").length, 1, "at 60 s");
    t.socket.pingresp();
    await t.clock.advance(30_000);
    await t.session.publish("t", new Uint8Array(0), 0); // at 90 s
    await t.clock.advance(59_999);
    assert.equal(t.socket.sent("pingreq").length, 1, "the publish at 90 s postponed the next ping to 150 s");
    await t.clock.advance(1);
    assert.equal(t.socket.sent("pingreq").length, 2);
    t.socket.pingresp();
    await t.clock.advance(60_000);
    assert.equal(t.socket.sent("pingreq").length, 3);
    assert.equal(t.closes.length, 0);
  });

  it("closes with 'keep-alive timeout' when PINGRESP does not come within pingTimeoutMs", async () => {
    const t = await open();
    const pending = settle(t.session.publish("t", new Uint8Array(0), 1));
    await t.clock.advance(60_000);
    assert.equal(t.socket.sent("pingreq").length, 1);
    await t.clock.advance(9_999);
    assert.equal(t.closes.length, 0);
    await t.clock.advance(1);
    assert.deepEqual(t.closes, ["keep-alive timeout: no PINGRESP within 10000 ms"]);
    assert.ok(t.socket.closed);
    assert.match((pending.error as Error).message, /keep-alive timeout/);
    assert.equal(t.clock.timerCount, 0);
  });

  it("with a ping timeout longer than the keep-alive, sends one PINGREQ at a time", async () => {
    const t = await open({ pingTimeoutMs: 150_000 });
    await t.clock.advance(60_000);
    await t.clock.advance(60_000);
    assert.equal(t.socket.sent("pingreq").length, 1);
    t.socket.pingresp();
    await t.clock.advance(60_000);
    assert.equal(t.socket.sent("pingreq").length, 2);
  });

  it("keep-alive 0 switches pinging off", async () => {
    const t = await open({}, { keepAliveSeconds: 0 });
    assert.equal(t.clock.timerCount, 0);
    await t.clock.advance(3_600_000);
    assert.equal(t.socket.sent("pingreq").length, 0);
  });
});

describe("StreamMqttConnector: incoming messages", () => {
  it("delivers QoS 0 from a promise job, not from inside onData, without PUBACK", async () => {
    const t = await open();
    t.socket.publish("devices/box-1/messages/devicebound/x=1", "hello");
    assert.equal(t.messages.length, 0, "not delivered synchronously");
    await flush();
    assert.deepEqual(
      t.messages.map((m) => [m.topic, m.text]),
      [["devices/box-1/messages/devicebound/x=1", "hello"]],
    );
    assert.equal(t.socket.sent("puback").length, 0);
  });

  it("delivers QoS 1 and then sends its PUBACK", async () => {
    const t = await open();
    const acksSeenByHandler: number[] = [];
    t.setHandler((topic, payload) => {
      acksSeenByHandler.push(t.socket.sent("puback").length);
      t.messages.push({ topic, text: decodeUtf8(payload) ?? "", payload });
    });
    t.socket.publish("a", "1", 1, 300);
    t.socket.publish("b", "2", 1, 301);
    await flush();
    assert.deepEqual(
      t.messages.map((m) => m.text),
      ["1", "2"],
    );
    assert.deepEqual(acksSeenByHandler, [0, 1], "each PUBACK follows its delivery");
    assert.deepEqual(t.socket.sent("puback"), [
      { type: "puback", packetId: 300 },
      { type: "puback", packetId: 301 },
    ]);
  });

  it("delivers an EMPTY payload (IoT Hub's 204 reply to a reported-properties PATCH)", async () => {
    const t = await open();
    t.socket.publish("$iothub/twin/res/204/?$rid=3&$version=7", new Uint8Array(0));
    t.socket.publish("devices/box-1/messages/devicebound/%24.mid=e", new Uint8Array(0), 1, 5);
    t.socket.publish("after", "still parsing");
    await flush();
    assert.deepEqual(
      t.messages.map((m) => [m.topic, m.payload.length]),
      [
        ["$iothub/twin/res/204/?$rid=3&$version=7", 0],
        ["devices/box-1/messages/devicebound/%24.mid=e", 0],
        ["after", 13],
      ],
    );
    assert.deepEqual(t.socket.sent("puback"), [{ type: "puback", packetId: 5 }]);
  });

  it("acknowledges and drops an oversized message, logs it, and keeps the connection", async () => {
    const t = await open();
    t.socket.publish("devices/box-1/messages/devicebound/big", new Uint8Array(5000).fill(1), 1, 77);
    t.socket.publish("devices/box-1/messages/devicebound/small", "next", 1, 78);
    await flush();
    assert.deepEqual(
      t.messages.map((m) => m.text),
      ["next"],
    );
    assert.deepEqual(t.socket.sent("puback"), [
      { type: "puback", packetId: 77 },
      { type: "puback", packetId: 78 },
    ]);
    assert.ok(t.logs.some((l) => /^warn incoming message too large; dropped .*"bytes":5000,"limit":256,"id":77/.test(l)), t.logs.join("\n"));
    assert.equal(t.socket.closed, false);
  });

  it("a throwing handler is logged; the PUBACK is still sent and later messages still arrive", async () => {
    const t = await open();
    let calls = 0;
    t.setHandler((topic) => {
      calls++;
      if (topic === "boom") throw new Error("handler bug");
    });
    t.socket.publish("boom", "x", 1, 1);
    t.socket.publish("fine", "y", 1, 2);
    await flush();
    assert.equal(calls, 2);
    assert.equal(t.socket.sent("puback").length, 2);
    assert.ok(t.logs.some((l) => /^warn message handler failed {"topic":"boom","error":"handler bug"}/.test(l)));
    assert.equal(t.closes.length, 0);
  });

  it("closes with a clear reason on an incoming QoS 2 message", async () => {
    const t = await open();
    t.socket.publish("q2", "x", 2, 9);
    await flush();
    assert.equal(t.messages.length, 0);
    assert.equal(t.closes.length, 1);
    assert.match(t.closes[0]!, /protocol violation: QoS 2 PUBLISH on q2/);
    assert.ok(t.socket.closed);
  });

  it("closes on PUBREL/PUBREC (QoS 2 flows) and on a second CONNACK", async () => {
    const t = await open();
    t.socket.feed([0x62, 0x02, 0x00, 0x01]);
    await flush();
    assert.match(t.closes[0]!, /unexpected PUBREL/);
    const u = await open();
    u.socket.connack(0);
    await flush();
    assert.match(u.closes[0]!, /protocol error: a second CONNACK/);
  });
});

describe("StreamMqttConnector: closing", () => {
  it("close() sends DISCONNECT, closes the socket, rejects what is pending and calls onClose once", async () => {
    const t = await open();
    const pub = settle(t.session.publish("t", new Uint8Array(0), 1));
    const sub = settle(t.session.subscribe([{ topic: "s", qos: 1 }]));
    t.session.close();
    t.session.close();
    assert.equal(t.socket.lastPacket?.type, "disconnect");
    assert.ok(t.socket.closed);
    assert.equal(t.socket.closeCalls, 1);
    await flush();
    assert.match((pub.error as Error).message, /closed by the application/);
    assert.match((sub.error as Error).message, /closed by the application/);
    assert.deepEqual(t.closes, ["closed by the application"]);
    await assert.rejects(t.session.publish("t", new Uint8Array(0), 0), /closed by the application/);
    await assert.rejects(t.session.subscribe([{ topic: "s", qos: 0 }]), /closed by the application/);
    assert.equal(t.clock.timerCount, 0, "no timers left");
  });

  it("disconnect() sends DISCONNECT, closes the socket and resolves once the socket has closed; onClose once", async () => {
    const t = await open();
    t.socket.holdClose = true; // the transport is still flushing
    const pub = settle(t.session.publish("t", new Uint8Array(0), 1));
    const done = settle(t.session.disconnect!(5000));
    assert.equal(t.socket.lastPacket?.type, "disconnect");
    assert.ok(t.socket.closed);
    await t.clock.advance(1000);
    assert.equal(done.done, false, "waits for the transport");
    assert.deepEqual(t.closes, ["closed by the application"], "the session itself is closed at once");
    assert.match((pub.error as Error).message, /closed by the application/);
    t.socket.drop("closed");
    await flush();
    assert.ok(done.done && done.error === undefined);
    assert.deepEqual(t.closes, ["closed by the application"]);
    assert.equal(t.clock.timerCount, 0, "no timers left");
  });

  it("disconnect() resolves after its timeout when the transport never reports the close", async () => {
    const t = await open();
    t.socket.holdClose = true;
    const done = settle(t.session.disconnect!(2000));
    await t.clock.advance(1999);
    assert.equal(done.done, false);
    await t.clock.advance(1);
    assert.ok(done.done && done.error === undefined);
    assert.equal(t.socket.sent("disconnect").length, 1);
  });

  it("disconnect() on a closed session resolves at once and sends nothing", async () => {
    const t = await open();
    t.socket.drop("reset");
    await flush();
    const done = settle(t.session.disconnect!(2000));
    await flush();
    assert.ok(done.done);
    assert.equal(t.socket.sent("disconnect").length, 0);
    assert.equal(t.clock.timerCount, 0);
  });

  it("delivers nothing after close(), even a message that arrived just before", async () => {
    const t = await open();
    t.socket.publish("late", "x", 1, 4);
    t.session.close();
    await flush();
    assert.equal(t.messages.length, 0);
    assert.equal(t.socket.sent("puback").length, 0, "not acknowledged: the broker redelivers it");
  });

  it("when the peer drops the link: messages already received come first, then onClose once; pending operations fail", async () => {
    const t = await open();
    const pub = settle(t.session.publish("t", new Uint8Array(0), 1));
    t.socket.publish("before", "x");
    t.socket.drop("connection reset by peer");
    t.socket.drop("again");
    await flush();
    assert.deepEqual(
      t.messages.map((m) => m.topic),
      ["before"],
    );
    assert.deepEqual(t.closes, ["connection reset by peer"]);
    assert.match((pub.error as Error).message, /connection reset by peer/);
    t.socket.publish("after", "y");
    await flush();
    assert.equal(t.messages.length, 1, "nothing after close");
  });

  it("closes with the reason on malformed input", async () => {
    const t = await open();
    t.socket.feed([0xf0, 0x00]);
    await flush();
    assert.deepEqual(t.closes, ["protocol error: reserved packet type 15"]);
    assert.ok(t.socket.closed);
  });

  it("closes when the socket refuses a write; the publish rejects", async () => {
    const t = await open();
    t.socket.throwOnWrite = new Error("socket gone");
    await assert.rejects(t.session.publish("t", new Uint8Array(0), 1), /write failed: socket gone/);
    await flush();
    assert.deepEqual(t.closes, ["write failed: socket gone"]);
  });

  it("a throwing onClose handler is contained", async () => {
    const clock = new ManualClock();
    const sockets = new FakeStreamSocketPort();
    const logs: string[] = [];
    const warn = (m: string, f?: LogFields): void => void logs.push(`${m} ${JSON.stringify(f)}`);
    const connector = new StreamMqttConnector({ sockets, clock, logger: { debug() {}, info() {}, warn, error: warn } });
    const connecting = settle(
      connector.connect(OPTIONS, {
        onMessage() {},
        onClose() {
          throw new Error("close handler bug");
        },
      }),
    );
    sockets.last.accept();
    sockets.last.connack(0);
    await flush();
    assert.ok(connecting.value);
    sockets.last.drop("bye");
    await flush();
    assert.ok(logs.some((l) => /close handler failed .*close handler bug/.test(l)));
  });
});
