// What must never be inside a released firmware image: the development PKI (the CA, device and server
// certificates and keys the tools make under .dev/ and local/) and any private key at all. Used by
// scripts/release-image.mjs before it signs an image; apart so that it can be tested.
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

/** Subject names of the CAs the project's tools make (host/pki/dev-pki.ts, the tests); every certificate they issue names one as its issuer. */
export const DEV_CA_NAMES = Object.freeze(["KIS.ME Development Root CA", "KIS.ME Test Root CA"]);

const PKI_FILE = /\.(der|pem|key|crt|cer|p8|pk8)$/i;
const MAX_PKI_FILE = 64 * 1024;
const MIN_NEEDLE = 64;

/** The DER blocks of every PEM block in `text` (certificates and keys alike), with their labels. */
export function pemBlocks(text) {
  const out = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]+)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ label: m[1], der: Buffer.from(m[2].replace(/\s+/g, ""), "base64") });
  return out;
}

/** Small certificate and key files below `dir` (recursive, a few levels deep); missing folders give nothing. */
function pkiFiles(dir, depth = 0) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < 6) out.push(...pkiFiles(full, depth + 1));
    } else if (entry.isFile() && PKI_FILE.test(entry.name)) {
      try {
        if (statSync(full).size <= MAX_PKI_FILE) out.push(full);
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

/** The byte sequences a file stands for: its bytes, and the DER of each PEM block in it. */
function fileNeedles(file) {
  const bytes = readFileSync(file);
  const out = [{ file, what: "file", bytes }];
  for (const block of pemBlocks(bytes.toString("latin1"))) out.push({ file, what: block.label, bytes: block.der });
  return out;
}

/**
 * Everything of the development PKI in `folders` as byte sequences to look for, minus anything that equals a file
 * in `publicFolders` (the public roots in certs/, which every image carries).
 */
export function developmentNeedles(folders, publicFolders = []) {
  const publicBytes = publicFolders.flatMap((dir) => pkiFiles(dir).flatMap(fileNeedles)).map((n) => n.bytes);
  const seen = new Set();
  const out = [];
  for (const dir of folders) {
    for (const file of pkiFiles(dir)) {
      for (const needle of fileNeedles(file)) {
        if (needle.bytes.length < MIN_NEEDLE) continue;
        const key = needle.bytes.toString("base64");
        if (seen.has(key) || publicBytes.some((p) => p.equals(needle.bytes))) continue;
        seen.add(key);
        out.push(needle);
      }
    }
  }
  return out;
}

// ---- private keys in any encoding the tools write ----

const KEY_ALGORITHMS = new Map([
  ["2a864886f70d010101", "rsaEncryption"],
  ["2a864886f70d01010a", "RSASSA-PSS"],
  ["2a8648ce3d0201", "ecPublicKey"],
  ["2a8648ce380401", "DSA"],
  ["2b6570", "Ed25519"],
  ["2b6571", "Ed448"],
  ["2b656e", "X25519"],
  ["2b656f", "X448"],
]);

/** A DER length at `i`: { length, next } (short form, or long form of 1..3 bytes), or undefined. */
function derLength(buf, i) {
  if (i >= buf.length) return undefined;
  const first = buf[i];
  if (first < 0x80) return { length: first, next: i + 1 };
  const n = first & 0x7f;
  if (n < 1 || n > 3 || i + n >= buf.length) return undefined;
  let length = 0;
  for (let k = 1; k <= n; k++) length = length * 256 + buf[i + k];
  return { length, next: i + 1 + n };
}

/** A TLV at `i` with tag `tag`: { start, end } of its content, inside `limit`; or undefined. */
function tlv(buf, i, tag, limit) {
  if (i >= limit || buf[i] !== tag) return undefined;
  const l = derLength(buf, i + 1);
  if (!l || l.next + l.length > limit) return undefined;
  return { start: l.next, end: l.next + l.length };
}

/** The kind of private key whose DER SEQUENCE starts at `p`, or undefined. */
function privateKeyAt(buf, p) {
  const outer = tlv(buf, p, 0x30, buf.length);
  if (!outer || outer.end - outer.start < 16 || outer.end - outer.start > 16384) return undefined;
  const version = tlv(buf, outer.start, 0x02, outer.end);
  if (!version || version.end - version.start !== 1) return undefined;
  const v = buf[version.start];
  // PKCS#8 PrivateKeyInfo / OneAsymmetricKey: version 0|1, AlgorithmIdentifier, OCTET STRING.
  if (v <= 1) {
    const algorithm = tlv(buf, version.end, 0x30, outer.end);
    if (algorithm) {
      const oid = tlv(buf, algorithm.start, 0x06, algorithm.end);
      const name = oid && KEY_ALGORITHMS.get(buf.subarray(oid.start, oid.end).toString("hex"));
      if (name && tlv(buf, algorithm.end, 0x04, outer.end)) return `a PKCS#8 private key (DER, ${name})`;
    }
  }
  // PKCS#1 RSAPrivateKey: version 0, modulus, public exponent (short), private exponent.
  if (v === 0) {
    const modulus = tlv(buf, version.end, 0x02, outer.end);
    const exponent = modulus && tlv(buf, modulus.end, 0x02, outer.end);
    const privateExponent = exponent && tlv(buf, exponent.end, 0x02, outer.end);
    if (modulus && modulus.end - modulus.start >= 64 && exponent.end - exponent.start <= 4 && privateExponent && privateExponent.end - privateExponent.start >= 32) {
      return "a PKCS#1 RSA private key (DER)";
    }
  }
  // SEC1 ECPrivateKey: version 1, OCTET STRING (the scalar), optional [0] parameters and [1] public key, nothing else.
  if (v === 1) {
    const scalar = tlv(buf, version.end, 0x04, outer.end);
    if (scalar && scalar.end - scalar.start >= 16 && scalar.end - scalar.start <= 66) {
      let at = scalar.end;
      for (const tag of [0xa0, 0xa1]) {
        const field = tlv(buf, at, tag, outer.end);
        if (field) at = field.end;
      }
      if (at === outer.end) return "a SEC1 EC private key (DER)";
    }
  }
  return undefined;
}

/** Every private key in `image`: PEM (`-----BEGIN ... PRIVATE KEY-----` with a body) or DER (PKCS#8, PKCS#1, SEC1). */
export function findPrivateKeys(image) {
  const found = [];
  const text = image.toString("latin1");
  const pem = /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----\r?\n[A-Za-z0-9+/=\r\n]{16}/g;
  for (let m = pem.exec(text); m; m = pem.exec(text)) found.push({ offset: m.index, what: `a PEM "${m[1]}"` });
  for (let p = image.indexOf(0x30); p >= 0; p = image.indexOf(0x30, p + 1)) {
    const what = privateKeyAt(image, p);
    if (what) found.push({ offset: p, what });
  }
  return found;
}

/**
 * Why `image` must not be released: development PKI material from `folders` (byte for byte, certificates and keys
 * in PEM or DER), the name of a development CA, or any private key. An empty list: nothing found.
 */
export function imageProblems(image, { folders = [], publicFolders = [], root = process.cwd() } = {}) {
  const problems = [];
  for (const needle of developmentNeedles(folders, publicFolders)) {
    const offset = image.indexOf(needle.bytes);
    if (offset >= 0) {
      const what = needle.what === "file" ? "" : ` (its ${needle.what})`;
      problems.push(`${path.relative(root, needle.file) || needle.file}${what}, at byte ${offset}`);
    }
  }
  for (const name of DEV_CA_NAMES) {
    const offset = image.indexOf(Buffer.from(name, "latin1"));
    if (offset >= 0) problems.push(`the name "${name}" (a certificate of the development PKI), at byte ${offset}`);
  }
  for (const key of findPrivateKeys(image)) problems.push(`${key.what}, at byte ${key.offset}`);
  return problems;
}
