#!/usr/bin/env node
// Runs a host program from build/ and compiles first only when the sources changed (scripts/lib/build-stamp.mjs):
// `npm start`, `npm run provision` and `npm run models` start in well under a second when nothing changed, instead
// of running tsc (about 10 s) every time.
//
//   node scripts/launch.mjs <program> [args ...]    program: a path under the repository without .ts, e.g. host/cli/start
//   node scripts/launch.mjs --build                 compile now and record it (npm run build)
//
// --help / -h never waits for tsc: on a current build the program prints its help itself; on a missing or stale
// build that one program is bundled with esbuild (type stripping only, a fraction of a second) next to where tsc
// would put it, and run with --help. Everything else compiles with tsc -p tsconfig.json as before (a type error
// stops the start), records the sources' fingerprint in build/.sources.sha256 and runs the program. npm test
// (scripts/test.mjs) deletes build/ and records its own compile the same way, so the two never fight: after
// `npm test` a start is current, and a start after a deleted build/ compiles once.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sourceFingerprint, staleReason, writeStamp } from "./lib/build-stamp.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (line) => process.stderr.write(`launch: ${line}\n`);

/** tsc -p tsconfig.json; records the fingerprint taken before it on success. Returns tsc's exit status. */
function compile(reason) {
  const fingerprint = sourceFingerprint(root);
  say(`compiling with tsc (${reason}) ...`);
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) {
    say("TypeScript is not installed: run npm ci");
    return 1;
  }
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  if (run.status !== 0) return run.status ?? 1;
  writeStamp(root, fingerprint);
  return 0;
}

/** Bundles `<program>.ts` for its --help next to build/<program>.js (same folder depth: same __dirname). */
async function bundleForHelp(program) {
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    return undefined; // not installed (npm ci --omit=dev): compile instead
  }
  const outfile = path.join(root, "build", `${program}.help.js`);
  await esbuild.build({
    entryPoints: [path.join(root, `${program}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
  return outfile;
}

/** Runs `file` with `args` in a child that owns the terminal; passes signals on and exits as it does. */
function run(file, args) {
  const child = spawn(process.execPath, [file, ...args], { cwd: process.cwd(), stdio: "inherit" });
  // The child handles them (e.g. npm start's orderly goodbye); a second copy from the terminal's process group is
  // harmless there. The launcher itself just waits for it.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 1)));
}

async function main(argv) {
  const [program, ...args] = argv;
  if (program === "--build") return process.exit(compile("npm run build"));
  if (!program || program.startsWith("-") || !existsSync(path.join(root, `${program}.ts`))) {
    say(`usage: node scripts/launch.mjs <program> [args ...], program e.g. host/cli/start (got ${JSON.stringify(program ?? "")})`);
    return process.exit(2);
  }
  const entry = path.join("build", `${program}.js`);
  const end = args.indexOf("--");
  const help = (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
  const stale = staleReason(root, entry);
  if (stale === undefined) return run(path.join(root, entry), args);
  if (help) {
    const bundle = await bundleForHelp(program).catch((error) => {
      say(`esbuild could not bundle ${program}.ts for --help (${error instanceof Error ? error.message.split("\n")[0] : error}); compiling instead`);
      return undefined;
    });
    if (bundle) return run(bundle, args);
  }
  const status = compile(stale);
  if (status !== 0) return process.exit(status);
  return run(path.join(root, entry), args);
}

await main(process.argv.slice(2));
