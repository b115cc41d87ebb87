#!/usr/bin/env node
// Signs a firmware image for over-the-air update and prints the desired-property patch for the device twin.
//
//   node scripts/release-image.mjs --key <release-key.pem> --version <x.y.z> --url <https://...> [--image <file>] [options]
//
// Run with --help for the options and for how to make a release key. No key is ever kept in this repository.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { imageProblems } from "./lib/image-secrets.mjs";
import { VERSION, compareVersions } from "./lib/versions.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const HELP = `Usage: node scripts/release-image.mjs --key <pem> --product box|light --security-version <n> --version <x.y.z>
                                        --url <https-url> [--image <file>] [--platform esp32] [--name <app>]
                                        [--downgrade-from <x.y.z> --expires <when> --reason <text>] [--expires <when>]
                                        [--dev-pki <dir> ...] [--print-public-key]

Computes the image's size and SHA-256, signs the canonical manifest (format kisme-fw:v2) with the release key
(ECDSA P-256, SHA-256, DER signature) and prints the desired-property patch to apply to the device twin(s):

  {"firmware":{"product":"box","version":"1.3.0","url":"https://...","size":1234567,"sha256":"<64 hex>",
               "securityVersion":3,"signature":"<base64 DER>"}}

An image that holds the development PKI (a certificate or key from .dev/, local/, $KISME_DEV_CREDENTIALS or
--dev-pki, or any certificate of a development CA) or any private key (PEM, or DER: PKCS#8, PKCS#1, SEC1) is
refused (exit status 1): build it without --dev-credentials.

The signed bytes (UTF-8, "\\n" between lines, no trailing newline) are:

  kisme-fw:v2
  product=<box|light>
  version=<version>
  size=<size in bytes, decimal>
  sha256=<sha256, lower-case hex>
  security-version=<security version, decimal>
  downgrade-from=<the version a downgrade replaces, or nothing>
  expires=<seconds since the Unix epoch, or nothing>

Devices refuse an image for another product, an image whose security version is below their floor (raised to
the security version of every update they confirm, never lowered, kept through a factory reset), an older
version unless the manifest is a downgrade from exactly the version they run, and a manifest after its expiry
(an expiring manifest also waits until the device's clock is set by SNTP). kisme-fw:v1 manifests are refused.

Options
  --image <file>      the image to release. Without it, the newest mcconfig output
                      <output>/bin/<platform>[/mc]/release/<name>/xs_esp32.bin is used, where <output> is
                      $KISME_SDK_OUTPUT if set (scripts/build-device.mjs -o), else $MODDABLE/build. A production
                      image (Secure Boot v2) is the app signed with espsecure (README: Production line).
  --platform <p>      mcconfig platform folder for the default image (default esp32).
  --name <app>        mcconfig application name for the default image (default: the product's app, kisbox for
                      --product box, kislight for --product light, as scripts/build-device.mjs names it).
  --key <pem>         the release private key (PEM, PKCS#8 or SEC1, curve P-256 / prime256v1).
  --product <p>       box (KIS.BOX) or light (KIS.LIGHT): the product the image was built for (required).
  --security-version <n>
                      the image's security version, a whole number 0..2147483647 (required). Raise it with every
                      release that fixes a vulnerability: devices that confirmed it refuse every image below it.
                      Never sign an image with a higher security version than it was first released with.
  --version <v>       MAJOR.MINOR.PATCH[-pre]: must be the version compiled into the image.
  --url <url>         where the devices download it (https; Azure blob storage: *.blob.core.windows.net:443,
                      usually with a read-only SAS token). The URL is not signed: the image may move.
  --downgrade-from <v>
                      sign a downgrade: only devices running exactly <v> install this older version. Needs
                      --expires and --reason.
  --expires <when>    the manifest is refused after this time: an ISO 8601 time with its zone
                      (2026-02-01T00:00:00Z), seconds since the epoch, or from now: <n>m, <n>h or <n>d (e.g. 7d).
                      Required for a downgrade (keep it short: days); optional otherwise.
  --reason <text>     why the downgrade (reported with the update; not signed).
  --dev-pki <dir>     another folder of development certificates and keys the image must not contain
                      (repeatable; .dev/, local/ and $KISME_DEV_CREDENTIALS are always searched).
  --print-public-key  print the key's public half (DER SubjectPublicKeyInfo, base64) instead, for building it
                      into the firmware.

Making a release key (once; keep release.pem offline, e.g. in an HSM or a password manager; never commit it):

  openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out release.pem
  node scripts/release-image.mjs --key release.pem --print-public-key    # the firmware's releaseKey setting

Verifying a patch by hand (the signed message rebuilt from the patch):

  printf 'kisme-fw:v2\\nproduct=%s\\nversion=%s\\nsize=%s\\nsha256=%s\\nsecurity-version=%s\\ndowngrade-from=%s\\nexpires=%s' \\
    box 1.3.0 <size> <sha256> <security version> '' '' > msg
  base64 -d <<< '<signature>' > sig.der
  openssl dgst -sha256 -verify <(openssl pkey -in release.pem -pubout) -signature sig.der msg
`;

function fail(message) {
  process.stderr.write(`release-image: ${message}\n`);
  process.exit(1);
}

const PRODUCTS = { box: "kisbox", light: "kislight" };
const MAX_SECURITY_VERSION = 2_147_483_647;

/** The firmware's own canonical message (src/update/update-manifest.ts canonicalMessage, kisme-fw:v2). */
function canonicalMessage({ product, version, size, sha256, securityVersion, downgradeFrom, expires }) {
  return [
    "kisme-fw:v2",
    `product=${product}`,
    `version=${version}`,
    `size=${size}`,
    `sha256=${sha256.toLowerCase()}`,
    `security-version=${securityVersion}`,
    `downgrade-from=${downgradeFrom ?? ""}`,
    `expires=${expires ?? ""}`,
  ].join("\n");
}

/** --expires: ISO 8601 with a zone, seconds since the epoch, or <n>m/h/d from now; returns whole epoch seconds. */
function parseExpiry(text, nowMs = Date.now()) {
  let ms;
  const relative = /^(\d{1,6})([mhd])$/.exec(text);
  if (relative) ms = nowMs + Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2]];
  else if (/^\d{9,11}$/.test(text)) ms = Number(text) * 1000;
  else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text)) ms = Date.parse(text);
  else fail(`--expires ${JSON.stringify(text)}: give an ISO 8601 time with its zone (2026-02-01T00:00:00Z), seconds since the epoch, or <n>m, <n>h, <n>d`);
  if (!Number.isFinite(ms)) fail(`--expires ${JSON.stringify(text)} is not a time`);
  const seconds = Math.ceil(ms / 1000);
  if (seconds * 1000 <= nowMs) fail(`--expires ${new Date(seconds * 1000).toISOString()} is not in the future`);
  if (seconds >= 253_402_300_800) fail("--expires is after the year 9999");
  return seconds;
}

function parseArgs(argv) {
  const options = { "dev-pki": [] };
  const flags = new Set(["--allow-downgrade", "--print-public-key", "--help", "-h"]);
  const known = new Set(["--key", "--product", "--security-version", "--version", "--url", "--image", "--platform", "--name", "--downgrade-from", "--expires", "--reason", "--dev-pki"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (flags.has(arg)) options[arg.replace(/^-+/, "")] = true;
    else if (known.has(arg)) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value`);
      if (arg === "--dev-pki") options["dev-pki"].push(value);
      else options[arg.slice(2)] = value;
      i++;
    } else fail(`unexpected argument ${JSON.stringify(arg)} (see --help)`);
  }
  return options;
}

