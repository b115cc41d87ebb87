/**
 * MqttConnector port over the Moddable SDK's ECMA-419 MQTT client (`embedded:network/mqtt/client`,
 * examples/io/tcp/mqttclient) on the ECMA-419 TLS socket (`embedded:io/socket/tcp/tls`).
 *
 * The client's real API differs from its typings; the local types below follow mqttclient.js (SDK 8.2.3):
 * callbacks run with `this` = client; `onControl(message)` gets one object `{operation, id, payload?}`;
 * `keepAlive` is in ms; SUBSCRIBE is `write(null, {operation: SUBSCRIBE, id, items: [{topic, QoS}]})`;
 * `write()` returns the bytes still writable and throws "overflow" past them; a PUBLISH larger than that is
 * written in fragments (first `write(chunk, {topic, QoS, id, byteLength: total})`, then `write(chunk)`).
 *
 * What the client does not do and this adapter adds:
 * - packet ids (the client's own counter is not 16-bit safe) and PUBACK/SUBACK matching;
 * - flow control: operations queue until `onWritable` reports room (less a margin for the TLS record);
 * - assembly of incoming messages delivered in several `onReadable` chunks (`more`), up to a size limit;
 * - a shallow stack: messages are delivered, and writes made, from promise jobs rather than from inside the
 *   socket callbacks (nested, handler + TLS encryption overflowed XS's default 384-slot stack);
 * - the CONNACK return code: the client drops it (it only calls `onError()`), so the TLS socket handed to it is
 *   wrapped to observe the first four bytes it reads (the CONNACK) — see `ProbeSocket`;
 * - containment: an exception thrown anywhere in the TLS/MQTT stack during a TCP callback (a certificate the
 *   TLS layer rejects throws out of the handshake) is caught at the TCP callback and turned into a socket error,
 *   so it cannot reach the host and abort the VM — see `GuardedTCP`;
 * - a connect timeout covering DNS, TCP, TLS and CONNACK (the client's own 30 s timer stops at TCP+TLS; it
 *   reports through `onError()` like any other failure);
 * - name resolution with the system resolver (`Net.resolve`: lwIP on esp32, GResolver on lin), so no DNS server
 *   list has to be configured; IPv4 literals and "localhost" skip the look-up.
 *
 * Known limitation of the SDK client (8.2.3): an incoming PUBLISH with an empty payload (e.g. IoT Hub's 204
 * reply to a reported-properties PATCH, or an empty cloud-to-device message) is never delivered and stalls its
 * parser until the keep-alive check (1.5 x keep-alive) closes the connection. See modules/README.md.
 */
import MQTTClient from "embedded:network/mqtt/client";
import TLSSocket from "embedded:io/socket/tcp/tls";
import TCP from "embedded:io/socket/tcp";
import Net from "net";
import Timer from "timer";
import CertificateManager from "ssl/cert";
import {
  MqttConnectError,
  type MqttConnectOptions,
  type MqttConnector,
  type MqttSession,
  type MqttSessionEvents,
  type MqttSubscription,
  type QoS,
} from "ports/mqtt";
import type { Logger } from "ports/logger";

// ---- the client's real API (narrow local types) ------------------------------------------------------------

type Bytes = ArrayBufferLike | ArrayBufferView;

interface ControlMessage {
  readonly operation: number;
  readonly id?: number;
  /** SUBACK: one return code per requested topic (0..2 granted QoS, 0x80 failure). */
  readonly payload?: readonly number[];
}

interface ReadableInfo {
  readonly more: boolean;
  /** Present on the first chunk of a message only, with `byteLength` (the whole payload) and `QoS`. */
  readonly topic?: string;
  readonly byteLength?: number;
  readonly QoS?: number;
}

interface PublishWrite {
  readonly topic: string;
  readonly QoS: number;
  readonly id?: number;
  readonly byteLength: number;
}

interface ControlWrite {
  readonly operation: number;
  readonly id?: number;
  readonly items?: readonly { readonly topic: string; readonly QoS: number }[];
}

interface Client {
  read(into: Uint8Array): number | undefined;
  read(count: number): ArrayBuffer | undefined;
  write(data: Bytes | null, options?: PublishWrite | ControlWrite): number;
  close(): void;
}

interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly id: string;
  readonly user?: string;
  readonly password?: string;
  readonly clean: boolean;
  /** Milliseconds (sent as whole seconds in CONNECT). */
  readonly keepAlive: number;
  readonly dns: { readonly io: unknown };
  readonly socket: Record<string, unknown>;
  onReadable(count: number, info: ReadableInfo): void;
  onWritable(count: number): void;
  onControl(message: ControlMessage): void;
  onError(): void;
}

interface ClientConstructor {
  new (options: ClientOptions): Client;
  readonly CONNACK: number;
  readonly PUBLISH: number;
  readonly PUBACK: number;
  readonly SUBSCRIBE: number;
  readonly SUBACK: number;
  readonly DISCONNECT: number;
}

const Client = MQTTClient as unknown as ClientConstructor;

/** The ECMA-419 TCP/TLS socket surface the TLS layer and the MQTT client use. */
interface StreamSocket {
  read(into?: number | Bytes): unknown;
  write(data: Bytes, options?: object): number;
  close(): void;
  format: string;
}

interface StreamSocketOptions {
  readonly onReadable?: (count: number) => void;
  readonly onWritable?: (count: number) => void;
  readonly onError?: () => void;
  readonly [option: string]: unknown;
}

type StreamSocketConstructor = new (options: StreamSocketOptions) => StreamSocket;

const TlsSocketClass = TLSSocket as unknown as StreamSocketConstructor;
const TcpSocketClass = TCP as unknown as StreamSocketConstructor;

// ---- settings -----------------------------------------------------------------------------------------------

export interface ModdableMqttConnectorOptions {
  /** Whole connect (DNS, TCP, TLS, CONNECT/CONNACK) must finish within this (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** Incoming messages larger than this are read and dropped (default 64 KiB; IoT Hub twin documents are <= 32 KiB). */
  readonly maxIncomingBytes?: number;
  /** Largest MQTT fragment written at once, which is also one TLS record (default 4096, at most 16 KiB). */
  readonly maxFragmentBytes?: number;
  /** Diagnostics (debug level for packet flow, warn for faults). */
  readonly logger?: Logger;
}

const RETURN_CODES: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
};

/** Don't start a fragmented PUBLISH with less than this much payload when the whole packet does not fit yet. */
const MIN_FIRST_CHUNK = 256;
/**
 * Left free in every write for the TLS record around it. The TLS socket reports writable space minus 32 bytes,
 * but a CBC record can add up to ~70 (IV, MAC, padding), and the lin TCP socket throws "would block" past its
 * 1536-byte buffer. (The same margin keeps room for the client's own PUBACK/PINGREQ.)
 */
const TLS_RECORD_MARGIN = 96;

export class ModdableMqttConnector implements MqttConnector {
  private readonly settings: Required<Omit<ModdableMqttConnectorOptions, "logger">> & { readonly logger: Logger | undefined };

  constructor(options: ModdableMqttConnectorOptions = {}) {
    this.settings = {
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      maxIncomingBytes: options.maxIncomingBytes ?? 64 * 1024,
      maxFragmentBytes: Math.min(options.maxFragmentBytes ?? 4096, 16_000),
      logger: options.logger,
    };
  }

  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession> {
    return new Promise<MqttSession>((resolve, reject) => {
      const session = new Session(options, events, this.settings, resolve, reject);
      session.start();
    });
  }
}

// ---- one connection -------------------------------------------------------------------------------------------

type State = "connecting" | "open" | "closed";

interface PublishOp {
  readonly kind: "publish";
  readonly topic: string;
  readonly topicLength: number;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly id: number | undefined;
  offset: number;
  started: boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface SubscribeOp {
  readonly kind: "subscribe";
  readonly id: number;
  readonly items: readonly { readonly topic: string; readonly QoS: number }[];
  readonly size: number;
  readonly resolve: (granted: number[]) => void;
  readonly reject: (error: Error) => void;
}

type Op = PublishOp | SubscribeOp;

interface Incoming {
  readonly topic: string;
  readonly total: number;
  readonly buffer: Uint8Array | undefined;
  offset: number;
}

class Session implements MqttSession {
  private state: State = "connecting";
  private client: Client | undefined;
  private writable = 0;
  private readonly queue: Op[] = [];
  private readonly pubacks = new Map<number, PublishOp>();
  private readonly subacks = new Map<number, SubscribeOp>();
  private nextId = 1;
  private incoming: Incoming | undefined;
  private connectTimer: Timer | undefined;
  private depth = 0;
  private pumping = false;
  private pumpScheduled = false;
  /** Set when the TLS/TCP stack threw; becomes the close reason. */
  private fault: string | undefined;
  /** First bytes the MQTT client read: the CONNACK (0x20, 2, flags, return code). */
  private readonly probe: number[] = [];

