/**
 * Factory provisioning: writes the NVS contents of one device — its X.509 identity (device id, certificate, key)
 * and optionally its Wi-Fi credentials — as the CSV that ESP-IDF's NVS partition generator turns into the NVS
 * partition image:
 *
 *   npm run provision -- --cert device.pem --key device.key [--device-id ID] [--wifi-ssid S --wifi-passphrase P] --out nvs.csv
 *   python -m esp_idf_nvs_partition_gen generate nvs.csv nvs.bin 0x6000      (ESP-IDF: nvs_partition_gen.py)
 *   esptool.py write_flash 0x9000 nvs.bin                                      (sdkconfig/partitions.csv: nvs)
 *
 * Everything is checked before anything is written: the key must belong to the certificate, be RSA-2048 (what
 * the device's TLS stack signs with) and the device id must be the certificate's CN (IoT Hub takes the client id
 * from it). The layout is src/device/credential-layout.ts, the Wi-Fi record the firmware's own ConfigStore record,
 * so the device reads exactly what it would have written itself. Writing the image replaces the whole NVS
 * partition: provision before first use (or after a factory reset, which keeps only the identity).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { CREDENTIAL_DOMAIN, credentialEntries, type CredentialEntry } from "../../src/device/credential-layout";
import { ConfigStore, CONFIG_KEY, EMPTY_CONFIG } from "../../src/storage/config-store";
import { WifiCredentialStore, type WifiCredentials } from "../../src/wifi/wifi-credentials";
import { MemoryStore } from "../../src/ports/storage";

/** The NVS partition size in sdkconfig/partitions.csv. */
export const NVS_PARTITION_SIZE = 0x6000;

export class ProvisioningError extends Error {
  override readonly name = "ProvisioningError";
}

export interface ProvisioningInput {
  /** PEM or DER. */
  readonly certificate: Buffer;
  /** PEM or DER (PKCS#8 or PKCS#1), unencrypted. */
  readonly key: Buffer;
  /** Defaults to the certificate's CN; must equal it. */
  readonly deviceId?: string;
  readonly wifi?: WifiCredentials;
  /** For the validity check (default: now). */
  readonly now?: Date;
}

export interface Provisioning {
  readonly deviceId: string;
  /** The certificate's validity end. */
  readonly notAfter: Date;
  readonly entries: readonly CredentialEntry[];
  /** The CSV for ESP-IDF's NVS partition generator. */
  readonly csv: string;
}

export function provision(input: ProvisioningInput): Provisioning {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(input.certificate);
  } catch (error) {
    throw new ProvisioningError(`the certificate is not an X.509 certificate in PEM or DER: ${message(error)}`);
  }
  let key: KeyObject;
  try {
    key = isPem(input.key) ? createPrivateKey(input.key) : createPrivateKey({ key: input.key, format: "der", type: "pkcs8" });
  } catch (error) {
    throw new ProvisioningError(`the key is not an unencrypted private key in PEM or PKCS#8 DER: ${message(error)}`);
  }
  if (key.asymmetricKeyType !== "rsa" || key.asymmetricKeyDetails?.modulusLength !== 2048) {
    throw new ProvisioningError(`the key is ${key.asymmetricKeyType ?? "unknown"}${key.asymmetricKeyDetails?.modulusLength ? `-${key.asymmetricKeyDetails.modulusLength}` : ""}; the device signs its TLS handshake with RSA-2048 keys only`);
  }
  if (!certificate.checkPrivateKey(key)) throw new ProvisioningError("the key does not belong to the certificate");
  const cn = commonName(certificate.subject);
  if (!cn) throw new ProvisioningError(`the certificate has no subject CN (the IoT Hub device id): ${certificate.subject}`);
  const deviceId = input.deviceId ?? cn;
  if (deviceId !== cn) throw new ProvisioningError(`--device-id ${deviceId} is not the certificate's CN ${cn}: IoT Hub authenticates the device id by it`);
  const now = input.now ?? new Date();
  const notAfter = new Date(certificate.validTo);
  if (!(notAfter > now)) throw new ProvisioningError(`the certificate expired on ${notAfter.toISOString()}`);
  if (!certificate.ca && certificate.keyUsage !== undefined && !certificate.keyUsage.includes("1.3.6.1.5.5.7.3.2")) {
    throw new ProvisioningError("the certificate is not for TLS client authentication (extendedKeyUsage lacks clientAuth)");
  }

  const entries: CredentialEntry[] = credentialEntries(new Uint8Array(certificate.raw), new Uint8Array(key.export({ format: "der", type: "pkcs8" })), deviceId);
  if (input.wifi) entries.push({ key: CONFIG_KEY, value: configRecord(input.wifi) });
  return { deviceId, notAfter, entries, csv: nvsCsv(entries) };
}

