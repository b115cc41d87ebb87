import dgram from "node:dgram";
import type { DatagramHandlers, DatagramPort, DatagramSocket } from "../../src/ports/udp";

/** DatagramPort over node:dgram (IPv4). Host names are resolved by dgram's own lookup on each send. */
export class NodeDatagramPort implements DatagramPort {
  open(handlers: DatagramHandlers): DatagramSocket {
    const socket = dgram.createSocket("udp4");
    let closed = false;
    socket.on("message", (message, remote) => {
      if (!closed) handlers.onMessage(Uint8Array.from(message), { address: remote.address, port: remote.port });
    });
    // Send failures reach the send callback; anything else (e.g. ICMP errors) must not crash the process.
    socket.on("error", () => undefined);
    return {
      send(host: string, port: number, data: Uint8Array): Promise<void> {
        if (closed) return Promise.reject(new Error("datagram socket is closed"));
        return new Promise((resolve, reject) => {
          try {
            socket.send(data, port, host, (error) => (error ? reject(error) : resolve()));
          } catch (error) {
            reject(error);
          }
        });
      },
      close(): void {
        if (closed) return;
        closed = true;
        try {
          socket.close();
        } catch {
          // never bound (nothing was sent) or already closed
        }
      },
    };
  }
}
