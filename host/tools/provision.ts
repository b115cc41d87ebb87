/**
 * Factory provisioning: writes the NVS contents of one device — its X.509 identity (device id, certificate, key)
 * and optionally its Wi-Fi credentials — as the CSV that ESP-IDF's NVS partition generator turns into the NVS
 * partition image:
 *
 *   npm run provision -- --cert device.pem --key device.key [--device-id ID] [--wifi-ssid S (--wifi-passphrase P | --allow-open)] --out nvs.csv
 *   python -m esp_idf_nvs_partition_gen generate nvs.csv nvs.bin 0x6000      (ESP-IDF: nvs_partition_gen.py)
 *   esptool.py write_flash 0x9000 nvs.bin                                      (sdkconfig/partitions.csv: nvs)
 *
 * For the production profile (sdkconfig/production: NVS encryption) it writes the encrypted image itself when
 * Espressif's generator is available (`--encrypt --image nvs.bin --keygen --keyfile nvs_keys.bin`, or an existing
 * `--keyfile`), else prints the exact command; the NVS key is made here with a CSPRNG in the generator's nvs_keys
 * partition format (the generator's own --keygen draws it from Python's `random`, which is not one).
 *
 * Everything is checked before anything is written: the key must belong to the certificate, be RSA-2048 (what
 * the device's TLS stack signs with) and the device id must be the certificate's CN (IoT Hub takes the client id
 * from it). The layout is src/device/credential-layout.ts, the Wi-Fi record the firmware's own ConfigStore record,
 * so the device reads exactly what it would have written itself. Writing the image replaces the whole NVS
 * partition: provision before first use (or after a factory reset, which keeps only the identity).
 */
import { X509Certificate, createPrivateKey, randomBytes, randomInt, type KeyObject } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import { SECURITY_FLOOR_KEY } from "../../src/update/security-floor";
import { isSecurityVersion } from "../../src/update/update-manifest";
import { CREDENTIAL_DOMAIN, SETUP_PASSWORD_KEY, credentialEntries, type CredentialEntry } from "../../src/device/credential-layout";
import { generateSetupPassword, isSetupPassword } from "../../src/setup/setup-password";
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
  /**
   * The update security floor to start from (the security version of the image flashed at the factory): the
   * device refuses over-the-air images below it (src/update/security-floor.ts). Default: none (floor 0).
   */
  readonly securityFloor?: number;
  /**
   * The setup access point's password (printed on the label). Default: a new one from the system's CSPRNG; a given
   * one (re-provisioning a labelled device) must have the generated form, so no shared default can slip in.
   */
  readonly setupPassword?: string;
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
  /** The setup access point's password written to NVS (`setup.pw`), for the device's label. */
  readonly setupPassword: string;
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
  const setupPassword = input.setupPassword ?? generateSetupPassword({ next: () => randomInt(0, 2 ** 47) / 2 ** 47 });
  if (!isSetupPassword(setupPassword)) throw new ProvisioningError("the setup password must have the generated form xxxx-xxxx-xxxx-xxxx (letters and digits without 0, 1, i, l, o)");
  entries.push({ key: SETUP_PASSWORD_KEY, value: setupPassword });
  if (input.wifi) entries.push({ key: CONFIG_KEY, value: configRecord(input.wifi) });
  if (input.securityFloor !== undefined) {
    if (!isSecurityVersion(input.securityFloor)) throw new ProvisioningError(`the security floor must be a whole number 0..2147483647, got ${String(input.securityFloor)}`);
    entries.push({ key: SECURITY_FLOOR_KEY, value: String(input.securityFloor) });
  }
  return { deviceId, notAfter, entries, csv: nvsCsv(entries), setupPassword };
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

// ---- the NVS partition image (Espressif's generator) ----

/** The nvs_keys partition (sdkconfig/production/partitions.csv): one 4 KB sector. */
export const NVS_KEYS_PARTITION_SIZE = 0x1000;
const NVS_KEY_BYTES = 64;

/**
 * An nvs_keys partition image as ESP-IDF reads it (nvs_flash_read_security_cfg) and Espressif's generator writes
 * it: the XTS encryption key (32 bytes) and tweak key (32 bytes), their CRC-32 (zlib, seeded 0xFFFFFFFF, little
 * endian), the rest of the 4 KB sector erased (0xFF). `key` (64 bytes) defaults to fresh CSPRNG bytes.
 */
