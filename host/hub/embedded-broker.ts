import { createServer, type Server, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { Aedes, type Client } from "aedes";
import { Listeners } from "../../src/core/listeners";

/**
 * An MQTT broker in the host process, for `npm start` with nothing installed: TLS with required
 * client certificates (the certificate CN is the identity), client id must equal the CN, and each
 * device may only use its own `devices/{id}/...` tree and the `$iothub/...` topics, as on IoT Hub.
 * Identities in `serviceIdentities` (the local hub) may use every topic.
 */
export interface EmbeddedBrokerOptions {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly host?: string;
  readonly port?: number;
  readonly serviceIdentities: readonly string[];
}

function identityOf(client: Client | null): string | undefined {
  const conn = client?.conn as TLSSocket | undefined;
  if (!conn || typeof conn.getPeerCertificate !== "function") return undefined;
  const cn = conn.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

function deviceMayUse(identity: string, topic: string): boolean {
  return topic.startsWith(`devices/${identity}/`) || topic.startsWith("$iothub/");
}

/**
 * A client's MQTT session began (CONNECT accepted) or ended. `clean`: the client ended it with DISCONNECT
 * (MQTT 3.1.1 §3.14); otherwise the connection was lost or closed without one (a will would be published).
 */
export type BrokerSessionEvent = { readonly clientId: string; readonly state: "connected" } | { readonly clientId: string; readonly state: "disconnected"; readonly clean: boolean };

export class EmbeddedBroker {
  /** TLS connections accepted so far. */
  connections = 0;
  /** Every session start and end, in order. */
  readonly sessions: BrokerSessionEvent[] = [];
  private readonly sessionListeners = new Listeners<BrokerSessionEvent>();

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
  ) {
    broker.on("client", (client) => this.record({ clientId: client.id, state: "connected" }));
    // aedes sets `_disconnected` only when the session ended with a valid DISCONNECT packet (it then skips the will).
    broker.on("clientDisconnect", (client) => this.record({ clientId: client.id, state: "disconnected", clean: (client as Client & { _disconnected?: boolean })._disconnected === true }));
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
    const broker = await Aedes.createBroker({
      authenticate: (client, _username, _password, done) => {
        const identity = identityOf(client);
        if (!identity || identity !== client.id) {
          const error = Object.assign(new Error(`client id ${client.id} does not match certificate ${identity}`), { returnCode: 5 as const });
          done(error, false);
          return;
        }
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        const identity = identityOf(client);
        if (client && identity && (services.has(identity) || deviceMayUse(identity, packet.topic))) done(null);
        else done(new Error(`not authorised to publish to ${packet.topic}`)); // IoT Hub, too, drops the connection
      },
      authorizeSubscribe: (client, subscription, done) => {
        const identity = identityOf(client);
        if (identity && (services.has(identity) || deviceMayUse(identity, subscription.topic))) done(null, subscription);
        else done(null, null); // SUBACK 0x80 (refused), as IoT Hub answers; the connection stays up
      },
    });
    let self: EmbeddedBroker | undefined;
    const server = createServer({ ca: options.ca, cert: options.cert, key: options.key, requestCert: true, rejectUnauthorized: true }, (socket) => {
      if (self) self.connections++;
      broker.handle(socket);
    });
    server.on("tlsClientError", () => undefined); // a refused client certificate is the client's problem
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
    self = new EmbeddedBroker(broker, server);
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
