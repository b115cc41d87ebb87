/**
 * A portable MQTT 3.1.1 client implementing the MqttConnector port over a StreamSocketPort (TCP + TLS byte stream)
 * and the Clock port. It runs unchanged on Node (host adapter: node:tls) and on Moddable/XS (adapter: the SDK's
 * ECMA-419 TLS socket), replacing the SDK's MQTT client, whose parser stalls on empty payloads.
 *
 * Scope is what the firmware needs with Azure IoT Hub: QoS 0 and 1 (incoming QoS 2 is a protocol violation for
 * us: the hub never sends it), no retransmission or persistence (the core's outbox owns that; with a persistent
 * session the broker redelivers unacknowledged messages after a reconnect), one connection per `connect`.
 *
 * Event discipline: user callbacks (`onMessage`, `onClose`) never run inside the socket's `onData` call. Incoming
 * messages are delivered from promise jobs, in arrival order, each followed by its PUBACK (QoS 1); `onClose` is
 * queued behind them, is called exactly once, and nothing is delivered after it (nor after `close()`). A throwing
 * handler is logged and changes nothing else.
 */
import type { Clock, TimerId } from "../ports/clock";
import type { ScopedLogger } from "../ports/logger";
import {
  MqttConnectError,
  type MqttConnectOptions,
  type MqttConnector,
  type MqttSession,
  type MqttSessionEvents,
  type MqttSubscription,
  type QoS,
} from "../ports/mqtt";
import type { StreamSocket, StreamSocketPort } from "../ports/stream-socket";
import {
  MqttPacketReader,
  MqttProtocolError,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePuback,
  encodePublishHeader,
  encodeSubscribe,
  type MqttPacket,
  type OversizedPublishPacket,
  type PublishPacket,
} from "./mqtt-codec";

export interface StreamMqttConnectorOptions {
  readonly sockets: StreamSocketPort;
  readonly clock: Clock;
  readonly logger?: ScopedLogger;
  /** TCP, TLS and CONNECT/CONNACK must complete within this (default 30 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Largest incoming message kept, counted as the packet's remaining length (2 + topic bytes + 2 for QoS 1 +
   * payload bytes; default 68 KiB: IoT Hub's 64 KiB message body plus room for the topic). Larger messages are skipped as they arrive, logged, acknowledged (QoS 1, so
   * the broker does not redeliver them forever) and not delivered.
   */
  readonly maxIncomingBytes?: number;
  /** After a PINGREQ, the PINGRESP must arrive within this, else the connection is closed (default 30 s). */
  readonly pingTimeoutMs?: number;
}

/** CONNACK return codes 1-5 of MQTT 3.1.1 (§3.2.2.3). */
export const CONNACK_REFUSALS: Readonly<Record<number, string>> = {
  1: "unacceptable protocol version",
  2: "identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
};

export function connackMessage(returnCode: number): string {
  return CONNACK_REFUSALS[returnCode] ?? `unknown return code ${returnCode}`;
}

interface Settings {
  readonly sockets: StreamSocketPort;
  readonly clock: Clock;
  readonly log: ScopedLogger;
  readonly connectTimeoutMs: number;
  readonly maxIncomingBytes: number;
  readonly pingTimeoutMs: number;
}

const NO_LOG: ScopedLogger = { debug() {}, info() {}, warn() {}, error() {} };

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new RangeError(`${what} must be a positive number, got ${String(v)}`);
  return v;
}

export class StreamMqttConnector implements MqttConnector {
  private readonly settings: Settings;

  constructor(options: StreamMqttConnectorOptions) {
    this.settings = {
      sockets: options.sockets,
      clock: options.clock,
      log: options.logger ?? NO_LOG,
      connectTimeoutMs: positive(options.connectTimeoutMs, 30_000, "connectTimeoutMs"),
      maxIncomingBytes: Math.max(2, Math.floor(positive(options.maxIncomingBytes, 68 * 1024, "maxIncomingBytes"))),
      pingTimeoutMs: positive(options.pingTimeoutMs, 30_000, "pingTimeoutMs"),
    };
  }

  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession> {
    return new Promise<MqttSession>((resolve, reject) => {
      new Connection(this.settings, options, events, resolve, reject).start();
    });
  }
}

