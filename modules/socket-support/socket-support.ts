/**
 * What the two TLS adapters (tls-socket: MQTT; https-client: bootstrap and firmware downloads) share about the
 * SDK's ECMA-419 sockets: narrow types for `embedded:io/socket/tcp` and `embedded:io/socket/tcp/tls` (their
 * typings differ from their code), the `secure` options for the TLS socket, and a delegating socket class the
 * adapters extend to guard the callbacks the SDK's TLS layer and HTTP client run on.
 */
import TLSSocket from "embedded:io/socket/tcp/tls";
import TCP from "embedded:io/socket/tcp";
import { CertificatePathValidator, type TrustVerdict } from "x509/path-validator";
import { PortableSignatureVerifier } from "crypto/signature-verifier";
import { sdkHash } from "adapters/crypto";
import { sessionKey } from "net/tls-session-cache";
import { beginSessionLease, endSessionLease, type SessionLease } from "ssl/cache";

export type { SessionLease };

export type Bytes = ArrayBufferLike | ArrayBufferView;

export interface SdkSocket {
  read(into?: number | Bytes): unknown;
  write(data: Bytes, options?: object): number;
  close(): void;
  format: string;
}

export interface SdkSocketOptions {
  readonly onReadable?: (count: number) => void;
  readonly onWritable?: (count: number) => void;
  readonly onError?: () => void;
  readonly [option: string]: unknown;
}

export type SdkSocketConstructor = new (options: SdkSocketOptions) => SdkSocket;

export const TlsSocketClass = TLSSocket as unknown as SdkSocketConstructor;
export const TcpSocketClass = TCP as unknown as SdkSocketConstructor;
/**
 * The TLS socket's `secure` option. The server's certificates are judged by the project's own path validator
 * (`serverTrust`, read by modules/tls-trust, which replaces the SDK's `ssl/cert`) against exactly the roots in
 * `ca` — no SDK store, no process-wide roots — with signatures checked over the SDK's native hashes;
 * `onTrustVerdict` hears every decision. `serverName` for SNI and the name check; the device certificate and
 * PKCS#8 key for mutual TLS. Throws without a root.
 *
 * Session resumption only with a `lease` (openSessionLease; modules/tls-session-cache replaces the SDK's
 * `ssl/cache`): the lease hears when the chain passed, so that only such a handshake's session is kept; without
 * one the SDK's cache is off for the connection (`cache: false`).
 */
export function tlsSecure(
  ca: readonly Uint8Array[],
  serverName: string,
  client?: { readonly certificate: Uint8Array; readonly key: Uint8Array },
  onTrustVerdict?: (verdict: TrustVerdict) => void,
  lease?: SessionLease,
): Record<string, unknown> {
  if (ca.length === 0) throw new Error("no trusted root certificate");
  const secure: Record<string, unknown> = {
    serverTrust: new CertificatePathValidator(ca, new PortableSignatureVerifier(sdkHash)),
    serverName,
  };
  if (lease) {
    secure.onTrustVerdict = (verdict: TrustVerdict): void => {
      if (verdict.ok) lease.chainAccepted();
      onTrustVerdict?.(verdict);
    };
  } else {
    secure.cache = false;
    if (onTrustVerdict) secure.onTrustVerdict = onTrustVerdict;
  }
  if (client) {
    secure.clientCertificates = [toBuffer(client.certificate)];
    secure.clientKey = toBuffer(client.key);
  }
  return secure;
}

/**
 * Opens the session lease of one TLS connection: its scope is the server name, the address and port connected to,
 * the roots and the client certificate (src/net/tls-session-cache `sessionKey`, SHA-256 over the SDK's native
 * digest). The caller ends it with `closeSessionLease` when the connection ends.
 */
export function openSessionLease(scope: { serverName: string; address: string; port: number; ca: readonly Uint8Array[]; certificate?: Uint8Array | undefined }): SessionLease {
  const key = sessionKey({ serverName: scope.serverName, host: scope.address, port: scope.port, ca: scope.ca, certificate: scope.certificate }, sdkHash);
  return beginSessionLease(scope.serverName, key);
}

/** Ends a lease; `failed` (the connection was never established, or the TLS layer failed) forgets the session. */
export function closeSessionLease(lease: SessionLease, failed: boolean): void {
  endSessionLease(lease, failed);
}

/** A socket that forwards to `socket`, set by the subclass's constructor (which wraps the callbacks first). */
export class SocketDelegate implements SdkSocket {
  protected socket!: SdkSocket;

  read(into?: number | Bytes): unknown {
    return into === undefined ? this.socket.read() : this.socket.read(into);
  }
  write(data: Bytes, options?: object): number {
    return options === undefined ? this.socket.write(data) : this.socket.write(data, options);
  }
  close(): void {
    this.socket.close();
  }
  get format(): string {
    return this.socket.format;
  }
  set format(value: string) {
    this.socket.format = value;
  }
}

/** The whole underlying buffer when the view covers it (no copy, e.g. a flash-resident Resource), else a copy. */
export function toBuffer(bytes: Uint8Array): ArrayBufferLike {
  const buffer = bytes.buffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  return bytes.slice().buffer;
}

/** A refusal as one line for a close reason or an error: "certificate refused: untrusted at 0: ...". */
export function refusalText(verdict: TrustVerdict | undefined): string | undefined {
  return verdict && !verdict.ok ? `certificate refused: ${verdict.reason} at ${verdict.position}: ${verdict.detail}` : undefined;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

export function safely(body: () => void): void {
  try {
    body();
  } catch {
    // best effort
  }
}
