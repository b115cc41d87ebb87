/**
 * A TCP connection, TLS by default: the byte stream under the portable MQTT client. Host names are
 * resolved by the adapter. Every callback comes from the platform's event loop, never re-entrantly from
 * `write` or `close`.
 */
export interface StreamTlsOptions {
  /** Name for SNI and the certificate check. */
  readonly serverName: string;
  /** Trusted roots (adapter encoding: PEM on the host, DER on the device). */
  readonly ca: readonly Uint8Array[];
  /** Client certificate and key for mutual TLS. */
  readonly certificate?: Uint8Array;
  readonly key?: Uint8Array;
}

export interface StreamSocketOptions {
  readonly host: string;
  readonly port: number;
  /** Absent only for plain TCP (tests); the firmware always uses TLS. */
  readonly tls?: StreamTlsOptions;
}

export interface StreamSocketHandlers {
  /** Connected (and the TLS handshake done). */
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  /** The connection ended or failed (before or after onConnect). Called once; no callbacks follow. */
  onClose(reason: string): void;
}

export interface StreamSocket {
  /** Queues bytes for sending, in order. The adapter buffers what the network cannot take yet. */
  write(bytes: Uint8Array): void;
  /** Closes the connection; `onClose` follows. Idempotent. */
  close(): void;
}

export interface StreamSocketPort {
  connect(options: StreamSocketOptions, handlers: StreamSocketHandlers): StreamSocket;
}
