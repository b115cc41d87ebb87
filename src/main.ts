/**
 * Device entry point (Moddable): builds the Platform from the Moddable adapters (modules/) and runs the portable
 * firmware assembly, `createFirmware(platform, config)` from src/device/firmware.ts: Wi-Fi → SNTP time → HTTPS
 * bootstrap → IoT Hub, every connection checked against the integration guide's egress table, no TLS before the
 * clock has been set by SNTP. The Node host simulation builds the same Platform from Node adapters
 * (host/device/host-device.ts).
 *
 * Settings come from the manifest's `config` (mc/config); see modules/README.md. There is deliberately no way to
 * start with a valid clock on the device: time comes from SNTP.
 *
 * Nothing may throw out of here: a failure is logged and the device stays up (idle, or retrying on its own).
 */
import "adapters/text-globals"; // first: the core uses TextEncoder/TextDecoder as globals
import config from "mc/config";
import Timer from "timer";
import { createFirmware, type Firmware, type FirmwareConfig, type Platform } from "device/firmware";
import { KIS_BOX, KIS_LIGHT, type DeviceProfile } from "device/profile";
import { isLedColor, type LedColor } from "device/colors";
import type { PatternSpec, PatternTarget } from "device/led-patterns";
import { StaticRoutes } from "net/guarded-network";
import type { Transport } from "net/egress-policy";
import { WifiCredentialStore, type WifiCredentials } from "wifi/wifi-credentials";
import { errorMessage } from "core/listeners";
import { scoped, type LogLevel, type ScopedLogger } from "ports/logger";
import { StreamMqttConnector } from "mqtt/mqtt-client";
import { TlsSocketPort } from "adapters/tls-socket";
import { TimerClock } from "adapters/timer-clock";
import { TraceLogger, isLogLevel } from "adapters/trace-logger";
import { SystemRandom } from "adapters/system-random";
import { AZURE_ROOTS, loadDeviceCredentials, type DeviceCredentials } from "adapters/device-credentials";
import { ModdableDatagramPort } from "adapters/udp-datagrams";
import { ModdableHttpsClient } from "adapters/https-client";
import { PreferenceStore } from "adapters/preference-store";
import { PlatformSystemTime } from "adapters/system-time";
import { PlatformWifiRadio } from "adapters/wifi-radio";

interface RouteEntry {
  readonly host: string;
  readonly port: number;
  readonly transport: Transport;
  readonly address: string;
  readonly routePort: number;
}

interface DeviceConfig {
  readonly firmwareVersion: string;
  readonly deviceId: string | undefined;
  readonly modelId: string | undefined;
  readonly keepAliveSeconds: number;
  readonly profile: DeviceProfile;
  readonly logLevel: LogLevel;
  readonly trustedRoots: readonly string[];
  readonly routes: readonly RouteEntry[];
  readonly ntpServers: readonly string[] | undefined;
  readonly wifi: WifiCredentials | undefined;
  readonly simulatePressEverySeconds: number;
}

/** Keeps the running firmware reachable (and alive) from module scope. */
let running: Firmware | undefined;

export default function main(): void {
  try {
    start();
  } catch (error) {
    try {
      trace(`error [main] start-up failed: ${errorMessage(error)}\n`);
    } catch {
      // nothing left to report with
    }
  }
}

