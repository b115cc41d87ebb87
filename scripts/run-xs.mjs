#!/usr/bin/env node
// The XS lane: bundles test/xs/bdd-runner.ts and test/unit/**/*.test.ts with esbuild and runs them
// inside Moddable's XS engine (the xsnap-worker binary built by @agoric/xsnap), speaking the worker's
// netstring protocol directly (the package's JS API would lock down this Node process with SES).
//
//   node scripts/run-xs.mjs [file-name-substring]
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

function findTests(filter) {
  const dir = path.join(root, "test/unit");
  return readdirSync(dir, { recursive: true })
    .map((name) => path.posix.join("test/unit", String(name).split(path.sep).join("/")))
    .filter((file) => file.endsWith(".test.ts") && (!filter || file.includes(filter)))
    .sort();
}

/** The bundle's entry: install the BDD globals, register every test file lazily, run, stream events. */
function entrySource(files) {
  const loads = files.map((file) => `  { file: ${JSON.stringify(file)}, load: () => import(${JSON.stringify(`./${file}`)}) },`);
  return `import { install, runFiles, idle, uncaught, unhandledRejection } from "./test/xs/bdd-runner";
const encoder = new TextEncoder();
const send = (event) => issueCommand(encoder.encode(JSON.stringify(event)).slice().buffer);
let done = false;
globalThis.__testFixture = (name) => {
  const reply = new Uint8Array(issueCommand(encoder.encode(JSON.stringify({ type: "fixture", name })).slice().buffer));
  const text = new TextDecoder().decode(reply);
  if (text.startsWith("!")) throw new Error(text.slice(1));
  return text;
};
globalThis.__xsLane = { poll: () => encoder.encode(done ? "done" : idle() ? "abandoned" : "waiting").slice().buffer };
// A throwing setImmediate callback would end the worker: route it to the runner instead.
const nativeSetImmediate = globalThis.setImmediate;
globalThis.setImmediate = (callback, ...args) => nativeSetImmediate(() => {
  try { callback(...args); } catch (error) { uncaught(error); }
});
// XS reports unhandled rejections through console.error (after each evaluate's job queue drains).
Object.defineProperty(globalThis, "console", { configurable: true, writable: true, value: {
  error(label, ...rest) {
    if (label === "UnhandledPromiseRejectionWarning:") unhandledRejection(rest[0]);
    else print(label, ...rest);
  },
} });
// As on the device, where the XS linker freezes every preloaded built-in: assigning to a property that a frozen
// prototype defines (the classic: \`this.name = "X"\` in an Error subclass) throws here too, not only on hardware.
for (const key of Object.getOwnPropertyNames(globalThis)) {
  const value = globalThis[key];
  if (!/^[A-Z]/.test(key) || (typeof value !== "function" && (typeof value !== "object" || value === null))) continue;
  Object.freeze(value);
  if (typeof value === "function" && value.prototype) Object.freeze(value.prototype);
}
install(globalThis);
runFiles([
${loads.join("\n")}
], send).then(
  () => { done = true; },
  (error) => { send({ type: "fatal", message: String(error && error.stack || error) }); done = true; },
);
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
    .filter((frame) => /^\s*at /.test(frame) && !/\(((test\/xs\/bdd-runner\.ts|xs-lane-entry\.js|#\d+):\d+)?\)$/.test(frame))
    .join("\n");
}

/** Runs the unit tests in XS. Resolves to { passed, failed, skipped, failures: [{ title, file, message, stack? }] }. */
export async function runXs({ quiet = false, filter, timeoutMs = 120_000 } = {}) {
  const log = quiet ? () => {} : (line) => process.stdout.write(`${line}\n`);
  const summary = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const fail = (failure) => {
    summary.failed++;
    summary.failures.push(failure);
  };
  const files = findTests(filter);
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
  let current; // the test that has begun but not reported, for crash reports
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
      if (event.type === "begin") current = event;
      else if (event.type === "result") {
        current = undefined;
        if (event.state === "passed") summary.passed++;
        else if (event.state === "skipped") summary.skipped++;
        else {
          const { message = "failed", stack } = event.error ?? {};
          fail({ title: event.title, file: event.file, message, stack: stack && mapStack(stack, lines) });
        }
      } else if (event.type === "fatal") fail({ title: "runner", file: "", message: event.message });
    },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    worker.kill();
  }, timeoutMs);
  try {
    await worker.evaluate(code);
    // Each evaluate drains the job queue, so an unfinished run is waiting on a promise that cannot
    // settle: poll() fails it and the run goes on. "waiting" twice in a row means the runner is stuck.
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
    const where = current ? ` while running "${current.title}" (${current.file})` : "";
    const message = timedOut ? `timed out after ${timeoutMs} ms${where}` : `${error.message}${where}`;
    fail({ title: "xs worker", file: current?.file ?? "", message });
  } finally {
    clearTimeout(timer);
  }
  return finish();

  function finish() {
    for (const [index, { title, file, message, stack }] of summary.failures.entries()) {
      log(`\n${index + 1}) ${title}${file ? `  [${file}]` : ""}\n   ${message}`);
      if (stack) log(stack.replace(/^\s*/gm, "     "));
    }
    if (summary.skipped) log(`xs: ${summary.skipped} skipped`);
    log(`xs: ${summary.passed} passed, ${summary.failed} failed`);
    return summary;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { failed } = await runXs({ filter: process.argv[2] });
  process.exitCode = failed ? 1 : 0;
}