/** The firmware's configuration record holding these Wi-Fi credentials (validated as the firmware does). */
export function configRecord(wifi: WifiCredentials): string {
  const store = new MemoryStore();
  const config = new ConfigStore({ store, defaults: EMPTY_CONFIG });
  try {
    new WifiCredentialStore(config).save(wifi);
  } catch (error) {
    throw new ProvisioningError(`Wi-Fi: ${message(error)}`);
  }
  return store.get(CONFIG_KEY)!;
}

/** ESP-IDF NVS partition generator CSV: strings and integers as data, byte chunks as base64 blobs. */
export function nvsCsv(entries: readonly CredentialEntry[], namespace = CREDENTIAL_DOMAIN): string {
  const rows = ["key,type,encoding,value", `${namespace},namespace,,`];
  for (const { key, value } of entries) {
    if (typeof value === "string") rows.push(`${key},data,string,${csvField(value)}`);
    else if (typeof value === "number") rows.push(`${key},data,i32,${value}`);
    else rows.push(`${key},data,base64,${Buffer.from(value).toString("base64")}`);
  }
  return rows.join("\n") + "\n";
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

function commonName(subject: string): string | undefined {
  for (const line of subject.split("\n")) if (line.startsWith("CN=")) return line.slice(3);
  return undefined;
}

function isPem(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString("latin1").includes("-----BEGIN");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- command line ----

const USAGE = `Usage: npm run provision -- --cert <device cert> --key <device key> [--device-id <id>]
                             [--wifi-ssid <ssid> [--wifi-passphrase <passphrase>]] [--out <nvs.csv>]

Writes the CSV of the device's NVS partition (namespace "${CREDENTIAL_DOMAIN}") for ESP-IDF's NVS partition generator.
  --cert, --key      the device's certificate and RSA-2048 private key (PEM or DER; the key unencrypted)
  --device-id        must equal the certificate's CN (default: the CN)
  --wifi-ssid        store Wi-Fi credentials as well (WPA/WPA2-PSK: a passphrase of 8..63 characters or 64 hex digits)
  --out              the CSV file (default: standard output)
Then: python -m esp_idf_nvs_partition_gen generate nvs.csv nvs.bin 0x${NVS_PARTITION_SIZE.toString(16)}
      esptool.py write_flash 0x9000 nvs.bin
The CSV holds the device's private key: keep it like the key, and delete it after flashing.`;

function main(argv: string[]): number {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    if (name === "-h" || name === "--help") {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    const value = argv[i + 1];
    if (!["--cert", "--key", "--device-id", "--wifi-ssid", "--wifi-passphrase", "--out"].includes(name) || value === undefined) {
      process.stderr.write(`provision: unexpected argument ${JSON.stringify(name)}\n${USAGE}\n`);
      return 2;
    }
    args.set(name, value);
    i++;
  }
  const certPath = args.get("--cert");
  const keyPath = args.get("--key");
  if (!certPath || !keyPath) {
    process.stderr.write(`provision: --cert and --key are required\n${USAGE}\n`);
    return 2;
  }
  if (args.has("--wifi-passphrase") && !args.has("--wifi-ssid")) {
    process.stderr.write("provision: --wifi-passphrase needs --wifi-ssid\n");
    return 2;
  }
  try {
    const ssid = args.get("--wifi-ssid");
    const passphrase = args.get("--wifi-passphrase");
    const deviceId = args.get("--device-id");
    const result = provision({
      certificate: readFileSync(certPath),
      key: readFileSync(keyPath),
      ...(deviceId !== undefined ? { deviceId } : {}),
      ...(ssid !== undefined ? { wifi: { ssid, ...(passphrase !== undefined ? { passphrase } : {}) } } : {}),
    });
    const out = args.get("--out");
    if (out) writeFileSync(out, result.csv, { mode: 0o600 });
    else process.stdout.write(result.csv);
    process.stderr.write(
      `provision: device ${result.deviceId}, certificate valid until ${result.notAfter.toISOString()}, ${result.entries.length} entries${ssid ? `, Wi-Fi ${ssid}` : ""}${out ? ` -> ${out}` : ""}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`provision: ${message(error)}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
