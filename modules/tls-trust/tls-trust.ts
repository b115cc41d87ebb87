/**
 * Module `ssl/cert`: the certificate manager of the SDK's TLS stack (modules/crypt/ssl), replaced so that the trust
 * decision is the project's own. The SDK's `verify()` accepted a self-signed server certificate followed by a
 * trusted root (it skips links whose signature fails and asks only whether the *last* certificate chains to a
 * root), never checked that issuers are CAs, and trusted every root in the SDK's own store besides the configured
 * ones. This class keeps the interface the SDK's handshake calls (session_419.js, ssl_handshake.js) and leaves the
 * handshake itself unchanged; only `verify()` differs: it hands the server's certificate list to the
 * `serverTrust` given in the connection's `secure` options (src/x509/path-validator.ts) and fails closed.
 *
 * The root manifest excludes the SDK's ssl_cert.js ("~") and maps `ssl/cert` here (modules/tls-trust/manifest.json).
 *
 * Options read (the TLS socket's `secure` options, as the session passes them on):
 * - `serverTrust`: validates the server's list; no `serverTrust` → every server is refused;
 * - `onTrustVerdict(verdict)`: told every decision (the adapters put the reason into their close reason and log);
 * - `tls_server_name` (set by the session from `serverName`): the name checked against the certificate;
 * - `clientCertificates`, `clientKey`: the device's identity for mutual TLS (DER, PKCS#8 DER).
 * `verify: false` is ignored: there is no way to switch the check off.
 */
import X509 from "x509";
import PKCS8 from "pkcs8";
import type { TrustVerdict } from "x509/path-validator";

export interface ServerTrust {
  validate(presented: readonly Uint8Array[], serverName: string, now: number): TrustVerdict;
}

export interface TrustOptions {
  readonly serverTrust?: ServerTrust;
  readonly onTrustVerdict?: (verdict: TrustVerdict) => void;
  readonly tls_server_name?: string;
  readonly clientCertificates?: readonly ArrayBuffer[];
  readonly clientKey?: ArrayBuffer;
}

type Der = ArrayBuffer | Uint8Array;

export default class CertificateManager {
  readonly #options: TrustOptions;
  /** The server's certificate, registered by the handshake once verify() accepted it. */
  #peer: ArrayBuffer | undefined;

  constructor(options: TrustOptions) {
    this.#options = options ?? {};
  }

  verify(certs: readonly Der[], options: TrustOptions): boolean {
    const verdict = decide(certs, options ?? this.#options);
    try {
      (options ?? this.#options).onTrustVerdict?.(verdict);
    } catch {
      // reporting never changes the decision
    }
    return verdict.ok;
  }

  /** The handshake registers the verified server certificate, to ask for its key later. */
  register(cert: ArrayBuffer): void {
    this.#peer = cert;
  }

  /** The server's public key (for its key-exchange signature) or the device's private key (client authentication). */
  getKey(cert?: Der): unknown {
    if (cert !== undefined && this.#peer && same(cert, this.#peer)) return X509.decode(new Uint8Array(this.#peer)).spki;
    const own = this.#options.clientCertificates?.[0];
    const key = this.#options.clientKey;
    if (own && key && (cert === undefined || same(cert, own))) return PKCS8.parse(new Uint8Array(key));
    return undefined;
  }

  /** The client certificates offered when the server asks for one. */
  findPreferredCert(): readonly ArrayBuffer[] {
    return this.#options.clientCertificates ?? [];
  }

  getCerts(): never {
    throw new Error("ssl/cert: acting as a TLS server is not supported");
  }

  getDH(): never {
    throw new Error("ssl/cert: DHE key exchange is disabled in this firmware");
  }

  /** The SDK's process-wide roots: refused, every connection names its own trust. */
  static register(): never {
    throw new Error("ssl/cert: global roots are not supported; pass serverTrust in the secure options");
  }
}

function decide(certs: readonly Der[], options: TrustOptions): TrustVerdict {
  const trust = options.serverTrust;
  const name = options.tls_server_name;
  if (!trust) return { ok: false, reason: "untrusted", position: 0, detail: "no server trust configured for this connection" };
  if (!name) return { ok: false, reason: "name-mismatch", position: 0, detail: "no server name to check the certificate against" };
  try {
    return trust.validate(
      certs.map((c) => (c instanceof Uint8Array ? c : new Uint8Array(c))),
      name,
      Date.now(),
    );
  } catch (error) {
    return { ok: false, reason: "malformed", position: 0, detail: `validation failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function same(a: Der, b: Der): boolean {
  const x = a instanceof Uint8Array ? a : new Uint8Array(a);
  const y = b instanceof Uint8Array ? b : new Uint8Array(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