  constructor(
    private readonly options: MqttConnectOptions,
    private readonly events: MqttSessionEvents,
    private readonly settings: Required<Omit<ModdableMqttConnectorOptions, "logger">> & { readonly logger: Logger | undefined },
    private readonly resolveConnect: (session: MqttSession) => void,
    private readonly rejectConnect: (error: Error) => void,
  ) {}

  start(): void {
    const { options } = this;
    try {
      const { tls } = options;
      if (tls.ca.length === 0) throw new Error("no trusted root certificate");
      if (tls.certificate.byteLength === 0 || tls.key.byteLength === 0) throw new Error("no device certificate or key");
      // The TLS layer takes one trusted root per connection (`certificate`); further roots are registered with
      // its certificate manager, which consults them for every connection (idempotent).
      for (let i = 1; i < tls.ca.length; i++) CertificateManager.register(toBuffer(tls.ca[i]!));

      this.connectTimer = Timer.set(() => {
        this.connectTimer = undefined;
        this.shutdown(`no CONNACK within ${this.settings.connectTimeoutMs} ms`);
      }, this.settings.connectTimeoutMs);

      this.client = new Client({
        host: options.host,
        port: options.port,
        id: options.clientId,
        user: options.username,
        ...(options.password !== undefined ? { password: options.password } : {}),
        clean: options.cleanSession,
        keepAlive: options.keepAliveSeconds * 1000,
        dns: { io: this.resolverClass() },
        socket: {
          io: this.probeSocketClass(),
          TCP: { io: this.guardedTcpClass() },
          nodelay: true,
          secure: {
            certificate: toBuffer(tls.ca[0]!),
            clientCertificates: [toBuffer(tls.certificate)],
            clientKey: toBuffer(tls.key),
            serverName: options.serverName ?? options.host,
          },
        },
        onReadable: (count, info) => this.callback(() => this.onReadable(count, info)),
        onWritable: (count) => this.callback(() => this.onWritable(count)),
        onControl: (message) => this.callback(() => this.onControl(message)),
        onError: () => this.callback(() => this.onClientError()),
      });
    } catch (error) {
      this.shutdown(`connect failed: ${message(error)}`);
    }
  }

  // ---- MqttSession ----

  publish(topic: string, payload: Uint8Array, qos: QoS): Promise<void> {
    if (this.state !== "open") return Promise.reject(new Error("not connected"));
    if (qos !== 0 && qos !== 1) return Promise.reject(new RangeError(`QoS ${String(qos)} not supported`));
    if (typeof topic !== "string" || topic.length === 0) return Promise.reject(new RangeError("empty topic"));
    return new Promise<void>((resolve, reject) => {
      const id = qos === 1 ? this.allocateId() : undefined;
      const op: PublishOp = { kind: "publish", topic, topicLength: utf8Length(topic), payload, qos, id, offset: 0, started: false, resolve, reject };
      if (id !== undefined) this.pubacks.set(id, op);
      this.queue.push(op);
      this.schedulePump();
    });
  }

  subscribe(subscriptions: readonly MqttSubscription[]): Promise<number[]> {
    if (this.state !== "open") return Promise.reject(new Error("not connected"));
    if (subscriptions.length === 0) return Promise.resolve([]);
    return new Promise<number[]>((resolve, reject) => {
      const id = this.allocateId();
      let payload = 2;
      const items = subscriptions.map((s) => {
        payload += 2 + utf8Length(s.topic) + 1;
        return { topic: s.topic, QoS: s.qos };
      });
      const op: SubscribeOp = { kind: "subscribe", id, items, size: 1 + remainingLengthSize(payload) + payload, resolve, reject };
      this.subacks.set(id, op);
      this.queue.push(op);
      this.schedulePump();
    });
  }

  close(): void {
    if (this.state === "open" && this.client && !this.midPublish() && this.writable >= TLS_RECORD_MARGIN) {
      try {
        this.client.write(null, { operation: Client.DISCONNECT });
      } catch {
        // closing anyway
      }
    }
    this.shutdown("closed by the application");
  }

  // ---- client callbacks (run inside `callback`) ----

