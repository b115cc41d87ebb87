/**
 * `npm run sim [-- --product light]`: the device firmware built for the Moddable simulator (lin) running in mcsim
 * with the project's device simulators (simulators/: the KIS.BOX's buttons and LEDs, the KIS.LIGHT's segments),
 * against the local cloud of `npm start` (TLS broker with client certificates, the hub's service side, bootstrap,
 * blob storage) and an NTP server (chronyd, or the host clock over SNTP). The build gets development credentials
 * from the local cloud's PKI (.dev/pki) and routes from the real names to these loopback servers.
 */
import { spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { KIS_BOX, KIS_LIGHT } from "../../src/device/profile";
import { BLOB_HOST } from "../hub/local-blob-store";
import { devReleaseKey } from "../update/dev-release-key";
import { WebConsole } from "../console/console-server";
import { startLocalCloud } from "./local-cloud";
import { LocalRelease } from "./local-release";
import { startLocalTime } from "../sim/local-time";
import { TraceConsoleBackend } from "../sim/trace-console-backend";

const ROOT = resolve(__dirname, "../../..");
const APPS = { box: "kisbox", light: "kislight" } as const;
const DEVICE_IDS = { box: "kisbox-sim-1", light: "kislight-sim-1" } as const; // the lin builds' config.deviceId

const USAGE = `Usage: npm run sim -- [--product box|light] [--no-console] [--console-port PORT] [--dev-dir DIR]

Builds the firmware for the Moddable simulator (lin) and opens it in mcsim with the project's device simulators
(simulators/): click the KIS.BOX's buttons or press keys 1..3, watch the LEDs. It runs against the local cloud of
npm start (broker, hub, bootstrap, blob storage; certificates in .dev/pki) and an NTP server (chronyd if installed,
else the host clock over SNTP). Close the mcsim window or press Ctrl-C to stop. --dev-dir: where the PKI, the
development release key, the build's credentials and mcsim's settings are kept (default .dev).

Needs the Moddable SDK (MODDABLE set, its tools on PATH), TypeScript >= 6 as tsc on PATH, and a display.`;

function say(line: string): void {
  process.stdout.write(line + "\n");
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, name)));
}

