/**
 * MQTT 3.1.1 (OASIS standard, protocol level 4) packet encoding and incremental decoding, portable ES2022.
 *
 * Encoders build the packets a device client sends (CONNECT, PUBLISH, PUBACK, SUBSCRIBE, PINGREQ, DISCONNECT).
 * `MqttPacketReader` decodes a byte stream fed in arbitrary chunks (down to one byte at a time) in either
 * direction: "from-server" (what a client receives) or "from-client" (what a broker receives — used by tests to
 * check what the client wrote). It checks everything the standard makes checkable (fixed-header flags, remaining
 * lengths, UTF-8 strings, packet ids, QoS values) and reports violations as `MqttProtocolError`.
 *
 * Memory is bounded by `maxPacketBytes`: an incoming PUBLISH whose body (variable header + payload) is larger
 * is not buffered — its topic and packet id are kept, its payload bytes are skipped as they stream by, and it is
 * reported as `publish-oversized`, so that a client can acknowledge and drop it (an unacknowledged QoS 1 message
 * would be redelivered forever). Any other packet larger than the bound is a protocol error.
 *
 * No recursion and no callbacks into user code: `feed` hands complete packets to the caller's sink only.
 */

export class MqttProtocolError extends Error {
  override readonly name = "MqttProtocolError";
  constructor(message: string) {
    super(message);
  }
}

// ---- packet types -----------------------------------------------------------------------------------------------

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

const PACKET_NAMES = [
  "reserved (0)",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "reserved (15)",
];

export function packetName(type: number): string {
  return PACKET_NAMES[type] ?? `type ${type}`;
}

/** Largest value the remaining-length field can carry (four 7-bit groups). */
export const MAX_REMAINING_LENGTH = 268_435_455;

export type PacketQoS = 0 | 1 | 2;

export interface WillMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: PacketQoS;
  readonly retain: boolean;
}

export interface ConnectPacket {
  readonly type: "connect";
  readonly protocolLevel: number;
  readonly clientId: string;
  readonly cleanSession: boolean;
  readonly keepAliveSeconds: number;
  readonly username?: string;
  /** Binary in MQTT 3.1.1. */
  readonly password?: Uint8Array;
  readonly will?: WillMessage;
}

export interface ConnackPacket {
  readonly type: "connack";
  readonly sessionPresent: boolean;
  readonly returnCode: number;
}

export interface PublishPacket {
  readonly type: "publish";
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: PacketQoS;
  readonly dup: boolean;
  readonly retain: boolean;
  /** Present for QoS 1 and 2. */
  readonly packetId?: number;
}

/** A PUBLISH larger than `maxPacketBytes`: its payload was skipped, not buffered. */
export interface OversizedPublishPacket {
  readonly type: "publish-oversized";
  readonly topic: string;
  /** Payload size in bytes (not kept). */
  readonly payloadBytes: number;
  readonly qos: PacketQoS;
  readonly dup: boolean;
  readonly retain: boolean;
  readonly packetId?: number;
}

export interface AckPacket {
  readonly type: "puback" | "pubrec" | "pubrel" | "pubcomp" | "unsuback";
  readonly packetId: number;
}

export interface SubscribePacket {
  readonly type: "subscribe";
  readonly packetId: number;
  readonly subscriptions: readonly { readonly topic: string; readonly qos: PacketQoS }[];
}

export interface SubackPacket {
  readonly type: "suback";
  readonly packetId: number;
  /** Granted QoS (0..2) or 0x80 (failure), one per requested filter. */
  readonly returnCodes: readonly number[];
}

export interface UnsubscribePacket {
  readonly type: "unsubscribe";
  readonly packetId: number;
  readonly topics: readonly string[];
}

export interface EmptyPacket {
  readonly type: "pingreq" | "pingresp" | "disconnect";
}

export type MqttPacket =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | OversizedPublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | EmptyPacket;

