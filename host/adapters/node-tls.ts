import { X509Certificate, createHash } from "node:crypto";
import { isIP } from "node:net";
import { checkServerIdentity, type ConnectionOptions, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";
import { CertificatePathValidator } from "../../src/x509/path-validator";
import { PortableSignatureVerifier } from "../../src/crypto/signature-verifier";
import type { HashFactory } from "../../src/crypto/sha2";

/** What a device connection trusts and presents: the host's form of the ports' TLS material (PEM). */
export interface DeviceTlsOptions {
  /** The logical server name: SNI (DNS names only) and the certificate's name check, wherever the socket goes. */
  readonly serverName: string;
  /** Trusted roots, PEM. */
  readonly ca: readonly Uint8Array[];
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly certificate?: Uint8Array | undefined;
  readonly key?: Uint8Array | undefined;
  /**
   * Called when a full handshake's server chain passed both checks (not on a resumed session: Node does not call
   * checkServerIdentity then, and the peer certificate is empty — the resumed session stands on the check of the
   * handshake that made it). NodeStreamSocketPort stores sessions only from such connections.
   */
  readonly onChainAccepted?: (() => void) | undefined;
}

/**
 * The one place for the TLS options of every device connection on the host (MQTT over NodeStreamSocketPort, the
 * HTTPS adapters): the server certificate checked against exactly the given roots (rejectUnauthorized) and the
 * logical name — also when `host` is an address or a route sends the socket to loopback —, SNI only for DNS names
 * (RFC 6066), an optional client certificate, TLS 1.2 or newer.
 *
 * The server's chain must pass two checks: OpenSSL's (Node's own) and then the firmware's certificate path
 * validator (src/x509), the decision the device makes — so the host simulation refuses what the device refuses,
 * with the same reason ("certificate refused: <reason> at <position>: <detail>" as the connection's error). The
 * validator sees the path OpenSSL built (leaf to root), not the server's list verbatim.
 */
export function deviceTlsOptions(options: DeviceTlsOptions): ConnectionOptions {
  const name = options.serverName;
  const validator = new CertificatePathValidator(
    options.ca.map((c) => new Uint8Array(new X509Certificate(Buffer.from(c)).raw)),
    new PortableSignatureVerifier(nodeHash),
  );
  return {
    ...(isIP(name) ? {} : { servername: name }),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const refusal = checkServerIdentity(name, cert) ?? firmwareVerdict(validator, name, cert);
      if (!refusal) options.onChainAccepted?.();
      return refusal;
    },
    ca: options.ca.map((c) => Buffer.from(c)),
    ...(options.certificate ? { cert: Buffer.from(options.certificate) } : {}),
    ...(options.key ? { key: Buffer.from(options.key) } : {}),
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  };
}

/** SHA-2 from node:crypto for the validator's signature checks. */
export const nodeHash: HashFactory = (name) => {
  const hash = createHash(name.replace("-", "").toLowerCase());
  return {
    update: (data: Uint8Array) => void hash.update(data),
    digest: () => new Uint8Array(hash.digest()),
  };
};

function firmwareVerdict(validator: CertificatePathValidator, name: string, cert: PeerCertificate): Error | undefined {
  const verdict = validator.validate(peerChain(cert), name, Date.now());
  return verdict.ok ? undefined : new Error(`certificate refused: ${verdict.reason} at ${verdict.position}: ${verdict.detail}`);
}

/** The verified path Node hands to checkServerIdentity (detailed: each certificate links to its issuer). */
function peerChain(cert: PeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let current: DetailedPeerCertificate | undefined = cert as DetailedPeerCertificate;
  while (current?.raw && chain.length < 16) {
    chain.push(new Uint8Array(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (!next || next === current || next.fingerprint256 === current.fingerprint256) break;
    current = next;
  }
  return chain;
}