function defaultImage(options) {
  const output = process.env.KISME_SDK_OUTPUT || undefined;
  const moddable = process.env.MODDABLE;
  if (!output && !moddable) fail("--image is required (or set KISME_SDK_OUTPUT or MODDABLE to use the mcconfig build output)");
  const platform = options.platform ?? "esp32";
  // The app is the product's (products/kis<product>/manifest.json), whatever the checkout folder is called.
  const name = options.name ?? PRODUCTS[options.product];
  const base = output ? path.join(path.resolve(output), "bin") : path.join(moddable, "build", "bin");
  // mcconfig (release builds) leaves the application image here, by platform / subplatform folder.
  const candidates = [];
  if (existsSync(base)) {
    for (const dir of readdirSync(base)) {
      if (dir !== platform && !dir.startsWith(`${platform}_`) && !dir.startsWith(`${platform}-`)) continue;
      for (const sub of [["release", name], ["mc", "release", name]]) {
        const file = path.join(base, dir, ...sub, "xs_esp32.bin");
        if (existsSync(file)) candidates.push(file);
      }
    }
  }
  if (candidates.length === 0) fail(`no mcconfig output (xs_esp32.bin) for ${name} under ${path.join(base, platform)}; build with scripts/build-device.mjs esp32 -t build, or pass --image`);
  candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (candidates.length > 1) process.stderr.write(`release-image: using the newest of ${candidates.length} builds: ${candidates[0]}\n`);
  return candidates[0];
}

