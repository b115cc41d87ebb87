import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import {
  MqttConnectError,
  type MqttConnectOptions,
  type MqttConnector,
  type MqttSession,
  type MqttSessionEvents,
  type MqttSubscription,
} from "../../src/ports/mqtt";

/**
 * MQTT port over MQTT.js and Node's TLS. One MQTT.js client per connection, with its own reconnect
 * switched off: reconnection, resending and the outbox belong to the portable core.
 */
export class MqttJsConnector implements MqttConnector {
  constructor(private readonly connectTimeoutMs = 30_000) {}

  connect(options: MqttConnectOptions, events: MqttSessionEvents): Promise<MqttSession> {
    const clientOptions: IClientOptions = {
      protocol: "mqtts",
      host: options.host,
      port: options.port,
      servername: options.serverName ?? options.host,
      protocolVersion: 4,
      clientId: options.clientId,
      username: options.username,
      ...(options.password !== undefined ? { password: options.password } : {}),
      clean: options.cleanSession,
      keepalive: options.keepAliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: this.connectTimeoutMs,
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: true,
      ca: options.tls.ca.map((c) => Buffer.from(c)),
      cert: Buffer.from(options.tls.certificate),
      key: Buffer.from(options.tls.key),
    };
    return new Promise((resolve, reject) => {
      const client = mqtt.connect(clientOptions);
      let connected = false;
      let closed = false;
      let lastError: string | undefined;
      const pending = new Set<(error: Error) => void>();

      client.on("connect", () => {
        connected = true;
        resolve(new MqttJsSession(client, pending));
      });
      client.on("message", (topic, payload) => {
        events.onMessage(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
      });
      client.on("error", (error: Error & { code?: unknown }) => {
        lastError = error.message;
        if (!connected) {
          closed = true;
          client.end(true);
          reject(new MqttConnectError(error.message, typeof error.code === "number" ? error.code : undefined));
        }
      });
      client.on("close", () => {
        if (closed && !connected) return;
        if (!connected) {
          closed = true;
          client.end(true);
          reject(new MqttConnectError(lastError ?? "connection closed before CONNACK"));
          return;
        }
        if (closed) return;
        closed = true;
        const reason = lastError ?? "connection closed";
        // With clean=false MQTT.js would keep unacknowledged publishes for its own resend; fail them instead.
        const error = new Error(reason);
        for (const fail of pending) fail(error);
        pending.clear();
        client.end(true);
        events.onClose(reason);
      });
    });
  }
}

class MqttJsSession implements MqttSession {
  constructor(
    private readonly client: MqttClient,
    private readonly pending: Set<(error: Error) => void>,
  ) {}

  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    return this.track((done) => this.client.publish(topic, Buffer.from(payload), { qos }, (error) => done(error)));
  }

  subscribe(subscriptions: readonly MqttSubscription[]): Promise<number[]> {
    const map: Record<string, { qos: 0 | 1 }> = {};
    for (const s of subscriptions) map[s.topic] = { qos: s.qos };
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.pending.add(fail);
      this.client.subscribe(map, (error, granted) => {
        this.pending.delete(fail);
        // A SUBACK with 0x80 comes back as an error carrying the packet: report it as granted codes.
        const codes = (error as { packet?: { granted?: number[] } } | undefined)?.packet?.granted;
        if (error && codes?.length !== subscriptions.length) reject(error);
        else if (codes) resolve(codes);
        else resolve(subscriptions.map((s) => granted?.find((g) => g.topic === s.topic)?.qos ?? 128));
      });
    });
  }

  close(): void {
    this.client.end(true);
  }

  private track(start: (done: (error?: Error) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      this.pending.add(fail);
      start((error) => {
        this.pending.delete(fail);
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      });
    });
  }
}
