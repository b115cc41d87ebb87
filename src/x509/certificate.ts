/**
 * The X.509 v3 fields the path validator decides on (RFC 5280), read strictly from DER. Names are kept as their
 * DER bytes (compared byte for byte); extensions the validator does not process are only recorded by OID and
 * criticality, so that an unknown critical one can be refused.
 */
import { bytesEqual } from "../core/bytes";
import { DerError, DerReader, TAG, bitStringBytes, booleanValue, contextTag, namedBits, oidText, parseOne, smallInteger, timeValue, unsignedInteger, type DerElement } from "./der";

export type Curve = "P-256" | "P-384";
export type HashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";

export type PublicKey =
  | { readonly kind: "rsa"; readonly modulus: Uint8Array; readonly exponent: Uint8Array }
  | { readonly kind: "ec"; readonly curve: Curve; readonly point: Uint8Array }
  | { readonly kind: "unsupported"; readonly algorithm: string };

export type SignatureAlgorithm =
  | { readonly kind: "rsa-pkcs1"; readonly hash: HashAlgorithm }
  | { readonly kind: "ecdsa"; readonly hash: HashAlgorithm }
  | { readonly kind: "unsupported"; readonly oid: string };

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength: number | undefined;
}

export interface SubjectAltName {
  readonly dnsNames: readonly string[];
  /** iPAddress entries (4 bytes IPv4, 16 bytes IPv6). */
  readonly ipAddresses: readonly Uint8Array[];
}

export interface Certificate {
  readonly der: Uint8Array;
  /** The signed part (tbsCertificate, whole element). */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly version: number;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  /** The subject's commonName, for log lines only (never used to match a host name). */
  readonly subjectCommonName: string | undefined;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: PublicKey;
  readonly basicConstraints: BasicConstraints | undefined;
  /** keyUsage as bits (KEY_USAGE), undefined without the extension. */
  readonly keyUsage: number | undefined;
  /** extKeyUsage purposes as dotted OIDs, undefined without the extension. */
  readonly extendedKeyUsage: readonly string[] | undefined;
  readonly subjectAltName: SubjectAltName | undefined;
  readonly authorityKeyId: Uint8Array | undefined;
  readonly subjectKeyId: Uint8Array | undefined;
  /** OIDs of critical extensions this parser does not process. */
  readonly unknownCriticalExtensions: readonly string[];
}

export const KEY_USAGE = { digitalSignature: 1 << 0, keyEncipherment: 1 << 2, keyCertSign: 1 << 5 } as const;
export const EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
export const EKU_ANY = "2.5.29.37.0";

const OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  prime256v1: "1.2.840.10045.3.1.7",
  secp384r1: "1.3.132.0.34",
  commonName: "2.5.4.3",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

