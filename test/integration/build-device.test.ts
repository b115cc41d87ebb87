import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { tempDir } from "./support/processes";

const ROOT = join(__dirname, "../../..");
type DevCredentials = typeof import("../../scripts/lib/dev-credentials.mjs");
const DEV = ["device.der", "device.key.der", "dev-ca.der"];

/** A repository-like root with certs/ and, unless `local` is false, a local/ holding the development credentials. */
function fakeRoot(local = true): string {
  const root = tempDir("devcreds");
  mkdirSync(join(root, "certs"));
  writeFileSync(join(root, "certs", "DigiCertGlobalRootG2.der"), "root");
  if (local) {
    mkdirSync(join(root, "local"));
    for (const name of DEV) writeFileSync(join(root, "local", name), name);
  }
  return root;
}

function buildDevice(args: string[], env: Record<string, string | undefined> = {}): { status: number | null; out: string } {
  const clean = { ...process.env };
  delete clean.KISME_DEV_CREDENTIALS;
  delete clean.KISME_SDK_OUTPUT; // the dry run's mcconfig command line is asserted without -o
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/build-device.mjs"), ...args], { cwd: ROOT, env: { ...clean, ...env }, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("Device builds embed development credentials only with --dev-credentials", function () {
  this.timeout(60_000);
  let lib: DevCredentials;

  before(async () => {
    lib = (await import(pathToFileURL(join(ROOT, "scripts/lib/dev-credentials.mjs")).href)) as DevCredentials;
  });

  it("without the flag: nothing, on esp32 and in the simulator, even with local/ full of them", () => {
    const root = fakeRoot();
    for (const platform of ["esp32", "esp32/m5stack", "lin", "mac", "win"]) {
      const d = lib.resolveDevCredentials({ platform, devCredentials: false, env: {}, root });
      assert.equal(d.error, undefined);
      assert.equal(d.embed, false, platform);
      assert.deepEqual(d.resources, []);
      assert.deepEqual(d.env, { KISME_DEV_CREDENTIALS_MANIFEST: join(root, lib.DEV_MANIFESTS.none) }, "pinned to the empty manifest: nothing listed, nothing looked for");
      assert.match(d.messages.join("\n"), /development credentials: none embedded/);
    }
  });

  it("with the flag: local/ (or KISME_DEV_CREDENTIALS), said aloud, with a warning for esp32", () => {
    const root = fakeRoot();
    const lin = lib.resolveDevCredentials({ platform: "lin", devCredentials: true, env: {}, root });
    assert.equal(lin.embed, true);
    assert.deepEqual(lin.resources, DEV);
    assert.deepEqual(lin.env, { KISME_DEV_CREDENTIALS_MANIFEST: join(root, lib.DEV_MANIFESTS.embed), KISME_DEV_CREDENTIALS: join(root, "local") });
    assert.deepEqual(lin.messages, [`embedding development credentials from ${join(root, "local")}: device.der, device.key.der, dev-ca.der`]);
    const esp32 = lib.resolveDevCredentials({ platform: "esp32", devCredentials: true, env: {}, root });
    assert.equal(esp32.embed, true);
    assert.match(esp32.messages.join("\n"), /WARNING: an esp32 image with development credentials .* must never be released/);
    const other = join(root, "elsewhere");
    mkdirSync(other);
    writeFileSync(join(other, "dev-ca.der"), "ca");
    const named = lib.resolveDevCredentials({ platform: "lin", devCredentials: true, env: { KISME_DEV_CREDENTIALS: other }, root });
    assert.deepEqual({ embed: named.embed, resources: named.resources, folder: named.folder }, { embed: true, resources: ["dev-ca.der"], folder: other });
  });

  it("refuses what would embed them unasked, or asks for what is not there", () => {
    const root = fakeRoot(false);
    const named = lib.resolveDevCredentials({ platform: "esp32", devCredentials: false, env: { KISME_DEV_CREDENTIALS: join(root, "local") }, root });
    assert.match(named.error ?? "", /KISME_DEV_CREDENTIALS is set .* but --dev-credentials is not given/);
    assert.equal(named.embed, false);
    assert.equal(lib.resolveDevCredentials({ platform: "lin", devCredentials: false, env: { KISME_DEV_CREDENTIALS: join(root, "certs") }, root }).error, undefined, "the old default folder is harmless");
    assert.match(lib.resolveDevCredentials({ platform: "lin", devCredentials: true, env: {}, root }).error ?? "", /local does not exist/);
    mkdirSync(join(root, "local"));
    assert.match(lib.resolveDevCredentials({ platform: "lin", devCredentials: true, env: {}, root }).error ?? "", /holds none of device\.der/);
    // Development credentials in certs/, the public roots' folder: refused.
    writeFileSync(join(root, "certs", "device.key.der"), "key");
    assert.match(lib.resolveDevCredentials({ platform: "esp32", devCredentials: false, env: {}, root }).error ?? "", /certs\/ holds development credentials \(device\.key\.der\)/);
  });

  it("scripts/build-device.mjs acts on that decision and prints it (--dry-run, no SDK needed)", () => {
    const none = buildDevice(["esp32", "--dry-run"]);
    assert.equal(none.status, 0, none.out);
    assert.match(none.out, /development credentials: none embedded/);
    assert.match(none.out, new RegExp(`dry run: KISME_DEV_CREDENTIALS_MANIFEST=${join(ROOT, lib.DEV_MANIFESTS.none).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} KISME_SDKCONFIG=\\S+ KISME_PARTITIONS=\\S+ mcconfig -m -p esp32 products/kisbox/manifest\\.json`));
    assert.equal(buildDevice(["lin", "--no-dev-credentials", "--dry-run"]).status, 0, "the old opt-out is still accepted");

    const creds = tempDir("devcreds-cli");
    for (const name of DEV) writeFileSync(join(creds, name), name);
    const unasked = buildDevice(["esp32", "--dry-run"], { KISME_DEV_CREDENTIALS: creds });
    assert.equal(unasked.status, 1);
    assert.match(unasked.out, /--dev-credentials is not given/);
    const asked = buildDevice(["esp32", "--product", "light", "--dev-credentials", "--dry-run"], { KISME_DEV_CREDENTIALS: creds });
    assert.equal(asked.status, 0, asked.out);
    assert.match(asked.out, /embedding development credentials from .*: device\.der, device\.key\.der, dev-ca\.der/);
    assert.match(asked.out, /WARNING: an esp32 image with development credentials/);
    assert.match(asked.out, /products\/kislight\/manifest\.json/);
    assert.equal(buildDevice(["lin", "--dev-credentials", "--no-dev-credentials", "--dry-run"]).status, 1);
  });

  it("with the Moddable SDK: mcconfig's generated build lists no development resource unless asked for, and warns of none", function () {
    const moddable = process.env.MODDABLE;
    const mcconfig: string | undefined = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "mcconfig")).find((file) => existsSync(file));
    if (!moddable || !mcconfig || !existsSync(join(moddable, "build", "makefiles"))) {
      this.skip(); // needs MODDABLE and mcconfig on PATH (see README: Build with the Moddable SDK)
      return;
    }
    // An app of its own name (mcconfig names it after the manifest's folder), built into a folder of its own (-o):
    // neither the SDK's build folder nor a real app's is touched.
    const app = `kisdevcheck${process.pid}`;
    const dir = join(tempDir("devcreds-mc"), app);
    mkdirSync(dir);
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ include: [join(ROOT, "products/kisbox/manifest.json")] }));
    const creds = tempDir("devcreds-mc-local");
    for (const name of DEV) writeFileSync(join(creds, name), name);
    const output = tempDir("devcreds-mc-out");
    try {
      for (const platform of ["esp32", "lin"]) {
        for (const devCredentials of [false, true]) {
          const env = devCredentials ? { KISME_DEV_CREDENTIALS: creds } : {};
          const d = lib.resolveDevCredentials({ platform, devCredentials, env, root: ROOT });
          assert.equal(d.error, undefined, d.error);
          const clean: Record<string, string | undefined> = { ...process.env };
          delete clean.KISME_DEV_CREDENTIALS;
          // Without -m mcconfig only writes the makefile (which lists every resource it would embed).
          const r: { status: number | null; stdout: string; stderr: string } = spawnSync(mcconfig, ["-p", platform, "-o", output, "manifest.json"], { cwd: dir, env: { ...clean, ...d.env }, encoding: "utf8" });
          assert.equal(r.status, 0, r.stdout + r.stderr);
          assert.doesNotMatch(r.stdout + r.stderr, /no resources match/, `${platform} ${devCredentials ? "with" : "without"} --dev-credentials`);
          const makefile: string | undefined = [join(output, "tmp", platform, "release", app), join(output, "tmp", platform, "mc/release", app)].map((folder) => join(folder, "makefile")).find((f) => existsSync(f));
          assert.ok(makefile, `no makefile for ${platform}`);
          const text: string = readFileSync(makefile, "utf8");
          assert.match(text, /\$\(RESOURCES_DIR\)\/DigiCertGlobalRootG2\.der/, "the public roots are always there");
          for (const name of DEV) {
            const listed: boolean = text.includes(`$(RESOURCES_DIR)/${name}`);
            assert.equal(listed, devCredentials, `${platform} ${devCredentials ? "with" : "without"} --dev-credentials: ${name}`);
          }
          rmSync(makefile);
        }
      }
    } finally {
      rmSync(output, { recursive: true, force: true });
    }
  });
});
