#!/usr/bin/env node
// `npm test`: type-checks the four worlds (portable core, Moddable adapters, host + tests, the XS lane's runner),
// runs the unit and integration suites with mocha on Node, checks that the XS runner reports failures (its
// self-test on test/xs/fixtures), then runs the portable unit tests again inside XS and checks that they are the
// same tests as on Node. Ends with a summary line per lane and, last, `N passed, M failed`, where N counts the
// passed tests of both lanes (the unit tests twice: once on Node, once in XS) and M every failure: failed tests,
// hooks, files that do not load, an `.only`, a self-test check, a Node/XS mismatch, a failed type-check.
//
//   node scripts/test.mjs [--unit] [--grep PATTERN] [--no-xs]
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Mocha from "mocha";
import { sourceFingerprint, writeStamp } from "./lib/build-stamp.mjs";
import { fixtureSource, runXs } from "./run-xs.mjs";
import { selfTestXs } from "./xs-self-test.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const noXs = args.includes("--no-xs");
const grepAt = args.indexOf("--grep");
const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;
const out = (line = "") => process.stdout.write(`${line}\n`);

function tsc(project) {
  out(`tsc -p ${project}`);
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", project], { cwd: root, stdio: "inherit" });
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...testFiles(full));
    else if (name.endsWith(".test.js")) found.push(full);
  }
  return found;
}

/** Ends the run early with a reason, still printing the final line CI reads. */
function abort(reason) {
  out(reason);
  out("0 passed, 1 failed");
  process.exit(1);
}

// A clean build, so a deleted test can never linger as stale JavaScript.
rmSync(path.join(root, "build"), { recursive: true, force: true });
// Recorded for scripts/launch.mjs, so that `npm start` after `npm test` runs this build instead of compiling again.
const fingerprint = sourceFingerprint(root);
try {
  tsc("tsconfig.core.json");
  if (existsSync(path.join(root, "tsconfig.moddable.json"))) tsc("tsconfig.moddable.json");
  tsc("tsconfig.xs.json");
  tsc("tsconfig.json");
  writeStamp(root, fingerprint);
} catch {
  abort("type-check failed");
}

// ---- Node: mocha over build/test/unit and build/test/integration, counted per folder --------------------------
globalThis.__testFixture = await fixtureSource();
const unitDir = path.join(root, "build/test/unit");
const files = [...testFiles(unitDir), ...(unitOnly ? [] : testFiles(path.join(root, "build/test/integration")))];
if (!testFiles(unitDir).length) abort(`no unit tests were built under ${path.relative(root, unitDir)}`);
// forbidOnly: an `.only` anywhere fails the run instead of silently hiding every other test.
const mocha = new Mocha({ reporter: "spec", timeout: 60_000, forbidOnly: true, ...(grep ? { grep } : {}) });
for (const f of files) mocha.addFile(f);
try {
  await mocha.loadFilesAsync();
} catch (error) {
  const where = String(error?.stack ?? "").split("\n").find((line) => line.includes(`${path.sep}build${path.sep}test${path.sep}`));
  abort(`node: loading the tests failed: ${error?.message ?? error}${where ? `\n${where.trim()}` : ""}`);
}

const lane = () => ({ passed: 0, failed: 0, skipped: [], titles: [] });
const node = { unit: lane(), integration: lane(), other: [] };
const sourceOf = (file) => (file ? path.relative(path.join(root, "build"), file).replace(/\.js$/, ".ts") : "");
const fileOf = (runnable) => runnable.file ?? runnable.parent?.file; // a hook's file is its suite's
const laneOf = (file) => (file && file.startsWith(unitDir + path.sep) ? node.unit : node.integration);
await new Promise((resolve) => {
  const runner = mocha.run(() => resolve());
  runner.on("pass", (test) => {
    const l = laneOf(fileOf(test));
    l.passed++;
    l.titles.push(test.fullTitle());
  });
  runner.on("pending", (test) => {
    const l = laneOf(fileOf(test));
    l.skipped.push({ title: test.fullTitle(), file: sourceOf(fileOf(test)) });
    l.titles.push(test.fullTitle());
  });
  runner.on("fail", (test) => {
    const l = laneOf(fileOf(test));
    l.failed++; // a failed hook counts as a failure too, as mocha counts it
    if (test.type === "test") l.titles.push(test.fullTitle());
  });
});
const nodePassed = node.unit.passed + node.integration.passed;
const nodeFailed = node.unit.failed + node.integration.failed;
const nodeSkipped = [...node.unit.skipped, ...node.integration.skipped];
if (nodePassed + nodeFailed + nodeSkipped.length === 0) {
  node.other.push(grep ? `no test matches --grep ${JSON.stringify(grep)}` : "no test ran");
}
out(`node: ${nodePassed} passed, ${nodeFailed} failed${nodeSkipped.length ? `, ${nodeSkipped.length} skipped` : ""}`);

