#!/usr/bin/env node
// `npm test`: type-checks the three worlds (portable core, host, Moddable adapters), runs the unit and
// integration suites with mocha on Node, then the portable unit tests again inside XS.
// Prints `xs: N passed, M failed` and, last, the total as `N passed, M failed`.
//
//   node scripts/test.mjs [--unit] [--grep PATTERN] [--no-xs]
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Mocha from "mocha";
import { fixtureSource, runXs } from "./run-xs.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const noXs = args.includes("--no-xs");
const grepAt = args.indexOf("--grep");
const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;

function tsc(project) {
  process.stdout.write(`tsc -p ${project}\n`);
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", project], { cwd: root, stdio: "inherit" });
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...testFiles(full));
    else if (name.endsWith(".test.js")) out.push(full);
  }
  return out;
}

// A clean build, so a deleted test can never linger as stale JavaScript.
rmSync(path.join(root, "build"), { recursive: true, force: true });
try {
  tsc("tsconfig.core.json");
  if (existsSync(path.join(root, "tsconfig.moddable.json"))) tsc("tsconfig.moddable.json");
  tsc("tsconfig.json");
} catch {
  process.stdout.write("type-check failed\n0 passed, 1 failed\n");
  process.exit(1);
}

globalThis.__testFixture = await fixtureSource();
const mocha = new Mocha({ reporter: "spec", timeout: 60_000, ...(grep ? { grep } : {}) });
const files = [...testFiles(path.join(root, "build/test/unit")), ...(unitOnly ? [] : testFiles(path.join(root, "build/test/integration")))];
for (const f of files) mocha.addFile(f);
await mocha.loadFilesAsync();
const node = await new Promise((resolve) => {
  const runner = mocha.run(() => resolve({ passed: runner.stats.passes, failed: runner.stats.failures, pending: runner.stats.pending }));
});
process.stdout.write(`node: ${node.passed} passed, ${node.failed} failed${node.pending ? `, ${node.pending} skipped` : ""}\n`);

let xs = { passed: 0, failed: 0 };
if (!noXs && !grep) {
  process.stdout.write("\nXS lane (portable unit tests inside Moddable's XS engine)\n");
  try {
    xs = await runXs({}); // prints the failures and its own `xs: N passed, M failed` line
  } catch (error) {
    process.stdout.write(`xs lane did not run: ${error instanceof Error ? error.message : String(error)}\n`);
    xs = { passed: 0, failed: 1 };
    process.stdout.write(`xs: ${xs.passed} passed, ${xs.failed} failed\n`);
  }
}

const passed = node.passed + xs.passed;
const failed = node.failed + xs.failed;
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
