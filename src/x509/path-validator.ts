/**
 * Decides whether a TLS server's certificate list proves the server's name (RFC 5280 section 6, reduced to what a
 * device that trusts a handful of roots needs). Fails closed: every refusal carries a reason word for the log
 * and the diagnostics, the position in the path it concerns (0 = the server's own certificate) and a detail.
 *
 * - The path is built from the leaf to a configured trust anchor through the certificates the server sent, in any
 *   order; where several issuers fit, each is tried (bounded by the path length), so an extra or cross-signed
 *   certificate cannot make a good path fail and a bad one never passes.
 * - Every link: issuer name = subject name (DER bytes), authorityKeyIdentifier = subjectKeyIdentifier where both
 *   exist, the signature verified (RSA PKCS#1 v1.5, ECDSA P-256/P-384; SHA-256/384/512) through the injected
 *   SignatureVerifier.
 * - Every issuer, the anchor included: basicConstraints cA TRUE, keyUsage keyCertSign when keyUsage is present,
 *   pathLenConstraint honoured, extKeyUsage (when present) allowing serverAuth.
 * - Every certificate: inside its validity at `now`; no critical extension this validator does not process
 *   (name constraints and policy constraints included: unprocessed, so refused).
 * - The leaf: extKeyUsage (when present) includes serverAuth; the server name matches its subjectAltName.
 */
import type { SignatureVerifier } from "../ports/signature-verifier";
import { bytesEqual } from "../core/bytes";
import { EKU_ANY, EKU_SERVER_AUTH, KEY_USAGE, parseCertificate, type Certificate } from "./certificate";
import { matchesServerName } from "./host-name";
import { rsaKeyProblem } from "../crypto/rsa-pkcs1";

export type TrustFailure =
  | "no-certificate"
  | "malformed"
  | "chain-too-long"
  | "untrusted"
  | "bad-signature"
  | "unsupported-algorithm"
  | "not-a-ca"
  | "path-length-exceeded"
  | "key-usage"
  | "not-server-auth"
  | "expired"
  | "not-yet-valid"
  | "name-mismatch"
  | "unknown-critical-extension"
  | "clock-not-set";

export type TrustVerdict =
  | { readonly ok: true; /** Subject common names from the leaf to the anchor. */ readonly path: readonly string[] }
  | { readonly ok: false; readonly reason: TrustFailure; /** 0 = leaf, 1 = its issuer, ... */ readonly position: number; readonly detail: string };

export interface PathLimits {
  /** Most certificates a server may send (default 8). */
  readonly maxPresented?: number;
  /** Most certificates in a path, leaf and anchor included (default 6). */
  readonly maxPathLength?: number;
}

export const DEFAULT_MAX_PRESENTED = 8;
export const DEFAULT_MAX_PATH_LENGTH = 6;

type Failure = Extract<TrustVerdict, { ok: false }>;

export class CertificatePathValidator {
  private readonly anchors: readonly Certificate[];
  /** Anchors that could not be read (reported, never trusted). */
  readonly anchorProblems: readonly string[];
  private readonly maxPresented: number;
  private readonly maxPathLength: number;

