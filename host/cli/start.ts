/**
 * `npm start`: a simulated KIS.BOX (portable core + Node adapters) in the terminal.
 * Without --hub-host it runs against an embedded local hub (TLS broker with client certificates,
 * plus the service side of the hub) in this process, with development certificates made by openssl.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as readline from "node:readline";
import { LED_COLORS, isLedColor, type LedColor } from "../../src/device/kis-box";
import type { LogLevel } from "../../src/ports/logger";
import { LineLogger } from "../adapters/node-platform";
import { createHostDevice, type HostDevice } from "../device/host-device";
import { createCa, issueClient, issueServer } from "../pki/dev-pki";
import { EmbeddedBroker } from "../hub/embedded-broker";
import { LocalHub } from "../hub/local-hub";

const USAGE = `Usage: npm start -- [options]

Without --hub-host: runs against an embedded local hub (nothing to install).
  --device-id ID       device id for the local hub (default kisbox-sim-1)
  --buttons N          number of buttons (default 3)
  --log-level LEVEL    debug | info | warn | error (default warn)

Against a real Azure IoT Hub or any IoT-Hub-compatible MQTT/TLS endpoint:
  --hub-host NAME      hub host name, e.g. myhub.azure-devices.net (checked against its certificate)
  --hub-port PORT      default 8883
  --address ADDR       connect to ADDR instead of resolving NAME
  --ca FILE            trusted root (PEM or DER); repeatable; default: certs/*.der
  --cert FILE          device certificate (PEM or DER)
  --key FILE           device private key (PEM)
  --device-id ID       default: the CN of the device certificate
  --model-id DTMI      IoT Plug and Play model id

Keys: 1..9 press a button. With the local hub, a colour key makes the hub call setColor on the
last pressed button: ${LED_COLORS.map((c) => `${c[0] === "o" ? "o" : c[0]}=${c}`).join(" ")}. q quits.`;

const ANSI: Record<LedColor, string> = {
  off: "\x1b[90m○ off\x1b[0m",
  red: "\x1b[31m● red\x1b[0m",
  green: "\x1b[32m● green\x1b[0m",
  blue: "\x1b[34m● blue\x1b[0m",
  yellow: "\x1b[33m● yellow\x1b[0m",
  white: "\x1b[97m● white\x1b[0m",
  cyan: "\x1b[36m● cyan\x1b[0m",
  magenta: "\x1b[35m● magenta\x1b[0m",
};

const COLOR_KEYS: Record<string, LedColor> = { o: "off", r: "red", g: "green", b: "blue", y: "yellow", w: "white", c: "cyan", m: "magenta" };

function say(line: string): void {
  process.stdout.write(line + "\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "hub-host": { type: "string" },
      "hub-port": { type: "string" },
      address: { type: "string" },
      ca: { type: "string", multiple: true },
      cert: { type: "string" },
      key: { type: "string" },
      "device-id": { type: "string" },
      "model-id": { type: "string" },
      buttons: { type: "string", default: "3" },
      "log-level": { type: "string", default: "warn" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    say(USAGE);
    return;
  }
  const level = values["log-level"] as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(level)) throw new Error(`--log-level must be debug, info, warn or error`);
  const logger = new LineLogger(level, (line) => say(`\x1b[2m${line}\x1b[0m`));
  const buttons = Number(values.buttons);
  if (!Number.isInteger(buttons) || buttons < 1 || buttons > 9) throw new Error("--buttons must be 1..9");

  let hub: LocalHub | undefined;
  let broker: EmbeddedBroker | undefined;
  let device: HostDevice;
  const leds = {
    show: (button: number, color: LedColor) => say(`  LED ${button} → ${ANSI[color]}`),
  };

  if (values["hub-host"]) {
    if (!values.cert || !values.key) throw new Error("--cert and --key are required with --hub-host");
    const root = resolve(__dirname, "../../..");
    const cas = values.ca?.length ? values.ca : ["certs/DigiCertGlobalRootG2.der", "certs/MicrosoftRSARootCA2017.der"].map((p) => join(root, p));
    device = createHostDevice(
      {
        hubHost: values["hub-host"],
        hubPort: Number(values["hub-port"] ?? 8883),
        ...(values.address ? { address: values.address } : {}),
        ca: cas.map((p) => readFileSync(p)),
        cert: readFileSync(values.cert),
        key: readFileSync(values.key),
        ...(values["device-id"] ? { deviceId: values["device-id"] } : {}),
        ...(values["model-id"] ? { modelId: values["model-id"] } : {}),
        buttonCount: buttons,
        logger,
      },
      leds,
    );
    say(`KIS.BOX simulation: device ${device.deviceId} → ${values["hub-host"]}:${values["hub-port"] ?? 8883}`);
  } else {
    const deviceId = values["device-id"] ?? "kisbox-sim-1";
    const ca = createCa(resolve(".dev/pki"));
    const server = issueServer(ca, ["localhost", "127.0.0.1"]);
    const deviceCred = issueClient(ca, deviceId);
    const serviceCred = issueClient(ca, "local-hub");
    const caPem = readFileSync(ca.cert);
    broker = await EmbeddedBroker.start({ ca: caPem, cert: readFileSync(server.cert), key: readFileSync(server.key), serviceIdentities: ["local-hub"] });
    hub = new LocalHub({
      host: "127.0.0.1",
      port: broker.port,
      serverName: "localhost",
      ca: caPem,
      cert: readFileSync(serviceCred.cert),
      key: readFileSync(serviceCred.key),
      serviceId: "local-hub",
      deviceId,
    });
    await hub.start();
    hub.onTelemetry((t) => say(`  hub ← ${t.body}  (${t.messageId})`));
    device = createHostDevice(
      {
        hubHost: "localhost",
        hubPort: broker.port,
        address: "127.0.0.1",
        ca: [caPem],
        cert: readFileSync(deviceCred.cert),
        key: readFileSync(deviceCred.key),
        buttonCount: buttons,
        logger,
      },
      leds,
    );
    say(`KIS.BOX simulation: device ${deviceId} ↔ local hub (TLS, client certificate) on 127.0.0.1:${broker.port}`);
  }

  let lastButton = 1;
  device.box.onFeedback((f) => {
    const text = f.state === "delivered" ? "\x1b[32mdelivered (PUBACK)\x1b[0m" : f.state === "queued" ? "queued" : "\x1b[31mdropped\x1b[0m";
    say(`  button ${f.button}: Button_pressed ${text}  [${f.messageId}]`);
  });
  let lastState = "";
  device.hub.onStatus((s) => {
    const line = s.state === "waiting" ? `waiting ${s.retryInMs} ms (${s.lastError ?? ""})` : s.state;
    if (line !== lastState) say(`  link: ${line}`);
    lastState = line;
  });
  device.start();
  say(hub ? `Keys: 1..${buttons} press a button; colour keys (${Object.keys(COLOR_KEYS).join(" ")}) make the hub call setColor; q quits.` : `Keys: 1..${buttons} press a button; q quits.`);

  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    device.stop();
    await hub?.stop();
    await broker?.close();
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.exit(0);
  };

  const handleKey = (key: string): void => {
    if (key === "q" || key === "\u0003") {
      void shutdown();
      return;
    }
    const n = Number(key);
    if (Number.isInteger(n) && n >= 1 && n <= buttons) {
      lastButton = n;
      device.box.press(n);
      return;
    }
    const color = COLOR_KEYS[key];
    if (color && hub && isLedColor(color)) {
      say(`  hub → setColor {button: ${lastButton}, color: ${color}}`);
      hub.invokeMethod("setColor", { button: lastButton, color }).then((r) => say(`  hub: setColor answered ${r.status} ${JSON.stringify(r.payload)}`));
    }
  };

  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => {
      for (const ch of chunk) handleKey(ch);
    });
  } else {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", (line) => handleKey(line.trim()));
    rl.on("close", () => setTimeout(() => void shutdown(), 1500));
  }
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
