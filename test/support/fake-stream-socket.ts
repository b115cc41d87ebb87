import type { StreamSocket, StreamSocketHandlers, StreamSocketOptions, StreamSocketPort } from "../../src/ports/stream-socket";
import { MqttPacketReader, encodeUtf8, type MqttPacket } from "../../src/mqtt/mqtt-codec";

/**
 * An in-memory StreamSocketPort for unit tests of the MQTT client (portable: runs on Node and in XS). Each socket
 * records the bytes the client writes and decodes them as client-to-server MQTT packets, so tests assert on
 * packets; the test plays the broker by feeding bytes (`accept`, `feed`, `connack`, `suback` ...).
 */
export class FakeStreamSocketPort implements StreamSocketPort {
  readonly sockets: FakeStreamSocket[] = [];
  /** When set, `connect` throws this. */
  throwOnConnect: Error | undefined;

  connect(options: StreamSocketOptions, handlers: StreamSocketHandlers): StreamSocket {
    if (this.throwOnConnect) throw this.throwOnConnect;
    const socket = new FakeStreamSocket(options, handlers);
    this.sockets.push(socket);
    return socket;
  }

  get last(): FakeStreamSocket {
    const last = this.sockets[this.sockets.length - 1];
    if (!last) throw new Error("no socket opened yet");
    return last;
  }
}

export class FakeStreamSocket implements StreamSocket {
  /** Every write, as given. */
  readonly writes: Uint8Array[] = [];
  /** The writes decoded as MQTT packets (client to server). */
  readonly packets: MqttPacket[] = [];
  /** Set when the written bytes are not valid MQTT from a client. */
  decodeError: Error | undefined;
  closed = false;
  closeCalls = 0;
  /** When set, `write` throws this. */
  throwOnWrite: Error | undefined;
  /** When false, writes are neither kept nor decoded (switch only between packets). */
  recording = true;
  /** When true, close() does not report onClose: the transport is still flushing until the test calls drop(). */
  holdClose = false;
  private readonly reader = new MqttPacketReader({ direction: "from-client", maxPacketBytes: 16 * 1024 * 1024 });
  private ended = false;

  constructor(
    readonly options: StreamSocketOptions,
    private readonly handlers: StreamSocketHandlers,
  ) {}

  // ---- StreamSocket (the client's side) ----

  write(bytes: Uint8Array): void {
    if (this.throwOnWrite) throw this.throwOnWrite;
    if (this.closed) throw new Error("write after close");
    if (!this.recording) return;
    const copy = bytes.slice();
    this.writes.push(copy);
    if (this.decodeError) return;
    try {
      this.reader.feed(copy, (p) => this.packets.push(p));
    } catch (error) {
      this.decodeError = error as Error;
    }
  }

  close(): void {
    this.closeCalls++;
    if (this.closed) return;
    this.closed = true;
    if (this.holdClose) return;
    // As a real adapter: onClose follows, from the event loop, never from inside close().
    void Promise.resolve().then(() => this.end("closed"));
  }

  // ---- the broker's side (called by tests) ----

  /** TCP and TLS are up. */
  accept(): void {
    this.handlers.onConnect();
  }

  /** Bytes from the broker. */
  feed(...chunks: (Uint8Array | readonly number[])[]): void {
    for (const chunk of chunks) this.handlers.onData(chunk instanceof Uint8Array ? chunk : Uint8Array.from(chunk));
  }

  /** The broker (or the network) ends the connection. */
  drop(reason = "connection reset by peer"): void {
    this.closed = true;
    this.end(reason);
  }

  connack(returnCode = 0, sessionPresent = false): void {
    this.feed(connackBytes(returnCode, sessionPresent));
  }

  puback(packetId: number): void {
    this.feed(ackBytes(4, packetId));
  }

  suback(packetId: number, codes: readonly number[]): void {
    this.feed(subackBytes(packetId, codes));
  }

  pingresp(): void {
    this.feed([0xd0, 0x00]);
  }

  publish(topic: string, payload: Uint8Array | string, qos: 0 | 1 | 2 = 0, packetId?: number): void {
    this.feed(publishBytes(topic, typeof payload === "string" ? encodeUtf8(payload) : payload, qos, packetId));
  }

  // ---- queries ----

  /** Decoded packets of one type. */
  sent<T extends MqttPacket["type"]>(type: T): Extract<MqttPacket, { type: T }>[] {
    return this.packets.filter((p): p is Extract<MqttPacket, { type: T }> => p.type === type);
  }

  get lastPacket(): MqttPacket | undefined {
    return this.packets[this.packets.length - 1];
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onClose(reason);
  }
}

// ---- broker-side packet bytes (hand-built, independent of the client's encoder) -------------------------------

export function remainingLength(length: number): number[] {
  const out: number[] = [];
  do {
    let digit = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) digit |= 0x80;
    out.push(digit);
  } while (length > 0);
  return out;
}

export function connackBytes(returnCode: number, sessionPresent = false): Uint8Array {
  return Uint8Array.of(0x20, 0x02, sessionPresent ? 1 : 0, returnCode);
}

export function ackBytes(type: number, packetId: number): Uint8Array {
  return Uint8Array.of((type << 4) | (type === 6 ? 2 : 0), 0x02, packetId >> 8, packetId & 0xff);
}

export function subackBytes(packetId: number, codes: readonly number[]): Uint8Array {
  return Uint8Array.from([0x90, ...remainingLength(2 + codes.length), packetId >> 8, packetId & 0xff, ...codes]);
}

export function publishBytes(topic: string, payload: Uint8Array, qos: 0 | 1 | 2 = 0, packetId?: number, flags: { dup?: boolean; retain?: boolean } = {}): Uint8Array {
  const t = encodeUtf8(topic);
  const idBytes = qos > 0 ? 2 : 0;
  const remaining = 2 + t.length + idBytes + payload.length;
  const head = [0x30 | (flags.dup ? 8 : 0) | (qos << 1) | (flags.retain ? 1 : 0), ...remainingLength(remaining), t.length >> 8, t.length & 0xff];
  const out = new Uint8Array(head.length + t.length + idBytes + payload.length);
  out.set(head, 0);
  out.set(t, head.length);
  let o = head.length + t.length;
  if (qos > 0) {
    const id = packetId ?? 1;
    out[o++] = id >> 8;
    out[o++] = id & 0xff;
  }
  out.set(payload, o);
  return out;
}
