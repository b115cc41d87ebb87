/**
 * Device entry point (Moddable): wires the Moddable adapters (modules/) into the portable core — HubClient for the
 * IoT Hub link and KisBox for the box's behaviour. Settings come from the manifest's `config` (mc/config).
 *
 * Nothing may throw out of here: a failure is logged and the device stays up (idle, or retrying the link).
 */
import "adapters/text-globals"; // first: the core uses TextEncoder/TextDecoder as globals
import config from "mc/config";
import Timer from "timer";
import { HubClient } from "azure/hub-client";
import { KisBox, type LedColor, type LedSink } from "device/kis-box";
import { errorMessage } from "core/listeners";
import { scoped, type LogLevel } from "ports/logger";
import { ModdableMqttConnector } from "adapters/mqtt-connector";
import { TimerClock } from "adapters/timer-clock";
import { TraceLogger, isLogLevel } from "adapters/trace-logger";
import { SystemRandom } from "adapters/system-random";
import { AZURE_ROOTS, loadDeviceCredentials, type DeviceCredentials } from "adapters/device-credentials";

/** TLS checks certificate dates against the device clock: don't connect before it has been set (SNTP). */
const MIN_VALID_TIME = Date.UTC(2025, 0, 1);

interface DeviceConfig {
  readonly hubHost: string;
  readonly hubPort: number;
  readonly hubAddress: string | undefined;
  readonly deviceId: string | undefined;
  readonly modelId: string | undefined;
  readonly keepAliveSeconds: number;
  readonly buttonCount: number;
  readonly logLevel: LogLevel;
  readonly trustedRoots: readonly string[];
  readonly simulatePressEverySeconds: number;
}

/** Keeps the running device reachable (and alive) from module scope. */
let running: { readonly hub: HubClient; readonly box: KisBox } | undefined;

export default function main(): void {
  try {
    start();
  } catch (error) {
    trace(`error [main] start-up failed: ${errorMessage(error)}\n`);
  }
}

function start(): void {
  const settings = readConfig(config as Record<string, unknown>);
  const logger = new TraceLogger(settings.logLevel);
  const log = scoped(logger, "main");

  let credentials: DeviceCredentials;
  try {
    credentials = loadDeviceCredentials(settings.trustedRoots);
  } catch (error) {
    log.error("no device credentials; staying offline", { error: errorMessage(error) });
    return;
  }
  const deviceId = credentials.deviceId ?? settings.deviceId;
  if (!deviceId) {
    log.error("no device id (preference kisme/deviceId or config.deviceId); staying offline");
    return;
  }
  log.info("starting", {
    device: deviceId,
    hub: settings.hubHost,
    port: settings.hubPort,
    address: settings.hubAddress,
    credentials: credentials.source,
    roots: credentials.roots.join(","),
  });

  const clock = new TimerClock((error) => log.error("timer callback failed", { error: errorMessage(error) }));
  const hub = new HubClient(
    {
      endpoint: {
        host: settings.hubHost,
        port: settings.hubPort,
        ...(settings.hubAddress !== undefined ? { address: settings.hubAddress } : {}),
      },
      identity: {
        deviceId,
        ...(settings.modelId !== undefined ? { modelId: settings.modelId } : {}),
        tls: credentials.tls,
      },
      keepAliveSeconds: settings.keepAliveSeconds,
      ready: () => Date.now() >= MIN_VALID_TIME,
    },
    {
      connector: new ModdableMqttConnector({ logger }),
      clock,
      random: new SystemRandom(),
      logger,
    },
  );
  const box = new KisBox({ hub, leds: new TraceLeds(), clock, buttonCount: settings.buttonCount });
  running = { hub, box };

  hub.onStatus((status) =>
    log.info("link", { state: status.state, failures: status.failures, retryInMs: status.retryInMs, lastError: status.lastError }),
  );
  box.onFeedback((feedback) => log.info("press", { button: feedback.button, state: feedback.state, id: feedback.messageId }));

  hub.start();

  if (settings.simulatePressEverySeconds > 0) {
    log.info("simulating a press of button 1", { everySeconds: settings.simulatePressEverySeconds });
    Timer.repeat(() => {
      try {
        running?.box.press(1);
      } catch (error) {
        log.warn("simulated press failed", { error: errorMessage(error) });
      }
    }, settings.simulatePressEverySeconds * 1000);
  }
}

/** LEDs for builds without LED hardware: each change becomes a trace line. */
class TraceLeds implements LedSink {
  show(button: number, color: LedColor): void {
    trace(`LED ${button} ${color}\n`);
  }
}

function readConfig(c: Record<string, unknown>): DeviceConfig {
  const text = (name: string): string | undefined => {
    const value = c[name];
    return typeof value === "string" && value.length > 0 ? value : undefined;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = c[name];
    const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw; // mcconfig name=value args are strings
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`config.${name} must be an integer ${min}..${max}, got ${String(raw)}`);
    }
    return value;
  };
  const hubHost = text("hubHost");
  if (!hubHost) throw new RangeError("config.hubHost is not set");
  const logLevel = text("logLevel") ?? "info";
  if (!isLogLevel(logLevel)) throw new RangeError(`config.logLevel must be debug, info, warn or error, got ${logLevel}`);
  const roots = text("trustedRoots");
  return {
    hubHost,
    hubPort: integer("hubPort", 8883, 1, 65535),
    hubAddress: text("hubAddress"),
    deviceId: text("deviceId"),
    modelId: text("modelId"),
    keepAliveSeconds: integer("keepAliveSeconds", 180, 1, 1177),
    buttonCount: integer("buttonCount", 3, 1, 16),
    logLevel,
    trustedRoots: roots ? roots.split(",").map((r) => r.trim()).filter((r) => r.length > 0) : AZURE_ROOTS,
    simulatePressEverySeconds: integer("simulatePressEverySeconds", 0, 0, 86_400),
  };
}
