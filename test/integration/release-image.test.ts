import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createCa, issueClient } from "../../host/pki/dev-pki";
import { tempDir } from "./support/processes";

const ROOT = join(__dirname, "../../..");
const URL = "https://kismefw.blob.core.windows.net/firmware/kisbox-1.3.0.bin?sv=2024&sig=x";

describe("scripts/release-image.mjs refuses an image with development credentials or a private key", function () {
  this.timeout(60_000);
  let dir: string;
  let key: string;
  let devPki: string;
  let ca: ReturnType<typeof createCa>;

  before(() => {
    dir = tempDir("release-image");
    key = join(dir, "release.pem");
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], { stdio: "ignore" });
    // A development PKI as npm start makes it under .dev/pki, here with a CA name the check does not know.
    devPki = join(dir, "pki");
    ca = createCa(devPki, "Some Local CA");
  });

  /** An image: random bytes around `inside`; the public roots every image carries are in it too. */
  function image(name: string, ...inside: Buffer[]): string {
    const roots = ["DigiCertGlobalRootG2.der", "MicrosoftRSARootCA2017.der"].map((f) => readFileSync(join(ROOT, "certs", f)));
    const file = join(dir, name);
    writeFileSync(file, Buffer.concat([randomBytes(50_000), ...roots, ...inside.flatMap((b) => [b, randomBytes(1000)]), randomBytes(30_000)]));
    return file;
  }

  function release(file: string, ...extra: string[]): { status: number | null; stdout: string; stderr: string } {
    const env = { ...process.env };
    delete env.KISME_DEV_CREDENTIALS;
    const r = spawnSync(process.execPath, [join(ROOT, "scripts/release-image.mjs"), "--key", key, "--product", "box", "--security-version", "0", "--version", "1.3.0", "--url", URL, "--image", file, ...extra], { cwd: ROOT, env, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("accepts a clean image (public roots and a public key are fine) and prints the patch", () => {
    const publicKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "der" });
    const r = release(image("clean.bin", publicKey), "--dev-pki", devPki);
    assert.equal(r.status, 0, r.stderr);
    const patch = JSON.parse(r.stdout) as { firmware: { version: string; url: string } };
    assert.equal(patch.firmware.version, "1.3.0");
    assert.equal(patch.firmware.url, URL);
  });

  it("refuses an image with the development CA certificate (DER) embedded", () => {
    const file = image("with-dev-ca.bin", readFileSync(ca.certDer));
    const r = release(file, "--dev-pki", devPki);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "", "no patch is printed");
    assert.match(r.stderr, /release-image: refusing .*with-dev-ca\.bin: it contains development credentials or a private key:/);
    assert.match(r.stderr, /Some_Local_CA\.der, at byte 5\d{4}/);
    assert.match(r.stderr, /Build it without --dev-credentials/);
  });

  it("refuses the development device key in any form: PKCS#8 DER, the PEM file, and a key of no known folder", () => {
    const device = issueClient(ca, "kisbox-sim-1");
    const der = release(image("with-key-der.bin", readFileSync(device.keyDer)), "--dev-pki", devPki);
    assert.equal(der.status, 1);
    assert.match(der.stderr, /client-kisbox-sim-1\.key(\.der)?( \(its PRIVATE KEY\))?, at byte/);
    assert.match(der.stderr, /a PKCS#8 private key \(DER, rsaEncryption\)/);
    const pem = release(image("with-key-pem.bin", readFileSync(device.key)), "--dev-pki", devPki);
    assert.equal(pem.status, 1);
    assert.match(pem.stderr, /a PEM "PRIVATE KEY"/);
    // Not from any folder the script knows: still a private key.
    const stranger = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    for (const [name, bytes, what] of [
      ["pkcs8.bin", stranger.export({ type: "pkcs8", format: "der" }), /PKCS#8 private key \(DER, ecPublicKey\)/],
      ["sec1.bin", stranger.export({ type: "sec1", format: "der" }), /SEC1 EC private key/],
      ["pkcs1.bin", generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "der" }), /PKCS#1 RSA private key/],
    ] as const) {
      const r = release(image(name, bytes));
      assert.equal(r.status, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, what);
    }
  });

  it("refuses a certificate of the project's development CA even from another machine (by its name)", () => {
    const elsewhere = createCa(join(dir, "elsewhere"));
    const r = release(image("foreign-dev-ca.bin", readFileSync(elsewhere.certDer)));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the name "KIS\.ME Development Root CA" \(a certificate of the development PKI\)/);
  });

  it("searches the folder KISME_DEV_CREDENTIALS names", () => {
    const file = image("named.bin", readFileSync(ca.certDer));
    const r = spawnSync(process.execPath, [join(ROOT, "scripts/release-image.mjs"), "--key", key, "--product", "box", "--security-version", "0", "--version", "1.3.0", "--url", URL, "--image", file], {
      cwd: ROOT,
      env: { ...process.env, KISME_DEV_CREDENTIALS: devPki },
      encoding: "utf8",
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Some_Local_CA\.der, at byte/);
  });
});

