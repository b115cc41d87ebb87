import type { CryptoPort } from "../ports/crypto";
import { utf8 } from "../core/bytes";
import { isJsonObject } from "../azure/twin";
import { FIRMWARE_STORAGE_RULE, hostMatches } from "../net/egress-policy";

/** The products a firmware image is built for: the profile name of the running firmware (FirmwareConfig.profile). */
export type FirmwareProduct = "box" | "light";
export const FIRMWARE_PRODUCTS: readonly FirmwareProduct[] = Object.freeze(["box", "light"]);

/** The highest security version a manifest may carry (it fits an NVS i32 and stays exact everywhere). */
export const MAX_SECURITY_VERSION = 2_147_483_647;

/** The desired twin property `firmware`: which image the device should run (format kisme-fw:v2). */
export interface FirmwareManifest {
  /** The product the image is for: a KIS.BOX refuses a KIS.LIGHT image and the other way round. Signed. */
  readonly product: FirmwareProduct;
  readonly version: string;
  /** https URL of the image (Azure blob storage, usually with a SAS token). Not signed: the hash is. */
  readonly url: string;
  /** Image size in bytes. */
  readonly size: number;
  /** SHA-256 of the image, 64 lower-case hex digits. */
  readonly sha256: string;
  /**
   * The image's security version (0..MAX_SECURITY_VERSION, set by the release tool). The device refuses an image
   * below the floor it keeps (raised to this after a confirmed update, never lowered). Signed.
   */
  readonly securityVersion: number;
  /**
   * A downgrade: the exact version this manifest replaces. A device running anything else refuses it, and an
   * older version is installed only with it. Needs `expires`. Signed.
   */
  readonly downgradeFrom?: string;
  /** Seconds since the Unix epoch (UTC) after which the device refuses the manifest; required for a downgrade. Signed. */
  readonly expires?: number;
  /** Why the downgrade (reported with it; not signed). Required with `downgradeFrom`. */
  readonly downgradeReason?: string;
  /** Base64 DER ECDSA P-256 signature over `canonicalMessage(manifest)`. */
  readonly signature: string;
}

export type OtaErrorCode =
  | "invalid-manifest"
  | "bad-signature"
  | "downgrade"
  | "wrong-product"
  | "security-version"
  | "expired"
  | "clock-not-set"
  | "too-large"
  | "egress-denied"
  | "http-status"
  | "size-mismatch"
  | "hash-mismatch"
  | "stalled"
  | "network"
  | "write-failed"
  | "cancelled"
  | "busy"
  | "not-confirmed";

/** Why an update failed; `code: message` is what the device reports as `lastError`. */
export class OtaError extends Error {
  override readonly name = "OtaError";
  constructor(
    readonly code: OtaErrorCode,
    message: string,
    /** Worth another attempt (network trouble, 5xx, a stall). */
    readonly retryable = false,
  ) {
    super(message);
  }

  get report(): string {
    return `${this.code}: ${this.message}`;
  }
}

export const CANONICAL_PREFIX = "kisme-fw:v2";

/** The fields the release key signs. */
export type SignedFields = Pick<FirmwareManifest, "product" | "version" | "size" | "sha256" | "securityVersion" | "downgradeFrom" | "expires">;

/**
 * The exact bytes the release key signs (UTF-8, "\n" separated, no trailing newline):
 *
 *   kisme-fw:v2
 *   product={box|light}
 *   version={version}
 *   size={size in decimal}
 *   sha256={sha256, lower-case hex}
 *   security-version={security version in decimal}
 *   downgrade-from={the version a downgrade replaces, or nothing}
 *   expires={seconds since the epoch, or nothing}
 *
 * The URL is not signed (images may move between storage accounts); the hash pins the bytes. Everything that
 * decides whether a device may install the image is signed: whoever can write the twin cannot send a KIS.LIGHT
 * image to a KIS.BOX, lower the security version, or turn an old release into a downgrade. A downgrade names the
 * one version it replaces and expires, so it cannot roll a device back later or from another version. Every
 * field is checked to hold no line break (parseManifest), so the encoding is unambiguous. Version 1 manifests
 * (`kisme-fw:v1`, which signed only version, size, hash and a downgrade flag) are not accepted: their signed
 * bytes bind neither product nor security version, and a v1 downgrade would roll back any device forever.
 * The prefix keeps a v1 signature from ever verifying as v2.
 */
export function canonicalMessage(m: SignedFields): string {
  return [
    CANONICAL_PREFIX,
    `product=${m.product}`,
    `version=${m.version}`,
    `size=${m.size}`,
    `sha256=${m.sha256.toLowerCase()}`,
    `security-version=${m.securityVersion}`,
    `downgrade-from=${m.downgradeFrom ?? ""}`,
    `expires=${m.expires ?? ""}`,
  ].join("\n");
}

