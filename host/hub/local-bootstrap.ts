import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";

/**
 * The bootstrap service as the firmware assumes it (src/bootstrap/bootstrap-contract.ts), for local runs:
 * `GET /api/v1/devices/{id}/assignment` over mutual TLS answers the hub to use, for the device whose
 * certificate CN is {id} only.
 */
export class LocalBootstrap {
  readonly requests: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(options: { ca: Buffer; cert: Buffer; key: Buffer; hubHostName: string }): Promise<LocalBootstrap> {
    let self: LocalBootstrap | undefined;
    const server = createServer({ ca: options.ca, cert: options.cert, key: options.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      self?.requests.push(`${req.method} ${req.url}`);
      const m = /^\/api\/v1\/devices\/([^/]+)\/assignment$/.exec(req.url ?? "");
      const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
      if (req.method !== "GET" || !m) {
        res.writeHead(404).end();
        return;
      }
      const deviceId = decodeURIComponent(m[1]!);
      if (deviceId !== cn) {
        res.writeHead(403).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ deviceId, hubHostName: options.hubHostName }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    self = new LocalBootstrap(server);
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