describe("scripts/release-image.mjs signs kisme-fw:v2 manifests: product, security version, downgrade-from, expiry", function () {
  this.timeout(60_000);
  let dir: string;
  let key: string;
  let file: string;

  before(() => {
    dir = tempDir("release-v2");
    key = join(dir, "release.pem");
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], { stdio: "ignore" });
    file = join(dir, "image.bin");
    writeFileSync(file, randomBytes(10_000));
  });

  function release(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const env = { ...process.env };
    delete env.KISME_DEV_CREDENTIALS;
    const r = spawnSync(process.execPath, [join(ROOT, "scripts/release-image.mjs"), "--key", key, "--url", URL, "--image", file, ...args], { cwd: ROOT, env, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("needs the product and the security version", () => {
    assert.match(release("--version", "1.3.0", "--security-version", "1").stderr, /--product must be box or light/);
    assert.match(release("--version", "1.3.0", "--product", "kisbox", "--security-version", "1").stderr, /--product must be box or light/);
    for (const sv of [undefined, "-1", "1.5", "01", "2147483648", "x"]) {
      const r = release("--version", "1.3.0", "--product", "light", ...(sv === undefined ? [] : ["--security-version", sv]));
      assert.equal(r.status, 1, String(sv));
      assert.match(r.stderr, /--security-version must be a whole number 0\.\.2147483647/);
    }
    const r = release("--version", "1.3.0", "--product", "light", "--security-version", "7");
    assert.equal(r.status, 0, r.stderr);
    const { firmware } = JSON.parse(r.stdout) as { firmware: Record<string, unknown> };
    assert.deepEqual(Object.keys(firmware), ["product", "version", "url", "size", "sha256", "securityVersion", "signature"]);
    assert.equal(firmware.product, "light");
    assert.equal(firmware.securityVersion, 7);
  });

  it("signs a downgrade only with the version it replaces, an expiry and a reason; the old flag is refused", () => {
    const base = ["--product", "box", "--security-version", "2", "--version", "1.0.0"];
    assert.match(release(...base, "--allow-downgrade", "--reason", "x").stderr, /--allow-downgrade was the kisme-fw:v1 downgrade flag/);
    assert.match(release(...base, "--downgrade-from", "1.2.3", "--reason", "x").stderr, /--downgrade-from needs --expires/);
    assert.match(release(...base, "--downgrade-from", "1.2.3", "--expires", "2d").stderr, /--downgrade-from needs --reason/);
    assert.match(release(...base, "--downgrade-from", "0.9.0", "--expires", "2d", "--reason", "x").stderr, /1\.0\.0 is not older, so this is no downgrade/);
    assert.match(release(...base, "--downgrade-from", "1.2", "--expires", "2d", "--reason", "x").stderr, /--downgrade-from must be MAJOR\.MINOR\.PATCH/);
    assert.match(release(...base, "--reason", "x").stderr, /--reason is only for --downgrade-from/);
    assert.match(release(...base, "--downgrade-from", "1.2.3", "--expires", "2020-01-01T00:00:00Z", "--reason", "x").stderr, /is not in the future/);
    assert.match(release(...base, "--downgrade-from", "1.2.3", "--expires", "tomorrow", "--reason", "x").stderr, /give an ISO 8601 time with its zone/);
    assert.match(release(...base, "--downgrade-from", "1.2.3", "--expires", "2030-01-01T00:00:00", "--reason", "x").stderr, /give an ISO 8601 time with its zone/, "no zone: refused");
    const ok = release(...base, "--downgrade-from", "1.2.3", "--expires", "2099-01-01T00:00:00Z", "--reason", "1.2.3 breaks the LEDs");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /warning: this downgrade stays valid until 2099-01-01T00:00:00\.000Z; keep downgrade windows short/);
    const { firmware } = JSON.parse(ok.stdout) as { firmware: Record<string, unknown> };
    assert.equal(firmware.downgradeFrom, "1.2.3");
    assert.equal(firmware.expires, Date.UTC(2099, 0, 1) / 1000);
    assert.equal(firmware.downgradeReason, "1.2.3 breaks the LEDs");
    const relative = JSON.parse(release(...base, "--downgrade-from", "1.2.3", "--expires", "36h", "--reason", "x").stdout) as { firmware: { expires: number } };
    assert.ok(Math.abs(relative.firmware.expires - (Date.now() / 1000 + 36 * 3600)) < 60);
    const plain = JSON.parse(release("--product", "box", "--security-version", "2", "--version", "1.4.0", "--expires", "4102444800").stdout) as { firmware: { expires: number } };
    assert.equal(plain.firmware.expires, 4102444800, "any manifest may expire");
  });
});