// ---- UTF-8 (own implementation: identical behaviour on Node, XS and Moddable, and MQTT's extra rules) ----------

/** Encodes a string as UTF-8; lone surrogates become U+FFFD (as TextEncoder does). */
export function encodeUtf8(text: string): Uint8Array {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  const out = new Uint8Array(length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

// Made on first use (the device build preloads this module; TextDecoder is a global only at run time).
let textDecoder: InstanceType<typeof TextDecoder> | undefined;

/**
 * Checks a UTF-8 encoded string field against MQTT 3.1.1 §1.5.3 — well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) and no U+0000 — and decodes it. Returns undefined when the bytes break
 * these rules. (Validation is done here, not by TextDecoder's `fatal` mode, so it is the same on every engine.)
 */
export function decodeUtf8(bytes: Uint8Array, start = 0, end = bytes.length): string | undefined {
  let ascii = true;
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0) return undefined;
      i++;
      continue;
    }
    ascii = false;
    let cp: number;
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07;
      need = 3;
      min = 0x10000;
    } else return undefined;
    if (i + need >= end) return undefined;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    i += need + 1;
  }
  if (ascii && end - start <= 64) {
    // Short ASCII (most topics): no decoder call.
    let out = "";
    for (let j = start; j < end; j++) out += String.fromCharCode(bytes[j]!);
    return out;
  }
  textDecoder ??= new TextDecoder();
  return textDecoder.decode(bytes.subarray(start, end));
}

// ---- encoding ---------------------------------------------------------------------------------------------------

/** Bytes the remaining-length field takes for `length`. */
export function remainingLengthSize(length: number): number {
  return length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4;
}

function writeRemainingLength(out: Uint8Array, offset: number, length: number): number {
  do {
    let digit = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) digit |= 0x80;
    out[offset++] = digit;
  } while (length > 0);
  return offset;
}

function checkRemaining(length: number, what: string): void {
  if (length > MAX_REMAINING_LENGTH) throw new RangeError(`${what} is too large for MQTT (${length} > ${MAX_REMAINING_LENGTH} bytes)`);
}

function stringField(text: string, what: string): Uint8Array {
  const bytes = encodeUtf8(text);
  if (bytes.length > 65_535) throw new RangeError(`${what} is longer than 65535 bytes in UTF-8`);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) throw new RangeError(`${what} contains U+0000`);
  return bytes;
}

function checkPacketId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 65_535) throw new RangeError(`packet id must be 1..65535, got ${id}`);
}

function checkTopicName(topic: string, bytes: Uint8Array): void {
  if (bytes.length === 0) throw new RangeError("empty topic name");
  if (topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0) throw new RangeError(`topic name ${JSON.stringify(topic)} contains a wildcard`);
}

/** A writer over one exactly-sized buffer. */
class PacketWriter {
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(first: number, remaining: number) {
    this.bytes = new Uint8Array(1 + remainingLengthSize(remaining) + remaining);
    this.bytes[0] = first;
    this.offset = writeRemainingLength(this.bytes, 1, remaining);
  }

  byte(value: number): void {
    this.bytes[this.offset++] = value;
  }

  u16(value: number): void {
    this.bytes[this.offset++] = (value >> 8) & 0xff;
    this.bytes[this.offset++] = value & 0xff;
  }

  /** Two-byte length, then the bytes. */
  field(value: Uint8Array): void {
    this.u16(value.length);
    this.raw(value);
  }

  raw(value: Uint8Array): void {
    this.bytes.set(value, this.offset);
    this.offset += value.length;
  }
}

export interface ConnectOptions {
  readonly clientId: string;
  readonly cleanSession: boolean;
  /** 0 switches keep-alive off; at most 65535. */
  readonly keepAliveSeconds: number;
  readonly username?: string;
  readonly password?: string | Uint8Array;
  readonly will?: WillMessage;
}