export function nvsKeyPartition(key: Uint8Array = randomBytes(NVS_KEY_BYTES)): Buffer {
  if (key.length !== NVS_KEY_BYTES) throw new ProvisioningError(`an NVS key is ${NVS_KEY_BYTES} bytes, got ${key.length}`);
  const image = Buffer.alloc(NVS_KEYS_PARTITION_SIZE, 0xff);
  image.set(key, 0);
  image.writeUInt32LE(crc32(key, 0xffffffff) >>> 0, NVS_KEY_BYTES);
  return image;
}

/** Checks an nvs_keys partition image (size, CRC, not all-erased); returns it. */
export function checkNvsKeyPartition(image: Buffer): Buffer {
  if (image.length !== NVS_KEYS_PARTITION_SIZE) throw new ProvisioningError(`an nvs_keys partition image is ${NVS_KEYS_PARTITION_SIZE} bytes, got ${image.length}`);
  const key = image.subarray(0, NVS_KEY_BYTES);
  if (key.every((b) => b === 0xff)) throw new ProvisioningError("the nvs_keys image holds no key (erased)");
  if (image.readUInt32LE(NVS_KEY_BYTES) !== crc32(key, 0xffffffff) >>> 0) throw new ProvisioningError("the nvs_keys image's CRC does not match its key");
  return image;
}

/** How to run Espressif's NVS partition generator: `python3 <args…> <command> …`. */
export interface NvsGenerator {
  readonly python: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** How the user would type it. */
  readonly display: string;
}

/**
 * Finds the generator: `gen` (or $KISME_NVS_GEN) names a checkout of espressif/esp-idf-nvs-partition-gen (the
 * folder holding `esp_idf_nvs_partition_gen/`), that package folder, or a `nvs_partition_gen.py`; without one, the
 * installed module (`pip install esp-idf-nvs-partition-gen`). Undefined when none runs (or `gen` is not there).
 */
export function findNvsGenerator(gen: string | undefined = process.env.KISME_NVS_GEN, python = "python3"): NvsGenerator | undefined {
  let candidate: NvsGenerator;
  if (gen) {
    const path = resolve(gen);
    if (existsSync(join(path, "esp_idf_nvs_partition_gen", "__main__.py"))) {
      candidate = { python, args: ["-m", "esp_idf_nvs_partition_gen"], env: { PYTHONPATH: path }, display: `PYTHONPATH=${path} ${python} -m esp_idf_nvs_partition_gen` };
    } else if (existsSync(join(path, "__main__.py")) && existsSync(join(path, "nvs_partition_gen.py"))) {
      candidate = { python, args: [join(path, "nvs_partition_gen.py")], env: {}, display: `${python} ${join(path, "nvs_partition_gen.py")}` };
    } else if (existsSync(path) && statSync(path).isFile()) {
      candidate = { python, args: [path], env: {}, display: `${python} ${path}` };
    } else return undefined;
  } else {
    candidate = { python, args: ["-m", "esp_idf_nvs_partition_gen"], env: {}, display: `${python} -m esp_idf_nvs_partition_gen` };
  }
  const probe = spawnSync(candidate.python, [...candidate.args, "--help"], { env: { ...process.env, ...candidate.env }, encoding: "utf8" });
  return probe.status === 0 && /generate-key/.test(probe.stdout) ? candidate : undefined;
}

/** The generator's arguments for the image: `generate` (plain) or `encrypt` with the key partition image. */
export function nvsGeneratorArgs(csv: string, image: string, keyfile?: string, size = NVS_PARTITION_SIZE): string[] {
  const hex = `0x${size.toString(16)}`;
  return keyfile === undefined ? ["generate", csv, image, hex] : ["encrypt", csv, image, hex, "--inputkey", keyfile];
}

/** Runs the generator; throws with its output when it fails. */
export function runNvsGenerator(gen: NvsGenerator, args: readonly string[]): void {
  const run = spawnSync(gen.python, [...gen.args, ...args], { env: { ...process.env, ...gen.env }, encoding: "utf8" });
  if (run.status !== 0) throw new ProvisioningError(`the NVS partition generator failed (${gen.display} ${args.join(" ")}):\n${run.stdout}${run.stderr}`);
}

// ---- command line ----

