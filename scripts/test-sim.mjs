#!/usr/bin/env node
// The simulator lane: the firmware as built for the device (lin build of products/kisbox) runs in the Moddable
// simulator against real loopback peers (test/sim). Not part of `npm test`: it needs the Moddable SDK, which is not
// on the package registries. This script checks what the lane needs and says what is missing, then compiles the
// host build and runs test/sim with mocha.
//
//   npm run test:sim [-- <file-name-substring>]     (e.g. -- tls-trust)
//
// Needs: MODDABLE (a built SDK: mcconfig and mcsim), tsc >= 6 on PATH (build-device.mjs checks both again),
// xvfb-run (mcsim opens a window), chronyd (the NTP peer), stdbuf (coreutils). Linux only (the lin simulator).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Mocha from "mocha";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function onPath(name) {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, name)));
}

const missing = [];
if (process.platform !== "linux") missing.push("this lane runs the lin simulator: Linux only");
const moddable = process.env.MODDABLE;
if (!moddable) missing.push("MODDABLE is not set (the path of a Moddable SDK checkout whose tools are built)");
else if (!existsSync(path.join(moddable, "build/bin/lin/release/mcsim"))) missing.push(`no mcsim in ${moddable}/build/bin/lin/release (build the SDK tools as its Getting Started guide says)`);
if (!onPath("mcconfig")) missing.push("mcconfig is not on PATH (add $MODDABLE/build/bin/lin/release)");
if (!onPath("tsc")) missing.push("tsc (TypeScript >= 6) is not on PATH (mcconfig compiles the .ts modules with it)");
if (!onPath("xvfb-run")) missing.push("xvfb-run is not installed (apt-get install xvfb xauth)");
if (!onPath("stdbuf")) missing.push("stdbuf is not installed (coreutils)");
if (!["/usr/sbin/chronyd", "/usr/bin/chronyd", "/sbin/chronyd"].some((p) => existsSync(p))) missing.push("chronyd is not installed (apt-get install chrony)");
if (missing.length > 0) {
  process.stderr.write(`test:sim cannot run:\n  - ${missing.join("\n  - ")}\n`);
  process.exit(2);
}

const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const filter = process.argv[2];
const mocha = new Mocha({ reporter: "spec", timeout: 600_000, forbidOnly: true });
const dir = path.join(root, "build/test/sim");
const files = readdirSync(dir).filter((f) => f.endsWith(".sim.test.js") && (!filter || f.includes(filter))).sort();
if (files.length === 0) {
  process.stderr.write(`test:sim: no simulator test file matches "${filter}"\n`);
  process.exit(2);
}
for (const f of files) mocha.addFile(path.join(dir, f));
await mocha.loadFilesAsync();
const failures = await new Promise((resolve) => mocha.run(resolve));
process.exitCode = failures > 0 ? 1 : 0;