export function encodeConnect(options: ConnectOptions): Uint8Array {
  const { keepAliveSeconds } = options;
  if (!Number.isInteger(keepAliveSeconds) || keepAliveSeconds < 0 || keepAliveSeconds > 65_535) {
    throw new RangeError(`keep-alive must be 0..65535 s, got ${keepAliveSeconds}`);
  }
  const clientId = stringField(options.clientId, "client id");
  if (clientId.length === 0 && !options.cleanSession) throw new RangeError("an empty client id requires a clean session");
  const username = options.username !== undefined ? stringField(options.username, "user name") : undefined;
  const password =
    options.password === undefined ? undefined : typeof options.password === "string" ? encodeUtf8(options.password) : options.password;
  if (password !== undefined && password.length > 65_535) throw new RangeError("password is longer than 65535 bytes");
  if (password !== undefined && username === undefined) throw new RangeError("MQTT 3.1.1 allows a password only with a user name");
  const will = options.will;
  let willTopic: Uint8Array | undefined;
  if (will) {
    willTopic = stringField(will.topic, "will topic");
    checkTopicName(will.topic, willTopic);
    if (will.payload.length > 65_535) throw new RangeError("will message is longer than 65535 bytes");
    if (will.qos !== 0 && will.qos !== 1 && will.qos !== 2) throw new RangeError(`will QoS must be 0..2, got ${String(will.qos)}`);
  }

  let flags = 0;
  if (options.cleanSession) flags |= 0x02;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (password !== undefined) flags |= 0x40;
  if (username !== undefined) flags |= 0x80;

  let remaining = 10 + 2 + clientId.length; // "MQTT" string (6), level, flags, keep-alive (2)
  if (will) remaining += 2 + willTopic!.length + 2 + will.payload.length;
  if (username !== undefined) remaining += 2 + username.length;
  if (password !== undefined) remaining += 2 + password.length;

  const w = new PacketWriter(CONNECT << 4, remaining);
  w.u16(4);
  w.byte(0x4d); // M
  w.byte(0x51); // Q
  w.byte(0x54); // T
  w.byte(0x54); // T
  w.byte(4); // protocol level: 3.1.1
  w.byte(flags);
  w.u16(keepAliveSeconds);
  w.field(clientId);
  if (will) {
    w.field(willTopic!);
    w.field(will.payload);
  }
  if (username !== undefined) w.field(username);
  if (password !== undefined) w.field(password);
  return w.bytes;
}

export interface PublishOptions {
  readonly topic: string;
  readonly qos: PacketQoS;
  /** Required for QoS 1 and 2. */
  readonly packetId?: number;
  readonly dup?: boolean;
  readonly retain?: boolean;
}

/**
 * The PUBLISH packet up to (not including) the payload: fixed header, topic and packet id. Sending this and then
 * the payload bytes as they are avoids copying a large payload.
 */
export function encodePublishHeader(options: PublishOptions, payloadBytes: number): Uint8Array {
  const { qos } = options;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`QoS must be 0..2, got ${String(qos)}`);
  const topic = stringField(options.topic, "topic name");
  checkTopicName(options.topic, topic);
  if (qos > 0) checkPacketId(options.packetId ?? 0);
  if (qos === 0 && options.dup) throw new RangeError("the DUP flag must be 0 for QoS 0");
  const variable = 2 + topic.length + (qos > 0 ? 2 : 0);
  const remaining = variable + payloadBytes;
  checkRemaining(remaining, "PUBLISH");
  const first = (PUBLISH << 4) | (options.dup ? 0x08 : 0) | (qos << 1) | (options.retain ? 0x01 : 0);
  const header = new Uint8Array(1 + remainingLengthSize(remaining) + variable);
  header[0] = first;
  let o = writeRemainingLength(header, 1, remaining);
  header[o++] = topic.length >> 8;
  header[o++] = topic.length & 0xff;
  header.set(topic, o);
  o += topic.length;
  if (qos > 0) {
    header[o++] = options.packetId! >> 8;
    header[o++] = options.packetId! & 0xff;
  }
  return header;
}

