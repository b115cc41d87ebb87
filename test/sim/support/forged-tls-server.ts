import { createSecureContext, createServer, type SecureContext, type Server, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";

/** What one client connection did: which chain it was shown, whether the handshake finished, what it sent. */
export interface ForgedConnection {
  readonly chain: string;
  readonly serverName: string | undefined;
  handshakeDone: boolean;
  /** Application bytes the client sent after the handshake (an HTTP request, an MQTT CONNECT, ...). */
  received: Buffer;
  tlsError: string | undefined;
}

/**
 * A TLS server on loopback that presents whatever certificate list the test sets (`present`), to every client
 * from then on, and records each connection. It answers nothing: it only shows what a device does when a server
 * presents a forged chain — with a good chain the device's first application bytes arrive here.
 */
export class ForgedTlsServer {
  readonly connections: ForgedConnection[] = [];
  private context: SecureContext;
  private chainName = "";

  private constructor(private readonly server: Server, context: SecureContext) {
    this.context = context;
  }

  static async start(initial: { name: string; certificates: readonly Buffer[]; keyPem: string }): Promise<ForgedTlsServer> {
    let self: ForgedTlsServer | undefined;
    const context = contextFor(initial.certificates, initial.keyPem);
    const server = createServer({
      SNICallback: (_name, done) => done(null, self!.context),
      secureContext: context,
      minVersion: "TLSv1.2",
    });
    self = new ForgedTlsServer(server, context);
    self.chainName = initial.name;
    server.on("secureConnection", (socket: TLSSocket) => {
      const record = self!.record(socket);
      record.handshakeDone = true;
      socket.on("data", (data: Buffer) => {
        record.received = Buffer.concat([record.received, data]);
        socket.destroy(); // enough to know the device trusted us
      });
      socket.on("error", () => {});
    });
    server.on("tlsClientError", (error, socket: TLSSocket) => {
      self!.record(socket).tlsError = error.message;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on, present `certificates` (DER, leaf first) with `keyPem`; `name` labels the connections. */
  present(name: string, certificates: readonly Buffer[], keyPem: string): void {
    this.context = contextFor(certificates, keyPem);
    this.chainName = name;
  }

  /** The connections that were shown the chain called `name`, and asked for `serverName` (SNI). */
  shown(name: string, serverName?: string): ForgedConnection[] {
    return this.connections.filter((c) => c.chain === name && (serverName === undefined || c.serverName === serverName));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(socket: TLSSocket): ForgedConnection {
    const known = (socket as TLSSocket & { forged?: ForgedConnection }).forged;
    if (known) return known;
    const servername = (socket as TLSSocket & { servername?: string | false }).servername;
    const record: ForgedConnection = {
      chain: this.chainName,
      serverName: typeof servername === "string" ? servername : undefined,
      handshakeDone: false,
      received: Buffer.alloc(0),
      tlsError: undefined,
    };
    (socket as TLSSocket & { forged?: ForgedConnection }).forged = record;
    this.connections.push(record);
    return record;
  }
}

function contextFor(certificates: readonly Buffer[], keyPem: string): SecureContext {
  const pem = certificates.map((der) => `-----BEGIN CERTIFICATE-----\n${der.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`).join("");
  return createSecureContext({ cert: pem, key: keyPem });
}