type State = "connecting" | "open" | "closed";

/** Payloads up to this size are copied behind their PUBLISH header and written together. */
const COPY_PAYLOAD_BYTES = 1024;

interface PromisedPublish {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** publishTagged: only the caller's tag and its shared callback are kept. */
interface TaggedPublish {
  readonly tag: number;
  readonly done: (tag: number, error?: Error) => void;
}

type PendingPublish = PromisedPublish | TaggedPublish;

function settlePublish(pending: PendingPublish, error?: Error): void {
  if ("done" in pending) {
    const { tag, done } = pending;
    later(() => done(tag, error));
  } else if (error) pending.reject(error);
  else pending.resolve();
}

interface PendingSubscribe {
  readonly count: number;
  readonly resolve: (granted: number[]) => void;
  readonly reject: (error: Error) => void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/** Runs `body` as a promise job (after the current call stack has unwound, FIFO with other jobs). */
function later(body: () => void): void {
  void Promise.resolve().then(body);
}

class Connection implements MqttSession {
  private state: State = "connecting";
  private socket: StreamSocket | undefined;
  private readonly reader: MqttPacketReader;
  private connectTimer: TimerId | undefined;
  private keepAliveTimer: TimerId | undefined;
  private pingTimer: TimerId | undefined;
  private lastSentAt = 0;
  private nextId = 1;
  private readonly publishes = new Map<number, PendingPublish>();
  private readonly subscribes = new Map<number, PendingSubscribe>();
  /** Set by close(): nothing more is delivered. */
  private appClosed = false;
  /** Set once onClose has been called: nothing more is delivered. */
  private closeReported = false;
  /** disconnect(): called when this socket reports that it has closed. */
  private transportClosed: { readonly socket: StreamSocket; readonly finish: () => void } | undefined;
  private closeReason: string | undefined;
  private readonly keepAliveMs: number;

  constructor(
    private readonly settings: Settings,
    private readonly options: MqttConnectOptions,
    private readonly events: MqttSessionEvents,
    private readonly resolveConnect: (session: MqttSession) => void,
    private readonly rejectConnect: (error: Error) => void,
  ) {
    this.reader = new MqttPacketReader({ maxPacketBytes: settings.maxIncomingBytes, direction: "from-server" });
    this.keepAliveMs = options.keepAliveSeconds * 1000;
  }

  start(): void {
    const { options, settings } = this;
    let connect: Uint8Array;
    try {
      connect = encodeConnect({
        clientId: options.clientId,
        cleanSession: options.cleanSession,
        keepAliveSeconds: options.keepAliveSeconds,
        username: options.username,
        ...(options.password !== undefined ? { password: options.password } : {}),
      });
    } catch (error) {
      this.shutdown(`invalid connect options: ${errorText(error)}`);
      return;
    }
    this.connectTimer = settings.clock.setTimeout(() => {
      this.connectTimer = undefined;
      this.shutdown(`no CONNACK within ${settings.connectTimeoutMs} ms`);
    }, settings.connectTimeoutMs);
    try {
      const socket = settings.sockets.connect(
        {
          host: options.host,
          port: options.port,
          tls: {
            serverName: options.serverName ?? options.host,
            ca: options.tls.ca,
            certificate: options.tls.certificate,
            key: options.tls.key,
          },
        },
        {
          onConnect: () => {
            if (this.state !== "connecting" || this.socket !== socket) return;
            this.guard(() => this.send(connect));
          },
          onData: (bytes) => {
            if (this.state === "closed" || this.socket !== socket) return;
            this.onData(bytes);
          },
          onClose: (reason) => {
            if (this.transportClosed?.socket === socket) this.transportClosed.finish();
            if (this.socket !== socket) return;
            this.shutdown(this.state === "connecting" ? reason || "connection closed before CONNACK" : reason || "connection closed");
          },
        },
      );
      if (this.state === "closed") safely(() => socket.close());
      else this.socket = socket;
    } catch (error) {
      this.shutdown(`connect failed: ${errorText(error)}`);
    }
  }