function start(): void {
  const c = config as Record<string, unknown>;
  const settings = readConfig(c);
  const logger = new TraceLogger(settings.logLevel);
  const log = scoped(logger, "main");
  if (typeof c.ssid === "string" && c.ssid.length > 0) {
    // The SDK's setup/network (still in the esp32 build through the SDK's own manifests) joins on its own when
    // config.ssid is set, outside the WifiManager. Use wifiSsid / wifiPassphrase instead.
    log.warn("config.ssid is set: the SDK's setup/network joins that network by itself; use wifiSsid/wifiPassphrase");
  }

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

  const clock = new TimerClock((error) => log.error("timer callback failed", { error: errorMessage(error) }));
  const platform: Platform = {
    clock,
    systemTime: new PlatformSystemTime(logger),
    random: new SystemRandom(),
    logger,
    mqtt: new StreamMqttConnector({ sockets: new TlsSocketPort({ logger: scoped(logger, "tls") }), clock, logger: scoped(logger, "mqtt") }),
    https: new ModdableHttpsClient({ logger }),
    datagrams: new ModdableDatagramPort({ logger }),
    wifi: new PlatformWifiRadio(logger),
    store: new PreferenceStore(),
    leds: new TraceLeds(),
  };

  provisionWifi(platform, settings.wifi, log);

  let routes: StaticRoutes | undefined;
  if (settings.routes.length > 0) {
    routes = new StaticRoutes();
    for (const r of settings.routes) {
      routes.set(r.host, r.port, r.transport, { address: r.address, port: r.routePort });
      log.warn("local route (verification build only)", { name: `${r.host}:${r.port}/${r.transport}`, to: `${r.address}:${r.routePort}` });
    }
  }

  const firmwareConfig: FirmwareConfig = {
    firmwareVersion: settings.firmwareVersion,
    deviceId,
    ...(settings.modelId !== undefined ? { modelId: settings.modelId } : {}),
    credentials: credentials.tls,
    profile: settings.profile,
    ...(settings.ntpServers ? { ntpServers: settings.ntpServers } : {}),
    ...(routes ? { routes } : {}),
    hub: { keepAliveSeconds: settings.keepAliveSeconds },
  };
  const firmware = createFirmware(platform, firmwareConfig);
  running = firmware;

  log.info("starting", {
    version: settings.firmwareVersion,
    profile: settings.profile.name,
    device: deviceId,
    credentials: credentials.source,
    roots: credentials.roots.join(","),
    ntp: settings.ntpServers?.join(","),
  });
  observe(firmware, settings.logLevel === "debug", log);
  firmware.start();

  if (settings.simulatePressEverySeconds > 0 && firmware.box) {
    log.info("simulating a press of button 1", { everySeconds: settings.simulatePressEverySeconds });
    Timer.repeat(() => {
      try {
        if (running?.boot.status.phase === "online") running.box?.press(1);
      } catch (error) {
        log.warn("simulated press failed", { error: errorMessage(error) });
      }
    }, settings.simulatePressEverySeconds * 1000);
  }
}

/** Development builds only: Wi-Fi credentials from config, stored when the device has none yet. */
function provisionWifi(platform: Platform, wifi: WifiCredentials | undefined, log: ScopedLogger): void {
  if (!wifi) return;
  try {
    const store = new WifiCredentialStore(platform.store);
    const stored = store.load();
    if (stored.credentials || stored.problem) {
      log.info("Wi-Fi credentials already stored; config.wifiSsid ignored", { ssid: stored.credentials?.ssid, problem: stored.problem });
      return;
    }
    store.save(wifi);
    log.info("Wi-Fi credentials from config stored (development build)", { ssid: wifi.ssid });
  } catch (error) {
    log.error("config.wifiSsid/wifiPassphrase not stored", { error: errorMessage(error) });
  }
}

/** Trace lines for what the firmware does (the components log their own details). */
function observe(firmware: Firmware, debug: boolean, log: ScopedLogger): void {
  firmware.clock.onValid((epochMs) => log.info("clock valid (SNTP)", { time: new Date(epochMs).toISOString() }));
  firmware.hub.onStatus((status) =>
    log.info("link", { state: status.state, failures: status.failures, retryInMs: status.retryInMs, lastError: status.lastError }),
  );
  firmware.box?.onFeedback((feedback) => log.info("press", { button: feedback.button, state: feedback.state, id: feedback.messageId }));
  if (debug) {
    firmware.policy.onAttempt((attempt) => {
      if (attempt.allowed) log.debug("egress allowed", { transport: attempt.transport, host: attempt.host, port: attempt.port, purpose: attempt.purpose });
    });
  }
}