  /** `anchors`: the trusted roots as DER. */
  constructor(anchors: readonly Uint8Array[], private readonly verifier: SignatureVerifier, limits: PathLimits = {}) {
    const parsed: Certificate[] = [];
    const problems: string[] = [];
    anchors.forEach((der, i) => {
      try {
        parsed.push(parseCertificate(der));
      } catch (error) {
        problems.push(`trust anchor ${i}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    this.anchors = parsed;
    this.anchorProblems = problems;
    this.maxPresented = limits.maxPresented ?? DEFAULT_MAX_PRESENTED;
    this.maxPathLength = limits.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH;
  }

  /** `presented`: the server's Certificate message (leaf first); `now`: milliseconds since the epoch. */
  validate(presented: readonly Uint8Array[], serverName: string, now: number): TrustVerdict {
    if (presented.length === 0) return fail("no-certificate", 0, "the server sent no certificate");
    if (presented.length > this.maxPresented) return fail("chain-too-long", presented.length - 1, `${presented.length} certificates sent (at most ${this.maxPresented})`);
    if (!Number.isFinite(now)) return fail("clock-not-set", 0, "no valid time to check certificates against");
    if (this.anchors.length === 0) return fail("untrusted", 0, "no trust anchor configured");
    const certificates: Certificate[] = [];
    for (let i = 0; i < presented.length; i++) {
      try {
        certificates.push(parseCertificate(presented[i]!));
      } catch (error) {
        return fail("malformed", i, `certificate ${i}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const leaf = certificates[0]!;
    const own = checkCertificate(leaf, 0, now);
    if (own) return own;
    if (leaf.extendedKeyUsage && !leaf.extendedKeyUsage.includes(EKU_SERVER_AUTH)) {
      return fail("not-server-auth", 0, `${describe(leaf)} is not for server authentication (extKeyUsage ${leaf.extendedKeyUsage.join(",")})`);
    }
    if (!matchesServerName(leaf.subjectAltName, serverName)) {
      const names = leaf.subjectAltName?.dnsNames.join(",") || "none";
      return fail("name-mismatch", 0, `${serverName} is not among the certificate's names (subjectAltName DNS: ${names})`);
    }
    return this.extend([leaf], [0], certificates, now);
  }

  /** Tries every issuer of the path's last certificate: anchors first, then the certificates sent. */
  private extend(path: Certificate[], used: number[], sent: readonly Certificate[], now: number): TrustVerdict {
    const child = path[path.length - 1]!;
    const position = path.length;
    let firstFailure: Failure | undefined;
    const consider = (issuer: Certificate): Failure | undefined => {
      const failure = this.checkLink(child, issuer, position, now);
      if (failure) firstFailure ??= failure;
      return failure;
    };

    for (const anchor of this.anchors) {
      if (!issues(anchor, child)) continue;
      if (!consider(anchor)) return { ok: true, path: [...path, anchor].map(describe) };
    }
    for (let i = 1; i < sent.length; i++) {
      const candidate = sent[i]!;
      if (used.includes(i) || !issues(candidate, child)) continue;
      if (position + 1 >= this.maxPathLength) {
        firstFailure ??= fail("chain-too-long", position, `a path longer than ${this.maxPathLength} certificates`);
        continue;
      }
      if (consider(candidate)) continue;
      const further = this.extend([...path, candidate], [...used, i], sent, now);
      if (further.ok) return further;
      firstFailure ??= further;
    }
    return firstFailure ?? fail("untrusted", position - 1, `no trusted issuer for ${describe(child)} (issuer not sent and not a trust anchor)`);
  }

  /** Whether `issuer` may have signed `child` at path `position`, and did. */
  private checkLink(child: Certificate, issuer: Certificate, position: number, now: number): Failure | undefined {
    const own = checkCertificate(issuer, position, now);
    if (own) return own;
    const constraints = issuer.basicConstraints;
    if (!constraints?.ca) return fail("not-a-ca", position, `${describe(issuer)} is not a CA (basicConstraints cA is not TRUE)`);
    if (issuer.keyUsage !== undefined && !(issuer.keyUsage & KEY_USAGE.keyCertSign)) {
      return fail("key-usage", position, `${describe(issuer)} may not sign certificates (keyUsage without keyCertSign)`);
    }
    // Intermediate CAs between this issuer and the leaf: position - 1.
    if (constraints.pathLength !== undefined && position - 1 > constraints.pathLength) {
      return fail("path-length-exceeded", position, `${describe(issuer)} allows ${constraints.pathLength} CA(s) below it, the path has ${position - 1}`);
    }
    const eku = issuer.extendedKeyUsage;
    if (eku && !eku.includes(EKU_SERVER_AUTH) && !eku.includes(EKU_ANY)) {
      return fail("not-server-auth", position, `${describe(issuer)} is restricted to other purposes (extKeyUsage ${eku.join(",")})`);
    }
    const algorithm = child.signatureAlgorithm;
    const key = issuer.publicKey;
    if (algorithm.kind === "unsupported") return fail("unsupported-algorithm", position - 1, `${describe(child)} is signed with ${algorithm.oid}`);
    if (key.kind === "unsupported") return fail("unsupported-algorithm", position, `${describe(issuer)} has a ${key.algorithm} key`);
    const keyProblem = key.kind === "rsa" ? rsaKeyProblem(key) : undefined;
    if (keyProblem) return fail("unsupported-algorithm", position, `${describe(issuer)}: ${keyProblem}`);
    if ((algorithm.kind === "ecdsa") !== (key.kind === "ec")) return fail("bad-signature", position - 1, `${describe(child)}: signature algorithm does not fit the issuer's key`);
    if (!this.verifier.verify(algorithm, key, child.tbs, child.signature)) {
      return fail("bad-signature", position - 1, `the signature on ${describe(child)} does not verify with the key of ${describe(issuer)}`);
    }
    return undefined;
  }
}

/** Checks that concern one certificate alone: validity and critical extensions. */
function checkCertificate(certificate: Certificate, position: number, now: number): Failure | undefined {
  if (certificate.unknownCriticalExtensions.length > 0) {
    return fail("unknown-critical-extension", position, `${describe(certificate)} has critical extension(s) ${certificate.unknownCriticalExtensions.join(",")}`);
  }
  if (now < certificate.notBefore) return fail("not-yet-valid", position, `${describe(certificate)} is valid from ${new Date(certificate.notBefore).toISOString()}`);
  if (now > certificate.notAfter) return fail("expired", position, `${describe(certificate)} expired ${new Date(certificate.notAfter).toISOString()}`);
  return undefined;
}

/** Name chaining: issuer DN equal to the subject DN, and key identifiers equal where both are present. */
function issues(issuer: Certificate, child: Certificate): boolean {
  if (!bytesEqual(issuer.subject, child.issuer)) return false;
  if (child.authorityKeyId && issuer.subjectKeyId && !bytesEqual(child.authorityKeyId, issuer.subjectKeyId)) return false;
  return true;
}

function describe(certificate: Certificate): string {
  return certificate.subjectCommonName !== undefined ? `"${certificate.subjectCommonName}"` : "a certificate without a common name";
}

function fail(reason: TrustFailure, position: number, detail: string): Failure {
  return { ok: false, reason, position, detail };
}
