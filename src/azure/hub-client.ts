import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { MqttConnector, MqttSession } from "../ports/mqtt";
import type { Random } from "../ports/random";
import { randomHex } from "../ports/random";
import { scoped } from "../ports/logger";
import type { BackoffOptions } from "../core/backoff";
import { utf8, utf8Length } from "../core/bytes";
import { Listeners, errorMessage } from "../core/listeners";
import { hubConnectOptions, type DeviceIdentity, type HubEndpoint } from "./connection-options";
import { ConnectionSupervisor, type LinkStatus } from "./connection-supervisor";
import { decodeCloudMessage, type CloudMessage } from "./cloud-messages";
import { DirectMethods, encodeMethodBody } from "./direct-methods";
import { PropertyBagError, encodePropertyBag } from "./property-bag";
import { MemoryOutboxStore, TelemetryOutbox, type OutboxRecord, type OutboxStore } from "./telemetry-outbox";
import {
  METHODS_FILTER,
  TWIN_DESIRED_FILTER,
  TWIN_RESPONSE_FILTER,
  cloudMessageBag,
  cloudMessageFilter,
  methodResponseTopic,
  parseMethodTopic,
  telemetryTopic,
} from "./topics";
import { Twin } from "./twin";
import { toJson } from "../core/json";

export interface HubClientConfig {
  readonly endpoint: HubEndpoint;
  readonly identity: DeviceIdentity;
  /** MQTT keep-alive, 1..1177 s (default 180, as the official SDKs). */
  readonly keepAliveSeconds?: number;
  /** Reconnect backoff (default 1 s growing to 5 min, full jitter). */
  readonly backoff?: BackoffOptions;
  /** Give up on a connection attempt (TCP, TLS, CONNECT) after this long, and on a SUBACK (default 60 s). */
  readonly attemptTimeoutMs?: number;
  /** A connection that lasted this long resets the backoff (default 60 s). */
  readonly stableAfterMs?: number;
  /** Twin request timeout (default 30 s). */
  readonly twinTimeoutMs?: number;
  /** Most telemetry messages in flight (sent, awaiting PUBACK) at once (default 64). */
  readonly window?: number;
  /**
   * Most bytes of telemetry PUBLISH packets in flight at once (default 12 KiB, see DEFAULT_IN_FLIGHT_BYTES); a
   * message larger than this still goes, alone.
   */
  readonly inFlightBytes?: number;
  /** Telemetry messages kept while offline (default 1000). */
  readonly outboxCapacity?: number;
  /** Precondition for connecting, e.g. "the clock is valid" (TLS checks certificate dates). */
  readonly ready?: () => boolean;
}

export interface HubClientDeps {
  readonly connector: MqttConnector;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly outboxStore?: OutboxStore;
}

// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let reservedKeyPattern: RegExp | undefined;
const reservedKeyRe = (): RegExp => (reservedKeyPattern ??= /^(\$\.|iothub-)/i);

/**
 * Telemetry in flight is bounded by bytes, not only by count, because what a device can afford is memory and what
 * it can carry is its TCP send buffer. One message in flight on the device (ESP32, XS, ~100-200 KB free heap with
 * Wi-Fi and TLS up) costs:
 * - its encoded PUBLISH (~160-200 B for a button press) until the TCP stack has taken it: the MQTT client writes the
 *   packet at once; the socket adapter (modules/tls-socket) queues in JS what the TCP socket cannot take yet and hands
 *   it over as lwIP reports room; lwIP copies it into its send buffer (TCP_SND_BUF, 8 KiB in this project's
 *   sdkconfig) and frees it on the TCP acknowledgement;
 * - the pending PUBACK: 9 XS slots (~150 B at 16 B a slot) through `publishTagged` (a tag and one shared callback),
 *   where a promise per message with its continuation held 77 (measured in xsnap, 400 messages in flight).
 * The PUBACK comes back about when TCP acknowledges the bytes, so what is in flight beyond the send buffer only waits
 * in JS and adds no speed. The device default is therefore the send buffer plus room to refill it while the PUBACKs
 * of the first bytes return: 12 KiB, at most 64 messages (~9 KB of state for tiny ones): worst case ~4 KiB queued in
 * JS plus ~10 KB of pending state, where a window of 8 messages left a 100 ms link idle most of the time (1000 queued
 * events: 125 round trips; now ~20). A platform with larger TCP buffers (the host: the kernel's) passes its own
 * budget. IoT Hub sets no per-connection in-flight limit (its d2c throttle is per hub and second, shaped by
 * queueing), so the bound is the device's own. Sizes are the exact PUBLISH packet: what the transport carries.
 */
