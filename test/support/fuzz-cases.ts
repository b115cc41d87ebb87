/**
 * The fuzz cases for every parser that takes input from the network, shared by the unit test
 * (test/unit/fuzz.test.ts: a few hundred inputs each, on Node and in XS) and the long run
 * (scripts/fuzz-long.mjs: 100 000 each). Portable: ES2022 and the project's test support only.
 *
 * Each case feeds seeded inputs (random, and mutations of valid examples) and counts:
 * accepted, rejected with the parser's documented error class (or documented result), and crashes —
 * any other exception, a failed round trip or a broken invariant. Crashes must be 0.
 */
import { Fuzz, classify, crash, newStats, showBytes, type FuzzStats } from "./fuzz";
import { FakeConnector } from "./fake-mqtt";
import { ManualClock, SequenceRandom, flush } from "./manual-clock";
import { PropertyBagError, decodePropertyBag, encodePropertyBag } from "../../src/azure/property-bag";
import { cloudMessageBag, parseDesiredPatchTopic, parseMethodTopic, parseTwinResponseTopic } from "../../src/azure/topics";
import { Twin, TwinError, isJsonObject, type DesiredUpdate } from "../../src/azure/twin";
import { DirectMethods, MethodError, encodeMethodBody } from "../../src/azure/direct-methods";
import { decodeCloudMessage } from "../../src/azure/cloud-messages";
import { HubClient } from "../../src/azure/hub-client";
import { Commands } from "../../src/device/commands";
import { SntpReplyError, decodeReply, encodeRequest, writeTimestamp } from "../../src/time/sntp-packet";
import { BootstrapResponseError, parseAssignmentResponse } from "../../src/bootstrap/bootstrap-contract";
import {
  MqttPacketReader,
  MqttProtocolError,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePuback,
  encodePublish,
  encodeSubscribe,
  type MqttPacket,
  type PacketQoS,
} from "../../src/mqtt/mqtt-codec";
import { scoped, silentLogger, type Logger } from "../../src/ports/logger";
import { concatBytes, utf8 } from "../../src/core/bytes";

export interface FuzzCase {
  readonly name: string;
  /** Runs `count` inputs drawn from `seed`. */
  run(count: number, seed: number): Promise<FuzzStats>;
}

const DEVICE = "box-1";


function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function bagRecord(f: Fuzz): Record<string, string> {
  const out: Record<string, string> = {};
  const n = f.int(5);
  for (let i = 0; i < n; i++) {
    const key = f.chance(0.2) ? f.pick(["$.mid", "$.cid", "$.ct", "$.ce", "$.to"]) : f.text(3) || "k";
    if (key === "__proto__") continue;
    // sometimes lone surrogates: encode must refuse them
    Object.defineProperty(out, key, { value: f.chance(0.1) ? f.string(3) : f.text(4), writable: true, enumerable: true, configurable: true });
  }
  return out;
}

const propertyBag: FuzzCase = {
  name: "property bag (decodePropertyBag, encode->decode)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    for (let i = 0; i < count; i++) {
      const record = bagRecord(f);
      let encoded = "";
      classify(
        stats,
        () => JSON.stringify(record),
        () => {
          encoded = encodePropertyBag(record);
          const back = decodePropertyBag(encoded);
          if (!sameJson({ ...back }, record)) throw new Error(`round trip changed ${JSON.stringify(record)} into ${JSON.stringify({ ...back })}`);
        },
        [PropertyBagError],
      );
      const input = f.chance(0.5) && encoded ? f.mutateString(encoded) : f.string(10);
      classify(
        stats,
        () => JSON.stringify(input),
        () => {
          const bag = decodePropertyBag(input);
          for (const key of Object.keys(bag)) {
            if (key.length === 0 || typeof bag[key] !== "string") throw new Error("decoded an empty key or a non-string value");
          }
        },
        [PropertyBagError],
      );
    }
    return stats;
  },
};

const TOPIC_PREFIXES = ["$iothub/twin/res/", "$iothub/twin/PATCH/properties/desired/", "$iothub/methods/POST/", `devices/${DEVICE}/messages/devicebound/`, "$iothub/", "devices/", ""];

