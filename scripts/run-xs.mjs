#!/usr/bin/env node
// The XS lane: bundles test/xs/bdd-runner.ts and test/unit/**/*.test.ts with esbuild and runs them
// inside Moddable's XS engine (the xsnap-worker binary built by @agoric/xsnap), speaking the worker's
// netstring protocol directly (the package's JS API would lock down this Node process with SES).
//
//   node scripts/run-xs.mjs [file-name-substring] [--file test/path.ts ...]
//
// Exits non-zero when anything failed, and when no test file matched.
//
// Protocol (xsnap-worker.c): parent -> worker on fd 3, worker -> parent on fd 4, each message a
// netstring `<len>:<bytes>,`. Commands: `e<js>` evaluate as a script, `R` ready, `q` quit (EOF on fd 3
// also ends the worker). Replies: `.<meter json>\x01<bytes>` (bytes = the evaluation's value if it is
// an ArrayBuffer), `!<message>` (an exception). While evaluating, `issueCommand(arrayBuffer)` sends
// `?<bytes>` and blocks until the parent answers `/<bytes>`. Each evaluate drains promise jobs and
// setImmediate callbacks before replying. Without `-l <limit>` the worker does not meter.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const XSNAP_WORKER = path.join(
  root,
  "node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker",
);
const EXIT_REASONS = {
  11: "not enough memory",
  12: "stack overflow",
  15: "unhandled exception or rejection",
  16: "no more keys",
  17: "too much computation",
  255: "uncaught exception",
};

const netstring = (bytes) => Buffer.concat([Buffer.from(`${bytes.length}:`), bytes, Buffer.from(",")]);

/**
 * Spawns an xsnap-worker (unmetered unless `meteringLimit` is given). `evaluate(code)` resolves to the
 * reply bytes (a Buffer) or rejects with the XS exception or the worker's exit. `onCommand(bytes)`
 * answers `issueCommand` from inside XS (return a Buffer/string or nothing).
 */
/**
 * npm ci does not compile XS (allowScripts denies the package's install script), so `npm ci && npm start` needs no C
 * compiler. The test lane builds the worker once, on first use, with the package's own build (make and a C compiler).
 */
export function ensureWorker({ quiet = false } = {}) {
  if (existsSync(XSNAP_WORKER)) return;
  const dir = path.join(root, "node_modules/@agoric/xsnap");
  if (!existsSync(dir)) throw new Error("@agoric/xsnap is not installed: run npm ci");
  if (!quiet) process.stdout.write("building Moddable's XS engine (xsnap-worker) once, about a minute ...\n");
  const result = spawnSync("sh", ["-c", "{ cat build.env; echo node src/build.js; } | xargs env"], { cwd: dir, encoding: "utf8" });
  if (result.status !== 0 || !existsSync(XSNAP_WORKER)) {
    throw new Error(`building xsnap-worker failed (needs make and a C compiler: apt-get install build-essential)\n${(result.stdout ?? "") + (result.stderr ?? "")}`.slice(0, 4000));
  }
}

