/**
 * `npm start`: the firmware of a KIS.BOX on the host (portable core + Node adapters, simulated Wi-Fi),
 * going through the real boot sequence. Without --hub-host it runs against a local cloud in this process
 * (TLS broker with client certificates, the hub's service side, the bootstrap service, blob storage for
 * firmware images), with development certificates made at start. Over-the-air updates are on: a firmware
 * restart boots the device again from its state folder.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { LogLevel } from "../../src/ports/logger";
import { BOOTSTRAP_HOST, BOOTSTRAP_PORT, DEFAULT_HUB_HOST, HUB_MQTT_TLS_PORT } from "../../src/bootstrap/bootstrap-contract";
import { NTP_PORT } from "../../src/time/sntp-client";
import { StaticRoutes } from "../../src/net/guarded-network";
import { checkDeviceCredentials } from "../../src/x509/device-credentials";
import type { EgressRule } from "../../src/net/egress-policy";
import { redactUrl } from "../../src/net/url-redaction";
import { LineLogger } from "../adapters/node-platform";
import { FileStore } from "../adapters/file-store";
import { certificateCommonName, createHostDevice, SIMULATED_NETWORK, type HostDevice } from "../device/host-device";
import { setupBanner, setupNetworks } from "../device/host-setup";
import { eraseKeys } from "../../src/device/factory-reset";
import { BLOB_HOST } from "../hub/local-blob-store";
import type { BrokerSessionEvent } from "../hub/embedded-broker";
import { devReleaseKey } from "../update/dev-release-key";
import { startLocalCloud, type LocalCloud } from "./local-cloud";
import { LocalRelease } from "./local-release";
import { RebootingDevice } from "./rebooting-device";
import { TerminalUi, holdOutput, releaseOutput, say } from "./terminal-ui";
import { Style, colourWanted } from "./style";
import { UsageError, defaultStateDir, endpoint, ntpRoutes } from "./endpoints";
import { LedMirror } from "../console/led-mirror";
import { DeviceConsoleBackend } from "../console/device-backend";
import { WebConsole } from "../console/console-server";
import { LED_COLORS, isLedColor, type LedColor } from "../../src/device/colors";
import type { DeviceProfile } from "../../src/device/profile";

const USAGE = `Usage: npm start -- [options]

Runs a simulated KIS.BOX or KIS.LIGHT through the real boot sequence (Wi-Fi → time → bootstrap → hub;
without the bootstrap service: Wi-Fi → time → hub).
Without --hub-host, everything runs locally: an embedded hub, bootstrap service and blob storage
(key u publishes a new firmware release signed with a development key kept in the state folder).

Endpoints (the firmware still checks the real names against its egress table; these only say
where those names are reached):
  --ntp ADDR:PORT        reach the four N.europe.pool.ntp.org names at ADDR:PORT, e.g. a local chronyd;
                         repeatable: name N goes to the N-th --ntp (cycling when fewer than four).
                         Without --ntp the host clock is trusted as valid.
  --bootstrap ADDR:PORT  reach ${BOOTSTRAP_HOST}:${BOOTSTRAP_PORT} at ADDR:PORT
  --no-bootstrap         skip bootstrap, use the hub given by --hub-host (or the default hub)
  --hub ADDR:PORT        reach the hub's MQTT/TLS port at ADDR:PORT

A real Azure IoT Hub or any IoT-Hub-compatible MQTT/TLS endpoint:
  --hub-host NAME        hub host name or IP address, e.g. myhub.azure-devices.net, or localhost for a
                         local broker (npm run dev-broker); implies --no-bootstrap; a name outside the
                         integration guide's table is allowed for this run only, with a warning
  --ca FILE              trusted root (PEM or DER); repeatable; default: certs/*.der (Azure's roots),
                         required for a hub that is not *.azure-devices.net
  --cert FILE            device certificate (PEM or DER; RSA-2048, CN = device id)
  --key FILE             its private key (PEM or DER, unencrypted)
                         The certificate and key are checked before any connection (key matches,
                         RSA-2048, valid now, clientAuth): a problem ends the run with exit code 2.
  --device-id ID         default: the CN of the device certificate
  --model-id DTMI        IoT Plug and Play model id

Device:
  --profile box|light    KIS.BOX (default) or KIS.LIGHT
  --buttons N            number of buttons of the KIS.BOX (default 3)
  --segments LIST        segment colours of the KIS.LIGHT, top to bottom (default red,yellow,green,blue,white)
  --unprovisioned        start as after a factory reset (no Wi-Fi credentials): setup mode serves the setup
                         page on 127.0.0.1 and the firmware boots on once a network is joined there
  --setup-port N         the setup page's port (default: a free one)

Other:
  --state-dir DIR        where the device keeps its storage, firmware slots and development release key
                         (default .dev/<device-id>)
  --log-level LEVEL      debug | info | warn | error (default warn)
  --no-console           no local web console (default: one on 127.0.0.1, its URL with the access token
                         printed at start: the device's buttons and LEDs, telemetry, twin, methods,
                         cloud-to-device messages, firmware release)
  --console-port PORT    the console's port (default: any free one)

Colours only on a terminal, and never with NO_COLOR set.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ntp: { type: "string", multiple: true },
      bootstrap: { type: "string" },
      "no-bootstrap": { type: "boolean" },
      hub: { type: "string" },
      "hub-host": { type: "string" },
      ca: { type: "string", multiple: true },
      cert: { type: "string" },
      key: { type: "string" },
      "device-id": { type: "string" },
      "model-id": { type: "string" },
      profile: { type: "string", default: "box" },
      buttons: { type: "string", default: "3" },
      segments: { type: "string", default: "red,yellow,green,blue,white" },
      "state-dir": { type: "string" },
      "log-level": { type: "string", default: "warn" },
      "no-console": { type: "boolean" },
      "console-port": { type: "string", default: "0" },
      unprovisioned: { type: "boolean" },
      "setup-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return say(USAGE);
  const level = values["log-level"] as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(level)) throw new UsageError("--log-level must be debug, info, warn or error");
  const buttons = Number(values.buttons);
  if (!Number.isInteger(buttons) || buttons < 1 || buttons > 9) throw new UsageError("--buttons must be 1..9");
  if (values.profile !== "box" && values.profile !== "light") throw new UsageError("--profile must be box or light");
  const segments = (values.segments ?? "").split(",").map((c) => c.trim());
  if (!segments.every((c) => isLedColor(c) && c !== "off")) throw new UsageError(`--segments takes colours from ${LED_COLORS.filter((c) => c !== "off").join(", ")}`);
  const profile: DeviceProfile = values.profile === "box" ? { name: "box", buttons, segments: [] } : { name: "light", buttons: 0, segments: segments as LedColor[] };
  const ntp = ntpRoutes(values.ntp ?? []);

  const routes = new StaticRoutes();
  for (const [name, to] of ntp) routes.set(name, NTP_PORT, "udp", to);
  const style = new Style(colourWanted(process.stdout, process.env));
  const ui = new TerminalUi(profile.name, style);
  const leds = new LedMirror(ui.leds); // the terminal prints each change; the console draws it
  const logger = new LineLogger(level, (line) => say(style.paint("2", line)));

  const hubHost = (values["hub-host"] ?? DEFAULT_HUB_HOST).toLowerCase();
  if (!/^[a-z0-9._:-]+$/.test(hubHost) || hubHost.length > 253) throw new UsageError(`--hub-host takes a host name or an IP address, got ${JSON.stringify(values["hub-host"])}`);
  if (values.hub) routes.set(hubHost, HUB_MQTT_TLS_PORT, "tcp", endpoint(values.hub, "--hub"));
  if (values.bootstrap) routes.set(BOOTSTRAP_HOST, BOOTSTRAP_PORT, "tcp", endpoint(values.bootstrap, "--bootstrap"));
  const extraEgress: EgressRule[] =
    hubHost === DEFAULT_HUB_HOST ? [] : [{ host: hubHost, port: HUB_MQTT_TLS_PORT, transport: "tcp", purpose: "development: --hub-host" }];

  let cloud: LocalCloud | undefined;
  let ca: Buffer[];
  let cert: Buffer;
  let key: Buffer;
  const deviceIdFlag = values["device-id"];
  let deviceId: string;
  if (values["hub-host"]) {
    if (!values.cert || !values.key) throw new UsageError("--cert and --key are required with --hub-host");
    const root = resolve(__dirname, "../../..");
    const cas = values.ca?.length ? values.ca : ["certs/DigiCertGlobalRootG2.der", "certs/MicrosoftRSARootCA2017.der"].map((p) => join(root, p));
    ca = cas.map((p) => readCertificate(p, "--ca"));
    cert = readCertificate(values.cert, "--cert");
    key = readFlagFile(values.key, "--key");
    // Checked before anything connects: these would otherwise only show as an endless retry.
    const problems = checkDeviceCredentials({ certificate: new Uint8Array(new X509Certificate(cert).raw), privateKey: pkcs8(key), hubHost, rootsGiven: (values.ca?.length ?? 0) > 0, now: Date.now() });
    if (problems.length) throw new UsageError(problems.join("\nerror: "));
    deviceId = deviceIdFlag ?? certificateCommonName(cert);
  } else {
    const localDeviceId = deviceIdFlag ?? (profile.name === "box" ? "kisbox-sim-1" : "kislight-sim-1");
    deviceId = localDeviceId;
    cloud = await startLocalCloud(".dev/pki", localDeviceId);
    ca = [cloud.caPem];
    cert = readFileSync(cloud.device.cert);
    key = readFileSync(cloud.device.key);
    if (!values.hub) routes.set(DEFAULT_HUB_HOST, HUB_MQTT_TLS_PORT, "tcp", { address: "127.0.0.1", port: cloud.broker.port });
    if (!values.bootstrap) routes.set(BOOTSTRAP_HOST, BOOTSTRAP_PORT, "tcp", { address: "127.0.0.1", port: cloud.bootstrap.port });
    routes.set(BLOB_HOST, 443, "tcp", { address: "127.0.0.1", port: cloud.blobs.port });
    cloud.hub.onTelemetry((t) => ui.hubReceived(t.body, t.messageId));
    // What the broker saw of the device's sessions: a clean end is a DISCONNECT, anything else a lost connection.
    cloud.broker.onSession((e) => {
      if (e.clientId !== localDeviceId) return;
      say(e.state === "connected" ? `  hub: ${e.clientId} connected` : e.clean ? `  hub: ${e.clientId} disconnected (DISCONNECT)` : `  hub: ${e.clientId} connection lost (no DISCONNECT)`);
    });
  }

  // Per device: a run against another hub with another identity never sees this one's firmware slots or settings.
  const stateDir = values["state-dir"] !== undefined ? resolve(values["state-dir"]) : defaultStateDir(deviceId);
  mkdirSync(stateDir, { recursive: true });
  const setupPort = values["setup-port"] === undefined ? 0 : Number(values["setup-port"]);
  if (!Number.isInteger(setupPort) || setupPort < 0 || setupPort > 65535) throw new Error("--setup-port must be 0..65535");
  // --unprovisioned: the configuration a factory reset erases is erased once, before the first boot.
  if (values.unprovisioned) eraseKeys(new FileStore(join(stateDir, "store.json")));
  const releaseKey = devReleaseKey(join(stateDir, "release-key.pem"));
  // Each boot reads the state folder afresh, as the board reads its flash after a restart. What the new device
  // prints while it is assembled (its first LED state, the egress warning) is held until its banner is out.
  const build = (onRestart: () => void, restarted: boolean): HostDevice => {
    holdOutput();
    return createHostDevice(
      {
        restarted,
        ca,
        cert,
        key,
        ...(deviceIdFlag ? { deviceId: deviceIdFlag } : {}),
        ...(values["model-id"] ? { modelId: values["model-id"] } : {}),
        profile,
        logger,
        store: new FileStore(join(stateDir, "store.json"), { onCorrupt: (reason) => say(`storage was corrupt and starts empty: ${reason}`) }),
        outboxDir: join(stateDir, "outbox"),
        hostWatchdog: true,
        routes,
        extraEgress,
        defaultHub: hubHost,
        trustPlatformClock: ntp.length === 0,
        skipBootstrap: values["no-bootstrap"] === true || values["hub-host"] !== undefined,
        sntpRequestTimeoutMs: 2000,
        releaseKey: releaseKey.publicKeyDer,
        update: { dir: join(stateDir, "firmware"), slotSize: 1024 * 1024, onRestart },
        // Quick enough to watch: progress at most every second, the restart half a second after applying.
        ota: { progressIntervalMs: 1000, rebootDelayMs: 500 },
        ...(values.unprovisioned
          ? { setup: { port: setupPort, onReady: (ready) => setupBanner(ready, setupNetworks(SIMULATED_NETWORK)).forEach((line) => say(line)) } }
          : {}),
      },
      leds,
    );
  };
  const version = (d: HostDevice): string => d.ota?.status.currentVersion ?? "?";
  let attachConsole: ((d: HostDevice) => void) | undefined;
  let consoleUrl: string | undefined;
  const device = new RebootingDevice(build, (d, restarted) => {
    attachConsole?.(d);
    if (restarted) {
      releaseOutput([`restart: booting firmware ${version(d)}`]);
      return ui.attach(d);
    }
    const where = cloud ? ` (local: 127.0.0.1:${cloud.broker.port}, bootstrap 127.0.0.1:${cloud.bootstrap.port}, blobs 127.0.0.1:${cloud.blobs.port})` : values.hub ? ` at ${values.hub}` : "";
    releaseOutput([
      `${profile.name === "box" ? "KIS.BOX" : "KIS.LIGHT"} simulation: device ${d.deviceId}, firmware ${version(d)}, hub ${hubHost}${where}, state ${stateDir}`,
      ntp.length > 0
        ? `time: SNTP against ${ntp.map(([name, to]) => `${name} → ${to.address}:${to.port}`).join(", ")}`
        : "time: the host clock, marked valid (no NTP server configured; --ntp ADDR:PORT uses SNTP)",
    ]);
    ui.attach(d);
    ui.listen(cloud?.hub);
    if (consoleUrl) say(`console: ${consoleUrl}`);
  });

  let publishRelease: (() => Promise<{ version: string; size: number }>) | undefined;
  if (cloud) {
    const release = new LocalRelease(cloud.blobs, cloud.hub, releaseKey.privateKey, `kis${profile.name}`);
    publishRelease = async () => {
      try {
        const m = await release.publish(version(device.current));
        say(`  hub → desired firmware ${m.version} (${m.size} bytes, ${redactUrl(m.url)})`);
        return { version: m.version, size: m.size };
      } catch (error) {
        say(`  release failed: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
    };
    ui.onRelease(() => void publishRelease?.().catch(() => undefined));
  }
  const consolePort = Number(values["console-port"]);
  if (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535) throw new UsageError("--console-port must be 0..65535");
  const backend = new DeviceConsoleBackend(profile, leds, cloud?.hub, publishRelease);
  attachConsole = (d) => backend.attach(d);
  const webConsole = values["no-console"] !== true ? await WebConsole.start(backend, { port: consolePort }) : undefined;
  consoleUrl = webConsole?.url; // printed with the banner and the keys, on the first boot
  device.start();

  // q, SIGINT and SIGTERM end the run in order: the firmware says goodbye to the hub (DISCONNECT after the PUBACKs
  // in flight, each within a bound), and the local broker is given a moment to record the end, before anything stops.
  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const sessions = cloud?.broker.sessions ?? [];
    const last = (): BrokerSessionEvent | undefined => sessions.filter((e) => e.clientId === device.current.deviceId).pop();
    const wasConnected = last()?.state === "connected";
    await device.shutdown();
    if (wasConnected) await until(() => last()?.state === "disconnected", 1000);
    ui.close();
    await webConsole?.close();
    await cloud?.close();
    process.exit(0);
  };
  ui.onQuit(() => void shutdown());
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

/** Resolves once `done()` holds or after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A file a flag names; a missing or unreadable one is the user's to fix (exit code 2). */
function readFlagFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`${flag} ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
}

function readCertificate(path: string, flag: string): Buffer {
  const bytes = readFlagFile(path, flag);
  try {
    new X509Certificate(bytes);
  } catch {
    throw new UsageError(`${flag} ${path} is not an X.509 certificate (PEM or DER)`);
  }
  return bytes;
}

/** The key as unencrypted PKCS#8 DER (the form the portable check reads), from PEM or DER. */
function pkcs8(key: Buffer): Uint8Array {
  try {
    const object = key.includes("-----BEGIN") ? createPrivateKey(key) : createPrivateKey({ key, format: "der", type: "pkcs8" });
    return new Uint8Array(object.export({ format: "der", type: "pkcs8" }));
  } catch (error) {
    throw new UsageError(`--key is not an unencrypted private key in PEM or PKCS#8 DER (${(error as Error).message})`);
  }
}

main().catch((error: unknown) => {
  releaseOutput([]);
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
