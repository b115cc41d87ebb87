import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "../../..");

/** Whether git would ignore `file` (a path relative to the repository root; it need not exist). */
function ignored(file: string): boolean | undefined {
  const r = spawnSync("git", ["check-ignore", "-q", "--no-index", file], { cwd: ROOT });
  return r.status === 0 ? true : r.status === 1 ? false : undefined;
}

describe(".gitignore", () => {
  it("covers every key file name the tools write, and not the public roots", function () {
    if (ignored("x.key") === undefined) {
      this.skip(); // not a git checkout (or no git)
      return;
    }
    const keys = [
      ".dev/pki/KIS.ME_Development_Root_CA.key", // host/pki/dev-pki.ts: PEM keys
      "anywhere/client-kisbox-sim-1.key",
      "anywhere/client-kisbox-sim-1.key.der", // PKCS#8 DER for the device build
      "local/device.key.der",
      "device.key.der",
      "release-key.pem", // host/update/dev-release-key.ts
      "kisme-release.key.pem", // the recipe of earlier --help texts
      "kisme-release.pk8.pem",
      "release.pem", // README and scripts/release-image.mjs --help: the release key recipe
      "device.pem",
      "certs/sub/x.pem",
      "x.p8",
      "x.pk8",
      "x.p12",
      "x.pfx",
      "nvs.csv", // npm run provision -- --out nvs.csv: holds the device key
      "factory/nvs.bin",
      "box-0042.nvs.csv",
      "nvs_keys.bin", // npm run provision -- --encrypt --keygen --keyfile nvs_keys.bin
      "factory/box-0042-nvs_keys.bin",
      "box-0042.nvs.bin",
      "fe_key.bin", // README: Production line (the per-device flash encryption key)
      "my_flash_encryption_key.bin",
      "keys/keys-12-01_10-00.bin", // the NVS generator's own generate-key output folder
      "secure_boot_signing_key.pem",
    ];
    for (const file of keys) assert.equal(ignored(file), true, file);
    for (const file of ["certs/DigiCertGlobalRootG2.der", "certs/DigiCertGlobalRootG2.pem", "sdkconfig/partitions.csv", "sdkconfig/production/partitions.csv", "sdkconfig/production/sdkconfig.defaults", "src/update/update-manifest.ts"]) {
      assert.equal(ignored(file), false, file);
    }
  });
});
