#!/usr/bin/env node
// The long fuzz run: the same cases as test/unit/fuzz.test.ts (test/support/fuzz-cases.ts), compiled by
// `tsc -p tsconfig.json`, with 100 000 inputs per parser on Node. Prints per parser: inputs / accepted /
// rejected with a documented error / crashes, and exits 1 when any parser crashed, rejected a promise
// without a handler, or threw outside a case.
//
//   node scripts/fuzz-long.mjs [--count N] [--seed S] [--only SUBSTRING] [--no-build]
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const count = Number(option("--count", "100000"));
const seed = Number(option("--seed", String(Date.now() % 1_000_000_007)));
const only = option("--only", "");

if (!args.includes("--no-build")) {
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
}
const require = createRequire(import.meta.url);
const { FUZZ_CASES, formatStats } = require(path.join(root, "build/test/support/fuzz-cases.js"));

let unhandled = 0;
process.on("unhandledRejection", (reason) => {
  unhandled++;
  process.stdout.write(`UNHANDLED REJECTION: ${reason?.stack ?? reason}\n`);
});

process.stdout.write(`fuzzing with ${count} inputs per parser, seed ${seed} (repeat with --seed ${seed})\n`);
let crashes = 0;
for (const c of FUZZ_CASES) {
  if (only && !c.name.includes(only)) continue;
  const started = Date.now();
  let stats;
  try {
    stats = await c.run(count, seed);
  } catch (error) {
    crashes++;
    process.stdout.write(`${c.name}: the case itself threw: ${error?.stack ?? error}\n`);
    continue;
  }
  crashes += stats.crashes;
  process.stdout.write(`${formatStats(stats)}  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(`total crashes: ${crashes}, unhandled rejections: ${unhandled}\n`);
process.exitCode = crashes + unhandled > 0 ? 1 : 0;
