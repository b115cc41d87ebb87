// One KIS.BOX button press end to end through the portable core: the button edge, debounce and gesture, the schema
// check, the outbox, the hub client, the MQTT client and codec, down to the bytes on the socket, and the PUBACK back.
// Only the platform is fake (a manual clock, a button, and a socket that plays an always-acknowledging broker).
// Portable: the bench runs it on Node (B5, bytes on the wire) and in XS (B3, computrons and allocations).
import { createFirmware, type Firmware } from "../../src/device/firmware";
import type { ButtonInput, EdgeListener } from "../../src/ports/gpio";
import type { StreamSocket, StreamSocketHandlers, StreamSocketOptions, StreamSocketPort } from "../../src/ports/stream-socket";
import { MemoryStore } from "../../src/ports/storage";
import { scoped, silentLogger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { StreamMqttConnector } from "../../src/mqtt/mqtt-client";
import { MqttPacketReader, encodePublish, encodeUtf8, type PublishPacket } from "../../src/mqtt/mqtt-codec";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { FakeHttps } from "../support/fake-https";
import { FakeDatagrams } from "../support/fake-datagrams";
import { ManualClock, SequenceRandom } from "../support/manual-clock";
import { ackBytes, connackBytes, publishBytes, subackBytes } from "../support/fake-stream-socket";

const DEVICE_ID = "box-bench-1";
const HOLD_MS = 100;
const TELEMETRY = new RegExp(`^devices/${DEVICE_ID}/messages/events/`);
/** Past the debounce and the double-press window, so the press is final and sent. */
const SETTLE_MS = 1000;

class BenchButton implements ButtonInput {
  private readonly listeners: EdgeListener[] = [];
  readonly activeLow = true;
  private level = true;
  constructor(private readonly clock: ManualClock) {}
  onEdge(listener: EdgeListener): () => void {
    this.listeners.push(listener);
    return () => undefined;
  }
  read(): boolean {
    return this.level;
  }
  close(): void {}
  set(pressed: boolean): void {
    this.level = !pressed;
    for (const l of this.listeners) l(this.level, this.clock.monotonic());
  }
}

/** The broker's side of one connection: acknowledges everything, answers the twin GET; keeps the device's PUBLISHes. */
class AckingSocket implements StreamSocket {
  private readonly reader = new MqttPacketReader({ direction: "from-client", maxPacketBytes: 1 << 20 });
  private closed = false;

  constructor(
    private readonly handlers: StreamSocketHandlers,
    private readonly published: (p: PublishPacket) => void,
  ) {
    void Promise.resolve().then(() => handlers.onConnect());
  }

  write(bytes: Uint8Array): void {
    const replies: Uint8Array[] = [];
    this.reader.feed(bytes, (p) => {
      if (p.type === "connect") replies.push(connackBytes(0));
      else if (p.type === "subscribe") replies.push(subackBytes(p.packetId, p.subscriptions.map((s) => s.qos)));
      else if (p.type === "pingreq") replies.push(Uint8Array.of(0xd0, 0));
      else if (p.type === "publish") {
        this.published(p);
        if (p.qos === 1) replies.push(ackBytes(4, p.packetId!));
        const rid = /^\$iothub\/twin\/(GET|PATCH\/properties\/reported)\/\?\$rid=([^&]+)/.exec(p.topic);
        if (rid?.[1] === "GET") replies.push(publishBytes(`$iothub/twin/res/200/?$rid=${rid[2]}`, encodeUtf8('{"desired":{"$version":1},"reported":{"$version":1}}')));
        else if (rid) replies.push(publishBytes(`$iothub/twin/res/204/?$rid=${rid[2]}&$version=2`, new Uint8Array(0)));
      }
    });
    // From the event loop, as a real socket delivers (never re-entrantly from write).
    if (replies.length) void Promise.resolve().then(() => !this.closed && replies.forEach((r) => this.handlers.onData(r)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void Promise.resolve().then(() => this.handlers.onClose("closed"));
  }
}

export interface PublishOnWire {
  readonly topic: string;
  readonly body: string;
  /** The whole MQTT packet as the codec encodes it: fixed header, topic (with the property bag), packet id, body. */
  readonly packetBytes: number;
  readonly topicBytes: number;
  readonly bodyBytes: number;
}

/** The firmware assembly, online, with one button to press. */
export class PressRig {
  readonly clock = new ManualClock();
  /** Telemetry sent, by event name: how many, and the last one (nothing more is kept, so the rig does not grow). */
  private readonly sent = new Map<string, { count: number; last: PublishPacket }>();
  private readonly button: BenchButton;
  readonly firmware: Firmware;

  constructor() {
    const clock = this.clock;
    this.button = new BenchButton(clock);
    const store = new MemoryStore();
    store.set("wifi", JSON.stringify({ v: 1, ssid: "Bench", passphrase: "bench-passphrase" }));
    const sockets: StreamSocketPort = {
      connect: (_options: StreamSocketOptions, handlers: StreamSocketHandlers) => new AckingSocket(handlers, (p) => this.record(p)),
    };
    this.firmware = createFirmware(
      {
        clock,
        systemTime: { set: () => undefined },
        random: new SequenceRandom([0.5]),
        logger: silentLogger,
        mqtt: new StreamMqttConnector({ sockets, clock, logger: scoped(silentLogger, "mqtt") }),
        https: new FakeHttps(),
        datagrams: new FakeDatagrams(clock),
        wifi: new SimulatedWifiRadio(clock, [{ ssid: "Bench", authMode: "wpa2-psk", passphrase: "bench-passphrase" }]),
        store,
        leds: { set: () => undefined },
        buttons: [this.button],
      },
      {
        firmwareVersion: "1.0.0",
        deviceId: DEVICE_ID,
        credentials: { ca: [], certificate: utf8("c"), key: utf8("k") },
        profile: { name: "box", buttons: 1, segments: [] },
        trustPlatformClock: true,
        skipBootstrap: true,
      },
    );
  }

  /** Boots to online and lets the first messages (Device_started, reported properties) go. */
  async start(): Promise<void> {
    this.firmware.start();
    await this.clock.advance(2000);
    if (this.firmware.boot.status.phase !== "online") throw new Error(`the rig did not come online (${this.firmware.boot.status.phase})`);
  }

  /** One short press, released and settled: the event is sent and acknowledged. */
  async press(): Promise<void> {
    this.button.set(true);
    await this.clock.advance(HOLD_MS);
    this.button.set(false);
    await this.clock.advance(SETTLE_MS);
  }

  /** The same time passing without a press (what a press costs beyond the timers that run anyway). */
  async idle(): Promise<void> {
    await this.clock.advance(HOLD_MS);
    await this.clock.advance(SETTLE_MS);
  }

  /** How many telemetry PUBLISHes of `event` were sent (resent ones included), and the last. */
  events(event: string): { count: number; last: PublishPacket | undefined } {
    const e = this.sent.get(event);
    return { count: e?.count ?? 0, last: e?.last };
  }

  private record(p: PublishPacket): void {
    const event = TELEMETRY.test(p.topic) ? /[?&]event=([^&]+)/.exec(p.topic)?.[1] : undefined;
    if (!event) return;
    const e = this.sent.get(event);
    if (e) {
      e.count++;
      e.last = p;
    } else this.sent.set(event, { count: 1, last: p });
  }

  /** Messages still waiting for their PUBACK (0 after a settled press). */
  get pending(): number {
    return this.firmware.hub.outbox.depth;
  }

  stop(): void {
    this.firmware.stop();
  }
}

/** B5: the one Button_pressed PUBLISH a press produces, measured on the codec's own encoding. */
export async function buttonPressedOnWire(): Promise<PublishOnWire> {
  const rig = new PressRig();
  await rig.start();
  await rig.press();
  const presses = rig.events("Button_pressed");
  rig.stop();
  if (presses.count !== 1 || !presses.last) throw new Error(`one press made ${presses.count} Button_pressed messages`);
  const p = presses.last;
  const packet = encodePublish({ topic: p.topic, qos: p.qos, ...(p.packetId !== undefined ? { packetId: p.packetId } : {}) }, p.payload);
  return {
    topic: p.topic,
    body: new TextDecoder().decode(p.payload),
    packetBytes: packet.length,
    topicBytes: encodeUtf8(p.topic).length,
    bodyBytes: p.payload.length,
  };
}