export function encodePublish(options: PublishOptions, payload: Uint8Array): Uint8Array {
  const header = encodePublishHeader(options, payload.length);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

function encodeAck(type: number, flags: number, packetId: number): Uint8Array {
  checkPacketId(packetId);
  return Uint8Array.of((type << 4) | flags, 2, packetId >> 8, packetId & 0xff);
}

export function encodePuback(packetId: number): Uint8Array {
  return encodeAck(PUBACK, 0, packetId);
}

export interface SubscribeRequest {
  readonly topic: string;
  readonly qos: PacketQoS;
}

export function encodeSubscribe(packetId: number, subscriptions: readonly SubscribeRequest[]): Uint8Array {
  checkPacketId(packetId);
  if (subscriptions.length === 0) throw new RangeError("SUBSCRIBE needs at least one topic filter");
  const filters = subscriptions.map((s) => {
    const bytes = stringField(s.topic, "topic filter");
    if (bytes.length === 0) throw new RangeError("empty topic filter");
    if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) throw new RangeError(`QoS must be 0..2, got ${String(s.qos)}`);
    return bytes;
  });
  let remaining = 2;
  for (const f of filters) remaining += 2 + f.length + 1;
  checkRemaining(remaining, "SUBSCRIBE");
  const w = new PacketWriter((SUBSCRIBE << 4) | 0x02, remaining);
  w.u16(packetId);
  for (let i = 0; i < filters.length; i++) {
    w.field(filters[i]!);
    w.byte(subscriptions[i]!.qos);
  }
  return w.bytes;
}

export function encodePingreq(): Uint8Array {
  return Uint8Array.of(PINGREQ << 4, 0);
}

export function encodeDisconnect(): Uint8Array {
  return Uint8Array.of(DISCONNECT << 4, 0);
}

// ---- decoding ---------------------------------------------------------------------------------------------------

export type PacketDirection = "from-server" | "from-client";

export interface PacketReaderOptions {
  /**
   * Largest packet body (variable header + payload, i.e. the remaining length) buffered. Larger PUBLISH packets
   * are skipped and reported as `publish-oversized`; anything else larger is a protocol error. Default 64 KiB.
   */
  readonly maxPacketBytes?: number;
  /** Which side's packets to expect (default "from-server": the reader of an MQTT client). */
  readonly direction?: PacketDirection;
}

const FROM_SERVER = (1 << CONNACK) | (1 << PUBLISH) | (1 << PUBACK) | (1 << PUBREC) | (1 << PUBREL) | (1 << PUBCOMP) | (1 << SUBACK) | (1 << UNSUBACK) | (1 << PINGRESP);
const FROM_CLIENT = (1 << CONNECT) | (1 << PUBLISH) | (1 << PUBACK) | (1 << PUBREC) | (1 << PUBREL) | (1 << PUBCOMP) | (1 << SUBSCRIBE) | (1 << UNSUBSCRIBE) | (1 << PINGREQ) | (1 << DISCONNECT);

// Reader stages.
const HEADER = 0;
const LENGTH = 1;
const BODY = 2;
/** Oversized PUBLISH: collecting topic length, topic and packet id. */
const SKIP_HEADER = 3;
/** Oversized PUBLISH: dropping payload bytes. */
const SKIP = 4;
const FAILED = 5;

/**
 * Incremental MQTT 3.1.1 decoder. Feed it the byte stream in any chunking; each complete packet goes to the
 * sink in order. Malformed input throws `MqttProtocolError`, after which the reader stays failed (the stream
 * cannot be resynchronised).
 */
export class MqttPacketReader {
  private readonly maxPacketBytes: number;
  private readonly allowed: number;
  private readonly direction: PacketDirection;
  private stage = HEADER;
  private first = 0;
  private remaining = 0;
  private lengthBytes = 0;
  private multiplier = 1;
  private body: Uint8Array = new Uint8Array(0);
  private bodyOffset = 0;
  /** Oversized PUBLISH bookkeeping. */
  private skipHeader: Uint8Array = new Uint8Array(0);
  private skipHeaderNeed = 0;
  private skipLeft = 0;
  private skipTopic = "";
  private skipTopicBytes = 0;
  private skipPacketId: number | undefined;
  private failure: MqttProtocolError | undefined;

