import mqtt, { type MqttClient } from "mqtt";
import { decodePropertyBag, encodePropertyBag, splitSystemProperties } from "../../src/azure/property-bag";
import { mergePatch, type JsonObject } from "../../src/azure/twin";
import { Listeners } from "../../src/core/listeners";
import { deviceScoped } from "./topic-rules";

/** A telemetry message as the local hub recorded it. */
export interface ReceivedTelemetry {
  readonly deviceId: string;
  readonly messageId: string | undefined;
  readonly system: Record<string, string>;
  readonly properties: Record<string, string>;
  readonly body: string;
  readonly topic: string;
  readonly receivedAt: number;
}

export interface MethodResponse {
  readonly status: number;
  readonly payload: unknown;
}

export interface LocalHubOptions {
  /** Where the broker listens. */
  readonly host: string;
  readonly port: number;
  /** Name checked against the broker's certificate (defaults to host). */
  readonly serverName?: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The service's client id (= the CN of its certificate). */
  readonly serviceId: string;
  /** The device whose twin and methods this hub serves ($iothub topics carry no device id). */
  readonly deviceId: string;
  /**
   * "device-scoped": the broker scopes `$iothub` traffic per device (EmbeddedBroker): this hub speaks
   * `$device/{deviceId}/$iothub/...` and hears and answers only its device, however many share the broker.
   * "shared" (default): the device-facing `$iothub/...` topics as they are, for a broker that cannot scope them
   * (mosquitto with an ACL): one device per broker, since every device would hear these.
   */
  readonly addressing?: "device-scoped" | "shared";
}

/**
 * The service side of IoT Hub over any MQTT broker, for development and tests: records telemetry,
 * keeps the device twin (versions included), answers twin GET/PATCH, invokes direct methods and
 * sends cloud-to-device messages. It speaks exactly the device-facing topics of the real hub.
 */
export class LocalHub {
  readonly telemetry: ReceivedTelemetry[] = [];
  readonly desired: JsonObject = { $version: 1 };
  reported: JsonObject = { $version: 1 };
  readonly twinRequests: string[] = [];
  private readonly telemetryListeners = new Listeners<ReceivedTelemetry>();
  private readonly reportedListeners = new Listeners<JsonObject>();
  private readonly desiredListeners = new Listeners<JsonObject>();
  private readonly pendingMethods = new Map<string, (response: MethodResponse) => void>();
  private nextRid = 1;
  private nextC2d = 1;
  private client: MqttClient | undefined;

  constructor(private readonly options: LocalHubOptions) {}

  onTelemetry(listener: (t: ReceivedTelemetry) => void): () => void {
    return this.telemetryListeners.add(listener);
  }

  onReported(listener: (reported: JsonObject) => void): () => void {
    return this.reportedListeners.add(listener);
  }

  /** Called with the whole desired document after each change made through `updateDesired`. */
  onDesired(listener: (desired: JsonObject) => void): () => void {
    return this.desiredListeners.add(listener);
  }

