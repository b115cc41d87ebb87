#!/usr/bin/env node
// Builds the device firmware for one product with the Moddable SDK's mcconfig: products/kis<product>/manifest.json,
// which includes the root manifest.json and sets the product's config (profile, pins, LED kind).
//
//   node scripts/build-device.mjs <platform> [--product box|light] [-t <target>] [-d | -i] [--dev-credentials | --production] [--dry-run] [name=value ...]
//
//   <platform>   esp32, esp32/<subplatform>, or lin / mac / win for the simulator (mcsim)
//   --product    box (KIS.BOX, the default) or light (KIS.LIGHT); the app (and build folder) is kisbox / kislight
//   -t <target>  mcconfig make target, e.g. build, deploy, xsbug, clean (default: build and run as mcconfig does)
//   -d / -i      debug / instrumented build instead of release (-m is always passed)
//   -o <folder>  mcconfig's output folder instead of $MODDABLE/build (also from KISME_SDK_OUTPUT), so two
//                checkouts can build the same app side by side
//   name=value   manifest config overrides, e.g. simulatePressEverySeconds=5 logLevel=debug
//   timeFloor    set to the start of the build's UTC day unless given: the firmware never sets its clock earlier
//                (src/time/time-sanity.ts), so build on a machine whose clock is right
//   --dev-credentials   embed the development credentials (device.der, device.key.der, dev-ca.der) from local/, or
//                       from the folder KISME_DEV_CREDENTIALS names. Never without it, on any platform (see
//                       scripts/lib/dev-credentials.mjs); --no-dev-credentials, the old opt-out, is the default now.
//   --production        esp32 only: the production profile sdkconfig/production/ (Secure Boot v2, flash encryption in
//                       release mode, NVS encryption, its partition table; scripts/lib/sdk-profile.mjs). Builds only
//                       (-t build, the default then); refused with --dev-credentials, -d or -i.
//   --dry-run           print what would be embedded and the mcconfig command, and stop (no SDK needed)
//
// Requires an installed Moddable SDK: MODDABLE set, its tools (mcconfig) on PATH, and TypeScript >= 6 (tsc) on
// PATH, because mcconfig compiles the .ts modules with it. This script never installs or builds the SDK.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_RESOURCES, resolveDevCredentials } from "./lib/dev-credentials.mjs";
import { resolveSdkProfile } from "./lib/sdk-profile.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GUIDE = "https://github.com/Moddable-OpenSource/moddable/blob/public/documentation/Moddable%20SDK%20-%20Getting%20Started.md";
const USAGE = `Usage: node scripts/build-device.mjs <platform> [--product box|light] [-t <target>] [-d | -i] [--dev-credentials | --production] [--dry-run] [name=value ...]
  platform: esp32, esp32/<subplatform>, lin | mac | win (simulator)
  product:  box (KIS.BOX, default) | light (KIS.LIGHT): products/kis<product>/manifest.json
  --dev-credentials: embed device.der, device.key.der, dev-ca.der from local/ (or $KISME_DEV_CREDENTIALS); never by default
  --production: esp32 production profile (sdkconfig/production: Secure Boot v2, flash encryption, NVS encryption); build only
  -o <folder>: mcconfig output folder (default $MODDABLE/build, or $KISME_SDK_OUTPUT)
  --dry-run: print what would be embedded and the mcconfig command, then stop`;
const PRODUCTS = { box: "kisbox", light: "kislight" };

function fail(message) {
  process.stderr.write(`build-device: ${message}\n`);
  process.exit(1);
}

/** The first executable called `name` on PATH (with PATHEXT on Windows), or undefined. */
function which(name) {
  const extensions = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

// ---- arguments ----
const args = process.argv.slice(2);
if (args.includes("-h") || args.includes("--help")) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}
let platform;
let target;
let devCredentials = false;
let noDevCredentials = false;
let dryRun = false;
let production = false;
let product = "box";
// mcconfig's output folder (default $MODDABLE/build). Separate folders let two checkouts build the same app at once.
let output = process.env.KISME_SDK_OUTPUT || undefined;
const passThrough = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--product" || arg.startsWith("--product=")) {
    product = arg === "--product" ? args[++i] : arg.slice("--product=".length);
    if (!product || !Object.hasOwn(PRODUCTS, product)) fail(`--product must be ${Object.keys(PRODUCTS).join(" or ")}\n${USAGE}`);
  } else if (arg === "-t") {
    target = args[++i];
    if (!target) fail(`-t needs a target\n${USAGE}`);
  } else if (arg === "-o") {
    output = args[++i];
    if (!output) fail(`-o needs a folder\n${USAGE}`);
  } else if (arg === "-d" || arg === "-i") passThrough.push(arg);
  else if (arg === "--dev-credentials") devCredentials = true;
  else if (arg === "--no-dev-credentials") noDevCredentials = true; // the default; kept for old scripts
  else if (arg === "--dry-run") dryRun = true;
  else if (arg === "--production") production = true;
  else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) passThrough.push(arg);
  else if (!arg.startsWith("-") && platform === undefined) platform = arg;
  else fail(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
}
if (!platform) fail(`no platform given\n${USAGE}`);
if (devCredentials && noDevCredentials) fail("--dev-credentials and --no-dev-credentials contradict each other");
const app = PRODUCTS[product];
const manifest = path.join("products", app, "manifest.json");
if (!existsSync(path.join(root, manifest))) fail(`${manifest} is missing`);