  constructor(options: PacketReaderOptions = {}) {
    const max = options.maxPacketBytes ?? 64 * 1024;
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`maxPacketBytes must be an integer >= 2, got ${max}`);
    this.maxPacketBytes = max;
    this.direction = options.direction ?? "from-server";
    this.allowed = this.direction === "from-server" ? FROM_SERVER : FROM_CLIENT;
  }

  /** True between packets (nothing partial buffered). */
  get idle(): boolean {
    return this.stage === HEADER;
  }

  /** Decodes `chunk`, handing each completed packet to `sink`. Throws MqttProtocolError on malformed input. */
  feed(chunk: Uint8Array, sink: (packet: MqttPacket) => void): void {
    if (this.failure) throw this.failure;
    try {
      this.run(chunk, sink);
    } catch (error) {
      if (error instanceof MqttProtocolError) {
        this.failure = error;
        this.stage = FAILED;
      }
      throw error;
    }
  }

  /** `feed`, collecting the packets into an array. */
  decode(chunk: Uint8Array): MqttPacket[] {
    const out: MqttPacket[] = [];
    this.feed(chunk, (p) => out.push(p));
    return out;
  }

  private run(chunk: Uint8Array, sink: (packet: MqttPacket) => void): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.stage) {
        case HEADER: {
          const first = chunk[i++]!;
          this.checkFirstByte(first);
          this.first = first;
          this.remaining = 0;
          this.lengthBytes = 0;
          this.multiplier = 1;
          this.stage = LENGTH;
          break;
        }
        case LENGTH: {
          const digit = chunk[i++]!;
          this.remaining += (digit & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (digit & 0x80) {
            if (this.lengthBytes === 4) throw new MqttProtocolError("malformed remaining length: more than 4 bytes");
            break;
          }
          if (this.lengthBytes > 1 && digit === 0) {
            // e.g. 0x80 0x00: a value that fits in fewer bytes (the standard's encoding is minimal).
            throw new MqttProtocolError("malformed remaining length: non-minimal encoding");
          }
          this.startBody(sink);
          break;
        }
        case BODY: {
          const take = Math.min(n - i, this.remaining - this.bodyOffset);
          this.body.set(chunk.subarray(i, i + take), this.bodyOffset);
          this.bodyOffset += take;
          i += take;
          if (this.bodyOffset === this.remaining) this.finish(sink);
          break;
        }
        case SKIP_HEADER: {
          const take = Math.min(n - i, this.skipHeaderNeed - this.bodyOffset);
          this.skipHeader.set(chunk.subarray(i, i + take), this.bodyOffset);
          this.bodyOffset += take;
          i += take;
          if (this.bodyOffset === this.skipHeaderNeed) this.skipHeaderStep(sink);
          break;
        }
        case SKIP: {
          const take = Math.min(n - i, this.skipLeft);
          this.skipLeft -= take;
          i += take;
          if (this.skipLeft === 0) this.finishSkip(sink);
          break;
        }
        case FAILED:
          throw this.failure ?? new MqttProtocolError("reader failed");
      }
    }
  }

  private checkFirstByte(first: number): void {
    const type = first >> 4;
    const flags = first & 0x0f;
    if (type === 0 || type === 15) throw new MqttProtocolError(`reserved packet type ${type}`);
    if (!(this.allowed & (1 << type))) {
      throw new MqttProtocolError(`${packetName(type)} is not valid ${this.direction === "from-server" ? "from a server" : "from a client"}`);
    }
    if (type === PUBLISH) {
      const qos = (flags >> 1) & 0x03;
      if (qos === 3) throw new MqttProtocolError("PUBLISH with QoS 3");
      if (qos === 0 && flags & 0x08) throw new MqttProtocolError("PUBLISH with QoS 0 and the DUP flag set");
      return;
    }
    const expected = type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 0x02 : 0x00;
    if (flags !== expected) throw new MqttProtocolError(`${packetName(type)} with invalid fixed-header flags 0x${flags.toString(16)}`);
  }

  private startBody(sink: (packet: MqttPacket) => void): void {
    const type = this.first >> 4;
    const length = this.remaining;
    const fixed = FIXED_LENGTH[type];
    if (fixed !== undefined && length !== fixed) {
      throw new MqttProtocolError(`${packetName(type)} with remaining length ${length} (expected ${fixed})`);
    }
    if (length > this.maxPacketBytes) {
      if (type !== PUBLISH) throw new MqttProtocolError(`${packetName(type)} of ${length} bytes exceeds the ${this.maxPacketBytes}-byte limit`);
      this.stage = SKIP_HEADER;
      this.skipHeader = new Uint8Array(2);
      this.skipHeaderNeed = 2;
      this.bodyOffset = 0;
      this.skipTopic = "";
      this.skipPacketId = undefined;
      return;
    }
    this.body = new Uint8Array(length);
    this.bodyOffset = 0;
    this.stage = BODY;
    if (length === 0) this.finish(sink);
  }

  private finish(sink: (packet: MqttPacket) => void): void {
    const body = this.body;
    this.body = EMPTY;
    this.stage = HEADER;
    sink(parsePacket(this.first, body));
  }

  /** Oversized PUBLISH: the topic length, then topic + packet id, have arrived. */
  private skipHeaderStep(sink: (packet: MqttPacket) => void): void {
    const qos = (this.first >> 1) & 0x03;
    const idBytes = qos > 0 ? 2 : 0;
    if (this.skipHeaderNeed === 2) {
      const topicLength = (this.skipHeader[0]! << 8) | this.skipHeader[1]!;
      if (topicLength === 0) throw new MqttProtocolError("PUBLISH with an empty topic name");
      if (2 + topicLength + idBytes > this.remaining) throw new MqttProtocolError("PUBLISH topic name runs past the end of the packet");
      if (2 + topicLength + idBytes > this.maxPacketBytes) {
        throw new MqttProtocolError(`PUBLISH topic name of ${topicLength} bytes exceeds the ${this.maxPacketBytes}-byte limit`);
      }
      const header = new Uint8Array(2 + topicLength + idBytes);
      header.set(this.skipHeader, 0);
      this.skipHeader = header;
      this.skipHeaderNeed = header.length;
      return;
    }
    const header = this.skipHeader;
    const topicLength = (header[0]! << 8) | header[1]!;
    this.skipTopic = publishTopic(header, 2, 2 + topicLength);
    this.skipTopicBytes = topicLength;
    this.skipPacketId = qos > 0 ? packetId(header, 2 + topicLength, "PUBLISH") : undefined;
    this.skipLeft = this.remaining - header.length;
    this.skipHeader = EMPTY;
    this.stage = SKIP;
    if (this.skipLeft === 0) this.finishSkip(sink);
  }

  private finishSkip(sink: (packet: MqttPacket) => void): void {
    const first = this.first;
    const qos = ((first >> 1) & 0x03) as PacketQoS;
    const packet: OversizedPublishPacket = {
      type: "publish-oversized",
      topic: this.skipTopic,
      payloadBytes: this.remaining - 2 - this.skipTopicBytes - (qos > 0 ? 2 : 0),
      qos,
      dup: (first & 0x08) !== 0,
      retain: (first & 0x01) !== 0,
      ...(this.skipPacketId !== undefined ? { packetId: this.skipPacketId } : {}),
    };
    this.skipTopic = "";
    this.skipPacketId = undefined;
    this.stage = HEADER;
    sink(packet);
  }
}

