/**
 * DatagramPort (src/ports/udp.ts) over the ECMA-419 UDP socket, `embedded:io/socket/udp` (SDK 8.2.3: lwIP on
 * esp32, BSD sockets polled every 20 ms on lin). Used by SNTP.
 *
 * - One UDP socket per `open()`, bound to an ephemeral port by the first send, closed by `close()`.
 * - `send(host, ...)` resolves the name first (`adapters/name-resolver`: the system resolver; IPv4 literals and
 *   "localhost" skip the look-up) and rejects with NameNotResolvedError when it does not resolve, so the caller
 *   can fail over. The SDK's sockets take IPv4 addresses only (lin: inet_addr(), lwIP: an address literal).
 * - Received datagrams are handed to `onMessage` from a promise job, not from inside the socket's host callback:
 *   an exception there would abort the VM, and the handler runs on a fresh, shallow stack.
 * - Nothing throws out of `open`, `send` or `close`: socket creation and write failures reject the send.
 */
import UDP from "embedded:io/socket/udp";
import type { DatagramHandlers, DatagramPort, DatagramSocket } from "ports/udp";
import type { Logger } from "ports/logger";
import { DEFAULT_RESOLVE_TIMEOUT_MS, resolveIPv4 } from "adapters/name-resolver";

// ---- the socket's real API (narrow local types; the typings lack close()) ---------------------------------------

export interface Datagram extends ArrayBuffer {
  readonly address: string;
  readonly port: number;
}

export interface UdpSocket {
  read(): Datagram | undefined;
  write(data: ArrayBufferLike | ArrayBufferView, address: string, port: number): void;
  close(): void;
}

export interface UdpSocketOptions {
  readonly port?: number;
  readonly onReadable?: (this: UdpSocket, packets: number) => void;
  readonly onError?: (this: UdpSocket) => void;
}

export const UdpSocketClass = UDP as unknown as new (options: UdpSocketOptions) => UdpSocket;

export interface ModdableDatagramPortOptions {
  /** A name look-up that takes longer fails the send (default 10 s). */
  readonly resolveTimeoutMs?: number;
  /** Diagnostics (debug for dropped datagrams, warn for faults). */
  readonly logger?: Logger;
}

export class ModdableDatagramPort implements DatagramPort {
  private readonly resolveTimeoutMs: number;
  private readonly logger: Logger | undefined;

  constructor(options: ModdableDatagramPortOptions = {}) {
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
    this.logger = options.logger;
  }

  open(handlers: DatagramHandlers): DatagramSocket {
    return new ModdableDatagramSocket(handlers, this.resolveTimeoutMs, this.logger);
  }
}

class ModdableDatagramSocket implements DatagramSocket {
  private socket: UdpSocket | undefined;
  private failure: string | undefined;
  private closed = false;

  constructor(
    private readonly handlers: DatagramHandlers,
    private readonly resolveTimeoutMs: number,
    private readonly logger: Logger | undefined,
  ) {
    try {
      const self = this;
      this.socket = new UdpSocketClass({
        onReadable(packets: number) {
          self.onReadable(this, packets);
        },
      });
    } catch (error) {
      // Reported by every send (the port's open() has no way to fail).
      this.failure = `cannot open a UDP socket: ${message(error)}`;
      this.log("warn", "cannot open a UDP socket", { error: message(error) });
    }
  }

  send(host: string, port: number, data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error("datagram socket is closed"));
    if (this.failure !== undefined) return Promise.reject(new Error(this.failure));
    if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new RangeError(`invalid UDP port ${String(port)}`));
    return resolveIPv4(host, this.resolveTimeoutMs).then((address) => {
      const socket = this.socket;
      if (this.closed || !socket) throw new Error("datagram socket is closed");
      try {
        socket.write(data, address, port);
      } catch (error) {
        throw new Error(`UDP send to ${host} (${address}:${port}) failed: ${message(error)}`);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket?.close();
    } catch (error) {
      this.log("warn", "closing the UDP socket failed", { error: message(error) });
    }
  }

  /** The socket's host callback: read everything now, deliver later. Never throws. */
  private onReadable(socket: UdpSocket, packets: number): void {
    try {
      for (let i = 0; i < packets; i++) {
        const datagram = socket.read();
        if (!datagram) break;
        if (this.closed) continue; // drain and drop
        const data = new Uint8Array(datagram);
        const from = { address: datagram.address, port: datagram.port };
        Promise.resolve().then(() => {
          if (this.closed) return;
          try {
            this.handlers.onMessage(data, from);
          } catch (error) {
            this.log("warn", "datagram handler failed", { error: message(error) });
          }
        });
      }
    } catch (error) {
      this.log("warn", "reading a datagram failed", { error: message(error) });
    }
  }

  private log(level: "debug" | "warn", text: string, fields?: Record<string, string | number | undefined>): void {
    try {
      this.logger?.log(level, "udp", text, fields);
    } catch {
      // logging never breaks the socket
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