function randomTopic(f: Fuzz): string {
  const prefix = f.pick(TOPIC_PREFIXES);
  switch (f.int(4)) {
    case 0:
      return prefix + f.pick(["200", "204", "400", "429", "500", "99", "2000", "abc", ""]) + "/?" + f.pick(["$rid=", "$version=", "$rid=1&$version=", ""]) + f.string(3);
    case 1:
      return prefix + f.ascii(8) + f.pick(["/?", "/", "?", ""]) + f.string(6);
    case 2:
      return f.mutateString(prefix + `200/?$rid=${f.int(10)}&$version=${f.int(100)}`);
    default:
      return f.string(10);
  }
}

const topics: FuzzCase = {
  name: "topic parsers (twin response, desired patch, method, C2D bag)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    for (let i = 0; i < count; i++) {
      const topic = randomTopic(f);
      classify(
        stats,
        () => JSON.stringify(topic),
        () => {
          const twin = parseTwinResponseTopic(topic);
          if (twin && !(Number.isInteger(twin.status) && twin.status >= 0 && twin.status <= 999)) throw new Error(`status ${twin.status}`);
          if (twin?.version !== undefined && !Number.isFinite(twin.version)) throw new Error("version not finite");
          const desired = parseDesiredPatchTopic(topic);
          if (desired?.version !== undefined && !Number.isFinite(desired.version)) throw new Error("version not finite");
          const method = parseMethodTopic(topic);
          if (method && (method.name.length === 0 || typeof method.rid !== "string")) throw new Error("method without a name or rid");
          const bag = cloudMessageBag(DEVICE, topic);
          if (bag !== undefined) decodeCloudMessage(bag, new Uint8Array(0));
        },
        [PropertyBagError],
      );
    }
    return stats;
  },
};

/** A logger that counts error-level entries (a handler or listener that failed: a crash here). */
function countingLogger(onError: (message: string, detail: string) => void): Logger {
  return {
    log(level, _scope, message, fields) {
      if (level === "error") onError(message, JSON.stringify(fields ?? {}));
    },
  };
}

const twin: FuzzCase = {
  name: "twin (handleMessage: arbitrary topics and payloads)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    const clock = new ManualClock();
    let current = "";
    const twin = new Twin({ clock, logger: scoped(countingLogger((m, d) => crash(stats, current, new Error(`${m} ${d}`))), "twin"), timeoutMs: 5000 });
    const rids: string[] = [];
    twin.attach((topic) => {
      const rid = /\$rid=([^&]*)/.exec(topic)?.[1];
      if (rid) rids.push(decodeURIComponent(rid));
      return Promise.resolve();
    });
    let lastVersion = 0;
    twin.onDesired((update: DesiredUpdate) => {
      if (!isJsonObject(update.properties) || !Number.isFinite(update.version) || update.version <= lastVersion) {
        crash(stats, current, new Error(`desired update out of order or malformed: ${update.version} after ${lastVersion}`));
      }
      lastVersion = update.version;
    });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (error: unknown) => {
          if (!(error instanceof TwinError) && !(error instanceof Error && error.name === "RequestTimeoutError")) crash(stats, current, error);
        },
      );
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      if (f.chance(0.2)) pending.push(outcome(twin.get()));
      let topic: string;
      if (f.chance(0.5) && rids.length > 0) {
        const rid = f.chance(0.8) ? rids[rids.length - 1]! : f.string(2);
        topic = `$iothub/twin/res/${f.pick(["200", "204", "404", "429", "500", "2x0"])}/?$rid=${encodeURIComponent(rid.replace(/[\ud800-\udfff]/g, ""))}${f.chance(0.5) ? `&$version=${f.pick(["1", "99", "-1", "1e400", "x"])}` : ""}`;
      } else if (f.chance(0.5)) {
        topic = `$iothub/twin/PATCH/properties/desired/?$version=${f.pick([String(f.int(50)), "", "1e400", "9007199254740993", "x"])}`;
      } else topic = randomTopic(f);
      const body =
        f.chance(0.3)
          ? JSON.stringify({ desired: f.chance(0.8) ? { $version: f.int(60), ...(f.json(2) as object) } : f.json(1), reported: f.chance(0.9) ? {} : f.json(1) })
          : f.jsonText();
      const payload = f.chance(0.1) ? f.bytes(32) : utf8(body);
      current = `${JSON.stringify(topic)} ${showBytes(payload)}`;
      classify(stats, () => current, () => void twin.handleMessage(topic, payload), [PropertyBagError]);
      if (i % 16 === 0) await flush();
    }
    twin.detach("end of fuzz run");
    await Promise.all(pending);
    return stats;
  },
};

