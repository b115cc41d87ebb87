import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProvisioningError, provision } from "../../host/tools/provision";
import { ConfigStore, CONFIG_KEY, EMPTY_CONFIG } from "../../src/storage/config-store";
import { WifiCredentialStore } from "../../src/wifi/wifi-credentials";
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
    assert.deepEqual(rows.slice(2).map((r) => r[0]), ["deviceId", "cert.0", "cert.len", "key.0", "key.len", "config"]);
    assert.deepEqual(byKey.get("deviceId"), ["deviceId", "data", "string", "kisbox-0042"]);
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
    assert.match(ok.stderr, /device kisbox-cli, certificate valid until \S+, 6 entries, Wi-Fi Halle3 -> /);
    assert.equal(readFileSync(out, "utf8"), provision({ certificate: readFileSync(cred.cert), key: readFileSync(cred.key), wifi: { ssid: "Halle3", passphrase: "kisme-factory-01" } }).csv);
    assert.equal(spawnSync("stat", ["-c", "%a", out], { encoding: "utf8" }).stdout.trim(), "600");
    const other = pki.device("kisbox-other");
    writeFileSync(join(dir, "wrong.key"), readFileSync(other.key));
    const bad = spawnSync(process.execPath, [TOOL, "--cert", cred.cert, "--key", join(dir, "wrong.key")], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^provision: the key does not belong to the certificate/);
    const usage = spawnSync(process.execPath, [TOOL, "--cert", cred.cert], { encoding: "utf8" });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--cert and --key are required/);
  });
});