// ---- XS: the runner's self-test, then the portable unit tests, which must be the same tests as on Node ----------
let xs;
let selfTest;
const xsProblems = [];
if (!noXs && !grep) {
  out("\nXS runner self-test (test/xs/fixtures: each way a test can fail must be reported as a failure, by name)");
  selfTest = await selfTestXs();
  out("\nXS lane (portable unit tests inside Moddable's XS engine)");
  try {
    xs = await runXs({}); // prints the failures, the skipped tests and its own `xs: N passed, M failed` line
  } catch (error) {
    out(`xs lane did not run: ${error instanceof Error ? error.message : String(error)}`);
    xs = { passed: 0, failed: 1, skipped: 0, tests: [] };
  }
  xsProblems.push(...parity(node.unit.titles, xs.tests.map((test) => test.title)));
  for (const problem of xsProblems) out(`xs: ${problem}`);
}

/** The XS lane must run exactly the unit tests mocha ran (passed, failed or skipped, by full title). */
function parity(nodeTitles, xsTitles) {
  const count = (titles) => titles.reduce((map, title) => map.set(title, (map.get(title) ?? 0) + 1), new Map());
  const n = count(nodeTitles);
  const x = count(xsTitles);
  const onlyIn = (a, b) => [...a].flatMap(([title, times]) => Array(Math.max(0, times - (b.get(title) ?? 0))).fill(title));
  const missing = onlyIn(n, x);
  const extra = onlyIn(x, n);
  if (!missing.length && !extra.length) return [];
  const list = (titles) => titles.slice(0, 10).map((t) => `\n    - ${t}`).join("") + (titles.length > 10 ? `\n    ... and ${titles.length - 10} more` : "");
  return [
    `ran ${xsTitles.length} unit tests, Node ran ${nodeTitles.length}: the lanes must run the same tests` +
      (missing.length ? `\n  not run in XS (${missing.length}):${list(missing)}` : "") +
      (extra.length ? `\n  run in XS only (${extra.length}):${list(extra)}` : ""),
  ];
}

// ---- Summary --------------------------------------------------------------------------------------------------
// Deliberate skips (it.skip, describe.skip, this.skip()) are allowed, and listed by name with the lanes that skipped them.
const skipped = new Map();
const addSkip = (laneName) => (test) => {
  const key = `${test.title}  [${test.file}]`;
  skipped.set(key, [...(skipped.get(key) ?? []), laneName]);
};
nodeSkipped.forEach(addSkip("node"));
(xs?.tests ?? []).filter((t) => t.state === "skipped").forEach(addSkip("xs"));
out();
if (skipped.size) out(`skipped on purpose:\n${[...skipped].map(([key, lanes]) => `  - ${key} (${lanes.join(", ")})`).join("\n")}`);
for (const problem of node.other) out(`node: ${problem}`);

const parts = [
  `node: ${nodePassed} passed (unit ${node.unit.passed}${unitOnly ? "" : `, integration ${node.integration.passed}`}), ${nodeFailed} failed, ${nodeSkipped.length} skipped`,
];
if (xs) {
  parts.push(`xs: ${xs.passed} passed (the same unit tests inside XS), ${xs.failed} failed, ${xs.skipped} skipped${xsProblems.length ? ", NOT the same tests as on Node" : ""}`);
  parts.push(`xs runner self-test: ${selfTest.passed} checks passed, ${selfTest.failed} failed`);
}
const passed = nodePassed + (xs?.passed ?? 0);
const failed = nodeFailed + node.other.length + (xs ? xs.failed + xsProblems.length + selfTest.failed : 0);
out(`${parts.join("; ")}; total ${passed} passed, ${failed} failed`);
out(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
