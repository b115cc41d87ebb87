// Issue 12.1's question: may a device send SUBSCRIBE and PUBLISH right behind CONNECT, before the CONNACK (MQTT 3.1.1
// §3.1.4 allows it; a server that refuses the CONNECT must not process what follows)? Measured here against
// mosquitto with TLS and client certificates, with the project's codec on a raw TLS socket. The device does not
// do it (IoT Hub documents nothing either way; README "Connection setup"); this test keeps the measurement honest.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";
import mqtt, { type MqttClient } from "mqtt";
import { MqttPacketReader, encodeConnect, encodePublish, encodeSubscribe, type MqttPacket } from "../../src/mqtt/mqtt-codec";
import { utf8 } from "../../src/core/bytes";
import type { Mosquitto } from "./support/mosquitto";
import type { LocalHub } from "../../host/hub/local-hub";
import { sleep, waitFor } from "./support/processes";
import { TestPki } from "./support/fixture";

const DEVICE = "box-early-1";

/** A TLS connection as the device that sends `bytes` in one write and collects the packets it gets back. */
async function rawSession(pki: TestPki, port: number, bytes: Uint8Array): Promise<{ packets: MqttPacket[]; closed: () => boolean; socket: TLSSocket }> {
  const cred = pki.device(DEVICE);
  const socket = connect({ host: "127.0.0.1", port, servername: "localhost", ca: pki.caPem, cert: readFileSync(cred.cert), key: readFileSync(cred.key) });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
  });
  const packets: MqttPacket[] = [];
  let ended = false;
  const reader = new MqttPacketReader();
  socket.on("data", (chunk: Buffer) => reader.feed(new Uint8Array(chunk), (p) => packets.push(p)));
  socket.on("close", () => (ended = true));
  socket.on("error", () => (ended = true));
  socket.write(bytes);
  return { packets, closed: () => ended, socket };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function pipelined(connect: Uint8Array, body: string): Uint8Array {
  return concat(
    connect,
    encodeSubscribe(1, [{ topic: "$iothub/methods/POST/#", qos: 0 }]),
    encodePublish({ topic: `devices/${DEVICE}/messages/events/early=1`, qos: 1, packetId: 2 }, utf8(body)),
  );
}

describe("MQTT before CONNACK against mosquitto (the measurement behind the connection-setup decision)", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub;
  let service: MqttClient;
  const seen: string[] = [];

  before(async () => {
    pki = new TestPki();
    ({ broker, hub } = await pki.mosquittoHub(DEVICE));
    service = mqtt.connect({
      protocol: "mqtts",
      host: "127.0.0.1",
      port: broker.port,
      servername: "localhost",
      ca: pki.caPem,
      cert: readFileSync(pki.service.cert),
      key: readFileSync(pki.service.key),
      clientId: "svc-early",
      clean: true,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    await new Promise<void>((resolve, reject) => {
      service.once("connect", () => resolve());
      service.once("error", reject);
    });
    service.on("message", (_topic, payload) => seen.push(payload.toString()));
    await service.subscribeAsync(`devices/${DEVICE}/messages/events/#`, { qos: 1 });
  });

  after(async () => {
    await service?.endAsync(true);
    await hub?.stop();
    await broker?.stop();
  });

  it("accepted CONNECT: CONNACK, SUBACK and PUBACK come back in order to one write, and the event is delivered", async () => {
    const connectPacket = encodeConnect({ clientId: DEVICE, cleanSession: true, keepAliveSeconds: 60, username: DEVICE });
    const s = await rawSession(pki, broker.port, pipelined(connectPacket, "accepted"));
    await waitFor(() => s.packets.length >= 3, "three answers", 10_000);
    assert.deepEqual(
      s.packets.map((p) => p.type),
      ["connack", "suback", "puback"],
    );
    assert.equal((s.packets[0] as { readonly returnCode: number }).returnCode, 0);
    assert.deepEqual((s.packets[1] as { readonly returnCodes: readonly number[] }).returnCodes, [0]);
    await waitFor(() => seen.includes("accepted"), "the event at the service", 5_000);
    s.socket.destroy();
  });

  it("refused CONNECT (unacceptable protocol level): nothing sent behind it is processed", async () => {
    const connectPacket = encodeConnect({ clientId: DEVICE, cleanSession: true, keepAliveSeconds: 60, username: DEVICE });
    connectPacket[8] = 9; // fixed header (2) + "\0\4MQTT" (6): the protocol level byte; 4 is MQTT 3.1.1
    const s = await rawSession(pki, broker.port, pipelined(connectPacket, "refused"));
    await waitFor(() => s.closed(), "the broker to close the connection", 10_000);
    assert.ok(
      s.packets.every((p) => p.type === "connack"),
      `only a CONNACK may come back, got ${s.packets.map((p) => p.type).join(",")}`,
    );
    await sleep(300);
    assert.equal(seen.includes("refused"), false, "the PUBLISH behind a refused CONNECT reached a subscriber");
  });
});
