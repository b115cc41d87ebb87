import { isIP } from "node:net";
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from "node:tls";

/** What a device connection trusts and presents: the host's form of the ports' TLS material (PEM). */
export interface DeviceTlsOptions {
  /** The logical server name: SNI (DNS names only) and the certificate's name check, wherever the socket goes. */
  readonly serverName: string;
  /** Trusted roots, PEM. */
  readonly ca: readonly Uint8Array[];
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly certificate?: Uint8Array | undefined;
  readonly key?: Uint8Array | undefined;
}

/**
 * The one place for the TLS options of every device connection on the host (MQTT over NodeStreamSocketPort, the
 * HTTPS adapters): the server certificate checked against exactly the given roots (rejectUnauthorized) and the
 * logical name — also when `host` is an address or a route sends the socket to loopback —, SNI only for DNS names
 * (RFC 6066), an optional client certificate, TLS 1.2 or newer.
 */
export function deviceTlsOptions(options: DeviceTlsOptions): ConnectionOptions {
  const name = options.serverName;
  return {
    ...(isIP(name) ? {} : { servername: name }),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert),
    ca: options.ca.map((c) => Buffer.from(c)),
    ...(options.certificate ? { cert: Buffer.from(options.certificate) } : {}),
    ...(options.key ? { key: Buffer.from(options.key) } : {}),
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  };
}