const EMPTY = new Uint8Array(0);

const FIXED_LENGTH: Record<number, number> = {
  [CONNACK]: 2,
  [PUBACK]: 2,
  [PUBREC]: 2,
  [PUBREL]: 2,
  [PUBCOMP]: 2,
  [UNSUBACK]: 2,
  [PINGREQ]: 0,
  [PINGRESP]: 0,
  [DISCONNECT]: 0,
};

function packetId(bytes: Uint8Array, offset: number, what: string): number {
  const id = (bytes[offset]! << 8) | bytes[offset + 1]!;
  if (id === 0) throw new MqttProtocolError(`${what} with packet id 0`);
  return id;
}

function publishTopic(bytes: Uint8Array, start: number, end: number): string {
  const topic = decodeUtf8(bytes, start, end);
  if (topic === undefined) throw new MqttProtocolError("PUBLISH topic name is not valid UTF-8 (or contains U+0000)");
  if (topic.length === 0) throw new MqttProtocolError("PUBLISH with an empty topic name");
  if (topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0) throw new MqttProtocolError(`PUBLISH topic name ${JSON.stringify(topic)} contains a wildcard`);
  return topic;
}

/** Reads fields from a complete packet body, failing with a protocol error when one runs past its end. */
class BodyReader {
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  get left(): number {
    return this.bytes.length - this.offset;
  }