const SIGNATURE_ALGORITHMS: Readonly<Record<string, SignatureAlgorithm>> = {
  "1.2.840.113549.1.1.11": { kind: "rsa-pkcs1", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { kind: "rsa-pkcs1", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { kind: "rsa-pkcs1", hash: "SHA-512" },
  "1.2.840.10045.4.3.2": { kind: "ecdsa", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { kind: "ecdsa", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { kind: "ecdsa", hash: "SHA-512" },
};

/** Parses one DER certificate; throws DerError when it is not a well-formed X.509 certificate. */
export function parseCertificate(der: Uint8Array): Certificate {
  const certificate = DerReader.of(parseOne(der, TAG.SEQUENCE), TAG.SEQUENCE);
  const tbsElement = certificate.read(TAG.SEQUENCE);
  const outerAlgorithm = certificate.read(TAG.SEQUENCE);
  const signature = bitStringBytes(certificate.read(TAG.BIT_STRING));
  certificate.end("the certificate");

  const tbs = DerReader.of(tbsElement, TAG.SEQUENCE);
  let version = 1;
  const versionElement = tbs.optional(contextTag(0, true));
  if (versionElement) {
    const inner = DerReader.of(versionElement, versionElement.tag);
    version = smallInteger(inner.read(TAG.INTEGER)) + 1;
    inner.end("the version");
    if (version < 2 || version > 3) throw new DerError(`unsupported certificate version ${version}`);
  }
  unsignedOrNegativeSerial(tbs.read(TAG.INTEGER));
  const innerAlgorithm = tbs.read(TAG.SEQUENCE);
  if (!bytesEqual(innerAlgorithm.der, outerAlgorithm.der)) throw new DerError("signature algorithm differs inside and outside the signed part");
  const issuer = tbs.read(TAG.SEQUENCE);
  const validity = DerReader.of(tbs.read(TAG.SEQUENCE), TAG.SEQUENCE);
  const notBefore = timeValue(validity.read());
  const notAfter = timeValue(validity.read());
  validity.end("the validity");
  const subject = tbs.read(TAG.SEQUENCE);
  const publicKey = parsePublicKey(tbs.read(TAG.SEQUENCE));
  tbs.optional(contextTag(1, false)); // issuerUniqueID
  tbs.optional(contextTag(2, false)); // subjectUniqueID
  const extensionsElement = tbs.optional(contextTag(3, true));
  tbs.end("tbsCertificate");
  if (extensionsElement && version !== 3) throw new DerError("extensions in a certificate before v3");

  const extensions = extensionsElement ? parseExtensions(extensionsElement) : emptyExtensions();
  return {
    der,
    tbs: tbsElement.der,
    signatureAlgorithm: parseSignatureAlgorithm(outerAlgorithm),
    signature,
    version,
    issuer: issuer.der,
    subject: subject.der,
    subjectCommonName: commonName(subject),
    notBefore,
    notAfter,
    publicKey,
    ...extensions,
  };
}

// ---- fields -------------------------------------------------------------------------------------------------------

function unsignedOrNegativeSerial(element: DerElement): void {
  // Serial numbers are not interpreted; some CAs issued negative ones, so only the encoding is checked.
  if (element.value.length === 0 || element.value.length > 21) throw new DerError("bad serial number");
}

function parseSignatureAlgorithm(element: DerElement): SignatureAlgorithm {
  const reader = DerReader.of(element, TAG.SEQUENCE);
  const oid = oidText(reader.read(TAG.OID).value);
  const known = SIGNATURE_ALGORITHMS[oid];
  if (!known) return { kind: "unsupported", oid };
  // RSA: parameters NULL (RFC 4055; absent tolerated); ECDSA: parameters absent (RFC 5758).
  if (known.kind === "rsa-pkcs1") {
    const parameters = reader.optional(TAG.NULL);
    if (parameters && parameters.value.length !== 0) throw new DerError("bad RSA signature parameters");
  }
  reader.end("the signature algorithm");
  return known;
}

function parsePublicKey(element: DerElement): PublicKey {
  const spki = DerReader.of(element, TAG.SEQUENCE);
  const algorithm = DerReader.of(spki.read(TAG.SEQUENCE), TAG.SEQUENCE);
  const key = bitStringBytes(spki.read(TAG.BIT_STRING));
  spki.end("the public key info");
  const oid = oidText(algorithm.read(TAG.OID).value);
  if (oid === OID.rsaEncryption) {
    const parameters = algorithm.optional(TAG.NULL);
    if (parameters && parameters.value.length !== 0) throw new DerError("bad RSA key parameters");
    algorithm.end("the key algorithm");
    const rsa = DerReader.of(parseOne(key, TAG.SEQUENCE), TAG.SEQUENCE);
    const modulus = unsignedInteger(rsa.read(TAG.INTEGER));
    const exponent = unsignedInteger(rsa.read(TAG.INTEGER));
    rsa.end("the RSA key");
    return { kind: "rsa", modulus, exponent };
  }
  if (oid === OID.ecPublicKey) {
    const curveOid = algorithm.peekTag() === TAG.OID ? oidText(algorithm.read(TAG.OID).value) : "explicit parameters";
    if (!algorithm.done) return { kind: "unsupported", algorithm: `EC ${curveOid}` };
    const curve = curveOid === OID.prime256v1 ? "P-256" : curveOid === OID.secp384r1 ? "P-384" : undefined;
    if (!curve) return { kind: "unsupported", algorithm: `EC ${curveOid}` };
    return { kind: "ec", curve, point: key };
  }
  return { kind: "unsupported", algorithm: oid };
}

function commonName(name: DerElement): string | undefined {
  try {
    const rdns = DerReader.of(name, TAG.SEQUENCE);
    let found: string | undefined;
    while (!rdns.done) {
      const set = DerReader.of(rdns.read(TAG.SET), TAG.SET);
      while (!set.done) {
        const attribute = DerReader.of(set.read(TAG.SEQUENCE), TAG.SEQUENCE);
        if (oidText(attribute.read(TAG.OID).value) === OID.commonName) found = printable(attribute.read().value);
      }
    }
    return found;
  } catch {
    return undefined;
  }
}

/** ASCII for log lines; anything else shown as "?". */
function printable(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes.subarray(0, 64)) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "?";
  return text;
}

// ---- extensions ---------------------------------------------------------------------------------------------------

type Extensions = Pick<
  Certificate,
  "basicConstraints" | "keyUsage" | "extendedKeyUsage" | "subjectAltName" | "authorityKeyId" | "subjectKeyId" | "unknownCriticalExtensions"
>;

function emptyExtensions(): Extensions {
  return {
    basicConstraints: undefined,
    keyUsage: undefined,
    extendedKeyUsage: undefined,
    subjectAltName: undefined,
    authorityKeyId: undefined,
    subjectKeyId: undefined,
    unknownCriticalExtensions: [],
  };
}

function parseExtensions(element: DerElement): Extensions {
  const wrapper = DerReader.of(element, element.tag);
  const list = DerReader.of(wrapper.read(TAG.SEQUENCE), TAG.SEQUENCE);
  wrapper.end("the extensions");
  const out: { -readonly [K in keyof Extensions]: Extensions[K] } = { ...emptyExtensions(), unknownCriticalExtensions: [] };
  const unknownCritical: string[] = [];
  const seen: string[] = [];
  if (list.done) throw new DerError("empty extensions");
  while (!list.done) {
    const extension = DerReader.of(list.read(TAG.SEQUENCE), TAG.SEQUENCE);
    const oid = oidText(extension.read(TAG.OID).value);
    const criticalElement = extension.optional(TAG.BOOLEAN);
    const critical = criticalElement ? booleanValue(criticalElement) : false;
    const value = extension.read(TAG.OCTET_STRING).value;
    extension.end("an extension");
    if (seen.includes(oid)) throw new DerError(`extension ${oid} appears twice`);
    seen.push(oid);
    switch (oid) {
      case OID.basicConstraints:
        out.basicConstraints = parseBasicConstraints(value);
        break;
      case OID.keyUsage:
        out.keyUsage = namedBits(parseOne(value, TAG.BIT_STRING));
        break;
      case OID.extKeyUsage:
        out.extendedKeyUsage = parseOidList(value);
        break;
      case OID.subjectAltName:
        out.subjectAltName = parseSubjectAltName(value);
        break;
      case OID.authorityKeyId:
        out.authorityKeyId = parseAuthorityKeyId(value);
        break;
      case OID.subjectKeyId:
        out.subjectKeyId = parseOne(value, TAG.OCTET_STRING).value;
        break;
      default:
        if (critical) unknownCritical.push(oid);
    }
  }
  out.unknownCriticalExtensions = unknownCritical;
  return out;
}

function parseBasicConstraints(value: Uint8Array): BasicConstraints {
  const reader = DerReader.of(parseOne(value, TAG.SEQUENCE), TAG.SEQUENCE);
  const caElement = reader.optional(TAG.BOOLEAN);
  const ca = caElement ? booleanValue(caElement) : false;
  const pathElement = reader.optional(TAG.INTEGER);
  reader.end("basicConstraints");
  return { ca, pathLength: pathElement ? smallInteger(pathElement) : undefined };
}

function parseOidList(value: Uint8Array): string[] {
  const reader = DerReader.of(parseOne(value, TAG.SEQUENCE), TAG.SEQUENCE);
  const oids: string[] = [];
  while (!reader.done) oids.push(oidText(reader.read(TAG.OID).value));
  if (oids.length === 0) throw new DerError("empty extKeyUsage");
  return oids;
}

function parseSubjectAltName(value: Uint8Array): SubjectAltName {
  const reader = DerReader.of(parseOne(value, TAG.SEQUENCE), TAG.SEQUENCE);
  const dnsNames: string[] = [];
  const ipAddresses: Uint8Array[] = [];
  while (!reader.done) {
    const name = reader.read();
    if (name.tag === contextTag(2, false)) {
      let text = "";
      for (const b of name.value) {
        if (b < 0x21 || b > 0x7e) throw new DerError("dNSName is not printable ASCII");
        text += String.fromCharCode(b);
      }
      dnsNames.push(text);
    } else if (name.tag === contextTag(7, false)) {
      if (name.value.length !== 4 && name.value.length !== 16) throw new DerError("bad iPAddress length");
      ipAddresses.push(name.value);
    }
    // other GeneralName forms (email, URI, directory names, ...) are never matched against a server name
  }
  return { dnsNames, ipAddresses };
}

function parseAuthorityKeyId(value: Uint8Array): Uint8Array | undefined {
  const reader = DerReader.of(parseOne(value, TAG.SEQUENCE), TAG.SEQUENCE);
  const keyId = reader.optional(contextTag(0, false));
  return keyId?.value;
}