function loadKey(file) {
  if (!file) fail("--key <pem> is required");
  let key;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (error) {
    fail(`cannot read the private key ${file}: ${error.message}`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") fail("the release key must be an EC key on P-256 (prime256v1)");
  return key;
}

/** Refuses (exit 1) an image that holds development certificates or keys, or any private key. */
function checkNoDevelopmentCredentials(image, imageFile, extraFolders) {
  const folders = [path.join(root, ".dev"), path.join(root, "local"), ...extraFolders.map((dir) => path.resolve(dir))];
  const named = process.env.KISME_DEV_CREDENTIALS;
  if (named) folders.push(path.resolve(root, named));
  const problems = imageProblems(image, { folders, publicFolders: [path.join(root, "certs")], root });
  if (problems.length === 0) return;
  fail(
    `refusing ${imageFile}: it contains development credentials or a private key:\n  - ${problems.join("\n  - ")}\n` +
      "A released image carries no key and no development certificate. Build it without --dev-credentials\n" +
      "(node scripts/build-device.mjs esp32 -t build) and release that image.",
  );
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help || options.h) {
    process.stdout.write(HELP);
    return;
  }
  const key = loadKey(options.key);
  const publicKey = createPublicKey(key);
  if (options["print-public-key"]) {
    process.stdout.write(`${publicKey.export({ format: "der", type: "spki" }).toString("base64")}\n`);
    return;
  }
  if (options["allow-downgrade"]) fail("--allow-downgrade was the kisme-fw:v1 downgrade flag: sign a downgrade with --downgrade-from <the version it replaces> --expires <when> --reason <text>");
  const product = options.product;
  if (!Object.hasOwn(PRODUCTS, product ?? "")) fail("--product must be box or light (the product the image was built for)");
  const sv = options["security-version"];
  if (typeof sv !== "string" || !/^(0|[1-9]\d{0,9})$/.test(sv) || Number(sv) > MAX_SECURITY_VERSION) fail(`--security-version must be a whole number 0..${MAX_SECURITY_VERSION}`);
  const securityVersion = Number(sv);
  const version = options.version;
  if (typeof version !== "string" || !VERSION.test(version)) fail("--version must be MAJOR.MINOR.PATCH[-pre]");
  const url = options.url;
  if (typeof url !== "string" || !/^https:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(\/[^#\s]*)?$/.test(url)) fail("--url must be an https URL without user info or fragment");
  if (!/^https:\/\/[a-z0-9-]+\.blob\.core\.windows\.net(:443)?\//i.test(url)) process.stderr.write("release-image: warning: devices only download from *.blob.core.windows.net:443 (the integration guide's egress table)\n");
  const downgradeFrom = options["downgrade-from"];
  if (downgradeFrom !== undefined) {
    if (!VERSION.test(downgradeFrom)) fail("--downgrade-from must be MAJOR.MINOR.PATCH[-pre]");
    if (compareVersions(version, downgradeFrom) >= 0) fail(`--downgrade-from ${downgradeFrom}: ${version} is not older, so this is no downgrade`);
    if (!options.expires) fail("--downgrade-from needs --expires <when> (a downgrade manifest must expire)");
    if (!options.reason) fail("--downgrade-from needs --reason <text>");
  } else if (options.reason) fail("--reason is only for --downgrade-from");
  const expires = options.expires === undefined ? undefined : parseExpiry(options.expires);
  if (downgradeFrom !== undefined && expires * 1000 - Date.now() > 30 * 86_400_000) {
    process.stderr.write(`release-image: warning: this downgrade stays valid until ${new Date(expires * 1000).toISOString()}; keep downgrade windows short\n`);
  }

  const imageFile = options.image ?? defaultImage(options);
  const image = readFileSync(imageFile);
  if (image.length === 0) fail(`${imageFile} is empty`);
  checkNoDevelopmentCredentials(image, imageFile, options["dev-pki"]);
  const sha256 = createHash("sha256").update(image).digest("hex");
  const manifest = {
    product,
    version,
    url,
    size: image.length,
    sha256,
    securityVersion,
    ...(downgradeFrom !== undefined ? { downgradeFrom } : {}),
    ...(expires !== undefined ? { expires } : {}),
  };
  const message = Buffer.from(canonicalMessage(manifest));
  const signature = sign("sha256", message, { key, dsaEncoding: "der" });
  if (!verify("sha256", message, { key: publicKey, dsaEncoding: "der" }, signature)) fail("self-check of the signature failed");
  const firmware = { ...manifest, ...(downgradeFrom !== undefined ? { downgradeReason: options.reason } : {}), signature: signature.toString("base64") };
  if (expires !== undefined) process.stderr.write(`release-image: the manifest expires at ${new Date(expires * 1000).toISOString()}\n`);
  process.stderr.write(`release-image: ${imageFile}: ${image.length} bytes, sha256 ${sha256}\n`);
  process.stdout.write(`${JSON.stringify({ firmware })}\n`);
}

main();
