import assert from "../support/assert";
import { SeededRandom } from "../support/manual-clock";
import { ackBytes, connackBytes, publishBytes, remainingLength, subackBytes } from "../support/fake-stream-socket";
import { concatBytes } from "../../src/core/bytes";
import {
  MqttPacketReader,
  MqttProtocolError,
  decodeUtf8,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePuback,
  encodePublish,
  encodePublishHeader,
  encodeSubscribe,
  encodeUtf8,
  type MqttPacket,
  type PacketDirection,
} from "../../src/mqtt/mqtt-codec";

const bytes = (...values: (number | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const v of values) {
    if (typeof v === "number") out.push(v);
    else for (const b of encodeUtf8(v)) out.push(b);
  }
  return Uint8Array.from(out);
};

const MQTT = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04]; // "MQTT", level 4

type Split = "whole" | "bytes" | "random";

function decodeWith(stream: Uint8Array, split: Split, direction: PacketDirection = "from-server", maxPacketBytes?: number, seed = 7): MqttPacket[] {
  const reader = new MqttPacketReader({ direction, ...(maxPacketBytes !== undefined ? { maxPacketBytes } : {}) });
  const out: MqttPacket[] = [];
  const sink = (p: MqttPacket): void => void out.push(p);
  if (split === "whole") reader.feed(stream, sink);
  else if (split === "bytes") for (let i = 0; i < stream.length; i++) reader.feed(stream.subarray(i, i + 1), sink);
  else {
    const random = new SeededRandom(seed);
    for (let i = 0; i < stream.length; ) {
      const n = 1 + Math.floor(random.next() * 9);
      reader.feed(stream.subarray(i, i + n), sink);
      i += n;
    }
  }
  assert.ok(reader.idle, "nothing left half-decoded");
  return out;
}

function malformed(stream: Uint8Array | number[], pattern: RegExp, direction: PacketDirection = "from-server", maxPacketBytes?: number): void {
  const input = stream instanceof Uint8Array ? stream : Uint8Array.from(stream);
  for (const split of ["whole", "bytes"] as const) {
    assert.throws(() => decodeWith(input, split, direction, maxPacketBytes), (e) => e instanceof MqttProtocolError && pattern.test(e.message), `${split}: ${pattern}`);
  }
}

