import type { TlsCredentials } from "./mqtt";

/**
 * A streaming HTTPS GET (firmware images: far larger than RAM). The body arrives in chunks through
 * callbacks and is never buffered whole; there is no backpressure, so `onData` must consume each chunk
 * synchronously (the OTA writer writes it to flash at once).
 */
export interface HttpStreamRequest {
  /** Host name: DNS, SNI and certificate check. */
  readonly host: string;
  readonly port: number;
  /** Connect here instead of resolving host:port (a local run); host is still used for SNI and the certificate. */
  readonly route?: { readonly address: string; readonly port: number };
  /** Path and query, starting with "/". */
  readonly path: string;
  /** Extra request headers; the adapter adds Host. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Ask for the body from this byte on (`Range: bytes=N-`); the server may still answer 200 with the whole body. */
  readonly rangeStart?: number;
  /** Trusted roots (adapter encoding: PEM on the host, DER on the device). */
  readonly ca: readonly Uint8Array[];
  readonly client?: Pick<TlsCredentials, "certificate" | "key">;
  /** Connect, TLS and response headers must complete within this; the body has no deadline (the caller watches for stalls). */
  readonly connectTimeoutMs: number;
}

export interface HttpStreamHandlers {
  /** Once, before any data. Header names in lower case. */
  onResponse(status: number, headers: Readonly<Record<string, string>>): void;
  /** A piece of the body; only valid during the call (the adapter may reuse the buffer). */
  onData(chunk: Uint8Array): void;
  /** The body ended as the server framed it (Content-Length reached, or the last chunk of a chunked body). */
  onEnd(): void;
  /** Network, TLS, timeout or framing error (a connection closed before the body was complete included). */
  onError(error: Error): void;
}

export interface HttpStream {
  /** Closes the connection; no handler is called afterwards. Idempotent. */
  abort(): void;
}

export interface HttpStreamClient {
  /**
   * Starts a GET. Exactly one of onEnd / onError is called (after onResponse for onEnd), unless aborted.
   * Handlers are never called synchronously from within get().
   */
  get(request: HttpStreamRequest, handlers: HttpStreamHandlers): HttpStream;
}