// ---- the ESP-IDF profile: development, or production only when asked for ----
const sdk = resolveSdkProfile({ platform, production, devCredentials, target, debug: passThrough.some((a) => a === "-d" || a === "-i"), root });
if (sdk.error) fail(sdk.error);
target = sdk.target;

// ---- development credentials: only when asked for ----
const credentials = resolveDevCredentials({ platform, devCredentials, env: process.env, root });
if (credentials.error) fail(credentials.error);
for (const line of [...credentials.messages, ...sdk.messages]) process.stdout.write(`build-device: ${line}\n`);
const env = { ...process.env, ...credentials.env, ...sdk.env };
// The clock floor compiled into the firmware: the build day (whole days, so an incremental build the same day
// does not rebuild for it). A name=value argument of its own wins.
const timeFloor = passThrough.some((a) => a.startsWith("timeFloor=")) ? [] : [`timeFloor=${new Date().toISOString().slice(0, 10)}T00:00:00Z`];
const outputArgs = output ? ["-o", path.resolve(output)] : [];
const mcArgs = ["-m", "-p", platform, ...(target ? ["-t", target] : []), ...outputArgs, ...passThrough, manifest, ...timeFloor];
if (dryRun) {
  const vars = [...Object.keys(credentials.env), ...Object.keys(sdk.env)].map((name) => `${name}=${env[name]}`).join(" ");
  process.stdout.write(`build-device: dry run: ${vars} mcconfig ${mcArgs.join(" ")} (in ${root})\n`);
  process.exit(0);
}

// ---- prerequisites ----
const missing = [];
const moddable = process.env.MODDABLE;
if (!moddable) missing.push("the MODDABLE environment variable (the path of your Moddable SDK checkout) is not set");
else if (!existsSync(path.join(moddable, "build", "makefiles"))) missing.push(`MODDABLE=${moddable} does not look like a Moddable SDK checkout`);
const mcconfig = which("mcconfig");
if (!mcconfig) {
  missing.push(
    "mcconfig is not on PATH (add the SDK's tools folder, e.g. $MODDABLE/build/bin/lin/release on Linux or $MODDABLE/build/bin/mac/release on macOS, after building the tools as the guide describes)",
  );
}
const tsc = which("tsc");
if (!tsc) missing.push("tsc (TypeScript >= 6) is not on PATH; mcconfig compiles the .ts modules with it (e.g. npm install -g typescript@6)");
else {
  const result = spawnSync(tsc, ["-v"], { encoding: "utf8", shell: process.platform === "win32" });
  const version = /Version (\d+)\.(\d+)/.exec(result.stdout ?? "");
  if (!version) missing.push(`could not read the version of ${tsc}`);
  else if (Number(version[1]) < 6) {
    missing.push(`${tsc} is TypeScript ${version[1]}.${version[2]}; mcconfig's generated tsconfig targets es2025, which needs TypeScript >= 6`);
  }
}
if (missing.length > 0) {
  fail(
    `cannot build the firmware:\n  - ${missing.join("\n  - ")}\n` +
      `Install the Moddable SDK and its tools for your host (and, for esp32, ESP-IDF) as described in the Moddable Getting Started guide:\n  ${GUIDE}\n` +
      `then export MODDABLE and put its tools folder and TypeScript >= 6 on PATH.`,
  );
}

// ---- build ----
// mcconfig builds incrementally and links every file left in the app's resources folder under $MODDABLE/build/tmp,
// so development credentials from an earlier build would stay in a build made without them. Clean first then.
const unwanted = DEV_RESOURCES.filter((name) => !credentials.resources.includes(name));
if (unwanted.length > 0 && staleDevResources(path.join(output ? path.resolve(output) : path.join(moddable, "build"), "tmp", platform.split("/")[0]), app, 0, unwanted)) {
  process.stdout.write("build-device: an earlier build of this app embedded development credentials; cleaning it first\n");
  const clean = spawnSync(mcconfig, ["-m", "-p", platform, "-t", "clean", ...outputArgs, ...passThrough.filter((a) => a.startsWith("-")), manifest], { cwd: root, env, stdio: "inherit" });
  if (clean.status !== 0) fail("mcconfig -t clean failed");
}

if (output) mkdirSync(path.resolve(output), { recursive: true }); // mcconfig wants the folder to exist
process.stdout.write(`build-device: ${mcconfig} ${mcArgs.join(" ")} (in ${root})\n`);
const run = spawnSync(mcconfig, mcArgs, { cwd: root, env, stdio: "inherit" });
if (run.error) fail(`could not run mcconfig: ${run.error.message}`);
process.exit(run.status ?? 1);

/** Whether some `<app>/resources/` folder below `dir` (a few levels deep) holds one of the `unwanted` resources. */
function staleDevResources(dir, app, depth, unwanted) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const sub = path.join(dir, entry.name);
    if (entry.name === app && unwanted.some((name) => existsSync(path.join(sub, "resources", name)))) return true;
    if (depth < 4 && staleDevResources(sub, app, depth + 1, unwanted)) return true;
  }
  return false;
}