describe("MQTT codec: encoding (byte-exact MQTT 3.1.1)", () => {
  it("CONNECT with user name and password, persistent session", () => {
    const packet = encodeConnect({ clientId: "c1", username: "u", password: "p", cleanSession: false, keepAliveSeconds: 60 });
    assert.deepEqual(packet, bytes(0x10, 20, ...MQTT, 0xc0, 0x00, 0x3c, 0x00, 0x02, "c1", 0x00, 0x01, "u", 0x00, 0x01, "p"));
  });

  it("CONNECT without password (X.509, as IoT Hub), clean session, keep-alive 180 s", () => {
    const packet = encodeConnect({ clientId: "c1", username: "u", cleanSession: true, keepAliveSeconds: 180 });
    assert.deepEqual(packet, bytes(0x10, 17, ...MQTT, 0x82, 0x00, 0xb4, 0x00, 0x02, "c1", 0x00, 0x01, "u"));
  });

  it("CONNECT with a will (QoS 1, retained) and no user name", () => {
    const packet = encodeConnect({ clientId: "c", cleanSession: true, keepAliveSeconds: 10, will: { topic: "w/t", payload: encodeUtf8("bye"), qos: 1, retain: true } });
    assert.deepEqual(packet, bytes(0x10, 23, ...MQTT, 0x2e, 0x00, 0x0a, 0x00, 0x01, "c", 0x00, 0x03, "w/t", 0x00, 0x03, "bye"));
  });

  it("CONNECT with a two-byte remaining length (IoT Hub-sized user name)", () => {
    const username = "iotrafi-prod-iot-hub.azure-devices.net/kisbox-0001/?api-version=2021-04-12&model-id=dtmi%3Akisme%3AKisBox%3B1";
    const packet = encodeConnect({ clientId: "kisbox-0001", username, cleanSession: false, keepAliveSeconds: 180 });
    const remaining = 10 + 2 + 11 + 2 + username.length;
    assert.ok(remaining >= 128);
    assert.deepEqual(packet, bytes(0x10, ...remainingLength(remaining), ...MQTT, 0x80, 0x00, 0xb4, 0x00, 11, "kisbox-0001", 0x00, username.length, username));
  });

  it("CONNECT refuses what MQTT 3.1.1 cannot carry", () => {
    assert.throws(() => encodeConnect({ clientId: "c", password: "p", cleanSession: true, keepAliveSeconds: 0 }), /password only with a user name/);
    assert.throws(() => encodeConnect({ clientId: "c", cleanSession: true, keepAliveSeconds: 65_536 }), /keep-alive/);
    assert.throws(() => encodeConnect({ clientId: "", cleanSession: false, keepAliveSeconds: 1 }), /clean session/);
    assert.throws(() => encodeConnect({ clientId: "a\u0000b", cleanSession: true, keepAliveSeconds: 1 }), /U\+0000/);
    assert.throws(() => encodeConnect({ clientId: "x".repeat(65_536), cleanSession: true, keepAliveSeconds: 1 }), /65535/);
  });

  it("PUBLISH QoS 0", () => {
    assert.deepEqual(encodePublish({ topic: "a/b", qos: 0 }, encodeUtf8("hi")), bytes(0x30, 7, 0x00, 0x03, "a/b", "hi"));
  });

  it("PUBLISH QoS 1 with packet id, and the DUP and RETAIN flags", () => {
    assert.deepEqual(encodePublish({ topic: "a/b", qos: 1, packetId: 10 }, encodeUtf8("hi")), bytes(0x32, 9, 0x00, 0x03, "a/b", 0x00, 0x0a, "hi"));
    assert.deepEqual(encodePublish({ topic: "a/b", qos: 1, packetId: 0x1234, dup: true }, encodeUtf8("hi")), bytes(0x3a, 9, 0x00, 0x03, "a/b", 0x12, 0x34, "hi"));
    assert.deepEqual(encodePublish({ topic: "a/b", qos: 0, retain: true }, new Uint8Array(0)), bytes(0x31, 5, 0x00, 0x03, "a/b"));
  });

  it("PUBLISH with a UTF-8 topic (byte length, not string length)", () => {
    assert.deepEqual(encodePublish({ topic: "ä/€/😀", qos: 0 }, new Uint8Array(0)), bytes(0x30, 13, 0x00, 11, 0xc3, 0xa4, 0x2f, 0xe2, 0x82, 0xac, 0x2f, 0xf0, 0x9f, 0x98, 0x80));
  });

  it("PUBLISH header alone, for sending a large payload without copying it", () => {
    const header = encodePublishHeader({ topic: "t", qos: 1, packetId: 2 }, 200);
    assert.deepEqual(header, bytes(0x32, 0x80 | (205 % 128), 1, 0x00, 0x01, "t", 0x00, 0x02));
  });

  it("PUBLISH refuses wildcards, empty topics, missing packet ids and DUP on QoS 0", () => {
    assert.throws(() => encodePublish({ topic: "a/+", qos: 0 }, new Uint8Array(0)), /wildcard/);
    assert.throws(() => encodePublish({ topic: "a/#", qos: 0 }, new Uint8Array(0)), /wildcard/);
    assert.throws(() => encodePublish({ topic: "", qos: 0 }, new Uint8Array(0)), /empty topic/);
    assert.throws(() => encodePublish({ topic: "t", qos: 1 }, new Uint8Array(0)), /packet id/);
    assert.throws(() => encodePublish({ topic: "t", qos: 1, packetId: 65_536 }, new Uint8Array(0)), /packet id/);
    assert.throws(() => encodePublish({ topic: "t", qos: 0, dup: true }, new Uint8Array(0)), /DUP/);
  });

  it("remaining length at every encoding boundary", () => {
    const cases: [number, number[]][] = [
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [16_383, [0xff, 0x7f]],
      [16_384, [0x80, 0x80, 0x01]],
      [2_097_151, [0xff, 0xff, 0x7f]],
      [2_097_152, [0x80, 0x80, 0x80, 0x01]],
      [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
    ];
    for (const [remaining, encoded] of cases) {
      // topic "t" (3 bytes of variable header) + payload
      const header = encodePublishHeader({ topic: "t", qos: 0 }, remaining - 3);
      assert.deepEqual(header, bytes(0x30, ...encoded, 0x00, 0x01, "t"), `remaining length ${remaining}`);
      assert.deepEqual(remainingLength(remaining), encoded, `test helper, ${remaining}`);
    }
    assert.throws(() => encodePublishHeader({ topic: "t", qos: 0 }, 268_435_456 - 3), /too large/);
  });

  it("SUBSCRIBE (flags 0b0010) with several filters", () => {
    const packet = encodeSubscribe(1, [
      { topic: "a/#", qos: 1 },
      { topic: "$iothub/x", qos: 0 },
    ]);
    assert.deepEqual(packet, bytes(0x82, 20, 0x00, 0x01, 0x00, 0x03, "a/#", 0x01, 0x00, 0x09, "$iothub/x", 0x00));
    assert.throws(() => encodeSubscribe(1, []), /at least one/);
    assert.throws(() => encodeSubscribe(0, [{ topic: "a", qos: 0 }]), /packet id/);
  });

  it("PUBACK, PINGREQ, DISCONNECT", () => {
    assert.deepEqual(encodePuback(0x1234), bytes(0x40, 0x02, 0x12, 0x34));
    assert.deepEqual(encodePuback(65_535), bytes(0x40, 0x02, 0xff, 0xff));
    assert.deepEqual(encodePingreq(), bytes(0xc0, 0x00));
    assert.deepEqual(encodeDisconnect(), bytes(0xe0, 0x00));
    assert.throws(() => encodePuback(0), /packet id/);
  });
});

describe("MQTT codec: decoding", () => {
  const payload300 = new Uint8Array(300);
  for (let i = 0; i < payload300.length; i++) payload300[i] = i & 0xff;

  const fromServer: [Uint8Array, MqttPacket][] = [
    [connackBytes(0, false), { type: "connack", sessionPresent: false, returnCode: 0 }],
    [connackBytes(0, true), { type: "connack", sessionPresent: true, returnCode: 0 }],
    [connackBytes(5), { type: "connack", sessionPresent: false, returnCode: 5 }],
    [publishBytes("a/b", encodeUtf8("hi")), { type: "publish", topic: "a/b", payload: encodeUtf8("hi"), qos: 0, dup: false, retain: false }],
    [publishBytes("q1", encodeUtf8("x"), 1, 0xbeef), { type: "publish", topic: "q1", payload: encodeUtf8("x"), qos: 1, dup: false, retain: false, packetId: 0xbeef }],
    [publishBytes("q2", encodeUtf8("y"), 2, 3, { dup: true, retain: true }), { type: "publish", topic: "q2", payload: encodeUtf8("y"), qos: 2, dup: true, retain: true, packetId: 3 }],
    [publishBytes("$iothub/twin/res/204/?$rid=1&$version=2", new Uint8Array(0)), { type: "publish", topic: "$iothub/twin/res/204/?$rid=1&$version=2", payload: new Uint8Array(0), qos: 0, dup: false, retain: false }],
    [publishBytes("devices/d/messages/devicebound/%24.mid=1", new Uint8Array(0), 1, 9), { type: "publish", topic: "devices/d/messages/devicebound/%24.mid=1", payload: new Uint8Array(0), qos: 1, dup: false, retain: false, packetId: 9 }],
    [publishBytes("ünïcødé/😀", payload300, 1, 65_535), { type: "publish", topic: "ünïcødé/😀", payload: payload300, qos: 1, dup: false, retain: false, packetId: 65_535 }],
    [ackBytes(4, 1), { type: "puback", packetId: 1 }],
    [ackBytes(5, 2), { type: "pubrec", packetId: 2 }],
    [ackBytes(6, 3), { type: "pubrel", packetId: 3 }],
    [ackBytes(7, 4), { type: "pubcomp", packetId: 4 }],
    [subackBytes(0x0102, [0, 1, 2, 0x80]), { type: "suback", packetId: 0x0102, returnCodes: [0, 1, 2, 128] }],
    [ackBytes(11, 5), { type: "unsuback", packetId: 5 }],
    [bytes(0xd0, 0x00), { type: "pingresp" }],
  ];

  const stream = concatBytes(fromServer.map(([b]) => b));
  const expected = fromServer.map(([, p]) => p);

  it("decodes every server packet type fed whole", () => {
    for (const [b, p] of fromServer) assert.deepEqual(decodeWith(b, "whole"), [p]);
    assert.deepEqual(decodeWith(stream, "whole"), expected);
  });

  it("decodes the same stream fed one byte at a time", () => {
    assert.deepEqual(decodeWith(stream, "bytes"), expected);
  });

  it("decodes the same stream in random splits (seeded)", () => {
    for (let seed = 1; seed <= 20; seed++) assert.deepEqual(decodeWith(stream, "random", "from-server", undefined, seed), expected, `seed ${seed}`);
  });

  it("delivers an EMPTY-payload PUBLISH (IoT Hub's 204 reply) and keeps decoding what follows", () => {
    const twin204 = publishBytes("$iothub/twin/res/204/?$rid=7&$version=12", new Uint8Array(0));
    const next = publishBytes("x", encodeUtf8("after"));
    for (const split of ["whole", "bytes", "random"] as const) {
      const packets = decodeWith(concatBytes([twin204, next, twin204]), split);
      assert.equal(packets.length, 3, split);
      const first = packets[0]!;
      assert.ok(first.type === "publish" && first.payload.length === 0 && first.topic === "$iothub/twin/res/204/?$rid=7&$version=12");
      const second = packets[1]!;
      assert.ok(second.type === "publish" && decodeUtf8(second.payload) === "after");
    }
  });

  it("decodes client packets (the fake broker's view): CONNECT, PUBLISH, PUBACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT", () => {
    const will = { topic: "w", payload: encodeUtf8("bye"), qos: 1 as const, retain: false };
    const fromClient: [Uint8Array, MqttPacket][] = [
      [
        encodeConnect({ clientId: "c1", username: "u", password: "p", cleanSession: false, keepAliveSeconds: 60 }),
        { type: "connect", protocolLevel: 4, clientId: "c1", cleanSession: false, keepAliveSeconds: 60, username: "u", password: encodeUtf8("p") },
      ],
      [encodeConnect({ clientId: "c2", cleanSession: true, keepAliveSeconds: 0, will }), { type: "connect", protocolLevel: 4, clientId: "c2", cleanSession: true, keepAliveSeconds: 0, will }],
      [encodePublish({ topic: "t", qos: 1, packetId: 4 }, encodeUtf8("p")), { type: "publish", topic: "t", payload: encodeUtf8("p"), qos: 1, dup: false, retain: false, packetId: 4 }],
      [encodePuback(4), { type: "puback", packetId: 4 }],
      [
        encodeSubscribe(9, [
          { topic: "a/#", qos: 1 },
          { topic: "$iothub/twin/res/#", qos: 0 },
        ]),
        { type: "subscribe", packetId: 9, subscriptions: [{ topic: "a/#", qos: 1 }, { topic: "$iothub/twin/res/#", qos: 0 }] },
      ],
      [bytes(0xa2, 7, 0x00, 0x0a, 0x00, 0x03, "a/b"), { type: "unsubscribe", packetId: 10, topics: ["a/b"] }],
      [encodePingreq(), { type: "pingreq" }],
      [encodeDisconnect(), { type: "disconnect" }],
    ];
    const all = concatBytes(fromClient.map(([b]) => b));
    for (const split of ["whole", "bytes", "random"] as const) {
      assert.deepEqual(decodeWith(all, split, "from-client"), fromClient.map(([, p]) => p), split);
    }
  });

  it("decodes remaining lengths at the boundaries 127/128/16383/16384", () => {
    for (const remaining of [127, 128, 16_383, 16_384]) {
      const payload = new Uint8Array(remaining - 3).fill(0x5a);
      const packet = publishBytes("t", payload);
      assert.deepEqual(Array.from(packet.subarray(1, 1 + remainingLength(remaining).length)), remainingLength(remaining));
      for (const split of ["whole", "random"] as const) {
        const [p] = decodeWith(packet, split, "from-server", 20_000);
        assert.ok(p?.type === "publish" && p.payload.length === remaining - 3, `${remaining} ${split}`);
      }
    }
  });

  it("decodes remaining lengths 2097151/2097152/268435455 (read from the header of an over-limit packet)", () => {
    for (const remaining of [2_097_151, 2_097_152, 268_435_455]) {
      const header = Uint8Array.from([0x90, ...remainingLength(remaining)]);
      malformed(header, new RegExp(`SUBACK of ${remaining} bytes exceeds the 65536-byte limit`));
    }
  });

  it("streams a 268435455-byte PUBLISH past without buffering it, then decodes the next packet", () => {
    const reader = new MqttPacketReader({ maxPacketBytes: 1024 });
    const got: MqttPacket[] = [];
    const sink = (p: MqttPacket): void => void got.push(p);
    reader.feed(Uint8Array.from([0x32, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x74, 0x00, 0x2a]), sink);
    const chunk = new Uint8Array(65_536);
    let left = 268_435_455 - 5;
    while (left > chunk.length) {
      reader.feed(chunk, sink);
      left -= chunk.length;
    }
    reader.feed(concatBytes([chunk.subarray(0, left), bytes(0xd0, 0x00)]), sink);
    assert.deepEqual(got, [
      { type: "publish-oversized", topic: "t", payloadBytes: 268_435_455 - 5, qos: 1, dup: false, retain: false, packetId: 42 },
      { type: "pingresp" },
    ]);
  });

  it("skips an oversized PUBLISH while streaming and decodes a normal packet in the same chunk", () => {
    const big = new Uint8Array(1000).fill(7);
    const stream = concatBytes([publishBytes("big/t", big, 1, 7), publishBytes("n", encodeUtf8("ok")), publishBytes("big/0", big), ackBytes(4, 3)]);
    for (const split of ["whole", "bytes", "random"] as const) {
      const packets = decodeWith(stream, split, "from-server", 100);
      assert.deepEqual(
        packets,
        [
          { type: "publish-oversized", topic: "big/t", payloadBytes: 1000, qos: 1, dup: false, retain: false, packetId: 7 },
          { type: "publish", topic: "n", payload: encodeUtf8("ok"), qos: 0, dup: false, retain: false },
          { type: "publish-oversized", topic: "big/0", payloadBytes: 1000, qos: 0, dup: false, retain: false },
          { type: "puback", packetId: 3 },
        ],
        split,
      );
    }
  });

  it("accepts a PUBLISH exactly at the limit and skips one byte over it", () => {
    const at = publishBytes("t", new Uint8Array(97)); // remaining 100
    const over = publishBytes("t", new Uint8Array(98));
    const [a] = decodeWith(at, "whole", "from-server", 100);
    const [b] = decodeWith(over, "whole", "from-server", 100);
    assert.equal(a?.type, "publish");
    assert.ok(b?.type === "publish-oversized" && b.payloadBytes === 98);
  });
});

describe("MQTT codec: malformed input", () => {
  it("reserved packet types 0 and 15", () => {
    malformed([0x00, 0x00], /reserved packet type 0/);
    malformed([0xf0, 0x00], /reserved packet type 15/);
  });

  it("invalid fixed-header flags", () => {
    malformed([0x41, 0x02, 0x00, 0x01], /PUBACK with invalid fixed-header flags/);
    malformed([0x21, 0x02, 0x00, 0x00], /CONNACK with invalid fixed-header flags/);
    malformed([0x92, 0x03, 0x00, 0x01, 0x00], /SUBACK with invalid fixed-header flags/);
    malformed([0xd1, 0x00], /PINGRESP with invalid fixed-header flags/);
    malformed([0x60, 0x02, 0x00, 0x01], /PUBREL with invalid fixed-header flags/);
    malformed([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], /SUBSCRIBE with invalid fixed-header flags/, "from-client");
    malformed([0x38, 0x03, 0x00, 0x01, 0x74], /QoS 0 and the DUP flag/);
  });

  it("PUBLISH with QoS 3", () => {
    malformed([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01], /QoS 3/);
  });

  it("a remaining length of more than 4 bytes, and a non-minimal one", () => {
    malformed([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], /more than 4 bytes/);
    malformed([0x30, 0x80, 0x80, 0x80, 0x80], /more than 4 bytes/);
    malformed([0xd0, 0x80, 0x00], /non-minimal/);
  });

  it("wrong lengths for fixed-size packets", () => {
    malformed([0x20, 0x03, 0x00, 0x00, 0x00], /CONNACK with remaining length 3 \(expected 2\)/);
    malformed([0x40, 0x01, 0x00], /PUBACK with remaining length 1/);
    malformed([0xd0, 0x01, 0x00], /PINGRESP with remaining length 1/);
    malformed([0xb0, 0x03, 0x00, 0x01, 0x00], /UNSUBACK with remaining length 3/);
  });

  it("truncated fields", () => {
    malformed([0x30, 0x03, 0x00, 0x05, 0x61], /truncated/); // topic length 5 in a 3-byte body
    malformed([0x32, 0x04, 0x00, 0x02, 0x61, 0x62], /truncated/); // QoS 1 without a packet id
    malformed([0x30, 0x01, 0x00], /truncated/); // not even a topic length
    malformed([0x90, 0x02, 0x00, 0x01], /SUBACK is truncated/);
    malformed([0x10, 0x03, 0x00, 0x04, 0x4d], /CONNECT is truncated/, "from-client");
    malformed([0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 0x61], /SUBSCRIBE is truncated/, "from-client");
  });

  it("topics that are not valid UTF-8, contain U+0000 or wildcards, or are empty", () => {
    malformed([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28], /not valid UTF-8/); // bad continuation byte
    malformed([0x30, 0x04, 0x00, 0x02, 0xc0, 0xaf], /not valid UTF-8/); // overlong "/"
    malformed([0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80], /not valid UTF-8/); // encoded surrogate
    malformed([0x30, 0x06, 0x00, 0x04, 0xf4, 0x90, 0x80, 0x80], /not valid UTF-8/); // above U+10FFFF
    malformed([0x30, 0x03, 0x00, 0x01, 0xe2], /not valid UTF-8/); // cut off sequence
    malformed([0x30, 0x04, 0x00, 0x02, 0x61, 0x00], /U\+0000/);
    malformed([0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x2b], /wildcard/);
    malformed([0x30, 0x02, 0x00, 0x00], /empty topic/);
  });

  it("packet id 0", () => {
    malformed([0x32, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00], /PUBLISH with packet id 0/);
    malformed([0x40, 0x02, 0x00, 0x00], /PUBACK with packet id 0/);
    malformed([0x90, 0x03, 0x00, 0x00, 0x00], /SUBACK with packet id 0/);
  });

  it("invalid SUBACK return codes and CONNACK flags", () => {
    malformed([0x90, 0x03, 0x00, 0x01, 0x03], /invalid return code 0x3/);
    malformed([0x90, 0x03, 0x00, 0x01, 0x81], /invalid return code 0x81/);
    malformed([0x20, 0x02, 0x02, 0x00], /reserved acknowledge flags/);
  });

  it("packets from the wrong side", () => {
    malformed(encodeConnect({ clientId: "c", cleanSession: true, keepAliveSeconds: 1 }), /CONNECT is not valid from a server/);
    malformed([0xc0, 0x00], /PINGREQ is not valid from a server/);
    malformed([0xe0, 0x00], /DISCONNECT is not valid from a server/);
    malformed([0x20, 0x02, 0x00, 0x00], /CONNACK is not valid from a client/, "from-client");
    malformed([0xd0, 0x00], /PINGRESP is not valid from a client/, "from-client");
  });

  it("CONNECT violations (fake broker side)", () => {
    const connect = (flags: number, ...rest: number[]): number[] => [0x10, 10 + rest.length, ...MQTT, flags, 0x00, 0x0a, ...rest];
    malformed(connect(0x03, 0x00, 0x00), /reserved flag/, "from-client");
    malformed(connect(0x40, 0x00, 0x00, 0x00, 0x00), /password but no user name/, "from-client");
    malformed(connect(0x10, 0x00, 0x00), /will QoS\/retain but no will flag/, "from-client");
    malformed([0x10, 12, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x03, 0x02, 0x00, 0x0a, 0x00, 0x00], /protocol level 3/, "from-client");
    malformed(connect(0x02, 0x00, 0x00, 0x99), /trailing/, "from-client");
  });

  it("packets other than PUBLISH over the size limit", () => {
    malformed(subackBytes(1, new Array<number>(200).fill(0)), /SUBACK of 202 bytes exceeds the 100-byte limit/, "from-server", 100);
  });

  it("an oversized PUBLISH whose topic alone is over the limit", () => {
    malformed(publishBytes("t".repeat(200), new Uint8Array(10)), /topic name of 200 bytes exceeds/, "from-server", 100);
  });

  it("stays failed after an error (the stream cannot be resynchronised)", () => {
    const reader = new MqttPacketReader();
    assert.throws(() => reader.decode(Uint8Array.of(0x00, 0x00)), /reserved/);
    assert.throws(() => reader.decode(Uint8Array.of(0xd0, 0x00)), /reserved/);
  });

  it("packets completed before the error in the same chunk have been handed out", () => {
    const reader = new MqttPacketReader();
    const got: MqttPacket[] = [];
    assert.throws(() => reader.feed(concatBytes([publishBytes("ok", encodeUtf8("1")), bytes(0xf0, 0x00)]), (p) => got.push(p)), MqttProtocolError);
    assert.equal(got.length, 1);
  });
});

describe("MQTT codec: UTF-8", () => {
  it("round-trips every kind of code point", () => {
    const text = "a\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}äö€😀";
    const encoded = encodeUtf8(text);
    assert.equal(decodeUtf8(encoded), text);
    const long = "ä".repeat(1000);
    assert.equal(decodeUtf8(encodeUtf8(long)), long);
  });

  it("encodes lone surrogates as U+FFFD", () => {
    assert.deepEqual(encodeUtf8("\ud800x"), bytes(0xef, 0xbf, 0xbd, 0x78));
  });
});