export const DEFAULT_IN_FLIGHT_BYTES = 12 * 1024;
export const DEFAULT_IN_FLIGHT_MESSAGES = 64;

/** Bytes of a QoS 1 PUBLISH packet: fixed header (type, remaining length) + topic length + topic + packet id + payload. */
export function qos1PublishBytes(topicBytes: number, payloadBytes: number): number {
  const remaining = 2 + topicBytes + 2 + payloadBytes;
  return 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining;
}

/**
 * The device side of Azure IoT Hub over MQTT: telemetry through an at-least-once outbox, cloud-to-device
 * messages, the device twin and direct methods, kept connected by a supervisor.
 */
export class HubClient {
  readonly twin: Twin;
  readonly methods: DirectMethods;
  readonly outbox: TelemetryOutbox;
  private readonly supervisor: ConnectionSupervisor;
  private readonly cloudMessages: Listeners<CloudMessage>;
  private readonly log;
  private session: MqttSession | undefined;
  /** The topic last built for the outbox's cost check, reused by the send that follows it. */
  private lastTopic: { readonly record: OutboxRecord; readonly deviceId: string; readonly topic: string } | undefined;
  /** Sessions the firmware closed itself: their end is logged as information, not as a warning. */
  private readonly closedOnPurpose = new WeakSet<MqttSession>();
  private endpoint: HubEndpoint;
  private identity: DeviceIdentity;

  constructor(
    private readonly config: HubClientConfig,
    private readonly deps: HubClientDeps,
  ) {
    this.log = scoped(deps.logger, "hub");
    // Fail at construction on bad configuration, not at the first connect.
    hubConnectOptions(config.endpoint, config.identity, config.keepAliveSeconds ?? 180);
    this.endpoint = config.endpoint;
    this.identity = config.identity;
    this.twin = new Twin({ clock: deps.clock, logger: scoped(deps.logger, "twin"), timeoutMs: config.twinTimeoutMs ?? 30_000 });
    this.methods = new DirectMethods(scoped(deps.logger, "methods"));
    this.outbox = new TelemetryOutbox({
      store: deps.outboxStore ?? new MemoryOutboxStore(),
      clock: deps.clock,
      logger: scoped(deps.logger, "outbox"),
      // A small outbox (tests, a device short of flash) caps the default count.
      window: config.window ?? Math.min(DEFAULT_IN_FLIGHT_MESSAGES, config.outboxCapacity ?? 1000),
      inFlightBytes: config.inFlightBytes ?? DEFAULT_IN_FLIGHT_BYTES,
      cost: (record) => qos1PublishBytes(utf8Length(this.telemetryTopicFor(record)), utf8Length(record.body)),
      capacity: config.outboxCapacity ?? 1000,
      idPrefix: randomHex(deps.random, 8),
    });
    this.cloudMessages = new Listeners<CloudMessage>((e) => this.log.error("cloud-message handler failed", { error: errorMessage(e) }));
    this.supervisor = new ConnectionSupervisor(
      { open: (onLost) => this.open(onLost) },
      {
        clock: deps.clock,
        random: deps.random,
        logger: scoped(deps.logger, "link"),
        backoff: config.backoff ?? { initialMs: 1000, maxMs: 300_000 },
        attemptTimeoutMs: config.attemptTimeoutMs ?? 60_000,
        stableAfterMs: config.stableAfterMs ?? 60_000,
        ...(config.ready ? { ready: config.ready } : {}),
      },
    );
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }

  get hubHost(): string {
    return this.endpoint.host;
  }

  /**
   * Points the client at another hub (a new bootstrap assignment). Validates first; a running link
   * reconnects at once. Queued telemetry is kept and goes to the new hub.
   */
  reconfigure(endpoint: HubEndpoint, deviceId: string = this.identity.deviceId): void {
    const identity = { ...this.identity, deviceId };
    hubConnectOptions(endpoint, identity, this.config.keepAliveSeconds ?? 180);
    const changed = endpoint.host !== this.endpoint.host || endpoint.port !== this.endpoint.port || deviceId !== this.identity.deviceId;
    this.endpoint = endpoint;
    this.identity = identity;
    if (changed) this.supervisor.restart(`hub changed to ${endpoint.host}:${endpoint.port}`);
  }