  private onControl(message: ControlMessage): void {
    if (this.state === "closed") return;
    const { operation } = message;
    if (operation === Client.CONNACK) {
      // A refused CONNACK never gets here: the client calls onError instead.
      if (this.state !== "connecting") return;
      this.clearConnectTimer();
      this.state = "open";
      this.log("debug", "connected", { host: this.options.host, port: this.options.port });
      this.resolveConnect(this);
    } else if (operation === Client.PUBACK) {
      const op = message.id === undefined ? undefined : this.pubacks.get(message.id);
      if (!op) {
        this.log("debug", "PUBACK for an unknown packet id", { id: message.id });
        return;
      }
      this.pubacks.delete(op.id!);
      op.resolve();
    } else if (operation === Client.SUBACK) {
      const op = message.id === undefined ? undefined : this.subacks.get(message.id);
      if (!op) {
        this.log("debug", "SUBACK for an unknown packet id", { id: message.id });
        return;
      }
      this.subacks.delete(op.id);
      const codes = message.payload ?? [];
      op.resolve(op.items.map((_, i) => {
        const code = codes[i];
        return code === undefined || (code & 0x80) !== 0 ? 128 : code;
      }));
    }
  }

  private onReadable(count: number, info: ReadableInfo): void {
    const client = this.client;
    if (!client || this.state === "closed") return;
    if (info.topic !== undefined) {
      const total = info.byteLength ?? count;
      const keep = total <= this.settings.maxIncomingBytes;
      if (!keep) this.log("warn", "incoming message too large; dropped", { topic: info.topic, bytes: total });
      this.incoming = { topic: info.topic, total, buffer: keep ? new Uint8Array(total) : undefined, offset: 0 };
    }
    const m = this.incoming;
    if (count > 0) {
      if (!m || !m.buffer || m.offset + count > m.total) {
        client.read(count); // discard
        if (m) m.offset += count;
      } else {
        client.read(m.buffer.subarray(m.offset, m.offset + count));
        m.offset += count;
      }
    }
    if (info.more) return;
    this.incoming = undefined;
    if (!m || !m.buffer) return;
    const { topic, buffer } = m;
    // Delivered from a fresh stack: this callback already runs below the TCP, TLS and MQTT parser frames, and
    // the handler may publish (TLS encryption), which overflowed the default 384-slot XS stack when nested.
    // Delivery keeps arrival order and happens even if the connection has closed meanwhile (the client has
    // already acknowledged a QoS 1 message); onClose is queued behind it.
    later(() => {
      try {
        this.events.onMessage(topic, buffer);
      } catch (error) {
        this.log("warn", "message handler failed", { topic, error: message(error) });
      }
    });
  }

  private onWritable(count: number): void {
    if (this.state === "closed") return;
    this.writable = count;
    if (this.queue.length > 0) this.schedulePump();
  }

  private onClientError(): void {
    // Called by the client on socket errors, peer close, parse errors, keep-alive time-out, its 30 s connect
    // time-out and a refused CONNACK; the client closes itself right after.
    let reason: string;
    const [type, length, , code] = this.probe;
    if (this.state === "connecting" && type === 0x20 && length === 2 && code !== undefined && code !== 0) {
      reason = `connection refused by the broker (CONNACK return code ${code}: ${RETURN_CODES[code] ?? "unknown"})`;
      this.shutdown(reason, code);
      return;
    }
    if (this.fault) reason = this.fault;
    else if (this.state === "connecting") reason = "connection failed before CONNACK (network, TLS or time-out)";
    else reason = "connection lost";
    this.shutdown(reason);
  }

  // ---- writing ----