const directMethods: FuzzCase = {
  name: "direct-method payloads (DirectMethods.invoke)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    const methods = new DirectMethods(scoped(silentLogger, "methods"));
    methods.register("echo", (payload) => payload);
    methods.register("strict", (payload) => {
      if (!isJsonObject(payload) || typeof payload["n"] !== "number") throw new MethodError(400, "need {n: number}");
      return { n: payload["n"] };
    });
    for (let i = 0; i < count; i++) {
      const name = f.pick(["echo", "strict", "missing", f.string(2)]);
      const payload = f.chance(0.15) ? f.bytes(48) : utf8(f.chance(0.2) ? JSON.stringify({ n: f.number() }) : f.jsonText());
      const input = `${JSON.stringify(name)} ${showBytes(payload)}`;
      stats.inputs++;
      try {
        const result = await methods.invoke(name, payload);
        const body = encodeMethodBody(result);
        if (typeof body.json !== "string" || ![200, 400, 404, 500].includes(body.status)) throw new Error(`unexpected answer ${body.status} ${body.json}`);
        if (result.status === 200) stats.accepted++;
        else stats.rejected++;
        if (result.status === 500) throw new Error("a handler failed with 500");
      } catch (error) {
        crash(stats, input, error); // invoke never rejects
      }
    }
    return stats;
  },
};

/** Direct methods and C2D messages through a connected HubClient (FakeConnector) with the product's Commands. */
const hubMessages: FuzzCase = {
  name: "C2D, methods and twin through HubClient + Commands",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    let current = "";
    const logger: Logger = {
      log(level, _scope, message, fields) {
        const detail = String(fields?.["error"] ?? "");
        if (level === "error") crash(stats, current, new Error(`${message} ${detail}`));
        // hub-client drops what does not decode: only PropertyBagError may get there
        if (message === "dropped malformed message" && !/percent-encoding|percent-encoded surrogate|empty key/.test(detail)) crash(stats, current, new Error(`${message} ${detail}`));
      },
    };
    const clock = new ManualClock();
    const connector = new FakeConnector();
    const hub = new HubClient(
      {
        endpoint: { host: "iotrafi-prod-iot-hub.azure-devices.net", port: 8883 },
        identity: { deviceId: DEVICE, tls: { ca: [], certificate: utf8("c"), key: utf8("k") } },
        backoff: { initialMs: 1000, maxMs: 60_000 },
        twinTimeoutMs: 5000,
      },
      { connector, clock, random: new SequenceRandom([0.5]), logger },
    );
    const commands = new Commands(hub, scoped(logger, "commands"));
    let ran = 0;
    commands.register("setColor", () => ran++);
    commands.register("allOff", () => ({ off: true }));
    commands.register("identify", (args) => ({ seconds: args["seconds"] ?? 10 }));
    let messages = 0;
    hub.onCloudMessage(() => messages++);
    hub.start();
    await flush();
    const session = connector.last;
    let expectedAnswers = 0;
    for (let i = 0; i < count; i++) {
      const kind = f.int(3);
      let topic: string;
      let payload: Uint8Array;
      const command = () => ({ method: f.pick(["setColor", "allOff", "identify", "reboot", "nope", f.string(1)]), payload: f.chance(0.3) ? { button: f.range(-1, 4), color: f.pick(["red", "green", "pink", 3]) } : f.json(2) });
      if (kind === 0) {
        topic = `devices/${DEVICE}/messages/devicebound/${f.chance(0.5) ? encodePropertyBagSafe(f) : f.string(6)}`;
        payload = f.chance(0.6) ? utf8(JSON.stringify(command())) : f.chance(0.5) ? utf8(f.jsonText()) : f.bytes(40);
      } else if (kind === 1) {
        topic = `$iothub/methods/POST/${f.pick(["setColor", "allOff", "identify", "getLog", f.ascii(4), ""])}/?$rid=${f.chance(0.9) ? f.int(1000) : f.string(2)}`;
        payload = f.chance(0.5) ? utf8(JSON.stringify(command().payload)) : f.chance(0.5) ? utf8(f.jsonText()) : f.bytes(40);
      } else {
        topic = randomTopic(f);
        payload = utf8(f.jsonText());
      }
      // What MQTT can deliver: MqttPacketReader refuses topics that are not well-formed UTF-8 or contain U+0000.
      topic = wellFormed(topic);
      current = `${JSON.stringify(topic)} ${showBytes(payload)}`;
      let call: ReturnType<typeof parseMethodTopic>;
      try {
        call = parseMethodTopic(topic);
      } catch {
        call = undefined;
      }
      if (call && !parseTwinResponseTopic(topic) && !parseDesiredPatchTopic(topic)) expectedAnswers++;
      stats.inputs++;
      try {
        session.deliver(topic, payload); // route() must never throw
        stats.accepted++;
      } catch (error) {
        crash(stats, current, error);
      }
      if (i % 8 === 0) await flush();
    }
    await flush();
    await flush();
    const answers = session.on("$iothub/methods/res/").length;
    if (answers !== expectedAnswers) crash(stats, "(all)", new Error(`${expectedAnswers} method calls got ${answers} answers`));
    for (const answer of session.on("$iothub/methods/res/")) {
      if (!/^\$iothub\/methods\/res\/(200|400|404)\//.test(answer.topic)) crash(stats, answer.topic, new Error("method answered with an unexpected status"));
    }
    hub.stop();
    void ran;
    void messages;
    return stats;
  },
};