  get status(): LinkStatus {
    return this.supervisor.status;
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.supervisor.onStatus(listener);
  }

  onCloudMessage(listener: (message: CloudMessage) => void): () => void {
    return this.cloudMessages.add(listener);
  }

  start(): void {
    this.supervisor.start();
  }

  stop(): void {
    this.supervisor.stop();
  }

  /**
   * The orderly goodbye, before a restart or the end of the process: no new telemetry is sent; the PUBACKs of what
   * is in flight are awaited for up to `ackTimeoutMs`; then DISCONNECT, and the link is stopped, waiting up to
   * `closeTimeoutMs` until the transport has flushed and closed. Resolves then (never rejects); what was not
   * acknowledged stays in the outbox for the next session. `start()` connects again.
   */
  async goodbye(options: { readonly ackTimeoutMs?: number; readonly closeTimeoutMs?: number } = {}): Promise<void> {
    const { clock } = this.deps;
    this.outbox.hold();
    const session = this.session;
    if (session && this.outbox.inFlightCount > 0) {
      const inFlight = this.outbox.inFlightCount;
      await new Promise<void>((resolve) => {
        let finished = false;
        const finish = (): void => {
          if (finished) return;
          finished = true;
          offEvent();
          offStatus();
          clock.clearTimeout(timer);
          resolve();
        };
        const check = (): void => {
          if (this.outbox.inFlightCount === 0 || this.session !== session) finish();
        };
        const offEvent = this.outbox.onEvent(check);
        const offStatus = this.onStatus(check);
        const timer = clock.setTimeout(finish, options.ackTimeoutMs ?? 2000);
      });
      this.log.info("goodbye: telemetry in flight", { inFlight, acknowledged: inFlight - this.outbox.inFlightCount });
    }
    const current = this.session;
    // DISCONNECT first, then stop the supervisor: the session's close is then no loss to reconnect from.
    let flushed = Promise.resolve();
    if (current) this.closedOnPurpose.add(current);
    if (current?.disconnect) flushed = current.disconnect(options.closeTimeoutMs ?? 1000);
    else current?.close();
    this.supervisor.stop();
    await flushed;
    this.log.info("goodbye: disconnected", { device: this.deviceId, connected: current !== undefined });
  }

  /**
   * Queues a telemetry message (JSON body) for at-least-once delivery. Throws, storing nothing,
   * when the body is not serialisable or a property is invalid.
   */
  sendTelemetry(body: unknown, properties: Readonly<Record<string, string>> = {}): OutboxRecord {
    for (const key of Object.keys(properties)) {
      if (reservedKeyRe().test(key)) throw new PropertyBagError(`property key ${JSON.stringify(key)} is reserved for the hub`);
    }
    encodePropertyBag(properties); // validates
    let json: string;
    try {
      json = toJson(body);
    } catch (error) {
      throw new TypeError(`telemetry body is not serialisable to JSON: ${errorMessage(error)}`);
    }
    return this.outbox.enqueue(json, properties);
  }

  /**
   * The telemetry topic: `$.mid` (the same on every resend, so the cloud can drop duplicates), `$.ct`/`$.ce` (IoT Hub
   * routes on a JSON body only with both, and hands JSON to custom endpoints as JSON rather than base64), then the
   * application properties (`event`, for routing without parsing the body). No `$.ctime`: every event's body carries
   * `ts`, the device time it happened (src/device/schema.ts, the DTDL models), so the creation time would travel twice
   * (37 bytes of a ~200-byte press). The last topic built is kept for the send right behind the outbox's cost check.
   */
  private telemetryTopicFor(record: OutboxRecord): string {
    const cached = this.lastTopic;
    if (cached && cached.record === record && cached.deviceId === this.deviceId) return cached.topic;
    const bag = encodePropertyBag({
      "$.mid": record.id,
      "$.ct": "application/json",
      "$.ce": "utf-8",
      ...record.properties,
    });
    const topic = telemetryTopic(this.deviceId, bag);
    this.lastTopic = { record, deviceId: this.deviceId, topic };
    return topic;
  }

