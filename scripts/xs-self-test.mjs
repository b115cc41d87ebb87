#!/usr/bin/env node
// The XS lane's self-test: runs the XS runner (scripts/run-xs.mjs) on the fixture suites of test/xs/fixtures, in
// which tests fail in every way a test can (a failed assertion, a thrown error, a rejected promise, a promise that
// never settles, a setTimeout call, done(error), a hook, a load error, an async describe, an .only, an unhandled
// rejection, a test that never gives control back), and checks that each is reported as a failure under its own
// name, that the passing and skipped tests are reported as such, and that the command line exits non-zero. Part of
// `npm test` (scripts/test.mjs): a runner that swallowed errors would otherwise still print "0 failed".
//
//   node scripts/xs-self-test.mjs
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runXs } from "./run-xs.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURES = "test/xs/fixtures";
const MISBEHAVING = `${FIXTURES}/misbehaving.fixture.ts`;
const FILES = [MISBEHAVING, `${FIXTURES}/load-error.fixture.ts`, `${FIXTURES}/async-describe.fixture.ts`, `${FIXTURES}/only.fixture.ts`];
const HANG_MS = 3000;

/** The expected reports of the fixture suites: [title, state, message pattern for failures]. */
const EXPECTED_TESTS = [
  ["misbehaving passes", "passed"],
  ["misbehaving fails an assertion", "failed", /^AssertionError: one is not two: expected 2, got 1$/],
  ["misbehaving throws an error", "failed", /^Error: thrown on purpose$/],
  ["misbehaving returns a rejected promise", "failed", /^Error: rejected on purpose$/],
  ["misbehaving rejects after an await", "failed", /^Error: rejected after an await on purpose$/],
  ["misbehaving never settles", "failed", /^timed out: did not settle/],
  ["misbehaving calls setTimeout", "failed", /^ReferenceError: .*setTimeout/],
  ["misbehaving calls done with an error", "failed", /^Error: done with an error on purpose$/],
  ["misbehaving never calls done", "failed", /^timed out: did not settle/],
  ["misbehaving passes through done", "passed"],
  ["misbehaving throws in a setImmediate callback", "failed", /^Error: thrown in setImmediate on purpose$/],
  ["misbehaving skips itself", "skipped"],
  ["misbehaving is skipped", "skipped"],
  ["misbehaving leaves a rejection unhandled", "passed"], // the test itself returns; its rejection is reported below
  ["misbehaving passes after all that", "passed"],
  ["only is marked only", "passed"],
  ["only still runs beside an .only", "passed"],
];
/** Failures that are not tests: [title pattern, message pattern]. */
const EXPECTED_OTHER_FAILURES = [
  [/^unhandled rejection \(during or after "misbehaving leaves a rejection unhandled"\)$/, /^Error: unhandled on purpose$/],
  [/^misbehaving with a failing beforeEach "before each" hook for "is not run"$/, /^Error: beforeEach failed on purpose$/],
  [/^load test\/xs\/fixtures\/load-error\.fixture\.ts$/, /^Error: load failed on purpose$/],
  [/^load test\/xs\/fixtures\/async-describe\.fixture\.ts$/, /returned a promise: describe callbacks must be synchronous/],
  [/^\.only is forbidden: it\.only only is marked only$/, /remove \.only/],
];

/**
 * Runs the checks; prints each failed check and a summary line. Resolves to { passed, failed, problems } (the number
 * of checks that held and that did not, and what did not).
 */
export async function selfTestXs({ quiet = false } = {}) {
  const log = quiet ? () => {} : (line) => process.stdout.write(`${line}\n`);
  const problems = [];
  let checks = 0;
  const check = (ok, what) => {
    checks++;
    if (!ok) problems.push(what);
  };

  const run = await runXs({ quiet: true, files: FILES });
  const byTitle = new Map(run.tests.map((test) => [test.title, test]));
  const failureOf = (title) => run.failures.find((f) => f.title === title);
  for (const [title, state, message] of EXPECTED_TESTS) {
    const test = byTitle.get(title);
    check(test?.state === state, `"${title}" must be reported as ${state}, was ${test ? test.state : "not reported"}`);
    if (state === "failed") {
      const failure = failureOf(title);
      check(failure !== undefined && message.test(failure.message), `"${title}" must fail with ${message}, failed with ${JSON.stringify(failure?.message)}`);
    }
  }
  check(!byTitle.has("misbehaving with a failing beforeEach is not run"), "a test whose beforeEach failed must not run");
  for (const [title, message] of EXPECTED_OTHER_FAILURES) {
    const failure = run.failures.find((f) => title.test(f.title));
    check(failure !== undefined && message.test(failure.message), `a failure titled ${title} with ${message}: ${failure ? JSON.stringify(failure.message) : "not reported"}`);
  }
  const failedTests = EXPECTED_TESTS.filter(([, state]) => state === "failed").length;
  const expectedFailed = failedTests + EXPECTED_OTHER_FAILURES.length;
  check(run.failed === expectedFailed, `${expectedFailed} failures expected (each reported once), got ${run.failed}: ${run.failures.map((f) => f.title).join("; ")}`);
  check(run.passed === EXPECTED_TESTS.filter(([, state]) => state === "passed").length + 2, `passed count ${run.passed}`); // + the two tests the load-error and async-describe fixtures declared before failing
  check(run.skipped === 2, `skipped count ${run.skipped}`);

  // A test that never gives control back: stopped after the per-test limit and reported under its name.
  const started = Date.now();
  const hang = await runXs({ quiet: true, files: [`${FIXTURES}/hang.fixture.ts`], testTimeoutMs: HANG_MS });
  const tookMs = Date.now() - started;
  const hung = hang.failures.find((f) => f.title === "hang loops forever");
  check(hung !== undefined && /^timed out after \d+ ms/.test(hung.message), `"hang loops forever" must fail as timed out: ${JSON.stringify(hung?.message)}`);
  check(hang.tests.find((t) => t.title === "hang passes before the hang")?.state === "passed", "the test before the hang must pass");
  check(!hang.tests.some((t) => t.title === "hang is never reached" && t.state === "passed"), "a test after the hang must not be reported as passed");
  check(hang.failed === 1, `one failure expected for the hang, got ${hang.failed}`);
  check(tookMs < HANG_MS + 60_000, `the hang must be stopped soon after ${HANG_MS} ms, took ${tookMs} ms`);

  // The command line: non-zero exit and an honest count line when a test fails; an error when nothing matches.
  const cli = (...args) => spawnSync(process.execPath, [path.join(root, "scripts/run-xs.mjs"), ...args], { cwd: root, encoding: "utf8" });
  const failing = cli("--file", MISBEHAVING);
  const lastLine = failing.stdout.trim().split("\n").pop();
  check(failing.status === 1, `run-xs.mjs must exit 1 when tests fail, exited ${failing.status}`);
  check(/^xs: 4 passed, 11 failed$/.test(lastLine ?? ""), `run-xs.mjs must end with "xs: 4 passed, 11 failed", ended with ${JSON.stringify(lastLine)}`);
  const none = cli("no-test-file-has-this-in-its-name");
  check(none.status === 1 && /no test file matches/.test(none.stdout), `run-xs.mjs must fail when no file matches its filter (exit ${none.status})`);

  for (const problem of problems) log(`  xs self-test FAILED: ${problem}`);
  const passed = checks - problems.length;
  log(`xs runner self-test: ${passed} checks passed, ${problems.length} failed`);
  return { passed, failed: problems.length, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { failed } = await selfTestXs();
  process.exitCode = failed ? 1 : 0;
}
