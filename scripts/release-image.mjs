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

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const HELP = `Usage: node scripts/release-image.mjs --key <pem> --version <x.y.z> --url <https-url> [--image <file>]
                                        [--platform esp32] [--name <app>] [--allow-downgrade --reason <text>]
                                        [--dev-pki <dir> ...] [--print-public-key]

Computes the image's size and SHA-256, signs the canonical manifest with the release key (ECDSA P-256, SHA-256,
DER signature) and prints the desired-property patch to apply to the device twin(s):

  {"firmware":{"version":"1.3.0","url":"https://...","size":1234567,"sha256":"<64 hex>","signature":"<base64 DER>"}}

An image that holds the development PKI (a certificate or key from .dev/, local/, $KISME_DEV_CREDENTIALS or
--dev-pki, or any certificate of a development CA) or any private key (PEM, or DER: PKCS#8, PKCS#1, SEC1) is
refused (exit status 1): build it without --dev-credentials.

The signed bytes (UTF-8, "\\n" between lines, no trailing newline) are:

  kisme-fw:v1
  <version>
  <size in bytes, decimal>
  <sha256, lower-case hex>
  downgrade=<0|1>

Options
  --image <file>      the image to release. Without it and with MODDABLE set, the newest mcconfig output
                      $MODDABLE/build/bin/<platform>[/mc]/release/<name>/xs_esp32.bin is used.
  --platform <p>      mcconfig platform folder for the default image (default esp32).
  --name <app>        mcconfig application name for the default image (default: this folder's name).
  --key <pem>         the release private key (PEM, PKCS#8 or SEC1, curve P-256 / prime256v1).
  --version <v>       MAJOR.MINOR.PATCH[-pre]: must be the version compiled into the image.
  --url <url>         where the devices download it (https; Azure blob storage: *.blob.core.windows.net:443,
                      usually with a read-only SAS token). The URL is not signed: the image may move.
  --allow-downgrade   sign the manifest as an allowed downgrade (devices refuse older versions otherwise);
                      needs --reason.
  --reason <text>     why the downgrade is allowed (reported with the update).
  --dev-pki <dir>     another folder of development certificates and keys the image must not contain
                      (repeatable; .dev/, local/ and $KISME_DEV_CREDENTIALS are always searched).
  --print-public-key  print the key's public half (DER SubjectPublicKeyInfo, base64) instead, for building it
                      into the firmware.

Making a release key (keep the private key offline, e.g. in an HSM or a password manager; never commit it):

  openssl ecparam -name prime256v1 -genkey -noout -out kisme-release.key.pem
  openssl pkcs8 -topk8 -nocrypt -in kisme-release.key.pem -out kisme-release.pk8.pem     # optional: PKCS#8
  openssl ec -in kisme-release.key.pem -pubout -outform DER -out kisme-release.pub.der  # built into the firmware

Verifying a patch by hand (the signed message rebuilt from the patch):

  printf 'kisme-fw:v1\\n%s\\n%s\\n%s\\ndowngrade=0' 1.3.0 <size> <sha256> > msg
  base64 -d <<< '<signature>' > sig.der
  openssl dgst -sha256 -verify <(openssl ec -in kisme-release.key.pem -pubout) -signature sig.der msg
`;

function fail(message) {
  process.stderr.write(`release-image: ${message}\n`);
  process.exit(1);
}

function canonicalMessage({ version, size, sha256, allowDowngrade }) {
  return `kisme-fw:v1\n${version}\n${size}\n${sha256.toLowerCase()}\ndowngrade=${allowDowngrade === true ? 1 : 0}`;
}

function parseArgs(argv) {
  const options = { "dev-pki": [] };
  const flags = new Set(["--allow-downgrade", "--print-public-key", "--help", "-h"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (flags.has(arg)) options[arg.replace(/^-+/, "")] = true;
    else if (arg.startsWith("--")) {
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
  const moddable = process.env.MODDABLE;
  if (!moddable) fail("--image is required (or set MODDABLE to use the mcconfig build output)");
  const platform = options.platform ?? "esp32";
  const name = options.name ?? path.basename(root);
  const base = path.join(moddable, "build", "bin");
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
  const version = options.version;
  if (typeof version !== "string" || !/^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,40}))?$/.test(version)) fail("--version must be MAJOR.MINOR.PATCH[-pre]");
  const url = options.url;
  if (typeof url !== "string" || !/^https:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(\/[^#\s]*)?$/.test(url)) fail("--url must be an https URL without user info or fragment");
  if (!/^https:\/\/[a-z0-9-]+\.blob\.core\.windows\.net(:443)?\//i.test(url)) process.stderr.write("release-image: warning: devices only download from *.blob.core.windows.net:443 (the integration guide's egress table)\n");
  const allowDowngrade = options["allow-downgrade"] === true;
  if (allowDowngrade && !options.reason) fail("--allow-downgrade needs --reason <text>");
  if (!allowDowngrade && options.reason) fail("--reason is only for --allow-downgrade");

  const imageFile = options.image ?? defaultImage(options);
  const image = readFileSync(imageFile);
  if (image.length === 0) fail(`${imageFile} is empty`);
  checkNoDevelopmentCredentials(image, imageFile, options["dev-pki"]);
  const sha256 = createHash("sha256").update(image).digest("hex");
  const manifest = { version, url, size: image.length, sha256, ...(allowDowngrade ? { allowDowngrade: true } : {}) };
  const message = Buffer.from(canonicalMessage(manifest));
  const signature = sign("sha256", message, { key, dsaEncoding: "der" });
  if (!verify("sha256", message, { key: publicKey, dsaEncoding: "der" }, signature)) fail("self-check of the signature failed");
  const firmware = { ...manifest, signature: signature.toString("base64"), ...(allowDowngrade ? { downgradeReason: options.reason } : {}) };
  process.stderr.write(`release-image: ${imageFile}: ${image.length} bytes, sha256 ${sha256}\n`);
  process.stdout.write(`${JSON.stringify({ firmware })}\n`);
}

main();
