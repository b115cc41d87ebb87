/**
 * How a provisioned device identity is laid out in key-value storage (preference/NVS, domain "kisme"): one place
 * for the device adapter that reads and writes it (modules/device-credentials) and the host provisioning tool
 * that prepares it for the factory (host/tools/provision.ts).
 *
 *   deviceId   string   optional; the IoT Hub device id (the certificate's CN)
 *   cert.0 ... bytes    the certificate (DER), in chunks of at most 4000 bytes (NVS value limit)
 *   cert.len   integer  its total length
 *   key.0 ...  bytes    the private key (unencrypted PKCS#8 DER), chunked the same way
 *   key.len    integer  its total length
 *   setup.pw   string   the setup access point's WPA2 password, unique per device, printed on its label
 *                       (src/setup/setup-password.ts; written by provisioning, kept by a factory reset)
 *
 * `.len` is written after the chunks (and removed first), so an interrupted write reads as "not provisioned".
 */
export const CREDENTIAL_DOMAIN = "kisme";
export const CREDENTIAL_CHUNK_BYTES = 4000;
export const DEVICE_ID_KEY = "deviceId";
export const SETUP_PASSWORD_KEY = "setup.pw";

export type CredentialPart = "cert" | "key";

export function lengthKey(part: CredentialPart): string {
  return `${part}.len`;
}

export function chunkKey(part: CredentialPart, index: number): string {
  return `${part}.${index}`;
}

export interface CredentialEntry {
  readonly key: string;
  /** string: a string value; number: an integer; Uint8Array: bytes. */
  readonly value: string | number | Uint8Array;
}

/** The entries of a provisioned identity in write order (each part's chunks before its length). */
export function credentialEntries(certificate: Uint8Array, key: Uint8Array, deviceId?: string): CredentialEntry[] {
  if (certificate.length === 0 || key.length === 0) throw new RangeError("certificate and key must not be empty");
  const entries: CredentialEntry[] = [];
  if (deviceId !== undefined) entries.push({ key: DEVICE_ID_KEY, value: deviceId });
  for (const [part, bytes] of [["cert", certificate], ["key", key]] as const) {
    let index = 0;
    for (let offset = 0; offset < bytes.length; offset += CREDENTIAL_CHUNK_BYTES, index++) {
      entries.push({ key: chunkKey(part, index), value: bytes.slice(offset, offset + CREDENTIAL_CHUNK_BYTES) });
    }
    entries.push({ key: lengthKey(part), value: bytes.length });
  }
  return entries;
}