/** LEDs for builds without LED drivers yet (lin, and esp32 until its GPIO/PWM adapters exist): trace lines. */
class TraceLeds implements PatternTarget {
  set(index: number, spec: PatternSpec): void {
    const color = typeof spec.color === "string" ? spec.color : `rgb(${spec.color.r},${spec.color.g},${spec.color.b})`;
    const extra = `${spec.periodMs !== undefined ? ` period=${spec.periodMs}` : ""}${spec.brightness !== undefined ? ` brightness=${spec.brightness}` : ""}`;
    trace(`LED ${index} ${spec.pattern} ${color}${extra}\n`);
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
    if (value === undefined || value === "") return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`config.${name} must be an integer ${min}..${max}, got ${String(raw)}`);
    }
    return value;
  };
  const list = (name: string): string[] | undefined => {
    const value = text(name);
    if (!value) return undefined;
    const items = value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    return items.length > 0 ? items : undefined;
  };
  const logLevel = text("logLevel") ?? "info";
  if (!isLogLevel(logLevel)) throw new RangeError(`config.logLevel must be debug, info, warn or error, got ${logLevel}`);
  const wifiSsid = text("wifiSsid");
  const wifiPassphrase = text("wifiPassphrase");
  if (!wifiSsid && wifiPassphrase) throw new RangeError("config.wifiPassphrase is set without config.wifiSsid");
  return {
    firmwareVersion: text("firmwareVersion") ?? "0.0.0",
    deviceId: text("deviceId"),
    modelId: text("modelId"),
    keepAliveSeconds: integer("keepAliveSeconds", 180, 1, 1177),
    profile: readProfile(text("profile") ?? "box", integer("buttonCount", KIS_BOX.buttons, 1, 16), list("segments")),
    logLevel,
    trustedRoots: list("trustedRoots") ?? AZURE_ROOTS,
    routes: (list("routes") ?? []).map(parseRoute),
    ntpServers: list("ntpServers"),
    wifi: wifiSsid ? { ssid: wifiSsid, ...(wifiPassphrase ? { passphrase: wifiPassphrase } : {}) } : undefined,
    simulatePressEverySeconds: integer("simulatePressEverySeconds", 0, 0, 86_400),
  };
}

/** `profile` "box" (with `buttonCount`) or "light" (with `segments`, top to bottom, e.g. "red,yellow,green"). */
function readProfile(name: string, buttons: number, segments: string[] | undefined): DeviceProfile {
  if (name === "box") return { ...KIS_BOX, buttons };
  if (name !== "light") throw new RangeError(`config.profile must be box or light, got ${name}`);
  if (!segments) return KIS_LIGHT;
  const colors: LedColor[] = [];
  for (const s of segments) {
    if (!isLedColor(s)) throw new RangeError(`config.segments: ${JSON.stringify(s)} is not an LED colour`);
    colors.push(s);
  }
  return { ...KIS_LIGHT, segments: colors };
}

/** `name:port/transport=address:port`, e.g. `0.europe.pool.ntp.org:123/udp=127.0.0.1:12300`. */
function parseRoute(entry: string): RouteEntry {
  const m = /^([A-Za-z0-9.-]+):([0-9]+)\/(udp|tcp)=([A-Za-z0-9.-]+):([0-9]+)$/.exec(entry);
  const port = m ? Number(m[2]) : 0;
  const routePort = m ? Number(m[5]) : 0;
  if (!m || port < 1 || port > 65535 || routePort < 1 || routePort > 65535) {
    throw new RangeError(`config.routes: ${JSON.stringify(entry)} is not name:port/udp|tcp=address:port`);
  }
  return { host: m[1]!.toLowerCase(), port, transport: m[3] as Transport, address: m[4]!, routePort };
}
