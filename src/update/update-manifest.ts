import type { CryptoPort } from "../ports/crypto";
import { utf8 } from "../core/bytes";
import { isJsonObject } from "../azure/twin";
import { FIRMWARE_STORAGE_RULE, hostMatches } from "../net/egress-policy";

/** The desired twin property `firmware`: which image the device should run. */
export interface FirmwareManifest {
  readonly version: string;
  /** https URL of the image (Azure blob storage, usually with a SAS token). Not signed: the hash is. */
  readonly url: string;
  /** Image size in bytes. */
  readonly size: number;
  /** SHA-256 of the image, 64 lower-case hex digits. */
  readonly sha256: string;
  /** Base64 DER ECDSA P-256 signature over `canonicalMessage(manifest)`. */
  readonly signature: string;
  /** An older version is installed only when this is true (and signed so). */
  readonly allowDowngrade?: boolean;
  readonly downgradeReason?: string;
}

export type OtaErrorCode =
  | "invalid-manifest"
  | "bad-signature"
  | "downgrade"
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

export const CANONICAL_PREFIX = "kisme-fw:v1";

/**
 * The exact bytes the release key signs (UTF-8, "\n" separated, no trailing newline):
 *
 *   kisme-fw:v1
 *   {version}
 *   {size in decimal}
 *   {sha256, lower-case hex}
 *   downgrade={0|1}
 *
 * The URL is not signed (images may move between storage accounts); the hash pins the bytes. The downgrade flag
 * is signed, so whoever can write the twin cannot roll a fleet back to an old, signed but vulnerable image.
 */
export function canonicalMessage(m: Pick<FirmwareManifest, "version" | "size" | "sha256" | "allowDowngrade">): string {
  return `${CANONICAL_PREFIX}\n${m.version}\n${m.size}\n${m.sha256.toLowerCase()}\ndowngrade=${m.allowDowngrade === true ? 1 : 0}`;
}

const VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,40}))?$/;

export function isVersion(text: string): boolean {
  return VERSION.test(text);
}

/**
 * Compares semantic versions "MAJOR.MINOR.PATCH[-pre]" (build metadata is not allowed): negative when a < b.
 * A pre-release is older than its release; pre-release identifiers compare numerically or lexically.
 */
export function compareVersions(a: string, b: string): number {
  const x = VERSION.exec(a);
  const y = VERSION.exec(b);
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
}

/** Parses and checks the shape of a desired `firmware` value; throws OtaError("invalid-manifest"). */
export function parseManifest(value: unknown): FirmwareManifest {
  const bad = (why: string): never => {
    throw new OtaError("invalid-manifest", why);
  };
  if (!isJsonObject(value)) return bad("firmware must be an object");
  const { version, url, size, sha256, signature, allowDowngrade, downgradeReason } = value;
  if (typeof version !== "string" || !isVersion(version)) return bad("version must be MAJOR.MINOR.PATCH[-pre]");
  if (typeof url !== "string" || !parseHttpsUrl(url)) return bad("url must be an https URL");
  if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) return bad("size must be a positive integer");
  if (typeof sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha256)) return bad("sha256 must be 64 hex digits");
  if (typeof signature !== "string" || signature.length === 0 || signature.length > 200) return bad("signature must be base64 DER");
  if (allowDowngrade !== undefined && typeof allowDowngrade !== "boolean") return bad("allowDowngrade must be a boolean");
  if (downgradeReason !== undefined && (typeof downgradeReason !== "string" || downgradeReason.length > 200)) return bad("downgradeReason must be a short string");
  if (allowDowngrade === true && !downgradeReason) return bad("allowDowngrade needs a downgradeReason");
  return {
    version,
    url,
    size,
    sha256: sha256.toLowerCase(),
    signature,
    ...(allowDowngrade !== undefined ? { allowDowngrade } : {}),
    ...(typeof downgradeReason === "string" ? { downgradeReason } : {}),
  };
}

/**
 * Everything that can be checked before a byte is downloaded: size against the slot, the URL against the egress
 * table's blob-storage rule (parseFirmwareUrl), the version against the running one, and the signature. Returns
 * the parsed URL. (The connection itself is checked against the whole table again, like every other one.)
 */
export function checkManifest(m: FirmwareManifest, checks: ManifestChecks, crypto: CryptoPort, publicKey: Uint8Array): ParsedUrl {
  const url = parseHttpsUrl(m.url);
  if (!url) throw new OtaError("invalid-manifest", "url must be an https URL");
  if (m.size > checks.slotSize) throw new OtaError("too-large", `image of ${m.size} bytes does not fit the ${checks.slotSize}-byte slot`);
  if (!parseFirmwareUrl(m.url)) {
    throw new OtaError("egress-denied", `${url.host}:${url.port} is not firmware blob storage (https, ${FIRMWARE_STORAGE_RULE.host}, port ${FIRMWARE_STORAGE_RULE.port})`);
  }
  const order = compareVersions(m.version, checks.currentVersion);
  if (order < 0 && m.allowDowngrade !== true) throw new OtaError("downgrade", `${m.version} is older than the running ${checks.currentVersion}`);
  const signature = decodeBase64(m.signature);
  if (!signature || !crypto.verifyP256(publicKey, utf8(canonicalMessage(m)), signature)) {
    throw new OtaError("bad-signature", "the manifest's signature does not verify with the firmware's release key");
  }
  return url;
}