  /** Connects (persistent session, so telemetry queued by the broker while away is not lost) and subscribes. */
  async start(): Promise<void> {
    const o = this.options;
    const client = mqtt.connect({
      protocol: "mqtts",
      host: o.host,
      port: o.port,
      servername: o.serverName ?? o.host,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      clientId: o.serviceId,
      clean: false,
      reconnectPeriod: 500,
      resubscribe: true,
      protocolVersion: 4,
    });
    this.client = client;
    client.on("message", (topic, payload) => this.handle(topic, payload));
    client.on("error", () => undefined); // reconnects by itself
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    const granted = await client.subscribeAsync({
      [`devices/${o.deviceId}/messages/events/#`]: { qos: 1 },
      [this.iothub("$iothub/twin/GET/#")]: { qos: 1 },
      [this.iothub("$iothub/twin/PATCH/properties/reported/#")]: { qos: 1 },
      [this.iothub("$iothub/methods/res/#")]: { qos: 1 },
    });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`the broker refused the local hub's subscriptions: ${refused.join(", ")}`);
  }

  /** An `$iothub/...` topic as this hub publishes and subscribes to it (see `addressing`). */
  private iothub(topic: string): string {
    return this.options.addressing === "device-scoped" ? deviceScoped(this.options.deviceId, topic) : topic;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }

  /** Distinct message ids received, and how many arrivals were duplicates. */
  get stats(): { received: number; unique: number; duplicates: number } {
    const ids = new Set(this.telemetry.map((t) => t.messageId));
    return { received: this.telemetry.length, unique: ids.size, duplicates: this.telemetry.length - ids.size };
  }

  /** Changes desired properties as the service would, and notifies a connected device. */
  async updateDesired(patch: JsonObject): Promise<number> {
    const version = (this.desired["$version"] as number) + 1;
    Object.assign(this.desired, mergePatch(this.desired, patch), { $version: version });
    this.desiredListeners.emit(this.desired);
    await this.publish(this.iothub(`$iothub/twin/PATCH/properties/desired/?$version=${version}`), JSON.stringify({ ...patch, $version: version }), 0);
    return version;
  }

  /** Invokes a direct method and waits for the device's answer (the hub answers 504 on timeout). */
  invokeMethod(name: string, payload: unknown, timeoutMs = 10_000): Promise<MethodResponse> {
    return this.invokeMethodRaw(name, JSON.stringify(payload ?? null), timeoutMs);
  }

  /** Invokes a method with a payload sent as is (tests use it for malformed JSON). */
  invokeMethodRaw(name: string, payload: string, timeoutMs = 10_000): Promise<MethodResponse> {
    const rid = (this.nextRid++).toString(16);
    return new Promise<MethodResponse>((resolve) => {
      const timer = setTimeout(() => {
        this.pendingMethods.delete(rid);
        resolve({ status: 504, payload: { error: "device did not answer in time" } });
      }, timeoutMs);
      this.pendingMethods.set(rid, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.publish(this.iothub(`$iothub/methods/POST/${name}/?$rid=${rid}`), payload, 0).catch(() => undefined);
    });
  }

  /** Sends a cloud-to-device message (QoS 1: the broker keeps it for an offline device with a persistent session). */
  async sendCloudMessage(body: string, properties: Record<string, string> = {}): Promise<string> {
    const id = `c2d-${this.nextC2d++}`;
    const bag = encodePropertyBag({ "$.mid": id, "$.to": `/devices/${this.options.deviceId}/messages/deviceBound`, ...properties });
    await this.publish(`devices/${this.options.deviceId}/messages/devicebound/${bag}`, body, 1);
    return id;
  }

  private publish(topic: string, payload: string, qos: 0 | 1): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error("local hub is not started"));
    return client.publishAsync(topic, payload, { qos }).then(() => undefined);
  }

  private handle(scopedTopic: string, payload: Buffer): void {
    try {
      if (scopedTopic.startsWith("devices/")) return this.recordTelemetry(scopedTopic, payload);
      const scope = this.iothub("");
      if (!scopedTopic.startsWith(scope)) return;
      const topic = scopedTopic.slice(scope.length);
      const rid = /[?&]\$rid=([^&]+)/.exec(topic)?.[1];
      if (topic.startsWith("$iothub/twin/GET/") && rid) {
        this.twinRequests.push("GET");
        void this.publish(this.iothub(`$iothub/twin/res/200/?$rid=${rid}`), JSON.stringify({ desired: this.desired, reported: this.reported }), 0);
      } else if (topic.startsWith("$iothub/twin/PATCH/properties/reported/") && rid) {
        this.twinRequests.push("PATCH");
        let patch: unknown;
        try {
          patch = JSON.parse(payload.toString("utf8"));
        } catch {
          void this.publish(this.iothub(`$iothub/twin/res/400/?$rid=${rid}`), "", 0);
          return;
        }
        if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
          void this.publish(this.iothub(`$iothub/twin/res/400/?$rid=${rid}`), "", 0);
          return;
        }
        const version = (this.reported["$version"] as number) + 1;
        this.reported = { ...mergePatch(this.reported, patch as JsonObject), $version: version };
        this.reportedListeners.emit(this.reported);
        void this.publish(this.iothub(`$iothub/twin/res/204/?$rid=${rid}&$version=${version}`), "", 0);
      } else if (topic.startsWith("$iothub/methods/res/") && rid) {
        const status = Number(topic.split("/")[3]);
        const text = payload.toString("utf8");
        let body: unknown = text;
        try {
          body = text.length > 0 ? JSON.parse(text) : null;
        } catch {
          // keep the raw text
        }
        this.pendingMethods.get(rid)?.({ status, payload: body });
        this.pendingMethods.delete(rid);
      }
    } catch {
      // A malformed message from a device must not stop the hub.
    }
  }

  private recordTelemetry(topic: string, payload: Buffer): void {
    const m = /^devices\/([^/]+)\/messages\/events\/(.*)$/.exec(topic);
    if (!m) return;
    const { system, application } = splitSystemProperties(decodePropertyBag(m[2]!));
    const t: ReceivedTelemetry = {
      deviceId: m[1]!,
      messageId: system["$.mid"],
      system,
      properties: application,
      body: payload.toString("utf8"),
      topic,
      receivedAt: Date.now(),
    };
    this.telemetry.push(t);
    this.telemetryListeners.emit(t);
  }
}
