import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { join } from "node:path";
import { NVS_KEYS_PARTITION_SIZE, ProvisioningError, checkNvsKeyPartition, findNvsGenerator, nvsKeyPartition, provision, runNvsGenerator } from "../../host/tools/provision";
import { SECURITY_FLOOR_KEY, SecurityFloor } from "../../src/update/security-floor";
import { ConfigStore, CONFIG_KEY, EMPTY_CONFIG } from "../../src/storage/config-store";
import { WifiCredentialStore, unsupportedReason } from "../../src/wifi/wifi-credentials";
import { MemoryStore } from "../../src/ports/storage";
import { TestPki } from "./support/fixture";
import { tempDir } from "./support/processes";

const TOOL = join(__dirname, "../../host/tools/provision.js");

/** Parses the CSV with Python's csv module, as ESP-IDF's NVS partition generator does. */
function pythonCsv(csv: string): string[][] {
  const out = execFileSync("python3", ["-c", "import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))"], { input: csv, encoding: "utf8" });
  return JSON.parse(out) as string[][];
}

describe("factory provisioning (NVS partition CSV)", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let dir: string;

  before(() => {
    pki = new TestPki();
    dir = tempDir("provision");
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it("writes the identity in the firmware's layout and the Wi-Fi record the firmware reads", () => {
    const cred = pki.device("kisbox-0042");
    const wifi = { ssid: "Halle 3, Linie \"A\"", passphrase: "correct horse battery" };
    const result = provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key), wifi });
    assert.equal(result.deviceId, "kisbox-0042");

    const rows = pythonCsv(result.csv);
    assert.deepEqual(rows[0], ["key", "type", "encoding", "value"]);
    assert.deepEqual(rows[1], ["kisme", "namespace", "", ""]);
    const byKey = new Map(rows.slice(2).map((r) => [r[0]!, r]));
    assert.deepEqual(rows.slice(2).map((r) => r[0]), ["deviceId", "cert.0", "cert.len", "key.0", "key.len", "setup.pw", "config"]);
    assert.deepEqual(byKey.get("deviceId"), ["deviceId", "data", "string", "kisbox-0042"]);
    assert.deepEqual(byKey.get("setup.pw"), ["setup.pw", "data", "string", result.setupPassword]);
    assert.match(result.setupPassword, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
    const blob = (k: string): Buffer => {
      const r = byKey.get(k)!;
      assert.deepEqual(r.slice(1, 3), ["data", "base64"]);
      return Buffer.from(r[3]!, "base64");
    };
    const certDer = readFileSync(cred.certDer);
    const keyDer = readFileSync(cred.keyDer);
    assert.deepEqual(blob("cert.0"), certDer);
    assert.deepEqual(byKey.get("cert.len"), ["cert.len", "data", "i32", String(certDer.length)]);
    assert.deepEqual(blob("key.0"), keyDer, "the key as unencrypted PKCS#8 DER");
    assert.deepEqual(byKey.get("key.len"), ["key.len", "data", "i32", String(keyDer.length)]);

    // The config record, read back by the firmware's own store.
    const store = new MemoryStore();
    store.set(CONFIG_KEY, byKey.get("config")![3]!);
    const problems: string[] = [];
    const config = new ConfigStore({ store, defaults: EMPTY_CONFIG, onProblem: (p) => problems.push(p.message) });
    assert.deepEqual(problems, []);
    assert.deepEqual(new WifiCredentialStore(config).load().credentials, wifi);
  });

  it("refuses what the device could not use, with the reason", () => {
    const a = pki.device("kisbox-a");
    const b = pki.device("kisbox-b");
    const cert = readFileSync(a.cert);
    const refuse = (input: Parameters<typeof provision>[0], reason: RegExp) => assert.throws(() => provision(input), (e: unknown) => e instanceof ProvisioningError && reason.test(e.message));
    refuse({ certificate: cert, key: readFileSync(b.key) }, /does not belong to the certificate/);
    refuse({ certificate: cert, key: readFileSync(a.key), deviceId: "kisbox-b" }, /not the certificate's CN kisbox-a/);
    const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8" });
    refuse({ certificate: cert, key: Buffer.from(ec) }, /ec.*RSA-2048/);
    refuse({ certificate: Buffer.from("not a certificate"), key: readFileSync(a.key) }, /not an X\.509 certificate/);
    refuse({ certificate: cert, key: readFileSync(a.key), now: new Date("2099-01-01T00:00:00Z") }, /expired/);
    refuse({ certificate: cert, key: readFileSync(a.key), wifi: { ssid: "Halle", passphrase: "short" } }, /^Wi-Fi: /);
    refuse({ certificate: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) }, /clientAuth/);
  });

  it("the command line writes the CSV (owner-only), reports the device, and exits 1 with the reason on bad input", () => {
    const cred = pki.device("kisbox-cli");
    const out = join(dir, "nvs.csv");
    const ok = spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, "--wifi-ssid", "Halle3", "--wifi-passphrase", "kisme-factory-01", "--out", out], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /device kisbox-cli, certificate valid until \S+, 7 entries, Wi-Fi Halle3 -> /);
    // The setup password is new for every device and printed for its label; the NVS CSV holds exactly that one.
    const setupPassword = /setup password for the label of kisbox-cli: ([a-z2-9-]{19})\n/.exec(ok.stderr)?.[1];
    assert.ok(setupPassword, ok.stderr);
    assert.match(readFileSync(out, "utf8"), new RegExp(`^setup\\.pw,data,string,${setupPassword}$`, "m"));
    assert.equal(readFileSync(out, "utf8"), provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key), wifi: { ssid: "Halle3", passphrase: "kisme-factory-01" }, setupPassword }).csv);
    const again = spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, "--out", "-"], { encoding: "utf8" });
    assert.equal(again.status, 0, again.stderr);
    assert.notEqual(/label of kisbox-cli: (\S+)/.exec(again.stderr)?.[1], setupPassword, "never a shared default");
    const shared = spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, "--setup-password", "kisme123", "--out", "-"], { encoding: "utf8" });
    assert.equal(shared.status, 1);
    assert.match(shared.stderr, /setup password must have the generated form/);
    assert.equal(spawnSync("stat", ["-c", "%a", out], { encoding: "utf8" }).stdout.trim(), "600");
    const other = pki.device("kisbox-other");
    writeFileSync(join(dir, "wrong.key"), readFileSync(other.key));
    const bad = spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", join(dir, "wrong.key"), "--out", "-"], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^provision: the key does not belong to the certificate/);
    assert.equal(bad.stdout, "", "nothing written when the check fails");
    const usage = spawnSync(process.execPath, [TOOL, "--cert", cred.cert], { encoding: "utf8" });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--cert and --key are required/);
  });

  it("the command line writes the private key to standard output only when asked (--out -)", () => {
    const cred = pki.device("kisbox-stdout");
    const run = (...args: string[]) => spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, ...args], { encoding: "utf8" });
    const unasked = run();
    assert.equal(unasked.status, 2);
    assert.equal(unasked.stdout, "");
    assert.match(unasked.stderr, /^provision: --out <nvs\.csv> is required \(the CSV holds the device's private key; --out - writes it to standard output\)/);
    const asked = run("--out", "-");
    assert.equal(asked.status, 0, asked.stderr);
    const setupPassword = /label of kisbox-stdout: (\S+)/.exec(asked.stderr)?.[1];
    assert.equal(asked.stdout, provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key), ...(setupPassword ? { setupPassword } : {}) }).csv);
    assert.ok(asked.stdout.includes(readFileSync(cred.keyDer).toString("base64")), "the key is in what was asked for");
    assert.match(asked.stderr, /device kisbox-stdout, .* -> standard output/);
    const withImage = run("--out", "-", "--image", join(dir, "stdout-nvs.bin"));
    assert.equal(withImage.status, 2);
    assert.match(withImage.stderr, /--image reads the CSV from a file/);
    assert.equal(withImage.stdout, "");
  });

  it("an open network only with --allow-open: stored so that the firmware's Wi-Fi policy joins it", () => {
    const cred = pki.device("kisbox-open");
    const out = join(dir, "open.csv");
    const run = (...args: string[]) => spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, "--out", out, ...args], { encoding: "utf8" });
    rmSync(out, { force: true });
    const unasked = run("--wifi-ssid", "Gast");
    assert.equal(unasked.status, 2);
    assert.match(unasked.stderr, /--wifi-ssid without --wifi-passphrase is an open network \(no security\): add --allow-open to store it/);
    assert.ok(!existsSync(out), "nothing written");
    const both = run("--wifi-ssid", "Gast", "--wifi-passphrase", "kisme-factory-01", "--allow-open");
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--allow-open is for a network without security/);
    const alone = run("--allow-open");
    assert.equal(alone.status, 2);
    assert.match(alone.stderr, /--allow-open needs --wifi-ssid/);
    assert.ok(!existsSync(out), "nothing written");

    const ok = run("--wifi-ssid", "Gast", "--allow-open");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /Wi-Fi Gast \(open network\) -> /);
    const config = pythonCsv(readFileSync(out, "utf8")).find((r) => r[0] === CONFIG_KEY);
    const store = new MemoryStore();
    store.set(CONFIG_KEY, config![3]!);
    const credentials = new WifiCredentialStore(new ConfigStore({ store, defaults: EMPTY_CONFIG })).load().credentials;
    assert.deepEqual(credentials, { ssid: "Gast", allowOpen: true });
    assert.equal(unsupportedReason("open", credentials!), undefined, "the device joins the open network");
    assert.match(unsupportedReason("open", { ssid: "Gast" }) ?? "", /open network \(no security\) refused/, "and only because it was allowed");
  });

  it("writes the update security floor when asked (read back by the firmware's SecurityFloor)", () => {
    const cred = pki.device("kisbox-floor");
    const result = provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key), securityFloor: 4 });
    const row = pythonCsv(result.csv).find((r) => r[0] === SECURITY_FLOOR_KEY);
    assert.deepEqual(row, [SECURITY_FLOOR_KEY, "data", "string", "4"]);
    const store = new MemoryStore();
    store.set(SECURITY_FLOOR_KEY, row![3]!);
    assert.equal(new SecurityFloor(store).floor(), 4);
    assert.throws(() => provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key), securityFloor: -1 }), ProvisioningError);
    assert.equal(pythonCsv(provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key) }).csv).find((r) => r[0] === SECURITY_FLOOR_KEY), undefined, "none unless asked");
  });

  it("makes NVS keys in the nvs_keys partition format (64 key bytes, CRC-32 seeded 0xFFFFFFFF, the rest erased)", () => {
    const key = Buffer.alloc(64, 0x5a);
    const image = nvsKeyPartition(key);
    assert.equal(image.length, NVS_KEYS_PARTITION_SIZE);
    assert.deepEqual(image.subarray(0, 64), key);
    assert.equal(image.readUInt32LE(64), crc32(key, 0xffffffff) >>> 0);
    assert.ok(image.subarray(68).every((b) => b === 0xff));
    assert.notDeepEqual(nvsKeyPartition().subarray(0, 64), nvsKeyPartition().subarray(0, 64), "fresh random keys");
    assert.equal(checkNvsKeyPartition(image), image);
    const corrupt = Buffer.from(image);
    corrupt[3] ^= 1;
    assert.throws(() => checkNvsKeyPartition(corrupt), /CRC does not match/);
    assert.throws(() => checkNvsKeyPartition(Buffer.alloc(NVS_KEYS_PARTITION_SIZE, 0xff)), /holds no key/);
    assert.throws(() => checkNvsKeyPartition(image.subarray(0, 100)), /4096 bytes/);
  });

  it("the command line: --encrypt --keygen makes the key (owner-only, never overwritten); without the generator it prints the command (exit 3)", () => {
    const cred = pki.device("kisbox-enc");
    const out = join(dir, "enc", "nvs.csv");
    mkdirSync(join(dir, "enc"), { recursive: true });
    const keys = join(dir, "enc", "nvs_keys.bin");
    const image = join(dir, "enc", "nvs.bin");
    const env = { ...process.env, KISME_NVS_GEN: join(dir, "no-generator-here") };
    const run = (...args: string[]) => spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, ...args], { encoding: "utf8", env });
    const r = run("--out", out, "--image", image, "--encrypt", "--keygen", "--keyfile", keys);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /new NVS key -> .*nvs_keys\.bin/);
    assert.ok(r.stderr.includes(`the NVS partition generator is not available; run:\n  python3 -m esp_idf_nvs_partition_gen encrypt ${out} ${image} 0x6000 --inputkey ${keys}\n`), r.stderr);
    assert.ok(existsSync(out) && !existsSync(image));
    checkNvsKeyPartition(readFileSync(keys));
    assert.equal(spawnSync("stat", ["-c", "%a", keys], { encoding: "utf8" }).stdout.trim(), "600");
    const again = run("--out", out, "--image", image, "--encrypt", "--keygen", "--keyfile", keys);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /--keygen would overwrite .*: an NVS key is never replaced/);
    for (const [args, why] of [
      [["--image", image, "--encrypt"], /--encrypt needs --keyfile/],
      [["--encrypt", "--keyfile", keys], /go with --image/],
      [["--image", join(dir, "nvs.img"), "--encrypt", "--keyfile", keys], /--image must end in \.bin/],
      [["--image", image, "--keyfile", keys], /--keygen and --keyfile go with --encrypt/],
      [["--image", image, "--encrypt", "--keyfile", join(dir, "missing.bin")], /does not exist \(add --keygen/],
      [["--security-floor", "x"], /--security-floor must be a whole number/],
    ] as const) {
      const bad = run(...args);
      assert.equal(bad.status, 2, `${args.join(" ")}: ${bad.stderr}`);
      assert.match(bad.stderr, why);
    }
    const noOut = run("--image", image, "--encrypt", "--keyfile", keys);
    assert.equal(noOut.status, 1);
    assert.match(noOut.stderr, /generator is not available .* give --out <nvs\.csv>/);
    const badGen = run("--out", out, "--image", image, "--encrypt", "--keyfile", keys, "--gen", join(dir, "nowhere"));
    assert.equal(badGen.status, 1);
    assert.match(badGen.stderr, /--gen .*nowhere: not Espressif's NVS partition generator/);
  });

  it("with Espressif's generator (skipped without it: pip install esp-idf-nvs-partition-gen, or KISME_NVS_GEN=<checkout>): the encrypted image decrypts (with the generator's own tool) to the plain image of the same entries", function () {
    const gen = findNvsGenerator();
    if (!gen) {
      // CI has no PyPI: install esp-idf-nvs-partition-gen (needs python3 and its cryptography module), or point
      // KISME_NVS_GEN at a checkout of espressif/esp-idf-nvs-partition-gen.
      this.skip();
      return;
    }
    const cred = pki.device("kisbox-gen");
    const work = join(dir, "gen");
    mkdirSync(work, { recursive: true });
    const [csv, image, keys, decrypted, plain] = ["nvs.csv", "nvs.bin", "nvs_keys.bin", "decrypted.bin", "plain.bin"].map((f) => join(work, f)) as [string, string, string, string, string];
    const r = spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", cred.key, "--wifi-ssid", "Halle3", "--wifi-passphrase", "kisme-factory-01", "--security-floor", "2", "--out", csv, "--image", image, "--encrypt", "--keygen", "--keyfile", keys], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /encrypted NVS partition image -> .*nvs\.bin/);
    assert.equal(readFileSync(image).length, 0x6000);
    assert.equal(spawnSync("stat", ["-c", "%a", image], { encoding: "utf8" }).stdout.trim(), "600");
    const certDer = readFileSync(cred.certDer);
    assert.equal(readFileSync(image).indexOf(certDer.subarray(0, 32)), -1, "the certificate is not in the image in clear");
    runNvsGenerator(gen, ["decrypt", image, keys, decrypted]);
    runNvsGenerator(gen, ["generate", csv, plain, "0x6000"]);
    assert.deepEqual(readFileSync(decrypted), readFileSync(plain));
    assert.ok(readFileSync(plain).indexOf(certDer.subarray(0, 32)) > 0, "the plain image holds the certificate");
  });
});