/** What is missing to build and open the simulator (empty: nothing). */
function missing(): string[] {
  const problems: string[] = [];
  if (process.platform !== "linux") problems.push("npm run sim opens the lin simulator: Linux only (mcsim on macOS/Windows: build with scripts/build-device.mjs mac|win)");
  const moddable = process.env.MODDABLE;
  if (!moddable) problems.push("MODDABLE is not set (the path of a Moddable SDK checkout whose tools are built)");
  else if (!existsSync(join(moddable, "build/bin/lin/release/mcsim"))) problems.push(`no mcsim in ${moddable}/build/bin/lin/release (build the SDK tools as its Getting Started guide says)`);
  if (!onPath("mcconfig")) problems.push("mcconfig is not on PATH (add $MODDABLE/build/bin/lin/release)");
  if (!onPath("tsc")) problems.push("tsc (TypeScript >= 6) is not on PATH (mcconfig compiles the .ts modules with it)");
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) problems.push("no display (DISPLAY is not set): mcsim opens a window; run it on a desktop (or under xvfb-run to try it headless)");
  return problems;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      product: { type: "string", default: "box" },
      profile: { type: "string" },
      "no-console": { type: "boolean" },
      "console-port": { type: "string", default: "0" },
      "dev-dir": { type: "string", default: ".dev" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return say(USAGE);
  const product = values.profile ?? values.product;
  if (product !== "box" && product !== "light") throw new Error("--product must be box or light");
  const consolePort = Number(values["console-port"]);
  if (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535) throw new Error("--console-port must be 0..65535");
  const problems = missing();
  if (problems.length > 0) {
    process.stderr.write(`npm run sim cannot run:\n  - ${problems.join("\n  - ")}\n`);
    process.exit(2);
  }

  const app = APPS[product];
  const deviceId = DEVICE_IDS[product];
  const dev = resolve(ROOT, values["dev-dir"]!);
  const state = join(dev, `sim-${product}`);
  mkdirSync(state, { recursive: true });
  const cloud = await startLocalCloud(join(dev, "pki"), deviceId);
  const time = await startLocalTime();
  const stopServers = async (): Promise<void> => {
    await cloud.close();
    await time.close();
  };

  // Development credentials for the build (DER, as the firmware's resources): from the local cloud's PKI.
  const credentials = join(state, "credentials");
  mkdirSync(credentials, { recursive: true });
  cpSync(cloud.device.certDer, join(credentials, "device.der"));
  cpSync(cloud.device.keyDer, join(credentials, "device.key.der"));
  writeFileSync(join(credentials, "dev-ca.der"), new X509Certificate(cloud.caPem).raw);
  const releaseKey = devReleaseKey(join(state, "release-key.pem"));
  const routes = [
    ...[0, 1, 2, 3].map((n) => `${n}.europe.pool.ntp.org:123/udp=127.0.0.1:${time.port}`),
    `${BOOTSTRAP_HOST}:443/tcp=127.0.0.1:${cloud.bootstrap.port}`,
    `${DEFAULT_HUB_HOST}:8883/tcp=127.0.0.1:${cloud.broker.port}`,
    `${BLOB_HOST}:443/tcp=127.0.0.1:${cloud.blobs.port}`,
  ].join(",");
  say(`building the ${product === "box" ? "KIS.BOX" : "KIS.LIGHT"} firmware for the simulator (scripts/build-device.mjs lin; a first build takes minutes) ...`);
  const build = spawnSync(
    process.execPath,
    [join(ROOT, "scripts/build-device.mjs"), "lin", "--product", product, "--dev-credentials", `releaseKey=${Buffer.from(releaseKey.publicKeyDer).toString("base64")}`, `routes=${routes}`],
    { cwd: ROOT, env: { ...process.env, KISME_DEV_CREDENTIALS: credentials }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  if (build.status !== 0) {
    process.stderr.write(`${(build.stdout + build.stderr).slice(-6000)}\nnpm run sim: the build failed (exit ${build.status})\n`);
    await stopServers();
    process.exit(1);
  }
  const output = process.env.KISME_SDK_OUTPUT ? resolve(process.env.KISME_SDK_OUTPUT) : join(process.env.MODDABLE!, "build");
  const appPath = join(output, "bin/lin/mc/release", app, "mc.so");

  const profile = product === "box" ? KIS_BOX : KIS_LIGHT;
  const release = new LocalRelease(cloud.blobs, cloud.hub, releaseKey.privateKey, app);
  const running = (): string => {
    const firmware = cloud.hub.reported["firmware"] as { currentVersion?: string } | undefined;
    return firmware?.currentVersion ?? "0.1.0";
  };
  const backend = new TraceConsoleBackend(deviceId, profile, cloud.hub, async () => {
    const m = await release.publish(running());
    say(`  hub → desired firmware ${m.version} (${m.size} bytes)`);
    return { version: m.version, size: m.size };
  });
  const webConsole = values["no-console"] !== true ? await WebConsole.start(backend, { port: consolePort }) : undefined;
  cloud.hub.onTelemetry((t) => say(`  hub ← ${t.body}${t.messageId ? ` (id ${t.messageId})` : ""}`));
  cloud.broker.onSession((e) => {
    if (e.clientId !== deviceId) return;
    say(e.state === "connected" ? `  hub: ${e.clientId} connected` : e.clean ? `  hub: ${e.clientId} disconnected (DISCONNECT)` : `  hub: ${e.clientId} connection lost (no DISCONNECT)`);
  });

  // mcsim's own settings (window size, preferences, the copy of the app it loads) in .dev/mcsim, not the user's.
  const mcsimConfig = join(dev, "mcsim");
  mkdirSync(mcsimConfig, { recursive: true });
  const ini = join(mcsimConfig, "tech.moddable.mcsim.ini");
  if (!existsSync(ini)) writeFileSync(ini, "[window]\nfullscreen=false\nmaximized=false\nx=-1\ny=-1\nwidth=920\nheight=560\n");
  // mcsim's stdout is a pipe here: stdbuf makes it give up each trace line as it comes
  const command = [join(process.env.MODDABLE!, "build/bin/lin/release/mcsim"), join(ROOT, "simulators"), appPath];
  const [file, args] = onPath("stdbuf") ? ["stdbuf", ["-oL", ...command]] : [command[0]!, command.slice(1)];
  const mcsim = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, XDG_CONFIG_HOME: mcsimConfig },
    stdio: ["ignore", "pipe", "pipe"],
  });

  say(`${product === "box" ? "KIS.BOX" : "KIS.LIGHT"} in mcsim: device ${deviceId}, app ${appPath}, simulators ${join(ROOT, "simulators")} (mcsim pid ${mcsim.pid})`);
  say(`local cloud: hub ${DEFAULT_HUB_HOST} → 127.0.0.1:${cloud.broker.port} (MQTT/TLS, client certificates), bootstrap → 127.0.0.1:${cloud.bootstrap.port}, blobs → 127.0.0.1:${cloud.blobs.port}; PKI ${join(dev, "pki")}`);
  say(`time: ${time.description}`);
  if (webConsole) say(`console: ${webConsole.url}`);
  say(product === "box" ? "press the buttons in the mcsim window (click, keys 1..3; hold for a long press); Ctrl-C or closing the window stops" : "Ctrl-C or closing the mcsim window stops");

  let partial = "";
  const take = (data: Buffer): void => {
    const lines = (partial + data.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      backend.feed(line);
      say(`\x1b[2m${line}\x1b[0m`);
    }
  };
  mcsim.stdout.on("data", take);
  mcsim.stderr.on("data", take);

  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (mcsim.exitCode === null && mcsim.signalCode === null) mcsim.kill("SIGTERM");
    backend.close();
    await webConsole?.close();
    await stopServers();
    process.exit(code);
  };
  mcsim.once("exit", (code) => {
    say(`mcsim exited${code ? ` (${code})` : ""}; stopping the local cloud`);
    void stop(0);
  });
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