const USAGE = `Usage: npm run provision -- --cert <device cert> --key <device key> [--device-id <id>]
                             [--wifi-ssid <ssid> (--wifi-passphrase <passphrase> | --allow-open)] [--security-floor <n>]
                             [--setup-password <pw>] (--out <nvs.csv> | --out -)
                             [--image <nvs.bin> [--encrypt (--keygen --keyfile <nvs_keys.bin> | --keyfile <nvs_keys.bin>)] [--gen <path>]]

Writes the CSV of the device's NVS partition (namespace "${CREDENTIAL_DOMAIN}") for ESP-IDF's NVS partition generator,
and with --image the partition image itself.
  --cert, --key      the device's certificate and RSA-2048 private key (PEM or DER; the key unencrypted)
  --device-id        must equal the certificate's CN (default: the CN)
  --wifi-ssid        store Wi-Fi credentials as well: WPA/WPA2-PSK with --wifi-passphrase (8..63 characters or 64 hex
                     digits), or an open network (no security) with --allow-open: the device then joins that SSID unencrypted
  --security-floor   the security version of the image flashed at the factory: over-the-air images below it are refused
  --setup-password   the setup access point's password (default: a new random one; printed for the device's label)
  --out              the CSV file; it holds the private key, so it is written only where asked: --out - for standard
                     output. With --image and no --out, a temporary file deleted afterwards.
  --image            write the NVS partition image (.bin) with Espressif's generator
  --encrypt          ... encrypted (NVS encryption, sdkconfig/production) with the key in --keyfile
  --keygen           make a new NVS key (CSPRNG) and write it as the nvs_keys partition image to --keyfile (never overwritten)
  --keyfile          the nvs_keys partition image (.bin, 4 KB): made by --keygen, or an existing one to use
  --gen              the generator: a checkout of espressif/esp-idf-nvs-partition-gen, its package folder or a
                     nvs_partition_gen.py (default: $KISME_NVS_GEN, else the installed esp-idf-nvs-partition-gen)
Without the generator the CSV (and key) are written and the exact command is printed (exit status 3).
Development layout (sdkconfig/partitions.csv):  esptool.py write_flash 0x9000 nvs.bin
Production layout (sdkconfig/production/partitions.csv, flash encryption): nvs.bin at the nvs partition as it is,
nvs_keys.bin at the nvs_keys partition encrypted with the device's flash encryption key (README: Production line).
The CSV, the plain image and the key file hold the device's secrets: keep them like the key, delete them after flashing.`;