describe("scripts/release-image.mjs: the key recipe and the default image", function () {
  this.timeout(60_000);
  const TOOL = join(ROOT, "scripts/release-image.mjs");
  let dir: string;

  before(() => {
    dir = tempDir("release-tools");
  });

  function run(args: string[], env: Record<string, string | undefined>, cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
    const clean: Record<string, string | undefined> = { ...process.env };
    for (const name of ["KISME_DEV_CREDENTIALS", "KISME_SDK_OUTPUT", "MODDABLE"]) delete clean[name];
    const r = spawnSync(process.execPath, [TOOL, ...args], { cwd, env: { ...clean, ...env }, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** The key recipe as a text shows it: its `openssl ecparam` line and the line after it. */
  function recipe(text: string): string[] {
    const lines = text.split("\n").map((line) => line.trim());
    const at = lines.findIndex((line) => line.startsWith("openssl ecparam"));
    assert.ok(at >= 0, "a key recipe");
    assert.equal(lines.filter((line) => line.startsWith("openssl ecparam")).length, 1, "one recipe");
    return lines.slice(at, at + 2);
  }

  it("--help and the README give one key recipe, and it makes a key the tool signs with", () => {
    const help = run(["--help"], {});
    assert.equal(help.status, 0);
    const fromHelp = recipe(help.stdout);
    assert.deepEqual(recipe(readFileSync(join(ROOT, "README.md"), "utf8")), fromHelp);
    // Run it as written (in a folder of its own), the tool named by its path.
    const work = join(dir, "recipe");
    mkdirSync(work);
    execFileSync("sh", ["-c", fromHelp[0]!], { cwd: work, stdio: "pipe" });
    const printed = execFileSync("sh", ["-c", fromHelp[1]!.replace("node scripts/release-image.mjs", `"${process.execPath}" "${TOOL}"`)], { cwd: work, encoding: "utf8" });
    const key = createPrivateKey(readFileSync(join(work, "release.pem")));
    assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
    // PKCS#8 PEM: the file is exactly what the key exports as PKCS#8 (a SEC1 "EC" PEM would differ).
    assert.equal(readFileSync(join(work, "release.pem"), "utf8"), key.export({ type: "pkcs8", format: "pem" }), "PKCS#8");
    assert.equal(printed.trim(), createPublicKey(key).export({ format: "der", type: "spki" }).toString("base64"));
  });

  it("without --image: the product's app (kisbox / kislight) from the mcconfig output, never the checkout folder's name", () => {
    const output = join(dir, "sdk-output");
    const put = (app: string, bytes: number): string => {
      const folder = join(output, "bin", "esp32", "release", app);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "xs_esp32.bin"), randomBytes(bytes));
      return join(folder, "xs_esp32.bin");
    };
    const light = put("kislight", 3000);
    put(basename(ROOT), 4000); // an app named like the checkout: never taken
    const key = join(dir, "default-image.pem");
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], { stdio: "ignore" });
    const args = (product: string, ...extra: string[]) => ["--key", key, "--product", product, "--security-version", "0", "--version", "1.3.0", "--url", URL, ...extra];

    const ok = run(args("light"), { KISME_SDK_OUTPUT: output });
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(ok.stderr.includes(`release-image: ${light}: 3000 bytes`), ok.stderr);
    const box = run(args("box"), { KISME_SDK_OUTPUT: output });
    assert.equal(box.status, 1);
    assert.match(box.stderr, /no mcconfig output \(xs_esp32\.bin\) for kisbox under /);
    const kisbox = put("kisbox", 2000);
    const named = run(args("box"), { KISME_SDK_OUTPUT: output });
    assert.ok(named.stderr.includes(`release-image: ${kisbox}: 2000 bytes`), named.stderr);
    // MODDABLE's own build folder when KISME_SDK_OUTPUT is not set; --name still overrides.
    const moddable = join(dir, "moddable");
    mkdirSync(join(moddable, "build"), { recursive: true });
    cpSync(join(output, "bin"), join(moddable, "build", "bin"), { recursive: true });
    const viaModdable = run(args("light", "--name", "kisbox"), { MODDABLE: moddable });
    assert.equal(viaModdable.status, 0, viaModdable.stderr);
    assert.ok(viaModdable.stderr.includes(`${join(moddable, "build", "bin", "esp32", "release", "kisbox", "xs_esp32.bin")}: 2000 bytes`), viaModdable.stderr);
    assert.match(run(args("light"), {}).stderr, /--image is required \(or set KISME_SDK_OUTPUT or MODDABLE/);
  });
});
