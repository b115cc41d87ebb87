import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BOOTSTRAP_CONTRACT } from "../../src/bootstrap/bootstrap-contract";
import { INTEGRATION_GUIDE_EGRESS } from "../../src/net/egress-policy";

/** The README documents the contract and the egress table; these keep it in step with the code. */
describe("README", () => {
  const readme = readFileSync(join(__dirname, "../../../README.md"), "utf8");

  it("contains the bootstrap contract exactly as the code defines it", () => {
    const body = BOOTSTRAP_CONTRACT.split("\n").slice(1).join("\n").trim();
    assert.ok(readme.includes(body), "README's bootstrap contract differs from src/bootstrap/bootstrap-contract.ts");
  });

  it("lists every host and port of the egress table", () => {
    for (const rule of INTEGRATION_GUIDE_EGRESS) {
      if (rule.host !== "*") assert.ok(readme.includes(rule.host.replace(/^[0-3]\./, "0.")), `README lacks ${rule.host}`);
      assert.ok(readme.includes(`| ${rule.port} |`), `README lacks port ${rule.port}`);
    }
  });

  it("starts with the quick start: the run command, then the test command", () => {
    const start = readme.indexOf("npm ci && npm start");
    const test = readme.indexOf("npm test");
    assert.ok(start > 0 && start < 800 && test > start, "quick start first");
  });

  it("documents field setup: the command, the lines it prints, and every route of the setup API", () => {
    const section = readme.slice(readme.indexOf("## Set up a device"));
    assert.ok(readme.includes("## Set up a device"), "a Set up a device section");
    for (const text of ["npm start -- --unprovisioned", "setup page: http://127.0.0.1:", "setup password: ", "X-Setup-Token", "KISME-SIM"]) assert.ok(section.includes(text), `README lacks ${text}`);
    // The routes the handler answers (src/setup/setup-api.ts) are the ones the table lists.
    const code = readFileSync(join(__dirname, "../../../src/setup/setup-api.ts"), "utf8");
    const routes = [...code.matchAll(/path === "(\/api\/[a-z]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(routes.sort(), ["/api/join", "/api/networks", "/api/status"]);
    for (const route of routes) assert.match(section, new RegExp("`(GET|POST) " + route + "`"), `README's setup API lacks ${route}`);
  });
});