  /** Writes happen from a fresh stack (see onReadable), batched per turn. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    later(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.state === "open" && this.queue.length > 0) {
        const op = this.queue[0]!;
        const done = op.kind === "publish" ? this.writePublish(op) : this.writeSubscribe(op);
        if (!done) break;
        this.queue.shift();
        if (op.kind === "publish" && op.qos === 0) op.resolve();
      }
    } catch (error) {
      this.shutdown(`write failed: ${message(error)}`);
    } finally {
      this.pumping = false;
    }
  }

  /** Writes as much of a PUBLISH as fits; true once it is completely written. */
  private writePublish(op: PublishOp): boolean {
    const client = this.client!;
    const total = op.payload.byteLength;
    const max = this.settings.maxFragmentBytes;
    if (!op.started) {
      const remaining = 2 + op.topicLength + (op.qos ? 2 : 0) + total;
      const header = 1 + remainingLengthSize(remaining) + 2 + op.topicLength + (op.qos ? 2 : 0);
      const room = Math.min(this.writable - TLS_RECORD_MARGIN, max) - header;
      if (room < 0 || (room < total && room < MIN_FIRST_CHUNK)) return false;
      const first = Math.min(total, room);
      this.writable = client.write(op.payload.subarray(0, first), {
        topic: op.topic,
        QoS: op.qos,
        byteLength: total,
        ...(op.id !== undefined ? { id: op.id } : {}),
      });
      op.started = true;
      op.offset = first;
      if (first < total) this.log("debug", "publishing in fragments", { topic: op.topic, bytes: total });
    }
    while (op.offset < total) {
      const room = Math.min(this.writable - TLS_RECORD_MARGIN, max);
      if (room <= 0) return false;
      const end = Math.min(total, op.offset + room);
      this.writable = client.write(op.payload.subarray(op.offset, end));
      op.offset = end;
    }
    return true;
  }

  private writeSubscribe(op: SubscribeOp): boolean {
    if (op.size > this.settings.maxFragmentBytes) {
      this.subacks.delete(op.id);
      op.reject(new RangeError(`SUBSCRIBE of ${op.size} bytes is too large`));
      return true;
    }
    if (op.size > this.writable - TLS_RECORD_MARGIN) return false;
    this.writable = this.client!.write(null, { operation: Client.SUBSCRIBE, id: op.id, items: op.items });
    return true;
  }

  private midPublish(): boolean {
    const head = this.queue[0];
    return head !== undefined && head.kind === "publish" && head.started;
  }

