import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** A loopback TCP forwarder whose connections a test can cut at will. */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  connections = 0;
  /** While true, new connections are reset at once (the peer is unreachable). */
  refusing = false;
  /** Where new connections go (loopback); change it to put another server behind the same port. */
  targetPort = 0;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (proxy!.refusing) {
        client.resetAndDestroy();
        return;
      }
      proxy!.connections++;
      const upstream = connect(proxy!.targetPort, "127.0.0.1");
      proxy!.track(client);
      proxy!.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end);
      upstream.on("error", end);
      client.on("close", end);
      upstream.on("close", end);
    });
    proxy = new TcpProxy(server);
    proxy.targetPort = targetPort;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Resets every connection through the proxy (both directions), as a dropped Wi-Fi link would. */
  cutAll(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }
}
