import { createServer, type Server, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { Aedes, type Client } from "aedes";
import { Listeners } from "../../src/core/listeners";
import { DEVICE_SCOPE, deviceMayReceive, deviceMaySubscribe, devicePublishTopic, isValidIdentity, parseDeviceScoped, serviceMayPublish, serviceMaySubscribe, toDeviceFilter, TO_DEVICE_FILTERS } from "./topic-rules";

/**
 * An MQTT broker in the host process, for `npm start` with nothing installed: TLS with required
 * client certificates (the certificate CN is the identity, a valid device id), client id must equal the CN,
 * and each device is confined as on IoT Hub (see topic-rules.ts):
 * - SUBSCRIBE only `devices/{id}/messages/devicebound/#`, `$iothub/twin/res/#`, `$iothub/methods/POST/#` and
 *   `$iothub/twin/PATCH/properties/desired/#`; anything else is granted 0x80 (the connection stays up);
 * - PUBLISH (QoS 0 or 1) only its telemetry `devices/{id}/messages/events/...`, twin GET and reported PATCH
 *   requests and method responses (`?$rid=` required); anything else closes the connection, as IoT Hub does.
 *   Its `$iothub` requests reach the service as `$device/{id}/$iothub/...`, so no other device sees them;
 * - receives only its cloud-to-device messages and what the service addressed to it: the service publishes
 *   `$device/{id}/$iothub/...` and the broker delivers that to {id}'s connection alone, if it subscribed.
 * Identities in `serviceIdentities` (the local hub's service side) may publish only cloud-to-device messages
 * and the scoped twin responses, desired patches and method calls, and subscribe only to telemetry and the
 * scoped device requests.
 *
 * TLS 1.2 sessions are kept by ID (`SessionIdCache`), as OpenSSL servers such as mosquitto do, so the device
 * build's TLS client (session IDs only, no tickets) can resume; TLS 1.3 clients resume by Node's tickets. A resumed
 * session carries the client certificate it was made with (OpenSSL keeps it in the session), so the identity is
 * the same as on the full handshake.
 */
export interface EmbeddedBrokerOptions {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly host?: string;
  readonly port?: number;
  readonly serviceIdentities: readonly string[];
}

const identities = new WeakMap<Client, string | undefined>();

/** TLS 1.2 sessions by ID for resumption: at most `max`, each for `lifetimeMs` (the oldest goes first). */
class SessionIdCache {
  private readonly sessions = new Map<string, { readonly data: Buffer; readonly at: number }>();

  constructor(
    private readonly max = 256,
    private readonly lifetimeMs = 2 * 60 * 60 * 1000,
  ) {}

  attach(server: Server): void {
    server.on("newSession", (id: Buffer, data: Buffer, done: () => void) => {
      const key = id.toString("hex");
      this.sessions.delete(key);
      if (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(key, { data, at: Date.now() });
      done();
    });
    server.on("resumeSession", (id: Buffer, done: (error: Error | null, data: Buffer | null) => void) => {
      const key = id.toString("hex");
      const entry = this.sessions.get(key);
      const fresh = entry !== undefined && Date.now() - entry.at <= this.lifetimeMs;
      if (entry && !fresh) this.sessions.delete(key);
      done(null, fresh ? entry.data : null);
    });
  }
}

/** The CN of the client's certificate (the TLS server requires one from the CA). */
function identityOf(client: Client | null): string | undefined {
  if (!client) return undefined;
  if (identities.has(client)) return identities.get(client);
  const conn = client.conn as TLSSocket | undefined;
  if (!conn || typeof conn.getPeerCertificate !== "function") return undefined;
  const cn = conn.getPeerCertificate()?.subject?.CN;
  const identity = Array.isArray(cn) ? cn[0] : cn;
  identities.set(client, identity);
  return identity;
}

type ToDeviceFilter = (typeof TO_DEVICE_FILTERS)[number];

/**
 * A client's MQTT session began (CONNECT accepted) or ended. `clean`: the client ended it with DISCONNECT
 * (MQTT 3.1.1 §3.14); otherwise the connection was lost or closed without one (a will would be published).
 */
export type BrokerSessionEvent = { readonly clientId: string; readonly state: "connected" } | { readonly clientId: string; readonly state: "disconnected"; readonly clean: boolean };

/** A client's PUBLISH as the broker took it in, with the time (Date.now()). */
export interface BrokerPublishEvent {
  readonly clientId: string;
  readonly topic: string;
  readonly qos: number;
  readonly payload: Buffer;
  readonly at: number;
}

export class EmbeddedBroker {
  /** TLS connections accepted so far. */
  connections = 0;
  /** Every session start and end, in order. */
  readonly sessions: BrokerSessionEvent[] = [];
  private readonly sessionListeners = new Listeners<BrokerSessionEvent>();
  private readonly publishListeners = new Listeners<BrokerPublishEvent>();

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
    private readonly devices: Map<string, Client>,
    private readonly routed: WeakMap<Client, Map<ToDeviceFilter, number>>,
  ) {
    broker.on("client", (client) => {
      devices.set(client.id, client);
      this.record({ clientId: client.id, state: "connected" });
    });
    // aedes sets `_disconnected` only when the session ended with a valid DISCONNECT packet (it then skips the will).
    broker.on("clientDisconnect", (client) => {
      if (devices.get(client.id) === client) devices.delete(client.id);
      this.record({ clientId: client.id, state: "disconnected", clean: (client as Client & { _disconnected?: boolean })._disconnected === true });
    });
    // Emitted as the broker takes a client's PUBLISH in, which is when it sends a QoS 1 PUBACK (the bench times these).
    broker.on("publish", (packet, client) => {
      if (client) this.publishListeners.emit({ clientId: client.id, topic: packet.topic, qos: packet.qos, payload: Buffer.from(packet.payload), at: Date.now() });
    });
    broker.on("unsubscribe", (filters, client) => {
      for (const filter of filters) routed.get(client)?.delete(filter as ToDeviceFilter);
    });
  }

  /** Delivers what the service published on `$device/{id}/$iothub/...` to {id}'s connection alone, under the device-facing topic. */
  private route(packet: { topic: string; payload: Buffer | string; qos: 0 | 1 | 2 }, done: () => void): void {
    const scoped = parseDeviceScoped(packet.topic);
    const filter = scoped && toDeviceFilter(scoped.topic);
    const client = scoped && this.devices.get(scoped.deviceId);
    const granted = client && filter && !client.closed ? this.routed.get(client)?.get(filter) : undefined;
    if (!scoped || granted === undefined || !client) {
      done(); // not connected or not subscribed: IoT Hub, too, sends these only to a connected, subscribed device
      return;
    }
    const qos = Math.min(packet.qos, granted, 1) as 0 | 1;
    client.publish({ cmd: "publish", topic: scoped.topic, payload: packet.payload, qos, retain: false, dup: false }, () => undefined);
    done();
  }

  /** Every PUBLISH a client sent (after authorisation; device `$iothub` topics as scoped for the service). */
  onPublish(listener: (event: BrokerPublishEvent) => void): () => void {
    return this.publishListeners.add(listener);
  }

  onSession(listener: (event: BrokerSessionEvent) => void): () => void {
    return this.sessionListeners.add(listener);
  }

  private record(event: BrokerSessionEvent): void {
    this.sessions.push(event);
    this.sessionListeners.emit(event);
  }

  static async start(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const services = new Set(options.serviceIdentities);
    const devices = new Map<string, Client>();
    /** The to-device `$iothub` filters each device connection subscribed to, with the QoS granted. */
    const routed = new WeakMap<Client, Map<ToDeviceFilter, number>>();
    const broker = await Aedes.createBroker({
      authenticate: (client, _username, _password, done) => {
        const identity = identityOf(client);
        if (!identity || identity !== client.id || !isValidIdentity(identity)) {
          const error = Object.assign(new Error(`client id ${client.id} does not match certificate ${identity}`), { returnCode: 5 as const });
          done(error, false);
          return;
        }
        done(null, true);
      },
      // Also asked for a will when the connection ends without DISCONNECT: a refused will is not published.
      authorizePublish: (client, packet, done) => {
        const identity = identityOf(client);
        const refuse = () => done(new Error(`${identity ?? "?"} is not authorised to publish to ${packet.topic}`)); // IoT Hub, too, drops the connection
        if (!client || !identity) return refuse();
        if (services.has(identity)) return serviceMayPublish(packet.topic) ? done(null) : refuse();
        const topic = devicePublishTopic(identity, packet.topic);
        if (topic === undefined || packet.qos > 1) return refuse(); // QoS 2 closes the connection on IoT Hub
        packet.topic = topic; // `$iothub` requests go to the service scoped to this device
        packet.retain = false; // IoT Hub stores no retained message
        done(null);
      },
      authorizeSubscribe: (client, subscription, done) => {
        const identity = identityOf(client);
        if (identity && services.has(identity) && serviceMaySubscribe(subscription.topic)) return done(null, subscription);
        if (identity && !services.has(identity) && deviceMaySubscribe(identity, subscription.topic)) {
          const filter = TO_DEVICE_FILTERS.find((f) => f === subscription.topic);
          if (filter) {
            let filters = routed.get(client);
            if (!filters) routed.set(client, (filters = new Map()));
            filters.set(filter, subscription.qos);
          }
          return done(null, subscription);
        }
        done(null, null); // SUBACK 0x80 (refused), as IoT Hub answers; the connection stays up
      },
      // The last gate before a device receives anything (also for messages queued for a persistent session).
      authorizeForward: (client, packet) => {
        const identity = identityOf(client);
        if (identity && services.has(identity)) return packet.topic.startsWith("$SYS/") ? null : packet;
        return identity && deviceMayReceive(identity, packet.topic) ? packet : null;
      },
    });
    let self: EmbeddedBroker | undefined;
    // sessionTimeout: 2 h as OpenSSL's default for TLS (mosquitto), not Node's 5 min.
    const server = createServer({ ca: options.ca, cert: options.cert, key: options.key, requestCert: true, rejectUnauthorized: true, sessionTimeout: 7200 }, (socket) => {
      if (self) self.connections++;
      broker.handle(socket);
    });
    server.on("tlsClientError", () => undefined); // a refused client certificate is the client's problem
    new SessionIdCache().attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
    self = new EmbeddedBroker(broker, server, devices, routed);
    const router = self;
    await new Promise<void>((resolve) => broker.subscribe(`${DEVICE_SCOPE}+/$iothub/#`, (packet, cb) => router.route(packet, cb), resolve));
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