  private allocateId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.pubacks.has(id) && !this.subacks.has(id)) return id;
    }
    throw new Error("no free packet id");
  }

  // ---- closing ----

  /** Ends the session once: rejects what is pending, then rejects the connect or reports onClose. */
  private shutdown(reason: string, returnCode?: number): void {
    if (this.state === "closed") return;
    const was = this.state;
    this.state = "closed";
    this.clearConnectTimer();
    const client = this.client;
    this.client = undefined;
    if (client) {
      // Closing the client from inside one of its callbacks would leave its parser reading a closed socket.
      if (this.depth > 0) Timer.set(() => safely(() => client.close()), 0);
      else safely(() => client.close());
    }
    const error = new Error(reason);
    const pending = new Set<Op>([...this.queue, ...this.pubacks.values(), ...this.subacks.values()]);
    this.queue.length = 0;
    this.pubacks.clear();
    this.subacks.clear();
    for (const op of pending) op.reject(error);
    if (was === "connecting") {
      this.log("debug", "connect failed", { reason });
      this.rejectConnect(connectError(reason, returnCode));
    } else {
      this.log("debug", "closed", { reason });
      // Queued behind messages still being delivered, so onClose is the last event.
      later(() => {
        try {
          this.events.onClose(reason);
        } catch (e) {
          this.log("warn", "close handler failed", { error: message(e) });
        }
      });
    }
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) Timer.clear(this.connectTimer);
    this.connectTimer = undefined;
  }

  /** Runs a client callback; nothing thrown here may reach the client (or the host below it). */
  private callback(body: () => void): void {
    this.depth++;
    try {
      body();
    } catch (error) {
      this.log("warn", "MQTT callback failed", { error: message(error) });
      this.shutdown(`internal error: ${message(error)}`);
    } finally {
      this.depth--;
    }
  }

  private log(level: "debug" | "warn", text: string, fields?: Record<string, string | number | undefined>): void {
    try {
      this.settings.logger?.log(level, "mqtt", text, fields);
    } catch {
      // logging never breaks the link
    }
  }

  // ---- socket and resolver classes bound to this session ----

  /** The TLS socket the MQTT client uses, recording the first bytes the client reads (the CONNACK). */
  private probeSocketClass(): StreamSocketConstructor {
    const probe = this.probe;
    return class ProbeSocket implements StreamSocket {
      readonly #socket: StreamSocket;
      constructor(options: StreamSocketOptions) {
        this.#socket = new TlsSocketClass(options);
      }
      read(into?: number | Bytes): unknown {
        const result = this.#socket.read(into);
        if (probe.length < 4 && typeof result === "number") probe.push(result);
        return result;
      }
      write(data: Bytes, options?: object): number {
        return this.#socket.write(data, options);
      }
      close(): void {
        this.#socket.close();
      }
      get format(): string {
        return this.#socket.format;
      }
      set format(value: string) {
        this.#socket.format = value;
      }
    };
  }

  /** The TCP socket under TLS, with its callbacks guarded: an exception becomes a socket error. */
  private guardedTcpClass(): StreamSocketConstructor {
    const session = this;
    return class GuardedTCP implements StreamSocket {
      readonly #socket: StreamSocket;
      // The TLS layer keeps its byte counts on the socket object.
      readable = 0;
      writable = 0;
      constructor(options: StreamSocketOptions) {
        const { onReadable, onWritable, onError } = options;
        let failed = false;
        const fail = (error: unknown): void => {
          session.fault ??= `TLS/socket failure: ${message(error)}`;
          session.log("warn", "exception in the TLS/MQTT stack", { error: message(error) });
          if (failed) return;
          failed = true;
          safely(() => onError?.());
          // Whatever happens above, the session ends.
          session.callback(() => session.shutdown(session.fault ?? "socket failure"));
        };
        const guard =
          (handler: ((count: number) => void) | undefined) =>
          (count: number): void => {
            if (failed || !handler) return;
            try {
              handler(count);
            } catch (error) {
              fail(error);
            }
          };
        this.#socket = new TcpSocketClass({
          ...options,
          onReadable: guard(onReadable),
          onWritable: guard(onWritable),
          onError: () => {
            if (failed) return;
            failed = true;
            safely(() => onError?.());
          },
        });
      }
      read(into?: number | Bytes): unknown {
        return into === undefined ? this.#socket.read() : this.#socket.read(into);
      }
      write(data: Bytes, options?: object): number {
        return options === undefined ? this.#socket.write(data) : this.#socket.write(data, options);
      }
      close(): void {
        this.#socket.close();
      }
      get format(): string {
        return this.#socket.format;
      }
      set format(value: string) {
        this.#socket.format = value;
      }
    };
  }

  /** An ECMA-419-style resolver over `Net.resolve` whose answers are dropped once the session has ended. */
  private resolverClass(): new (options: object) => { resolve(request: ResolveRequest): void; close(): void } {
    const session = this;
    return class NetResolver {
      resolve(request: ResolveRequest): void {
        const host = request.host === "localhost" ? "127.0.0.1" : request.host;
        const answer = (address: string | undefined): void => {
          if (session.state === "closed") return;
          session.callback(() => {
            if (address) request.onResolved(request.host, address);
            else {
              session.fault ??= `cannot resolve ${request.host}`;
              request.onError(request.host);
            }
          });
        };
        if (isIPv4(host)) Timer.set(() => answer(host), 0);
        else Net.resolve(host, (_name: string, address?: string) => answer(address));
      }
      close(): void {}
    };
  }
}

interface ResolveRequest {
  readonly host: string;
  onResolved(host: string, address: string): void;
  onError(host: string): void;
}

// ---- helpers ----------------------------------------------------------------------------------------------------

/** The whole underlying buffer when the view covers it (no copy, e.g. a flash-resident Resource), else a copy. */
function toBuffer(bytes: Uint8Array): ArrayBufferLike {
  const buffer = bytes.buffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  return bytes.slice().buffer;
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function remainingLengthSize(length: number): number {
  return length < 128 ? 1 : length < 16384 ? 2 : length < 2097152 ? 3 : 4;
}

function isIPv4(host: string): boolean {
  const parts = host.split(".");
  return parts.length === 4 && parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/**
 * `new MqttConnectError(...)`, or the same without running its constructor: the class assigns `this.name`,
 * which throws a TypeError on Moddable, where Error.prototype is frozen (the "override mistake").
 */
function connectError(reason: string, returnCode: number | undefined): Error {
  try {
    return new MqttConnectError(reason, returnCode);
  } catch {
    const error = Reflect.construct(Error, [reason], MqttConnectError) as MqttConnectError;
    Object.defineProperty(error, "name", { value: "MqttConnectError", configurable: true, writable: true });
    Object.defineProperty(error, "returnCode", { value: returnCode, enumerable: true });
    return error;
  }
}

/** Runs `body` as a promise job: after the current callback has returned, on a fresh stack, in FIFO order. */
function later(body: () => void): void {
  Promise.resolve().then(() => safely(body));
}

function safely(body: () => void): void {
  try {
    body();
  } catch {
    // best effort
  }
}