  // ---- MqttSession ----

  publish(topic: string, payload: Uint8Array, qos: QoS): Promise<void> {
    if (this.state !== "open") return Promise.reject(new Error(this.closeReason ?? "not connected"));
    if (qos !== 0 && qos !== 1) return Promise.reject(new RangeError(`QoS ${String(qos)} is not supported`));
    let header: Uint8Array;
    let id: number | undefined;
    try {
      id = qos === 1 ? this.allocateId() : undefined;
      header = encodePublishHeader({ topic, qos, ...(id !== undefined ? { packetId: id } : {}) }, payload.length);
    } catch (error) {
      return Promise.reject(error);
    }
    if (id === undefined) {
      try {
        this.sendPublish(header, payload);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    const packetId = id;
    return new Promise<void>((resolve, reject) => {
      this.publishes.set(packetId, { resolve, reject });
      try {
        this.sendPublish(header, payload);
      } catch (error) {
        this.publishes.delete(packetId);
        reject(error);
      }
    });
  }

  publishTagged(topic: string, payload: Uint8Array, tag: number, done: (tag: number, error?: Error) => void): void {
    const failed = (error: unknown): void => later(() => done(tag, error instanceof Error ? error : new Error(String(error))));
    if (this.state !== "open") return failed(new Error(this.closeReason ?? "not connected"));
    let header: Uint8Array;
    let id: number;
    try {
      id = this.allocateId();
      header = encodePublishHeader({ topic, qos: 1, packetId: id }, payload.length);
    } catch (error) {
      return failed(error);
    }
    this.publishes.set(id, { tag, done });
    try {
      this.sendPublish(header, payload);
    } catch (error) {
      // A failed write has closed the session, which has settled this message already.
      if (this.publishes.delete(id)) failed(error);
    }
  }

  subscribe(subscriptions: readonly MqttSubscription[]): Promise<number[]> {
    if (this.state !== "open") return Promise.reject(new Error(this.closeReason ?? "not connected"));
    if (subscriptions.length === 0) return Promise.resolve([]);
    let packet: Uint8Array;
    let id: number;
    try {
      id = this.allocateId();
      packet = encodeSubscribe(id, subscriptions);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number[]>((resolve, reject) => {
      this.subscribes.set(id, { count: subscriptions.length, resolve, reject });
      try {
        this.sendChecked(packet);
      } catch (error) {
        this.subscribes.delete(id);
        reject(error);
      }
    });
  }

  close(): void {
    if (this.state === "closed") return;
    this.appClosed = true;
    if (this.state === "open") {
      try {
        this.send(encodeDisconnect());
      } catch {
        // closing anyway
      }
    }
    this.shutdown("closed by the application");
  }

  disconnect(timeoutMs: number): Promise<void> {
    const socket = this.socket;
    if (this.state === "closed" || !socket) {
      this.close();
      return Promise.resolve();
    }
    const { clock } = this.settings;
    return new Promise<void>((resolve) => {
      let timer: TimerId | undefined;
      const finish = (): void => {
        if (this.transportClosed?.socket !== socket) return;
        this.transportClosed = undefined;
        if (timer !== undefined) clock.clearTimeout(timer);
        resolve();
      };
      this.transportClosed = { socket, finish };
      timer = clock.setTimeout(finish, Math.max(0, timeoutMs));
      this.close();
    });
  }

  // ---- incoming ----

  private onData(bytes: Uint8Array): void {
    try {
      this.reader.feed(bytes, (packet) => {
        if (this.state !== "closed") this.onPacket(packet);
      });
    } catch (error) {
      if (error instanceof MqttProtocolError) this.shutdown(`protocol error: ${error.message}`);
      else this.shutdown(`internal error: ${errorText(error)}`);
    }
  }

  private onPacket(packet: MqttPacket): void {
    if (this.state === "connecting") {
      if (packet.type !== "connack") {
        this.shutdown(`protocol error: expected CONNACK, got ${packet.type.toUpperCase()}`);
        return;
      }
      this.onConnack(packet.returnCode, packet.sessionPresent);
      return;
    }
    switch (packet.type) {
      case "publish":
      case "publish-oversized":
        this.onPublish(packet);
        return;
      case "puback": {
        const pending = this.publishes.get(packet.packetId);
        if (!pending) {
          this.settings.log.debug("PUBACK for an unknown packet id", { id: packet.packetId });
          return;
        }
        this.publishes.delete(packet.packetId);
        settlePublish(pending);
        return;
      }
      case "suback": {
        const pending = this.subscribes.get(packet.packetId);
        if (!pending) {
          this.settings.log.debug("SUBACK for an unknown packet id", { id: packet.packetId });
          return;
        }
        if (packet.returnCodes.length !== pending.count) {
          this.shutdown(`protocol error: SUBACK with ${packet.returnCodes.length} return codes for ${pending.count} topic filters`);
          return;
        }
        this.subscribes.delete(packet.packetId);
        pending.resolve(packet.returnCodes.map((code) => (code & 0x80 ? 128 : code)));
        return;
      }
      case "pingresp":
        if (this.pingTimer !== undefined) {
          this.clearTimer("pingTimer");
          if (this.keepAliveTimer === undefined) this.scheduleKeepAlive();
        }
        return;
      case "unsuback":
        this.settings.log.debug("unexpected UNSUBACK", { id: packet.packetId });
        return;
      case "connack":
        this.shutdown("protocol error: a second CONNACK");
        return;
      default:
        // PUBREC, PUBREL, PUBCOMP: QoS 2 flows, which this client never starts.
        this.shutdown(`protocol violation: unexpected ${packet.type.toUpperCase()} (QoS 2 is not supported)`);
    }
  }

  private onConnack(returnCode: number, sessionPresent: boolean): void {
    if (returnCode !== 0) {
      this.shutdown(`connection refused by the broker: ${connackMessage(returnCode)} (CONNACK return code ${returnCode})`, returnCode);
      return;
    }
    this.clearTimer("connectTimer");
    this.state = "open";
    this.settings.log.debug("connected", { host: this.options.host, port: this.options.port, sessionPresent });
    this.scheduleKeepAlive();
    this.resolveConnect(this);
  }

  private onPublish(packet: PublishPacket | OversizedPublishPacket): void {
    if (packet.qos === 2) {
      this.shutdown(`protocol violation: QoS 2 PUBLISH on ${packet.topic} (not supported; IoT Hub never sends QoS 2)`);
      return;
    }
    if (packet.type === "publish-oversized") {
      this.settings.log.warn("incoming message too large; dropped", {
        topic: packet.topic,
        bytes: packet.payloadBytes,
        limit: this.settings.maxIncomingBytes,
        id: packet.packetId,
      });
    }
    // Delivered from a promise job: not beneath the socket's onData (XS has a small stack), and in order.
    later(() => this.deliver(packet));
  }

  private deliver(packet: PublishPacket | OversizedPublishPacket): void {
    if (this.appClosed || this.closeReported) return;
    if (packet.type === "publish") {
      try {
        this.events.onMessage(packet.topic, packet.payload);
      } catch (error) {
        this.settings.log.warn("message handler failed", { topic: packet.topic, error: errorText(error) });
      }
    }
    if (packet.qos === 1 && packet.packetId !== undefined && this.state === "open") {
      this.guard(() => this.send(encodePuback(packet.packetId!)));
    }
  }

  // ---- keep-alive ----

  private scheduleKeepAlive(): void {
    if (this.keepAliveMs <= 0 || this.state !== "open") return;
    const { clock } = this.settings;
    const due = Math.max(0, this.lastSentAt + this.keepAliveMs - clock.monotonic());
    this.keepAliveTimer = clock.setTimeout(() => {
      this.keepAliveTimer = undefined;
      this.onKeepAlive();
    }, due);
  }

  private onKeepAlive(): void {
    // While a PINGREQ is unanswered, the PINGRESP (or the ping timeout) decides what happens next.
    if (this.state !== "open" || this.pingTimer !== undefined) return;
    const { clock, pingTimeoutMs } = this.settings;
    if (clock.monotonic() - this.lastSentAt >= this.keepAliveMs) {
      const sent = this.guard(() => this.send(encodePingreq()));
      if (!sent) return;
      this.pingTimer = clock.setTimeout(() => {
        this.pingTimer = undefined;
        this.shutdown(`keep-alive timeout: no PINGRESP within ${pingTimeoutMs} ms`);
      }, pingTimeoutMs);
    }
    this.scheduleKeepAlive();
  }

  // ---- writing ----

  private send(bytes: Uint8Array): void {
    const socket = this.socket;
    if (!socket) throw new Error("not connected");
    socket.write(bytes);
    this.lastSentAt = this.settings.clock.monotonic();
  }

  /** `send`, closing the connection when the socket throws (the error is rethrown for the caller). */
  private sendChecked(bytes: Uint8Array): void {
    try {
      this.send(bytes);
    } catch (error) {
      const reason = `write failed: ${errorText(error)}`;
      this.shutdown(reason);
      throw new Error(reason);
    }
  }

  private sendPublish(header: Uint8Array, payload: Uint8Array): void {
    // A small payload goes with its header in one write: one buffer to queue and one TLS record instead of two
    // (a burst of telemetry is hundreds of them); a large one is not copied.
    if (payload.length > 0 && payload.length <= COPY_PAYLOAD_BYTES) {
      const packet = new Uint8Array(header.length + payload.length);
      packet.set(header, 0);
      packet.set(payload, header.length);
      this.sendChecked(packet);
      return;
    }
    this.sendChecked(header);
    if (payload.length > 0) this.sendChecked(payload);
  }

  /** Runs a write outside any caller that could handle its failure; a failure ends the connection. */
  private guard(body: () => void): boolean {
    try {
      body();
      return true;
    } catch (error) {
      this.shutdown(`write failed: ${errorText(error)}`);
      return false;
    }
  }

  private allocateId(): number {
    for (let i = 0; i < 65_535; i++) {
      const id = this.nextId;
      this.nextId = id === 65_535 ? 1 : id + 1;
      if (!this.publishes.has(id) && !this.subscribes.has(id)) return id;
    }
    throw new Error("no free packet id (65535 operations in flight)");
  }

  // ---- closing ----

  /** Ends the connection once: stops timers, closes the socket, fails what is pending, reports. */
  private shutdown(reason: string, returnCode?: number): void {
    if (this.state === "closed") return;
    const was = this.state;
    this.state = "closed";
    this.closeReason = reason;
    this.clearTimer("connectTimer");
    this.clearTimer("keepAliveTimer");
    this.clearTimer("pingTimer");
    const socket = this.socket;
    this.socket = undefined;
    if (socket) safely(() => socket.close());
    const error = new Error(reason);
    const publishes = Array.from(this.publishes.values());
    const subscribes = Array.from(this.subscribes.values());
    this.publishes.clear();
    this.subscribes.clear();
    for (const p of publishes) settlePublish(p, error);
    for (const s of subscribes) s.reject(error);
    if (was === "connecting") {
      this.settings.log.debug("connect failed", { host: this.options.host, port: this.options.port, reason });
      this.rejectConnect(new MqttConnectError(reason, returnCode));
      return;
    }
    this.settings.log.debug("closed", { reason });
    // Queued behind the deliveries already scheduled, so onClose is the last event.
    later(() => {
      if (this.closeReported) return;
      this.closeReported = true;
      try {
        this.events.onClose(reason);
      } catch (e) {
        this.settings.log.warn("close handler failed", { error: errorText(e) });
      }
    });
  }

  private clearTimer(name: "connectTimer" | "keepAliveTimer" | "pingTimer"): void {
    const id = this[name];
    if (id !== undefined) this.settings.clock.clearTimeout(id);
    this[name] = undefined;
  }
}

function safely(body: () => void): void {
  try {
    body();
  } catch {
    // best effort
  }
}
