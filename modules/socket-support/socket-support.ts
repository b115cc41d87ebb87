/**
 * What the two TLS adapters (tls-socket: MQTT; https-client: bootstrap and firmware downloads) share about the
 * SDK's ECMA-419 sockets: narrow types for `embedded:io/socket/tcp` and `embedded:io/socket/tcp/tls` (their
 * typings differ from their code), the `secure` options for the TLS socket, and a delegating socket class the
 * adapters extend to guard the callbacks the SDK's TLS layer and HTTP client run on.
 */
import TLSSocket from "embedded:io/socket/tcp/tls";
import TCP from "embedded:io/socket/tcp";
import CertificateManagerModule from "ssl/cert";

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
const CertificateManager = CertificateManagerModule as unknown as { register(certificate: ArrayBufferLike): void };

/**
 * The TLS socket's `secure` option: the first trusted root as `certificate` (the TLS layer takes one per
 * connection), the others registered with the SDK's certificate manager (consulted for every connection of the
 * VM; idempotent); `serverName` for SNI and the subjectAltName check; the device certificate and PKCS#8 key for
 * mutual TLS. Throws without a root.
 */
export function tlsSecure(ca: readonly Uint8Array[], serverName: string, client?: { readonly certificate: Uint8Array; readonly key: Uint8Array }): Record<string, unknown> {
  if (ca.length === 0) throw new Error("no trusted root certificate");
  for (let i = 1; i < ca.length; i++) CertificateManager.register(toBuffer(ca[i]!));
  const secure: Record<string, unknown> = { certificate: toBuffer(ca[0]!), serverName };
  if (client) {
    secure.clientCertificates = [toBuffer(client.certificate)];
    secure.clientKey = toBuffer(client.key);
  }
  return secure;
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
