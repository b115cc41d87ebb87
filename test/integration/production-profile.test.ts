import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { NVS_KEYS_PARTITION_SIZE, NVS_PARTITION_SIZE } from "../../host/tools/provision";
import { tempDir } from "./support/processes";

const ROOT = join(__dirname, "../../..");
type SdkProfile = typeof import("../../scripts/lib/sdk-profile.mjs");

interface Partition {
  readonly name: string;
  readonly type: string;
  readonly subtype: string;
  readonly offset: number;
  readonly size: number;
  readonly flags: string;
}

function partitions(file: string): Partition[] {
  return readFileSync(join(ROOT, file), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [name, type, subtype, offset, size, flags] = line.split(",").map((f) => f.trim());
      return { name: name!, type: type!, subtype: subtype!, offset: Number(offset), size: Number(size), flags: flags ?? "" };
    });
}

/** The settings lines (CONFIG_X=value) of an sdkconfig.defaults file. */
function settings(file: string): string[] {
  return readFileSync(join(ROOT, file), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("CONFIG_"));
}

function buildDevice(args: string[]): { status: number | null; out: string } {
  const env = { ...process.env };
  delete env.KISME_DEV_CREDENTIALS;
  delete env.KISME_SDK_OUTPUT; // the dry run's mcconfig command line is asserted without -o
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/build-device.mjs"), ...args], { cwd: ROOT, env, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("The production security profile (sdkconfig/production, build-device --production)", function () {
  this.timeout(60_000);
  let lib: SdkProfile;

  before(async () => {
    lib = (await import(pathToFileURL(join(ROOT, "scripts/lib/sdk-profile.mjs")).href)) as SdkProfile;
  });

  it("enables Secure Boot v2 (RSA, ESP32 ECO3), flash encryption in release mode and NVS encryption, and signs nothing in the build", () => {
    const lines = settings("sdkconfig/production/sdkconfig.defaults");
    for (const line of [
      "CONFIG_ESP32_REV_MIN_3=y",
      "CONFIG_SECURE_BOOT=y",
      "CONFIG_SECURE_BOOT_V2_ENABLED=y",
      "CONFIG_SECURE_SIGNED_APPS_RSA_SCHEME=y",
      "CONFIG_SECURE_BOOT_BUILD_SIGNED_BINARIES=n",
      "CONFIG_SECURE_FLASH_ENC_ENABLED=y",
      "CONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE=y",
      "CONFIG_SECURE_DISABLE_ROM_DL_MODE=y",
      "CONFIG_NVS_ENCRYPTION=y",
      "CONFIG_NVS_SEC_KEY_PROTECT_USING_FLASH_ENC=y",
      "CONFIG_PARTITION_TABLE_OFFSET=0xD000",
    ]) {
      assert.ok(lines.includes(line), line);
    }
    assert.ok(!lines.some((l) => l.startsWith("CONFIG_SECURE_BOOT_SIGNING_KEY")), "no signing key path: images are signed outside the build");
    assert.ok(!lines.some((l) => /DEVELOPMENT|INSECURE|ALLOW_JTAG|ALLOW_ROM_BASIC|UART_BOOTLOADER_ALLOW/.test(l)), "nothing insecure");
    // Everything the development profile sets is set the same way in production (mcconfig reads one folder only).
    for (const line of settings("sdkconfig/sdkconfig.defaults")) assert.ok(lines.includes(line), `production lacks ${line}`);
  });

  it("has a partition table for it: nvs_keys (encrypted), the same app slots, NVS and storage, nothing overlapping", () => {
    const prod = partitions("sdkconfig/production/partitions.csv");
    const dev = partitions("sdkconfig/partitions.csv");
    const byName = (list: Partition[], name: string): Partition => list.find((p) => p.name === name)!;
    assert.deepEqual(
      prod.map((p) => p.name).sort(),
      [...dev.map((p) => p.name), "nvs_keys"].sort(),
    );
    const keys = byName(prod, "nvs_keys");
    assert.deepEqual({ type: keys.type, subtype: keys.subtype, size: keys.size, flags: keys.flags }, { type: "data", subtype: "nvs_keys", size: NVS_KEYS_PARTITION_SIZE, flags: "encrypted" });
    assert.equal(byName(prod, "nvs").size, NVS_PARTITION_SIZE, "the size npm run provision makes the image for");
    assert.equal(byName(prod, "nvs").flags, "", "NVS encryption, not flash encryption, protects nvs");
    for (const name of ["ota_0", "ota_1", "otadata"]) assert.equal(byName(prod, name).size, byName(dev, name).size, name);
    const tableOffset = Number(/^CONFIG_PARTITION_TABLE_OFFSET=(0x[0-9A-Fa-f]+)$/m.exec(readFileSync(join(ROOT, "sdkconfig/production/sdkconfig.defaults"), "utf8"))![1]);
    let end = tableOffset + 0x1000;
    for (const p of [...prod].sort((a, b) => a.offset - b.offset)) {
      assert.ok(p.offset >= end, `${p.name} at 0x${p.offset.toString(16)} overlaps what is before it (ends 0x${end.toString(16)})`);
      assert.equal(p.offset % (p.type === "app" ? 0x10000 : 0x1000), 0, `${p.name} alignment`);
      end = p.offset + p.size;
    }
    assert.ok(end <= 0x400000, "fits 4 MB");
    assert.ok(tableOffset <= 0xe000, "ESP32: the partition table at 0xE000 at the latest (48 KB bootloader + signature sector)");
  });

  it("is selected by build-device --production only: esp32, release, build only, never with development credentials", () => {
    const root = tempDir("sdk-profile");
    const esp32 = lib.resolveSdkProfile({ platform: "esp32", production: true, devCredentials: false, target: undefined, debug: false, root });
    assert.equal(esp32.error, undefined);
    assert.equal(esp32.profile, "production");
    assert.equal(esp32.target, "build", "build only by default");
    assert.deepEqual(esp32.env, { KISME_SDKCONFIG: join(root, "sdkconfig/production"), KISME_PARTITIONS: join(root, "sdkconfig/production/partitions.csv") });
    const dev = lib.resolveSdkProfile({ platform: "esp32/m5stack", production: false, devCredentials: true, target: "deploy", debug: true, root });
    assert.deepEqual({ profile: dev.profile, target: dev.target, env: dev.env }, { profile: "development", target: "deploy", env: { KISME_SDKCONFIG: join(root, "sdkconfig"), KISME_PARTITIONS: join(root, "sdkconfig/partitions.csv") } });
    assert.deepEqual(lib.resolveSdkProfile({ platform: "lin", production: false, devCredentials: false, target: undefined, debug: false, root }).env, {});
    const refused = (o: Partial<Parameters<SdkProfile["resolveSdkProfile"]>[0]>, why: RegExp) =>
      assert.match(lib.resolveSdkProfile({ platform: "esp32", production: true, devCredentials: false, target: undefined, debug: false, root, ...o }).error ?? "", why);
    refused({ devCredentials: true }, /--production and --dev-credentials exclude each other/);
    refused({ platform: "lin" }, /--production is for esp32 builds/);
    refused({ debug: true }, /release builds/);
    refused({ target: "deploy" }, /builds only \(-t build or -t clean\)/);
    assert.equal(lib.resolveSdkProfile({ platform: "esp32", production: true, devCredentials: false, target: "clean", debug: false, root }).error, undefined);

    const run = buildDevice(["esp32", "--production", "--dry-run"]);
    assert.equal(run.status, 0, run.out);
    assert.match(run.out, /production profile: sdkconfig\/production\/ \(Secure Boot v2, flash encryption in release mode, NVS encryption\)/);
    assert.match(run.out, new RegExp(`KISME_SDKCONFIG=${join(ROOT, "sdkconfig/production").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} .*mcconfig -m -p esp32 -t build products/kisbox/manifest\\.json`));
    for (const [args, why] of [
      [["esp32", "--production", "--dev-credentials", "--dry-run"], /exclude each other/],
      [["lin", "--production", "--dry-run"], /for esp32 builds/],
      [["esp32", "--production", "-d", "--dry-run"], /release builds/],
      [["esp32", "--production", "-t", "deploy", "--dry-run"], /builds only/],
    ] as const) {
      const r = buildDevice([...args]);
      assert.equal(r.status, 1, args.join(" "));
      assert.match(r.out, why);
    }
    const plain = buildDevice(["esp32", "--dry-run"]);
    assert.match(plain.out, /KISME_SDKCONFIG=\S*\/sdkconfig KISME_PARTITIONS=\S*\/sdkconfig\/partitions\.csv mcconfig/, "the development profile, explicitly");
  });

  it("with the Moddable SDK: mcconfig puts the production settings and partition table into the generated build", function () {
    const moddable = process.env.MODDABLE;
    const mcconfig: string | undefined = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "mcconfig")).find((file) => existsSync(file));
    if (!moddable || !mcconfig || !existsSync(join(moddable, "build", "makefiles"))) {
      this.skip(); // needs MODDABLE and mcconfig on PATH (see README: Build with the Moddable SDK)
      return;
    }
    // An app of its own name (mcconfig names it after the manifest's folder), so no real build folder is touched.
    const app = `kisprodcheck${process.pid}`;
    const dir = join(tempDir("sdk-profile-mc"), app);
    mkdirSync(dir);
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ include: [join(ROOT, "products/kisbox/manifest.json")] }));
    const folders = ["tmp", "bin"].flatMap((kind) => [join(moddable, "build", kind, "esp32", "release", app), join(moddable, "build", kind, "esp32", "mc", "release", app)]);
    try {
      for (const production of [true, false]) {
        const profile = lib.resolveSdkProfile({ platform: "esp32", production, devCredentials: false, target: undefined, debug: false, root: ROOT });
        // Without -m mcconfig only writes the makefile, and with it the merged sdkconfig and the partition table.
        const r: { status: number | null; stdout: string; stderr: string } = spawnSync(mcconfig, ["-p", "esp32", "manifest.json"], { cwd: dir, env: { ...process.env, KISME_DEV_CREDENTIALS: join(ROOT, "certs"), ...profile.env }, encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const proj: string | undefined = [join(moddable, "build/tmp/esp32/release", app, "xsProj-esp32"), join(moddable, "build/tmp/esp32/mc/release", app, "xsProj-esp32")].find((f) => existsSync(join(f, "sdkconfig.mc")));
        assert.ok(proj, "no generated sdkconfig.mc");
        const merged: string[] = readFileSync(join(proj, "sdkconfig.mc"), "utf8").split("\n");
        const table: string = readFileSync(join(proj, "partitions.csv"), "utf8");
        if (production) {
          for (const line of settings("sdkconfig/production/sdkconfig.defaults")) {
            // mcconfig writes `=n` over a setting of the SDK's own defaults as `CONFIG_X=` (Kconfig: not set).
            const name = line.slice(0, line.indexOf("="));
            const expected = line.endsWith("=n") ? [line, `${name}=`] : [line];
            assert.ok(expected.some((e) => merged.includes(e)), `sdkconfig.mc lacks ${line}`);
          }
          assert.equal(table, readFileSync(join(ROOT, "sdkconfig/production/partitions.csv"), "utf8"));
        } else {
          assert.ok(!merged.some((l) => /^CONFIG_(SECURE_BOOT|SECURE_FLASH_ENC_ENABLED|NVS_ENCRYPTION)=y/.test(l)), "the development build has none of it");
          assert.ok(merged.includes("CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y"));
          assert.equal(table, readFileSync(join(ROOT, "sdkconfig/partitions.csv"), "utf8"));
        }
      }
    } finally {
      for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    }
  });
});