/** The string with lone surrogates replaced by U+FFFD and U+0000 removed (a topic as the transport delivers it). */
function wellFormed(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) continue;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += text[i]! + text[i + 1]!;
      i++;
    } else out += c >= 0xd800 && c <= 0xdfff ? "\ufffd" : text[i]!;
  }
  return out;
}

function encodePropertyBagSafe(f: Fuzz): string {
  try {
    return encodePropertyBag(bagRecord(f));
  } catch {
    return "";
  }
}

const cloudMessages: FuzzCase = {
  name: "C2D property bags (decodeCloudMessage)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    for (let i = 0; i < count; i++) {
      const bag = f.chance(0.5) ? f.mutateString(encodePropertyBagSafe(f)) : f.string(8);
      classify(
        stats,
        () => JSON.stringify(bag),
        () => {
          const m = decodeCloudMessage(bag, f.bytes(8));
          for (const key of Object.keys(m.system)) if (!key.startsWith("$.")) throw new Error(`system property ${key}`);
          for (const key of Object.keys(m.properties)) if (key.startsWith("$.")) throw new Error(`application property ${key}`);
        },
        [PropertyBagError],
      );
    }
    return stats;
  },
};

const sntp: FuzzCase = {
  name: "SNTP replies (decodeReply)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    const sentAt = Date.UTC(2026, 10, 26, 12, 0, 0);
    for (let i = 0; i < count; i++) {
      const request = encodeRequest(sentAt, f.random);
      const valid = new Uint8Array(48);
      valid[0] = (f.int(3) << 6) | (f.pick([3, 4]) << 3) | 4;
      valid[1] = f.range(1, 15);
      valid.set(request.transmit, 24);
      writeTimestamp(valid, 32, sentAt + 5);
      writeTimestamp(valid, 40, sentAt + 6);
      const data = f.chance(0.2) ? f.bytes(64) : f.mutateBytes(valid, f.int(4));
      classify(
        stats,
        () => showBytes(data),
        () => {
          const reply = decodeReply(data, request, sentAt + f.int(2000));
          if (reply.kind === "time" && (!Number.isFinite(reply.offsetMs) || !Number.isFinite(reply.delayMs))) throw new Error("non-finite offset/delay");
          if (reply.kind === "kiss" && typeof reply.code !== "string") throw new Error("kiss without a code");
        },
        [SntpReplyError],
      );
    }
    return stats;
  },
};