  byte(): number {
    if (this.left < 1) throw new MqttProtocolError(`${this.what} is truncated`);
    return this.bytes[this.offset++]!;
  }

  u16(): number {
    if (this.left < 2) throw new MqttProtocolError(`${this.what} is truncated`);
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return v;
  }

  binary(): Uint8Array {
    const length = this.u16();
    if (this.left < length) throw new MqttProtocolError(`${this.what} is truncated (a ${length}-byte field runs past the end)`);
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(field: string): string {
    const length = this.u16();
    if (this.left < length) throw new MqttProtocolError(`${this.what} is truncated (${field} runs past the end)`);
    const text = decodeUtf8(this.bytes, this.offset, this.offset + length);
    if (text === undefined) throw new MqttProtocolError(`${this.what} ${field} is not valid UTF-8 (or contains U+0000)`);
    this.offset += length;
    return text;
  }

  end(): void {
    if (this.left !== 0) throw new MqttProtocolError(`${this.what} has ${this.left} unexpected trailing bytes`);
  }
}

function parsePacket(first: number, body: Uint8Array): MqttPacket {
  const type = first >> 4;
  switch (type) {
    case CONNACK: {
      const flags = body[0]!;
      if (flags & 0xfe) throw new MqttProtocolError(`CONNACK with reserved acknowledge flags 0x${flags.toString(16)}`);
      return { type: "connack", sessionPresent: (flags & 1) === 1, returnCode: body[1]! };
    }
    case PUBLISH: {
      const qos = ((first >> 1) & 0x03) as PacketQoS;
      const r = new BodyReader(body, "PUBLISH");
      const topicLength = r.u16();
      if (r.left < topicLength + (qos > 0 ? 2 : 0)) throw new MqttProtocolError("PUBLISH is truncated (topic name runs past the end)");
      const topic = publishTopic(body, 2, 2 + topicLength);
      r.offset += topicLength;
      let id: number | undefined;
      if (qos > 0) {
        id = packetId(body, r.offset, "PUBLISH");
        r.offset += 2;
      }
      return {
        type: "publish",
        topic,
        payload: body.subarray(r.offset),
        qos,
        dup: (first & 0x08) !== 0,
        retain: (first & 0x01) !== 0,
        ...(id !== undefined ? { packetId: id } : {}),
      };
    }
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK: {
      const name = ACK_NAMES[type]!;
      return { type: name, packetId: packetId(body, 0, packetName(type)) };
    }
    case SUBACK: {
      if (body.length < 3) throw new MqttProtocolError("SUBACK is truncated (no return codes)");
      const id = packetId(body, 0, "SUBACK");
      const codes: number[] = [];
      for (let i = 2; i < body.length; i++) {
        const code = body[i]!;
        if (code !== 0 && code !== 1 && code !== 2 && code !== 0x80) throw new MqttProtocolError(`SUBACK with invalid return code 0x${code.toString(16)}`);
        codes.push(code);
      }
      return { type: "suback", packetId: id, returnCodes: codes };
    }
    case PINGRESP:
      return { type: "pingresp" };
    case PINGREQ:
      return { type: "pingreq" };
    case DISCONNECT:
      return { type: "disconnect" };
    case CONNECT:
      return parseConnect(body);
    case SUBSCRIBE: {
      const r = new BodyReader(body, "SUBSCRIBE");
      const id = packetId(body, 0, "SUBSCRIBE");
      r.offset = 2;
      const subscriptions: { topic: string; qos: PacketQoS }[] = [];
      while (r.left > 0) {
        const topic = r.string("topic filter");
        if (topic.length === 0) throw new MqttProtocolError("SUBSCRIBE with an empty topic filter");
        const options = r.byte();
        if (options > 2) throw new MqttProtocolError(`SUBSCRIBE with invalid requested QoS byte 0x${options.toString(16)}`);
        subscriptions.push({ topic, qos: options as PacketQoS });
      }
      if (subscriptions.length === 0) throw new MqttProtocolError("SUBSCRIBE without topic filters");
      return { type: "subscribe", packetId: id, subscriptions };
    }
    case UNSUBSCRIBE: {
      const r = new BodyReader(body, "UNSUBSCRIBE");
      const id = packetId(body, 0, "UNSUBSCRIBE");
      r.offset = 2;
      const topics: string[] = [];
      while (r.left > 0) topics.push(r.string("topic filter"));
      if (topics.length === 0) throw new MqttProtocolError("UNSUBSCRIBE without topic filters");
      return { type: "unsubscribe", packetId: id, topics };
    }
    default:
      throw new MqttProtocolError(`unexpected ${packetName(type)}`);
  }
}

const ACK_NAMES: Record<number, AckPacket["type"]> = {
  [PUBACK]: "puback",
  [PUBREC]: "pubrec",
  [PUBREL]: "pubrel",
  [PUBCOMP]: "pubcomp",
  [UNSUBACK]: "unsuback",
};

function parseConnect(body: Uint8Array): ConnectPacket {
  const r = new BodyReader(body, "CONNECT");
  const protocol = r.string("protocol name");
  if (protocol !== "MQTT") throw new MqttProtocolError(`CONNECT with protocol name ${JSON.stringify(protocol)} (expected "MQTT")`);
  const level = r.byte();
  if (level !== 4) throw new MqttProtocolError(`CONNECT with protocol level ${level} (expected 4, MQTT 3.1.1)`);
  const flags = r.byte();
  if (flags & 0x01) throw new MqttProtocolError("CONNECT with the reserved flag set");
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  if (!willFlag && (willQos !== 0 || willRetain)) throw new MqttProtocolError("CONNECT with will QoS/retain but no will flag");
  if (willQos === 3) throw new MqttProtocolError("CONNECT with will QoS 3");
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (hasPassword && !hasUsername) throw new MqttProtocolError("CONNECT with a password but no user name");
  const keepAliveSeconds = r.u16();
  const clientId = r.string("client id");
  let will: WillMessage | undefined;
  if (willFlag) {
    const topic = r.string("will topic");
    will = { topic, payload: r.binary(), qos: willQos as PacketQoS, retain: willRetain };
  }
  const username = hasUsername ? r.string("user name") : undefined;
  const password = hasPassword ? r.binary() : undefined;
  r.end();
  return {
    type: "connect",
    protocolLevel: level,
    clientId,
    cleanSession: (flags & 0x02) !== 0,
    keepAliveSeconds,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(will !== undefined ? { will } : {}),
  };
}