  /**
   * One hub session, pipelined: on CONNACK the SUBSCRIBE and the outbox's first window go out together, so the first
   * telemetry does not wait a round trip for the SUBACK (telemetry does not depend on the subscriptions). The twin
   * (its GET needs the response subscription in place) starts on the SUBACK. A refused or unanswered subscription
   * still ends the session: its close reason says so and the supervisor counts it as a failed connection.
   */
  private async open(onLost: (reason: string) => void): Promise<{ close(): void }> {
    const options = hubConnectOptions(this.endpoint, this.identity, this.config.keepAliveSeconds ?? 180);
    this.log.info("connecting", { host: options.host, port: options.port, device: this.deviceId });
    let closed = false;
    let setupFailure: string | undefined;
    const session = await this.deps.connector.connect(options, {
      onMessage: (topic, payload) => this.route(session, topic, payload),
      onClose: (reason) => {
        closed = true;
        const why = setupFailure ?? reason;
        if (this.session === session) this.session = undefined;
        this.twin.detach(why);
        this.outbox.detach();
        // A close the firmware asked for (goodbye, stop, a new hub) is no fault: logged as information.
        if (this.closedOnPurpose.has(session) && setupFailure === undefined) this.log.info("disconnected", { reason: why });
        else this.log.warn("disconnected", { reason: why });
        onLost(why);
      },
    });
    if (closed) throw new Error("connection closed during setup");
    const failSetup = (reason: string): void => {
      if (closed || setupFailure !== undefined) return;
      setupFailure = reason;
      this.log.error("session setup failed", { reason });
      session.close();
    };
    const subackTimeoutMs = this.config.attemptTimeoutMs ?? 60_000;
    const subackTimer = this.deps.clock.setTimeout(() => failSetup(`no SUBACK within ${subackTimeoutMs} ms`), subackTimeoutMs);
    const subscribed = session.subscribe([
      { topic: cloudMessageFilter(this.deviceId), qos: 1 },
      { topic: TWIN_RESPONSE_FILTER, qos: 0 },
      { topic: TWIN_DESIRED_FILTER, qos: 0 },
      { topic: METHODS_FILTER, qos: 0 },
    ]);
    this.session = session;
    this.log.info("connected", { device: this.deviceId });
    // Right behind the SUBSCRIBE, before its SUBACK: the first window of queued telemetry.
    this.outbox.attach((record, done) => {
      const topic = this.telemetryTopicFor(record);
      if (!session.publishTagged) return session.publish(topic, utf8(record.body), 1);
      session.publishTagged(topic, utf8(record.body), record.seq, done);
      return undefined;
    });
    subscribed.then(
      (granted) => {
        this.deps.clock.clearTimeout(subackTimer);
        if (closed) return;
        if (granted.some((qos) => qos === 128)) {
          failSetup(`subscription refused by the hub (granted ${granted.join(",")})`);
          return;
        }
        this.twin.attach((topic: string, payload: Uint8Array): Promise<void> => session.publish(topic, payload, 0));
        this.syncTwin(session);
      },
      () => this.deps.clock.clearTimeout(subackTimer), // the session closed first; onClose has said why
    );
    return {
      close: () => {
        this.closedOnPurpose.add(session);
        session.close();
      },
    };
  }

  /** Full twin GET after every (re)connect; retried while the session lasts, never fatal to the link. */
  private syncTwin(session: MqttSession, attempt = 0): void {
    this.twin.sync().catch((error: unknown) => {
      if (this.session !== session) return;
      const delay = Math.min(60_000, 2_000 * Math.pow(2, attempt));
      this.log.warn("twin sync failed; will retry", { error: errorMessage(error), retryInMs: delay });
      this.deps.clock.setTimeout(() => {
        if (this.session === session) this.syncTwin(session, attempt + 1);
      }, delay);
    });
  }

  private route(session: MqttSession, topic: string, payload: Uint8Array): void {
    try {
      if (this.twin.handleMessage(topic, payload)) return;
      const call = parseMethodTopic(topic);
      if (call) {
        void this.methods.invoke(call.name, payload).then((result) => {
          try {
            const { status, json } = encodeMethodBody(result);
            session.publish(methodResponseTopic(status, call.rid), utf8(json), 0).catch((error: unknown) => {
              this.log.warn("method response not sent", { method: call.name, error: errorMessage(error) });
            });
          } catch (error) {
            this.log.warn("method response not sent", { method: call.name, error: errorMessage(error) });
          }
        });
        return;
      }
      const bag = cloudMessageBag(this.deviceId, topic);
      if (bag !== undefined) {
        this.cloudMessages.emit(decodeCloudMessage(bag, payload));
        return;
      }
      this.log.debug("message on an unexpected topic", { topic });
    } catch (error) {
      // Malformed input from the network never takes the device down.
      this.log.warn("dropped malformed message", { topic, error: errorMessage(error) });
    }
  }
}
