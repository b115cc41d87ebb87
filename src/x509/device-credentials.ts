/**
 * The checks a device identity must pass before the first connection is tried: what would otherwise show up only as
 * an endless retry (a key that does not belong to the certificate, an EC key the device's TLS stack cannot sign
 * with, a certificate outside its validity, one not made for client authentication, a hub whose roots were not
 * given). Portable: the host runner calls it before it starts the device; the decisions are the same the device's
 * provisioning makes.
 */
import { bytesEqual } from "../core/bytes";
import { hostMatches } from "../net/egress-policy";
import { DerError, DerReader, TAG, oidText, parseOne, smallInteger, unsignedInteger } from "./der";
import { KEY_USAGE, parseCertificate, type Certificate } from "./certificate";

/** The private key's public half, as far as the checks need it. */
export type PrivateKeyInfo =
  | { readonly kind: "rsa"; readonly modulus: Uint8Array; readonly exponent: Uint8Array }
  | { readonly kind: "ec"; readonly curve: string }
  | { readonly kind: "other"; readonly algorithm: string };

const OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsaPss: "1.2.840.113549.1.1.10",
  ecPublicKey: "1.2.840.10045.2.1",
  ed25519: "1.3.101.112",
  ed448: "1.3.101.113",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  anyExtendedKeyUsage: "2.5.29.37.0",
} as const;

const CURVES: Readonly<Record<string, string>> = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521", "1.3.132.0.10": "secp256k1" };
const ALGORITHMS: Readonly<Record<string, string>> = { [OID.rsaPss]: "RSA-PSS", [OID.ed25519]: "Ed25519", [OID.ed448]: "Ed448" };

/** Reads an unencrypted PKCS#8 PrivateKeyInfo (RFC 5208); throws DerError when it is not one. */
export function parsePrivateKeyInfo(der: Uint8Array): PrivateKeyInfo {
  const info = DerReader.of(parseOne(der, TAG.SEQUENCE), TAG.SEQUENCE);
  const version = smallInteger(info.read(TAG.INTEGER));
  if (version > 1) throw new DerError(`PrivateKeyInfo version ${version}`);
  const algorithm = DerReader.of(info.read(TAG.SEQUENCE), TAG.SEQUENCE);
  const oid = oidText(algorithm.read(TAG.OID).value);
  const key = info.read(TAG.OCTET_STRING).value;
  if (oid === OID.ecPublicKey) {
    const curve = algorithm.peekTag() === TAG.OID ? oidText(algorithm.read(TAG.OID).value) : "explicit parameters";
    return { kind: "ec", curve: CURVES[curve] ?? curve };
  }
  if (oid !== OID.rsaEncryption) return { kind: "other", algorithm: ALGORITHMS[oid] ?? oid };
  const rsa = DerReader.of(parseOne(key, TAG.SEQUENCE), TAG.SEQUENCE);
  rsa.read(TAG.INTEGER); // version
  return { kind: "rsa", modulus: unsignedInteger(rsa.read(TAG.INTEGER)), exponent: unsignedInteger(rsa.read(TAG.INTEGER)) };
}

/** Bits of an unsigned big-endian integer. */
export function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

/** The Azure IoT Hub names: their roots are the ones the firmware ships (certs/). */
export function isAzureHubName(host: string): boolean {
  return hostMatches("*.azure-devices.net", host);
}

export interface DeviceCredentials {
  /** The device certificate, DER. */
  readonly certificate: Uint8Array;
  /** The private key as unencrypted PKCS#8 DER. */
  readonly privateKey: Uint8Array;
  /** The hub the device will connect to. */
  readonly hubHost: string;
  /** Trusted roots were given for this hub (else the shipped Azure roots apply). */
  readonly rootsGiven: boolean;
  /** Unix ms to judge the validity period at. */
  readonly now: number;
}

/** What is wrong, each as one sentence saying what to do; empty when the identity can be used. */
export function checkDeviceCredentials(input: DeviceCredentials): string[] {
  const problems: string[] = [];
  let cert: Certificate | undefined;
  try {
    cert = parseCertificate(input.certificate);
  } catch (error) {
    problems.push(`the device certificate is not a well-formed X.509 certificate (${error instanceof Error ? error.message : String(error)})`);
  }
  let key: PrivateKeyInfo | undefined;
  try {
    key = parsePrivateKeyInfo(input.privateKey);
  } catch (error) {
    problems.push(`the device key is not an unencrypted PKCS#8 private key (${error instanceof Error ? error.message : String(error)})`);
  }
  if (key && key.kind !== "rsa") {
    problems.push(`the device key is ${key.kind === "ec" ? `an EC key (${key.curve})` : `a ${key.algorithm} key`}: the device signs its TLS handshake with RSA-2048 keys only; make an RSA-2048 key and certificate`);
  } else if (key && bitLength(key.modulus) !== 2048) {
    problems.push(`the device key is RSA-${bitLength(key.modulus)}: the device signs its TLS handshake with RSA-2048 keys only`);
  }
  if (cert && key?.kind === "rsa") {
    const pub = cert.publicKey;
    if (pub.kind !== "rsa" || !bytesEqual(pub.modulus, key.modulus) || !bytesEqual(pub.exponent, key.exponent)) {
      problems.push("the device key does not belong to the device certificate (their public keys differ): give the key the certificate was issued for");
    }
  }
  if (cert) {
    if (input.now < cert.notBefore) problems.push(`the device certificate is not valid yet: from ${new Date(cert.notBefore).toISOString()} (now ${new Date(input.now).toISOString()})`);
    if (input.now > cert.notAfter) problems.push(`the device certificate expired on ${new Date(cert.notAfter).toISOString()}`);
    const eku = cert.extendedKeyUsage;
    if (eku && !eku.includes(OID.clientAuth) && !eku.includes(OID.anyExtendedKeyUsage)) {
      problems.push("the device certificate is not for TLS client authentication (its extendedKeyUsage lacks clientAuth)");
    }
    if (cert.keyUsage !== undefined && !(cert.keyUsage & KEY_USAGE.digitalSignature)) {
      problems.push("the device certificate's keyUsage lacks digitalSignature, which a TLS client certificate needs");
    }
    if (cert.basicConstraints?.ca) problems.push("the device certificate is a CA certificate, not a device's");
  }
  if (!input.rootsGiven && !isAzureHubName(input.hubHost)) {
    problems.push(`the hub ${input.hubHost} is not an Azure IoT Hub name (*.azure-devices.net), so the default roots (Azure's) will not trust it: give its CA with --ca FILE`);
  }
  return problems;
}