// Made at run time, once: XS would preload a module-level RegExp into flash, where exec crashes (mcsim segfault).
let versionPattern: RegExp | undefined;
const versionRe = (): RegExp => (versionPattern ??= /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,40}))?$/);

export function isVersion(text: string): boolean {
  return versionRe().test(text);
}

/**
 * Compares semantic versions "MAJOR.MINOR.PATCH[-pre]" (build metadata is not allowed): negative when a < b.
 * A pre-release is older than its release; pre-release identifiers compare numerically or lexically.
 */
export function compareVersions(a: string, b: string): number {
  const x = versionRe().exec(a);
  const y = versionRe().exec(b);
  if (!x || !y) throw new RangeError(`not a version: ${JSON.stringify(x ? b : a)}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const pa = x[4];
  const pb = y[4];
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? 1 : -1;
  const ia = pa.split(".");
  const ib = pb.split(".");
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const s = ia[i];
    const t = ib[i];
    if (s === undefined) return -1;
    if (t === undefined) return 1;
    const ns = /^\d+$/.test(s);
    const nt = /^\d+$/.test(t);
    if (ns && nt) {
      const d = Number(s) - Number(t);
      if (d !== 0) return d < 0 ? -1 : 1;
    } else if (ns !== nt) return ns ? -1 : 1;
    else if (s !== t) return s < t ? -1 : 1;
  }
  return 0;
}

export interface ParsedUrl {
  readonly host: string;
  readonly port: number;
  /** Path and query. */
  readonly path: string;
}

/** Parses an https URL (no user info, no fragment); undefined for anything else. */
export function parseHttpsUrl(url: string): ParsedUrl | undefined {
  if (url.length > 2048) return undefined;
  const m = /^https:\/\/([A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/[^#\s]*)?$/.exec(url);
  if (!m) return undefined;
  const port = m[2] === undefined ? 443 : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.toLowerCase(), port, path: m[3] ?? "/" };
}

/**
 * A firmware image URL the device may download from, parsed; undefined for anything else. Accepted only under
 * the egress table's blob-storage rule (FIRMWARE_STORAGE_RULE) itself: scheme https, host = exactly one DNS label
 * + `.blob.core.windows.net` (any case; no trailing dot), port 443 (explicit or by default), no user info, no
 * fragment. An IP literal can never match the host. That the whole table would also allow the host and port
 * (`*:53/tcp` allows any host on port 53) is not enough.
 */
export function parseFirmwareUrl(url: string): ParsedUrl | undefined {
  const parsed = parseHttpsUrl(url);
  if (!parsed) return undefined;
  const rule = FIRMWARE_STORAGE_RULE;
  if (rule.transport !== "tcp" || parsed.port !== rule.port) return undefined;
  if (parsed.host.endsWith(".") || !hostMatches(rule.host, parsed.host)) return undefined;
  return parsed;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Strict base64 (standard alphabet, padding optional); undefined when malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/=+$/, "");
  if (clean.length % 4 === 1 || !/^[A-Za-z0-9+/]*$/.test(clean)) return undefined;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | B64.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

export interface ManifestChecks {
  /** The version running now. */
  readonly currentVersion: string;
  /** Size of the slot the image goes to. */
  readonly slotSize: number;
  /** The product of the running firmware (its profile name). */
  readonly product: FirmwareProduct;
  /** The lowest security version the device still installs (SecurityFloor). */
  readonly securityFloor: number;
  /** Wall-clock time (ms since the epoch) when the clock is valid (SNTP), else undefined. */
  readonly now: number | undefined;
}

export function isFirmwareProduct(value: unknown): value is FirmwareProduct {
  return value === "box" || value === "light";
}

/** A whole number 0..MAX_SECURITY_VERSION. */
export function isSecurityVersion(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_SECURITY_VERSION;
}

/** Seconds since the epoch up to the year 9999. */
const isExpiry = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value > 0 && value < 253_402_300_800;

/** Parses and checks the shape of a desired `firmware` value; throws OtaError("invalid-manifest"). */
export function parseManifest(value: unknown): FirmwareManifest {
  const bad = (why: string): never => {
    throw new OtaError("invalid-manifest", why);
  };
  if (!isJsonObject(value)) return bad("firmware must be an object");
  const { product, version, url, size, sha256, securityVersion, downgradeFrom, expires, signature, downgradeReason } = value;
  if (value["allowDowngrade"] !== undefined || (product === undefined && securityVersion === undefined)) {
    return bad(`not a ${CANONICAL_PREFIX} manifest (no product and securityVersion, or the v1 allowDowngrade): kisme-fw:v1 manifests are no longer accepted; sign it again with scripts/release-image.mjs`);
  }
  if (!isFirmwareProduct(product)) return bad(`product must be one of ${FIRMWARE_PRODUCTS.join(", ")}`);
  if (typeof version !== "string" || !isVersion(version)) return bad("version must be MAJOR.MINOR.PATCH[-pre]");
  if (typeof url !== "string" || !parseHttpsUrl(url)) return bad("url must be an https URL");
  if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) return bad("size must be a positive integer");
  if (typeof sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha256)) return bad("sha256 must be 64 hex digits");
  if (!isSecurityVersion(securityVersion)) return bad(`securityVersion must be a whole number 0..${MAX_SECURITY_VERSION}`);
  if (downgradeFrom !== undefined && (typeof downgradeFrom !== "string" || !isVersion(downgradeFrom))) return bad("downgradeFrom must be MAJOR.MINOR.PATCH[-pre]");
  if (expires !== undefined && !isExpiry(expires)) return bad("expires must be whole seconds since the Unix epoch");
  if (typeof signature !== "string" || signature.length === 0 || signature.length > 200) return bad("signature must be base64 DER");
  if (downgradeReason !== undefined && (typeof downgradeReason !== "string" || downgradeReason.length > 200)) return bad("downgradeReason must be a short string");
  if (downgradeFrom !== undefined && expires === undefined) return bad("a downgrade (downgradeFrom) needs an expiry (expires)");
  if (downgradeFrom !== undefined && !downgradeReason) return bad("a downgrade (downgradeFrom) needs a downgradeReason");
  if (downgradeFrom === undefined && downgradeReason !== undefined) return bad("downgradeReason is only for a downgrade (downgradeFrom)");
  return {
    product,
    version,
    url,
    size,
    sha256: sha256.toLowerCase(),
    securityVersion,
    ...(downgradeFrom !== undefined ? { downgradeFrom } : {}),
    ...(expires !== undefined ? { expires } : {}),
    ...(typeof downgradeReason === "string" ? { downgradeReason } : {}),
    signature,
  };
}

/**
 * Everything that can be checked before a byte is downloaded, cheapest first: size against the slot, the URL
 * against the egress table's blob-storage rule (parseFirmwareUrl), the product, the security version against the
 * floor, the version against the running one (an older one only as a downgrade that names the running version),
 * the expiry against the clock (refused while the clock is not valid), and the signature over all of it. Returns
 * the parsed URL. (The connection itself is checked against the whole table again, like every other one.)
 */
export function checkManifest(m: FirmwareManifest, checks: ManifestChecks, crypto: CryptoPort, publicKey: Uint8Array): ParsedUrl {
  const url = parseHttpsUrl(m.url);
  if (!url) throw new OtaError("invalid-manifest", "url must be an https URL");
  if (m.size > checks.slotSize) throw new OtaError("too-large", `image of ${m.size} bytes does not fit the ${checks.slotSize}-byte slot`);
  if (!parseFirmwareUrl(m.url)) {
    throw new OtaError("egress-denied", `${url.host}:${url.port} is not firmware blob storage (https, ${FIRMWARE_STORAGE_RULE.host}, port ${FIRMWARE_STORAGE_RULE.port})`);
  }
  if (m.product !== checks.product) throw new OtaError("wrong-product", `the image is for the product "${m.product}", this device is "${checks.product}"`);
  if (m.securityVersion < checks.securityFloor) {
    throw new OtaError("security-version", `security version ${m.securityVersion} is below this device's floor ${checks.securityFloor}`);
  }
  if (m.downgradeFrom !== undefined && m.downgradeFrom !== checks.currentVersion) {
    throw new OtaError("downgrade", `the manifest replaces ${m.downgradeFrom}, this device runs ${checks.currentVersion}`);
  }
  if (compareVersions(m.version, checks.currentVersion) < 0 && m.downgradeFrom === undefined) {
    throw new OtaError("downgrade", `${m.version} is older than the running ${checks.currentVersion}`);
  }
  if (m.expires !== undefined) {
    // Retryable: refused only until SNTP has set the clock (no TLS, and so no twin, before that anyway).
    if (checks.now === undefined) throw new OtaError("clock-not-set", "the manifest expires and the clock is not set yet (SNTP)", true);
    if (checks.now >= m.expires * 1000) throw new OtaError("expired", `the manifest expired at ${new Date(m.expires * 1000).toISOString()}`);
  }
  const signature = decodeBase64(m.signature);
  if (!signature || !crypto.verifyP256(publicKey, utf8(canonicalMessage(m)), signature)) {
    throw new OtaError("bad-signature", "the manifest's signature does not verify with the firmware's release key");
  }
  return url;
}