const bootstrap: FuzzCase = {
  name: "bootstrap replies (parseAssignmentResponse)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    const allowsHub = (host: string) => host.endsWith(".azure-devices.net");
    for (let i = 0; i < count; i++) {
      const valid = JSON.stringify({ deviceId: f.chance(0.8) ? DEVICE : f.string(2), hubHostName: f.chance(0.7) ? "Hub-1.azure-devices.net" : f.string(3), ...(f.chance(0.3) ? { extra: f.json(2) } : {}) });
      const body = f.chance(0.15) ? f.bytes(64) : utf8(f.chance(0.5) ? valid : f.chance(0.5) ? f.mutateString(valid) : f.jsonText());
      const headers: Record<string, string> = {};
      if (f.chance(0.8)) headers["content-type"] = f.pick(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/html", "", f.string(2)]);
      const response = { status: f.chance(0.8) ? 200 : f.pick([0, 204, 301, 404, 429, 500, 503, 999, -1]), headers, body };
      classify(
        stats,
        () => `${response.status} ${JSON.stringify(headers)} ${showBytes(body)}`,
        () => {
          const a = parseAssignmentResponse(response, DEVICE, allowsHub);
          if (a.deviceId !== DEVICE || a.hubHostName !== a.hubHostName.toLowerCase() || !allowsHub(a.hubHostName)) throw new Error(`accepted a bad assignment ${JSON.stringify(a)}`);
        },
        [BootstrapResponseError],
      );
    }
    return stats;
  },
};

/** Valid packets a server sends, as bytes. */
function serverPacket(f: Fuzz): Uint8Array {
  const id = () => f.range(1, 65_535);
  const ack = (type: number, flags = 0) => {
    const p = id();
    return Uint8Array.of((type << 4) | flags, 2, p >> 8, p & 0xff);
  };
  switch (f.int(8)) {
    case 0:
      return Uint8Array.of(0x20, 2, f.int(2), f.int(6));
    case 1: {
      const n = f.range(1, 4);
      const p = id();
      const codes: number[] = [];
      for (let i = 0; i < n; i++) codes.push(f.pick([0, 1, 2, 0x80]));
      return Uint8Array.of(0x90, 2 + n, p >> 8, p & 0xff, ...codes);
    }
    case 2:
      return ack(4);
    case 3:
      return ack(f.pick([5, 7, 11]));
    case 4:
      return ack(6, 2);
    case 5:
      return Uint8Array.of(0xd0, 0);
    default:
      return encodePublish(publishOptions(f), f.bytes(f.chance(0.1) ? 300 : 40));
  }
}