function main(argv: string[]): number {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    if (name === "-h" || name === "--help") {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    if (name === "--encrypt" || name === "--keygen" || name === "--allow-open") {
      args.set(name, "");
      continue;
    }
    const value = argv[i + 1];
    if (!["--cert", "--key", "--device-id", "--wifi-ssid", "--wifi-passphrase", "--out", "--security-floor", "--setup-password", "--image", "--keyfile", "--gen"].includes(name) || value === undefined) {
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
  if ((args.has("--wifi-passphrase") || args.has("--allow-open")) && !args.has("--wifi-ssid")) {
    process.stderr.write(`provision: ${args.has("--allow-open") ? "--allow-open" : "--wifi-passphrase"} needs --wifi-ssid\n`);
    return 2;
  }
  const image = args.get("--image");
  const keyfile = args.get("--keyfile");
  const encrypt = args.has("--encrypt");
  const keygen = args.has("--keygen");
  const usage = (message: string): number => {
    process.stderr.write(`provision: ${message}\n`);
    return 2;
  };
  if ((encrypt || keygen || keyfile !== undefined || args.has("--gen")) && image === undefined) return usage("--encrypt, --keygen, --keyfile and --gen go with --image <nvs.bin>");
  if (image !== undefined && !image.endsWith(".bin")) return usage("--image must end in .bin (the generator's rule)");
  if (encrypt && keyfile === undefined) return usage("--encrypt needs --keyfile <nvs_keys.bin> (with --keygen to make a new key)");
  if ((keygen || keyfile !== undefined) && !encrypt) return usage("--keygen and --keyfile go with --encrypt");
  if (keyfile !== undefined && !keyfile.endsWith(".bin")) return usage("--keyfile must end in .bin (the generator's rule)");
  if (keygen && keyfile !== undefined && existsSync(keyfile)) return usage(`--keygen would overwrite ${keyfile}: an NVS key is never replaced (use --keyfile alone to encrypt with it)`);
  if (!keygen && keyfile !== undefined && !existsSync(keyfile)) return usage(`--keyfile ${keyfile} does not exist (add --keygen to make it)`);
  const floorText = args.get("--security-floor");
  if (floorText !== undefined && !/^(0|[1-9]\d{0,9})$/.test(floorText)) return usage("--security-floor must be a whole number 0..2147483647");
  // The Wi-Fi policy (src/wifi) joins an open network only when the credentials allow it: say which one is meant.
  const allowOpen = args.has("--allow-open");
  if (args.has("--wifi-ssid") && !args.has("--wifi-passphrase") && !allowOpen) {
    return usage("--wifi-ssid without --wifi-passphrase is an open network (no security): add --allow-open to store it, or give --wifi-passphrase (WPA/WPA2-PSK)");
  }
  if (allowOpen && args.has("--wifi-passphrase")) return usage("--allow-open is for a network without security: give either --wifi-passphrase or --allow-open");
  // The CSV holds the private key in clear: it goes to standard output only when asked for (--out -).
  if (args.get("--out") === "-" && image !== undefined) return usage("--image reads the CSV from a file: give --out <nvs.csv>, or no --out for a temporary one");
  if (!args.has("--out") && image === undefined) return usage("--out <nvs.csv> is required (the CSV holds the device's private key; --out - writes it to standard output)");
  let temp: string | undefined;
  try {
    const ssid = args.get("--wifi-ssid");
    const passphrase = args.get("--wifi-passphrase");
    const deviceId = args.get("--device-id");
    const result = provision({
      certificate: readFileSync(certPath),
      key: readFileSync(keyPath),
      ...(deviceId !== undefined ? { deviceId } : {}),
      ...(ssid !== undefined ? { wifi: { ssid, ...(passphrase !== undefined ? { passphrase } : {}), ...(allowOpen ? { allowOpen } : {}) } } : {}),
      ...(floorText !== undefined ? { securityFloor: Number(floorText) } : {}),
      ...(args.has("--setup-password") ? { setupPassword: args.get("--setup-password")! } : {}),
    });
    const gen = image !== undefined ? findNvsGenerator(args.get("--gen")) : undefined;
    if (image !== undefined && !gen && args.has("--gen")) throw new ProvisioningError(`--gen ${args.get("--gen")!}: not Espressif's NVS partition generator (or python3 or its cryptography module is missing)`);
    let out = args.get("--out");
    if (!out && image !== undefined) {
      if (!gen) throw new ProvisioningError("the NVS partition generator is not available (pip install esp-idf-nvs-partition-gen, or --gen <checkout>); give --out <nvs.csv> to get the CSV and the command to run");
      temp = mkdtempSync(join(tmpdir(), "kisme-provision-"));
      out = join(temp, "nvs.csv");
    }
    if (out === "-") process.stdout.write(result.csv);
    else if (out) writeFileSync(out, result.csv, { mode: 0o600 });
    if (keygen && keyfile !== undefined) writeFileSync(keyfile, nvsKeyPartition(), { mode: 0o600, flag: "wx" });
    if (keyfile !== undefined) checkNvsKeyPartition(readFileSync(keyfile));
    process.stderr.write(
      `provision: device ${result.deviceId}, certificate valid until ${result.notAfter.toISOString()}, ${result.entries.length} entries${ssid ? `, Wi-Fi ${ssid}${allowOpen ? " (open network)" : ""}` : ""}${floorText !== undefined ? `, security floor ${floorText}` : ""}${out && !temp ? ` -> ${out === "-" ? "standard output" : out}` : ""}${keygen ? `, new NVS key -> ${keyfile!}` : ""}\n`,
    );
    // The label: whoever holds the device needs this to reach its setup page (README: Set up a device).
    process.stderr.write(`provision: setup password for the label of ${result.deviceId}: ${result.setupPassword}\n`);
    if (image === undefined) return 0;
    const genArgs = nvsGeneratorArgs(out!, image, encrypt ? keyfile : undefined);
    if (!gen) {
      process.stderr.write(`provision: the NVS partition generator is not available; run:\n  python3 -m esp_idf_nvs_partition_gen ${genArgs.join(" ")}\n(pip install esp-idf-nvs-partition-gen, or --gen <checkout of espressif/esp-idf-nvs-partition-gen>)\n`);
      return 3;
    }
    runNvsGenerator(gen, genArgs);
    chmodSync(image, 0o600); // a plain image holds the private key in clear
    process.stderr.write(`provision: ${encrypt ? "encrypted " : ""}NVS partition image -> ${image} (${gen.display} ${basename(genArgs[0]!)})\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`provision: ${message(error)}\n`);
    return 1;
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