export function startWorker({ meteringLimit, parserBufferKiB, onCommand, onStdout, onStderr } = {}) {
  const args = ["xs-lane"];
  if (meteringLimit) args.push("-l", String(meteringLimit));
  if (parserBufferKiB) args.push("-s", String(parserBufferKiB));
  const child = spawn(XSNAP_WORKER, args, { stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"] });
  const toWorker = child.stdio[3];
  let stderrText = "";
  child.stdout.on("data", (chunk) => onStdout?.(chunk));
  child.stderr.on("data", (chunk) => {
    stderrText = (stderrText + chunk).slice(-4000);
    onStderr?.(chunk);
  });
  toWorker.on("error", () => {}); // EPIPE after a crash is reported through the exit instead

  let pending; // { resolve, reject } of the one outstanding command
  let exitError;
  let meter; // the meter of the last reply (with -l): { currentHeapCount, compute, allocate, timestamps }
  const closed = new Promise((resolve) => {
    child.on("close", (code, signal) => {
      const why = signal ? `signal ${signal}` : `code ${code}${EXIT_REASONS[code] ? ` (${EXIT_REASONS[code]})` : ""}`;
      exitError = new Error(`xsnap-worker exited with ${why}${stderrText.trim() ? `\n${stderrText.trim()}` : ""}`);
      pending?.reject(exitError);
      pending = undefined;
      resolve({ code, signal });
    });
  });
  child.on("error", (error) => pending?.reject(error));

  let buffer = Buffer.alloc(0);
  child.stdio[4].on("data", (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      const colon = buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(buffer.subarray(0, colon).toString("latin1"));
      if (buffer.length < colon + length + 2) return;
      const message = buffer.subarray(colon + 1, colon + 1 + length);
      buffer = buffer.subarray(colon + length + 2);
      handle(message);
    }
  });

  function handle(message) {
    const kind = String.fromCharCode(message[0]);
    if (kind === "?") {
      let answer;
      try {
        answer = onCommand?.(message.subarray(1));
      } catch (error) {
        answer = `host error: ${error?.message ?? error}`;
      }
      toWorker.write(netstring(Buffer.concat([Buffer.from("/"), Buffer.from(answer ?? "")])));
      return;
    }
    const waiting = pending;
    pending = undefined;
    if (!waiting) return;
    if (kind === ".") {
      const separator = message.indexOf(1);
      if (separator > 0) {
        try {
          meter = JSON.parse(message.subarray(1, separator).toString());
        } catch {
          meter = undefined;
        }
      }
      waiting.resolve(Buffer.from(separator < 0 ? message.subarray(1) : message.subarray(separator + 1)));
    } else if (kind === "!") {
      waiting.reject(new Error(`XS exception: ${message.subarray(1).toString()}`));
    } else {
      waiting.reject(new Error(`xsnap protocol error: unexpected reply ${JSON.stringify(message.toString())}`));
    }
  }

  function send(command, body) {
    if (exitError) return Promise.reject(exitError);
    if (pending) return Promise.reject(new Error("xsnap-worker: one command at a time"));
    return new Promise((resolve, reject) => {
      pending = { resolve, reject };
      toWorker.write(netstring(Buffer.concat([Buffer.from(command), Buffer.from(body)])));
    });
  }

  return {
    pid: child.pid,
    evaluate: (code) => send("e", code),
    /** The meter the worker sent with its last reply: currentHeapCount (slots), compute (computrons), allocate (bytes). */
    lastMeter: () => meter,
    /** Ends the worker gracefully (EOF on its command pipe) and resolves with its exit. */
    close() {
      toWorker.end();
      return closed;
    },
    kill() {
      if (!exitError && child.pid) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {}
      }
      return closed;
    },
  };
}

let fixtures;
/**
 * The fixture source of test/fixtures (made with openssl at test time), compiled on the fly with esbuild so the XS
 * lane needs no prior build; one per process, shared by the Node and XS lanes of `npm test`.
 */