function topicName(f: Fuzz): string {
  const t = f.text(4).replace(/[+#\u0000]/g, "");
  return t.length > 0 ? t : "t";
}

function publishOptions(f: Fuzz): { topic: string; qos: PacketQoS; packetId?: number; dup?: boolean; retain?: boolean } {
  const qos = f.int(3) as PacketQoS;
  return { topic: topicName(f), qos, ...(qos > 0 ? { packetId: f.range(1, 65_535), dup: f.chance(0.3) } : {}), retain: f.chance(0.3) };
}

/** A valid client packet and what a reader must decode from it. */
function clientPacket(f: Fuzz): { bytes: Uint8Array; expect: MqttPacket } {
  switch (f.int(6)) {
    case 0: {
      const options = publishOptions(f);
      const payload = f.bytes(60);
      return {
        bytes: encodePublish(options, payload),
        expect: { type: "publish", topic: options.topic, payload, qos: options.qos, dup: options.dup === true, retain: options.retain === true, ...(options.qos > 0 ? { packetId: options.packetId! } : {}) },
      };
    }
    case 1: {
      const packetId = f.range(1, 65_535);
      const subscriptions: { topic: string; qos: PacketQoS }[] = [];
      for (let i = f.range(1, 3); i > 0; i--) subscriptions.push({ topic: f.chance(0.5) ? `${topicName(f)}/#` : topicName(f), qos: f.int(3) as PacketQoS });
      return { bytes: encodeSubscribe(packetId, subscriptions), expect: { type: "subscribe", packetId, subscriptions } };
    }
    case 2: {
      const packetId = f.range(1, 65_535);
      return { bytes: encodePuback(packetId), expect: { type: "puback", packetId } };
    }
    case 3:
      return { bytes: encodePingreq(), expect: { type: "pingreq" } };
    case 4:
      return { bytes: encodeDisconnect(), expect: { type: "disconnect" } };
    default: {
      const clientId = f.ascii(12) || "c";
      const keepAliveSeconds = f.int(65_536);
      const cleanSession = f.chance(0.5);
      const username = f.chance(0.7) ? f.text(4).replace(/\u0000/g, "") : undefined;
      const password = username !== undefined && f.chance(0.5) ? f.bytes(20) : undefined;
      const options = { clientId, cleanSession, keepAliveSeconds, ...(username !== undefined ? { username } : {}), ...(password ? { password } : {}) };
      return {
        bytes: encodeConnect(options),
        expect: { type: "connect", protocolLevel: 4, clientId, cleanSession, keepAliveSeconds, ...(username !== undefined ? { username } : {}), ...(password ? { password } : {}) },
      };
    }
  }
}

function packetJson(p: MqttPacket): string {
  return JSON.stringify(p, (_k, v: unknown) => (v instanceof Uint8Array ? showBytes(v) : v));
}

const mqtt: FuzzCase = {
  name: "MQTT codec (MqttPacketReader: random and mutated streams in random chunks, encode->decode)",
  async run(count, seed) {
    const f = new Fuzz(seed);
    const stats = newStats(this.name);
    for (let i = 0; i < count; i++) {
      // Round trip: valid client packets, concatenated, fed in random chunks, decode to what was encoded.
      const expected: MqttPacket[] = [];
      const parts: Uint8Array[] = [];
      for (let n = f.range(1, 4); n > 0; n--) {
        const p = clientPacket(f);
        parts.push(p.bytes);
        expected.push(p.expect);
      }
      const stream = concatBytes(parts);
      classify(
        stats,
        () => showBytes(stream),
        () => {
          const reader = new MqttPacketReader({ direction: "from-client" });
          const got: MqttPacket[] = [];
          for (const chunk of f.chunks(stream)) reader.feed(chunk, (p) => got.push(p));
          if (!reader.idle || got.length !== expected.length || got.some((p, k) => packetJson(p) !== packetJson(expected[k]!))) {
            throw new Error(`round trip: ${got.map(packetJson).join(" ")} != ${expected.map(packetJson).join(" ")}`);
          }
        },
        [],
      );
      // Hostile: random bytes or mutated server streams, random chunking and size limit.
      const valid: Uint8Array[] = [];
      for (let n = f.range(1, 4); n > 0; n--) valid.push(serverPacket(f));
      const data = f.chance(0.2) ? f.bytes(64) : f.mutateBytes(concatBytes(valid));
      const limit = f.chance(0.3) ? f.range(2, 64) : 64 * 1024;
      classify(
        stats,
        () => `${showBytes(data)} limit=${limit}`,
        () => {
          const reader = new MqttPacketReader({ maxPacketBytes: limit });
          try {
            for (const chunk of f.chunks(data)) {
              reader.feed(chunk, (p) => {
                if (p.type === "publish" && p.payload.length > limit) throw new Error("buffered a payload beyond the limit");
                if ((p.type === "publish" || p.type === "publish-oversized") && p.qos > 0 && !(p.packetId! >= 1 && p.packetId! <= 65_535)) throw new Error("bad packet id");
              });
            }
          } catch (error) {
            // After a protocol error the reader stays failed with the same error.
            if (error instanceof MqttProtocolError) {
              try {
                reader.feed(Uint8Array.of(0xd0, 0), () => undefined);
              } catch (again) {
                if (again !== error) throw new Error("a failed reader threw a different error");
                throw error;
              }
              throw new Error("a failed reader accepted more input");
            }
            throw error;
          }
        },
        [MqttProtocolError],
      );
    }
    return stats;
  },
};

export const FUZZ_CASES: readonly FuzzCase[] = [propertyBag, topics, twin, directMethods, hubMessages, cloudMessages, sntp, bootstrap, mqtt];

/** The input count for the unit test: the `FUZZ_COUNT` global when set, else `fallback`. */
export function fuzzCount(fallback: number): number {
  const value = (globalThis as { FUZZ_COUNT?: unknown }).FUZZ_COUNT;
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback;
}

export function formatStats(s: FuzzStats): string {
  return `${s.name}: inputs ${s.inputs}, accepted ${s.accepted}, rejected ${s.rejected}, crashes ${s.crashes}${s.examples.length ? `\n    ${s.examples.join("\n    ")}` : ""}`;
}
