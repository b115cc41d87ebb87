#!/usr/bin/env node
// npm run bench: how fast the firmware connects and how much it costs, measured on loopback peers through a
// user-space delay link (default RTT 100 ms, 50 ms each way). Prints one table (each figure with its goal beside it)
// and writes the figures as JSON. Not part of npm test: figures, never assertions (see README, Performance).
//
//   npm run bench [-- --rtt 100] [--runs 3] [--out build/bench/latest.json] [--only B1,B5]
//
// B1 round trips (host device; the device build in mcsim when MODDABLE is set), B2 drain vs MQTT.js, B3 XS cost of a
// press (xsnap), B4 OTA throughput vs a plain download, B5 bytes of a Button_pressed PUBLISH, B6 XS heap of the
// device build (instrumented lin build in mcsim) vs the esp32 build's heap. The code under build/test/bench.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { measurePressInXs } from "./lib/xs-bench.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "npm run bench [-- --rtt <ms>] [--runs <n>] [--out <file.json>] [--only B1,B2,...]";

function parse(argv) {
  const o = { rttMs: 100, runs: 3, drainEvents: 1000, out: path.join(root, "build/bench/latest.json"), only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === "--rtt") o.rttMs = Number(next());
    else if (a === "--runs") o.runs = Number(next());
    else if (a === "--out") o.out = path.resolve(next());
    else if (a === "--only") o.only = new Set(next().toUpperCase().split(","));
    else if (a === "-h" || a === "--help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unexpected argument ${a}\n${USAGE}`);
  }
  if (!(o.rttMs > 0) || !Number.isInteger(o.runs) || o.runs < 1) fail(`--rtt must be > 0 and --runs a positive integer\n${USAGE}`);
  return o;
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

const options = parse(process.argv.slice(2));
const wanted = (id) => !options.only || options.only.has(id);

const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const require = createRequire(import.meta.url);
const suite = require(path.join(root, "build/test/bench/suite.js"));
const sim = require(path.join(root, "build/test/bench/sim-bench.js"));
const { renderTable, toJson } = require(path.join(root, "build/test/bench/table.js"));

const progress = (what) => process.stderr.write(`bench: ${what} ...\n`);
const rows = [];
if (wanted("B1") || wanted("B2")) {
  progress("B1/B2 host device against the local cloud");
  rows.push(...(await suite.hostRows(options)).filter((r) => wanted(r.id)));
}
if (wanted("B1") || wanted("B6")) {
  progress(process.env.MODDABLE ? "B1/B6 device build in mcsim (lin builds, a few minutes)" : "B1/B6 device build: MODDABLE not set");
  rows.push(...(await sim.simRows(options)).filter((r) => wanted(r.id)));
}
if (wanted("B3")) {
  progress("B3 press in XS (xsnap)");
  rows.push(...suite.xsRows(await measurePressInXs().catch((e) => e)));
}
if (wanted("B4")) {
  progress("B4 OTA throughput");
  rows.push(...(await suite.otaRows(options)));
}
if (wanted("B5")) rows.push(...(await suite.wireRows()));
rows.sort((a, b) => a.id.localeCompare(b.id));

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const machine = `${os.cpus().length} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout?.trim() || "unknown";
process.stdout.write(`\nnpm run bench — RTT ${options.rttMs} ms (${options.rttMs / 2} ms each way, delay proxy on loopback), medians of ${options.runs}; ${new Date().toISOString()}, commit ${commit}\n`);
process.stdout.write(`machine: ${machine}\n\n${renderTable(rows)}\n`);
mkdirSync(path.dirname(options.out), { recursive: true });
writeFileSync(options.out, `${JSON.stringify({ date: new Date().toISOString(), commit, machine, rttMs: options.rttMs, runs: options.runs, moddable: Boolean(process.env.MODDABLE), rows: toJson(rows) }, null, 2)}\n`);
process.stdout.write(`\nwritten: ${path.relative(process.cwd(), options.out) || options.out}\n`);
// Servers and sockets of the runs are closed; anything left (a timer of a stopped device) must not keep us here.
process.exit(0);