export async function fixtureSource() {
  if (fixtures) return fixtures;
  const result = await esbuild.build({
    entryPoints: [path.join(root, "test/fixtures/index.ts")],
    bundle: true,
    write: false,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "silent",
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "kisme-fixtures-"));
  try {
    const file = path.join(dir, "fixtures.cjs");
    writeFileSync(file, result.outputFiles[0].text);
    fixtures = createRequire(import.meta.url)(file).fixtureSource(root);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return fixtures;
}

/** The portable unit tests (every *.test.ts under test/unit), repo-relative, sorted; those whose path contains `filter`. */
export function findTests(filter) {
  const dir = path.join(root, "test/unit");
  return readdirSync(dir, { recursive: true })
    .map((name) => path.posix.join("test/unit", String(name).split(path.sep).join("/")))
    .filter((file) => file.endsWith(".test.ts") && (!filter || file.includes(filter)))
    .sort();
}

/** The bundle's entry: test/xs/xs-lane.ts (type-checked with the runner) gets the files to load lazily, in order. */
function entrySource(files) {
  const loads = files.map((file) => `  { file: ${JSON.stringify(file)}, load: () => import(${JSON.stringify(`./${file}`)}) },`);
  return `import { main } from "./test/xs/xs-lane";
main([
${loads.join("\n")}
]);
`;
}

async function bundle(files) {
  const result = await esbuild.build({
    stdin: { contents: entrySource(files), resolveDir: root, sourcefile: "xs-lane-entry.js", loader: "js" },
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: "iife",
    target: "es2022",
    platform: "neutral",
    resolveExtensions: [".ts", ".js"],
    sourcemap: "external",
    outfile: "xs-lane.js",
    logLevel: "silent",
  });
  const text = (suffix) => result.outputFiles.find((file) => file.path.endsWith(suffix)).text;
  return { code: text(".js"), lines: lineMap(JSON.parse(text(".js.map"))) };
}

/** From a source map, the original "file:line" of each generated line (XS stacks give lines only). */
function lineMap({ sources, mappings }) {
  const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const state = [0, 0, 0, 0]; // generated column, source, original line, original column
  return mappings.split(";").map((line) => {
    let first;
    state[0] = 0;
    for (const segment of line.split(",").filter(Boolean)) {
      let field = 0;
      for (let i = 0, value = 0, shift = 0; i < segment.length; i++) {
        const digit = digits.indexOf(segment[i]);
        value += (digit & 31) << shift;
        shift += 5;
        if (digit & 32) continue;
        state[field++] += value & 1 ? -(value >>> 1) : value >>> 1;
        value = shift = 0;
      }
      if (field > 1) first ??= `${sources[state[1]]}:${state[2] + 1}`;
    }
    return first;
  });
}

/** Rewrites XS frames "at f (#0:123)" of the bundle (eval #0) to source lines; drops runner and host frames. */
function mapStack(stack, lines) {
  return stack
    .split("\n")
    .map((frame) => frame.replace(/\(#0:(\d+)\)/, (all, line) => (lines[line - 1] ? `(${lines[line - 1]})` : all)))
    .filter((frame) => /^\s*at /.test(frame) && !/\(((test\/xs\/(bdd-runner|xs-lane)\.ts|xs-lane-entry\.js|#\d+):\d+)?\)$/.test(frame))
    .join("\n");
}

/**
 * Runs tests in XS: the portable unit tests (those whose path contains `filter`), or exactly `files` (repo-relative
 * paths, e.g. the runner's own fixture suites). Resolves to
 *   { passed, failed, skipped, failures: [{ title, file, message, stack? }], tests: [{ title, file, state }] }
 * where passed/skipped count tests and failed counts failed tests plus every other failure (a hook, a file that
 * does not load, an `.only`, an uncaught error or unhandled rejection, the worker); `tests` lists every test's
 * result by full title, as mocha names them. Finding no test file is a failure. A test that has run for
 * `testTimeoutMs`, or a run longer than `timeoutMs`, stops the worker and fails the test that was running.
 */
export async function runXs({ quiet = false, filter, files: only, timeoutMs = 300_000, testTimeoutMs = 60_000 } = {}) {
  const log = quiet ? () => {} : (line) => process.stdout.write(`${line}\n`);
  const summary = { passed: 0, failed: 0, skipped: 0, failures: [], tests: [] };
  const fail = (failure) => {
    summary.failed++;
    summary.failures.push(failure);
  };
  const files = only ? [...only] : findTests(filter);
  const missing = files.filter((file) => !existsSync(path.join(root, file)));
  if (files.length === 0 || missing.length > 0) {
    const what = missing.length ? `no such test file: ${missing.join(", ")}` : `no test file matches ${JSON.stringify(filter ?? "")} under test/unit`;
    fail({ title: "test files", file: "", message: what });
    return finish();
  }
  try {
    ensureWorker({ quiet });
  } catch (error) {
    fail({ title: "xsnap-worker", file: "", message: error.message });
    return finish();
  }
  let code, lines;
  try {
    ({ code, lines } = await bundle(files));
  } catch (error) {
    fail({ title: "bundle", file: "", message: error.message });
    return finish();
  }

  const fixture = await fixtureSource();
  let current; // the test that has begun but not reported, for crash and time-out reports
  let stopped; // why the host stopped the worker
  let testTimer;
  const decoder = new TextDecoder();
  const worker = startWorker({
    parserBufferKiB: Math.max(8192, Math.ceil((code.length * 2) / 1024)),
    onStdout: quiet ? undefined : (chunk) => process.stdout.write(chunk),
    onStderr: quiet ? undefined : (chunk) => process.stderr.write(chunk),
    onCommand(bytes) {
      const event = JSON.parse(decoder.decode(bytes));
      if (event.type === "fixture") {
        try {
          return fixture(event.name);
        } catch (error) {
          return `!${error?.message ?? error}`;
        }
      }
      if (event.type === "begin") {
        current = event;
        clearTimeout(testTimer);
        testTimer = setTimeout(() => stop(`timed out after ${testTimeoutMs} ms (the test never gave control back)`), testTimeoutMs);
      } else if (event.type === "result") {
        if (event.kind === "test") {
          if (current?.title === event.title) {
            current = undefined;
            clearTimeout(testTimer);
          }
          summary.tests.push({ title: event.title, file: event.file, state: event.state });
        }
        if (event.state === "passed") summary.passed++;
        else if (event.state === "skipped") summary.skipped++;
        else {
          const { message = "failed", stack } = event.error ?? {};
          fail({ title: event.title, file: event.file, message, stack: stack && mapStack(stack, lines) });
        }
      } else if (event.type === "fatal") fail({ title: "runner", file: "", message: event.message });
      else fail({ title: "runner", file: "", message: `unknown event ${JSON.stringify(event)}` });
    },
  });
  function stop(why) {
    stopped ??= why;
    worker.kill();
  }
  const runTimer = setTimeout(() => stop(`the run timed out after ${timeoutMs} ms`), timeoutMs);
  try {
    await worker.evaluate(code);
    // Each evaluate drains the job queue, so an unfinished run is waiting: between two tests (the runner lets the
    // queue drain after each, so what a test leaves behind is reported under its name) or on a promise that can
    // never settle, which poll() fails. Either way the run goes on. "waiting" twice in a row means it is stuck.
    for (let waits = 0; waits < 2; ) {
      const state = (await worker.evaluate("globalThis.__xsLane.poll()")).toString();
      if (state === "done") break;
      waits = state === "waiting" ? waits + 1 : 0;
      if (waits === 2) throw new Error("the runner is stuck with an idle job queue");
    }
    const exit = await worker.close();
    if (exit.code !== 0) throw new Error(`xsnap-worker exited with code ${exit.code ?? exit.signal} after the run`);
  } catch (error) {
    await worker.kill();
    const message = stopped ?? error.message;
    if (current) {
      // The test that was running is the one that failed: reported under its own name, as a test.
      summary.tests.push({ title: current.title, file: current.file, state: "failed" });
      fail({ title: current.title, file: current.file, message: `${message}; the worker was stopped, later tests did not run` });
    } else fail({ title: "xs worker", file: "", message });
  } finally {
    clearTimeout(runTimer);
    clearTimeout(testTimer);
  }
  return finish();

  function finish() {
    for (const [index, { title, file, message, stack }] of summary.failures.entries()) {
      log(`\n${index + 1}) ${title}${file ? `  [${file}]` : ""}\n   ${message}`);
      if (stack) log(stack.replace(/^\s*/gm, "     "));
    }
    const skipped = summary.tests.filter((test) => test.state === "skipped");
    if (skipped.length) log(`xs: ${skipped.length} skipped:\n${skipped.map((test) => `  - ${test.title}  [${test.file}]`).join("\n")}`);
    log(`xs: ${summary.passed} passed, ${summary.failed} failed`);
    return summary;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const files = [];
  let filter;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--file") files.push(argv[++i]);
    else if (argv[i] === "--help") {
      process.stdout.write("node scripts/run-xs.mjs [file-name-substring] [--file test/path.ts ...]\n");
      process.exit(0);
    } else filter = argv[i];
  }
  const { failed } = await runXs(files.length ? { files } : { filter });
  process.exitCode = failed ? 1 : 0;
}
