import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { StreamSocket, StreamSocketHandlers, StreamSocketOptions, StreamSocketPort } from "../../src/ports/stream-socket";
import { deviceTlsOptions } from "./node-tls";

export interface NodeStreamSocketOptions {
  /** After close(), wait this long for the peer to finish the TLS/TCP shutdown before destroying (default 2 s). */
  readonly lingerMs?: number;
}

/**
 * StreamSocketPort over node:tls (node:net without `tls`, for tests): the device's MQTT transport on the host, as
 * modules/tls-socket is on the device. The TLS options come from node-tls.ts: the given roots (PEM) and
 * `tls.serverName` — also when `host` is an address —, SNI for DNS names, the client certificate, TLS 1.2+.
 * Nagle is off. Node buffers writes without a bound of its own; what the MQTT client writes is bounded by its flow
 * (at most the outbox window of telemetry unacknowledged, request/response for the twin), so the buffer is too.
 * `close()` flushes what is queued (the DISCONNECT) and ends the connection; `onClose` follows once the peer has
 * closed as well, or after `lingerMs`. `onClose` comes once, with the first error's message as the reason (TLS
 * verification failures included, e.g. "self-signed certificate in certificate chain" or "Hostname/IP does not
 * match certificate's altnames: ...").
 */
export class NodeStreamSocketPort implements StreamSocketPort {
  private readonly lingerMs: number;

  constructor(options: NodeStreamSocketOptions = {}) {
    this.lingerMs = options.lingerMs ?? 2000;
  }

  connect(options: StreamSocketOptions, handlers: StreamSocketHandlers): StreamSocket {
    return new NodeStreamSocket(options, handlers, this.lingerMs);
  }
}

class NodeStreamSocket implements StreamSocket {
  private readonly socket: Socket | TLSSocket;
  private connected = false;
  private closing = false;
  private reported = false;
  private error: string | undefined;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    options: StreamSocketOptions,
    private readonly handlers: StreamSocketHandlers,
    private readonly lingerMs: number,
  ) {
    const { tls } = options;
    if (tls) {
      this.socket = tlsConnect({ host: options.host, port: options.port, ...deviceTlsOptions(tls) });
      this.socket.once("secureConnect", () => this.opened());
    } else {
      this.socket = netConnect({ host: options.host, port: options.port });
      this.socket.once("connect", () => this.opened());
    }
    this.socket.on("data", (data: Buffer) => {
      if (this.reported || this.closing) return;
      this.handlers.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.error ??= error.message || error.code || "socket error";
    });
    this.socket.on("close", () => this.finish());
  }

  write(bytes: Uint8Array): void {
    if (this.closing || this.reported || this.socket.destroyed) return;
    // A copy: the caller may reuse its buffer once write returns; Node may still be holding it.
    this.socket.write(Buffer.from(bytes));
  }

  close(): void {
    if (this.closing || this.reported) return;
    this.closing = true;
    if (!this.connected) {
      this.socket.destroy();
      return;
    }
    // Flush what is queued (the DISCONNECT), send close_notify/FIN, and don't wait long for the peer.
    this.socket.end();
    this.linger = setTimeout(() => this.socket.destroy(), this.lingerMs);
    this.linger.unref();
  }

  private opened(): void {
    if (this.closing || this.reported) return;
    this.connected = true;
    this.socket.setNoDelay(true);
    this.handlers.onConnect();
  }

  private finish(): void {
    if (this.reported) return;
    this.reported = true;
    if (this.linger) clearTimeout(this.linger);
    const reason = this.error ?? (this.closing ? "closed" : this.connected ? "connection closed by the peer" : "connection closed before it was established");
    this.handlers.onClose(reason);
  }
}
