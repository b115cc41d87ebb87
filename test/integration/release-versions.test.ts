// The release tool (scripts/lib/versions.mjs, plain JavaScript so it runs without a build) and the firmware
// (src/update/update-manifest.ts) must read and order versions alike, or a downgrade could be signed that the
// device treats otherwise.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compareVersions, isVersion } from "../../src/update/update-manifest";

interface Versions {
  VERSION: RegExp;
  compareVersions(a: string, b: string): number;
}

const VERSIONS = ["0.0.0", "0.1.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0", "10.0.0-1", "10.0.0"];
const NOT_VERSIONS = ["1.0", "1.0.0+build", "v1.0.0", "01.0.0x", "1.0.0-", "1.0.0-ä", ""];

describe("release tool and firmware agree on versions", () => {
  let tool: Versions;
  before(async () => {
    tool = (await import(pathToFileURL(join(__dirname, "../../../scripts/lib/versions.mjs")).href)) as Versions;
  });

  it("accept the same texts", () => {
    for (const v of [...VERSIONS, ...NOT_VERSIONS]) assert.equal(tool.VERSION.test(v), isVersion(v), v);
  });

  it("order every pair the same way, and the list is in ascending order", () => {
    for (const a of VERSIONS) for (const b of VERSIONS) assert.equal(Math.sign(tool.compareVersions(a, b)), Math.sign(compareVersions(a, b)), `${a} vs ${b}`);
    for (let i = 1; i < VERSIONS.length; i++) assert.ok(compareVersions(VERSIONS[i - 1]!, VERSIONS[i]!) < 0, `${VERSIONS[i - 1]} < ${VERSIONS[i]}`);
  });
});
