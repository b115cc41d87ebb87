/**
 * The device's X.509 identity and the roots it trusts.
 *
 * Device certificate and key (DER; the key unencrypted PKCS#8) come from `preference` storage, written at
 * provisioning; development builds fall back to resources. Trusted roots always come from resources (certs/).
 *
 * Preference format: src/device/credential-layout.ts (domain "kisme"; `deviceId`, `cert.N`/`cert.len`,
 * `key.N`/`key.len`, chunks of at most 4000 bytes). `.len` is written last and removed first, so an interrupted
 * write reads as "not provisioned", never as a truncated certificate. `storeDeviceCredentials()` writes this
 * format; host/tools/provision.ts prepares the same entries for the factory.
 *
 * Development resources (listed by the root manifest from the git-ignored local/ folder when
 * KISME_DEV_CREDENTIALS points there): `device.der` (certificate) and `device.key.der` (PKCS#8 key).
 */
import Preference from "preference";
import Resource from "Resource";
import type { TlsCredentials } from "ports/mqtt";
import { isSetupPassword } from "setup/setup-password";
import { CREDENTIAL_CHUNK_BYTES, CREDENTIAL_DOMAIN, DEVICE_ID_KEY, SETUP_PASSWORD_KEY, chunkKey, credentialEntries, lengthKey, type CredentialPart } from "device/credential-layout";

export const PREFERENCE_DOMAIN = CREDENTIAL_DOMAIN;
export const DEV_CERTIFICATE_RESOURCE = "device.der";
export const DEV_KEY_RESOURCE = "device.key.der";
/** The public roots shipped in certs/ (IoT Hub: DigiCert Global Root G2, plus Microsoft RSA Root CA 2017). */
export const AZURE_ROOTS: readonly string[] = ["DigiCertGlobalRootG2.der", "MicrosoftRSARootCA2017.der"];

export interface DeviceCredentials {
  /** From preference `deviceId`, if provisioned. */
  readonly deviceId: string | undefined;
  readonly tls: TlsCredentials;
  /** Where the certificate and key came from. */
  readonly source: "preference" | "resources";
  /** Names of the root resources loaded, in `tls.ca` order. */
  readonly roots: readonly string[];
}

export class CredentialsError extends Error {
  // A class field, not `this.name = ...`: on Moddable Error.prototype is frozen and that assignment throws.
  override readonly name = "CredentialsError";
}

/**
 * Loads the credentials; throws a CredentialsError saying what is missing. `roots` are resource names; missing
 * ones are skipped (`roots` in the result lists those found), but at least one must exist.
 */
export function loadDeviceCredentials(roots: readonly string[] = AZURE_ROOTS): DeviceCredentials {
  const ca: Uint8Array[] = [];
  const found: string[] = [];
  for (const name of roots) {
    const bytes = readResource(name);
    if (bytes) {
      ca.push(bytes);
      found.push(name);
    }
  }
  if (ca.length === 0) throw new CredentialsError(`none of the trusted root resources exist (${roots.join(", ")})`);

  const deviceId = readString(DEVICE_ID_KEY);
  const certificate = readChunked("cert");
  const key = readChunked("key");
  if (certificate && key) return { deviceId, tls: { ca, certificate, key }, source: "preference", roots: found };
  if (certificate || key) throw new CredentialsError(`preference domain "${PREFERENCE_DOMAIN}" holds a ${certificate ? "certificate but no key" : "key but no certificate"}`);

  const devCertificate = readResource(DEV_CERTIFICATE_RESOURCE);
  const devKey = readResource(DEV_KEY_RESOURCE);
  if (devCertificate && devKey) return { deviceId, tls: { ca, certificate: devCertificate, key: devKey }, source: "resources", roots: found };
  throw new CredentialsError(
    `no device certificate: not provisioned (preference "${PREFERENCE_DOMAIN}" cert.len/key.len) and no development resources (${DEV_CERTIFICATE_RESOURCE}, ${DEV_KEY_RESOURCE})`,
  );
}

/**
 * The setup access point's password (preference `setup.pw`, written by `npm run provision`, on the label), or
 * undefined when the device has none or it lacks the generated form: then there is no setup access point —
 * never a shared default.
 */
export function loadSetupPassword(): string | undefined {
  const password = readString(SETUP_PASSWORD_KEY);
  return password !== undefined && isSetupPassword(password) ? password : undefined;
}

/** Writes certificate, key and (optionally) device id in the format above, replacing what was there. */
export function storeDeviceCredentials(certificate: Uint8Array, key: Uint8Array, deviceId?: string): void {
  const entries = credentialEntries(certificate, key, deviceId); // RangeError for an empty part
  for (const part of PARTS) Preference.delete(PREFERENCE_DOMAIN, lengthKey(part)); // "not provisioned" while writing
  // Chunks before lengths (the layout's order). Preference takes an ArrayBuffer (exactly), not a view.
  for (const e of entries) Preference.set(PREFERENCE_DOMAIN, e.key, e.value instanceof Uint8Array ? e.value.slice().buffer : e.value);
  deleteChunksFrom("cert", Math.ceil(certificate.byteLength / CREDENTIAL_CHUNK_BYTES));
  deleteChunksFrom("key", Math.ceil(key.byteLength / CREDENTIAL_CHUNK_BYTES));
  if (deviceId === undefined) Preference.delete(PREFERENCE_DOMAIN, DEVICE_ID_KEY);
}

const PARTS: readonly CredentialPart[] = ["cert", "key"];

/** Removes the provisioned identity (the next boot falls back to development resources, if any). */
export function clearDeviceCredentials(): void {
  for (const part of PARTS) {
    Preference.delete(PREFERENCE_DOMAIN, lengthKey(part));
    deleteChunksFrom(part, 0);
  }
  Preference.delete(PREFERENCE_DOMAIN, DEVICE_ID_KEY);
}

function readResource(name: string): Uint8Array | undefined {
  if (!Resource.exists(name)) return undefined;
  // A view on the resource itself: on a device it stays in flash (no copy into RAM).
  return new Uint8Array(new Resource(name));
}

function readString(key: string): string | undefined {
  const value = Preference.get(PREFERENCE_DOMAIN, key);
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function readChunked(name: CredentialPart): Uint8Array | undefined {
  const length = Preference.get(PREFERENCE_DOMAIN, lengthKey(name));
  if (length === undefined) return undefined;
  if (typeof length !== "number" || !Number.isInteger(length) || length <= 0) {
    throw new CredentialsError(`preference ${name}.len is not a positive integer`);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (let i = 0; offset < length; i++) {
    const chunk = Preference.get(PREFERENCE_DOMAIN, chunkKey(name, i));
    if (!(chunk instanceof ArrayBuffer) || chunk.byteLength === 0 || offset + chunk.byteLength > length) {
      throw new CredentialsError(`preference ${name}.${i} is missing or does not match ${name}.len (${length} bytes)`);
    }
    bytes.set(new Uint8Array(chunk), offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function deleteChunksFrom(name: CredentialPart, first: number): void {
  const prefix = `${name}.`;
  for (const key of Preference.keys(PREFERENCE_DOMAIN)) {
    if (!key.startsWith(prefix)) continue;
    const index = key.slice(prefix.length);
    if (/^[0-9]+$/.test(index) && Number(index) >= first) Preference.delete(PREFERENCE_DOMAIN, key);
  }
}
