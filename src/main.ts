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
import { createFirmware, type Firmware, type FirmwareConfig, type Platform } from "device/firmware";
import { KIS_BOX, KIS_LIGHT, type DeviceProfile } from "device/profile";
import { isLedColor, type LedColor } from "device/colors";
import { LedDriver, LedPatterns, describePattern, rgbLedSink, stripSink, type PatternSpec, type PatternTarget } from "device/led-patterns";
import type { ButtonInput, ButtonPin, Pull, RgbLed, RgbPins } from "ports/gpio";
import type { Clock } from "ports/clock";
import { StaticRoutes } from "net/guarded-network";
import type { Transport } from "net/egress-policy";
import { WifiCredentialStore, type WifiCredentials } from "wifi/wifi-credentials";
import { ConfigStore, EMPTY_CONFIG } from "storage/config-store";
import { errorMessage } from "core/listeners";
import { scoped, type LogLevel, type ScopedLogger } from "ports/logger";
import { StreamMqttConnector } from "mqtt/mqtt-client";
import { TlsSocketPort } from "adapters/tls-socket";
import { TimerClock } from "adapters/timer-clock";
import { TraceLogger, isLogLevel } from "adapters/trace-logger";
import { SystemRandom } from "adapters/system-random";
import { AZURE_ROOTS, loadDeviceCredentials, type DeviceCredentials } from "adapters/device-credentials";
import { TIME_FLOOR_KEY } from "time/time-sanity";
import { ModdableDatagramPort } from "adapters/udp-datagrams";
import { ModdableHttpsClient } from "adapters/https-client";
import { PreferenceStore } from "adapters/preference-store";
import { PlatformSystemTime } from "adapters/system-time";
import { PlatformWifiRadio } from "adapters/wifi-radio";
import { BUTTON_SOURCE, GPIO_AVAILABLE, buttonsSettled, openButtons } from "adapters/button-inputs";
import { SimulatedButton } from "adapters/simulated-button";
import { LED_OUTPUT, PWM_AVAILABLE, openRgbLeds } from "adapters/rgb-leds";
import { NEOPIXEL_AVAILABLE, STRIP_OUTPUT, openPixelStrip } from "adapters/pixel-strip";
import { echoPatterns } from "adapters/sim-window";
import { PlatformSystemInfo, platformRestart, startHeapProbe } from "adapters/system-info";
import { openStatusLed } from "adapters/status-led";
import type { BootPhase } from "boot/boot-sequence";
import type { OutboxStore } from "azure/telemetry-outbox";
import { OutboxLog } from "storage/outbox-log";
import { FileRecordStorage } from "adapters/record-storage";
import { ClockWatchdog } from "device/watchdog";
import { FactoryReset, eraseKeys } from "device/factory-reset";
import { SetupSession } from "setup/setup-session";
import { SETUP_MODE_LED } from "setup/setup-mode";
import { takeSetupRequest, type SetupRequest } from "setup/setup-request";
import { setupSsid } from "setup/setup-password";
import { SETUP_DNS, SETUP_HTTP_PORT, SETUP_RESTART_AFTER, startSetupAccessPoint } from "adapters/setup-ap";
import { listenSetupHttp } from "adapters/setup-http";
import { startSetupDns } from "adapters/setup-dns";
import { loadSetupPassword } from "adapters/device-credentials";
import { ModdableHttpStreamClient } from "adapters/http-stream";
import { ModdableCrypto } from "adapters/crypto";
import { openOtaPartitions } from "adapters/ota-partitions";
import { PartitionUpdateWriter } from "update/partition-update-writer";
import { decodeBase64 } from "update/update-manifest";
import { p256Point } from "ports/crypto";
import type { KeyValueStore } from "ports/storage";
import type { Logger } from "ports/logger";

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
  /** config.timeFloor (ISO 8601, set by scripts/build-device.mjs to the build day): the clock is never set below it. */
  readonly timeFloor: number | undefined;
  readonly wifi: WifiCredentials | undefined;
  readonly simulatePressEverySeconds: number;
  /** Instrumented simulator builds: a full collection and a `heap live` line every N seconds (0: off). */
  readonly heapProbeSeconds: number;
  readonly factoryResetHoldMs: number;
  /** Held this long at power-up (and released before the factory-reset time): setup mode (ms, default 3 s). */
  readonly setupHoldMs: number;
  /** The setup page's port where the platform does not fix it (the simulator's loopback; esp32 uses 80). */
  readonly setupPort: number;
  /** The stored network not joined for this long restarts into setup mode (ms, default 10 min; 0: never). */
  readonly setupNotJoinedMs: number;
  /** Setup mode without a request for this long ends it, when a stored network exists (ms, default 15 min). */
  readonly setupIdleMs: number;
  /** The release public key (P-256, base64 of DER SubjectPublicKeyInfo or the raw point); none or unusable: no updates. */
  readonly releaseKey: Uint8Array | { readonly problem: string } | undefined;
  readonly hardware: HardwareConfig;
}

/** The product's wiring (per-product manifests under products/; see modules/README.md). */
interface HardwareConfig {
  /** KIS.BOX: one GPIO per button, in button order. */
  readonly buttonPins: readonly number[];
  readonly buttonPull: Pull;
  /** How the button LEDs / segments are driven: PWM RGB LEDs, an addressable strip, or trace lines only. */
  readonly leds: "pwm" | "neopixel" | "trace";
  /** pwm: r/g/b pins per LED, in LED order. */
  readonly rgbPins: readonly RgbPins[];
  readonly rgbCommonAnode: boolean;
  readonly pwmHz: number;
  /** neopixel: data pin, pixels per LED/segment, colour order, element 0 at the far end. */
  readonly pixelPin: number;
  readonly pixelsPerLed: number;
  readonly pixelOrder: string;
  readonly pixelReverse: boolean;
  /** A single-colour LED on a GPIO, e.g. the DevKit's on-board LED (-1: none): flashes while joining Wi-Fi, blinks until online, then lit. */
  readonly onboardLedPin: number;
  readonly onboardLedActiveLow: boolean;
}

/** Keeps the running firmware reachable (and alive) from module scope. */
let running: Firmware | undefined;

/** The firmware started by main() (for a debugger or a mod); undefined before start or after a failed start. */
export function runningFirmware(): Firmware | undefined {
  return running;
}

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
  if (settings.heapProbeSeconds > 0 && !startHeapProbe(settings.heapProbeSeconds, logger)) log.warn("heapProbeSeconds needs an instrumented simulator build (-i)");
  const profile = settings.profile;
  const ledCount = profile.name === "box" ? profile.buttons : profile.segments.length;
  const outboxStore = openOutbox(c, scoped(logger, "outbox"));
  const restart = platformRestart(logger);
  const store = new PreferenceStore();
  const updates = openUpdates(c, settings, store, restart, logger);
  const platform: Platform = {
    clock,
    systemTime: new PlatformSystemTime(logger),
    random: new SystemRandom(),
    logger,
    mqtt: new StreamMqttConnector({ sockets: new TlsSocketPort({ logger: scoped(logger, "tls") }), clock, logger: scoped(logger, "mqtt") }),
    https: new ModdableHttpsClient({ logger }),
    datagrams: new ModdableDatagramPort({ logger }),
    wifi: new PlatformWifiRadio(logger),
    store,
    leds: openLeds(settings.hardware, ledCount, clock, scoped(logger, "leds")),
    ...(profile.name === "box" ? { buttons: openButtonInputs(settings, profile.buttons, clock, scoped(logger, "buttons")) } : {}),
    systemInfo: new PlatformSystemInfo(),
    restart,
    ...(outboxStore ? { outboxStore } : {}),
    // A Clock timer: restarts the device when the firmware's LoopWatchdog stops feeding it (a monitored part
    // stalled). A blocked event loop is the ESP-IDF task watchdog's part; the simulator's restart is a no-op.
    watchdog: new ClockWatchdog(clock, restart),
    ...(updates ? { httpStream: new ModdableHttpStreamClient({ logger }), crypto: new ModdableCrypto(), updateWriter: updates.writer } : {}),
  };

  let routes: StaticRoutes | undefined;
  if (settings.routes.length > 0) {
    routes = new StaticRoutes();
    for (const r of settings.routes) {
      routes.set(r.host, r.port, r.transport, { address: r.address, port: r.routePort });
      log.warn("local route (verification build only)", { name: `${r.host}:${r.port}/${r.transport}`, to: `${r.address}:${r.routePort}` });
    }
  }

  const firmwareConfig: FirmwareConfig = {
    // The image's own version; in the simulator, the version its simulated partition holds after an update.
    firmwareVersion: updates?.runningVersion ?? settings.firmwareVersion,
    ...(updates ? { releaseKey: updates.releaseKey } : {}),
    deviceId,
    ...(settings.modelId !== undefined ? { modelId: settings.modelId } : {}),
    credentials: credentials.tls,
    profile: settings.profile,
    ...(settings.ntpServers ? { ntpServers: settings.ntpServers } : {}),
    ...(settings.timeFloor !== undefined ? { timeFloor: settings.timeFloor } : {}),
    ...(routes ? { routes } : {}),
    hub: { keepAliveSeconds: settings.keepAliveSeconds },
    // Only a device with its own setup access point (a setup password) restarts into setup mode when its network is gone.
    ...(settings.setupNotJoinedMs > 0 && loadSetupPassword() ? { setupAfterNotJoinedMs: settings.setupNotJoinedMs } : {}),
  };
  afterFactoryReset(platform, settings.factoryResetHoldMs, settings.setupHoldMs, scoped(logger, "reset"), (gesture) => {
    provisionWifi(platform, settings.wifi, log);
    setupFirst(platform, settings, deviceId, gesture, scoped(logger, "setup"), () => launch(platform, firmwareConfig, settings, credentials, deviceId, log));
  });
}

function launch(platform: Platform, firmwareConfig: FirmwareConfig, settings: DeviceConfig, credentials: DeviceCredentials, deviceId: string, log: ScopedLogger): void {
  const firmware = createFirmware(platform, firmwareConfig);
  running = firmware;

  log.info("starting", {
    version: settings.firmwareVersion,
    profile: settings.profile.name,
    device: deviceId,
    credentials: credentials.source,
    roots: credentials.roots.join(","),
    ntp: settings.ntpServers?.join(","),
    timeFloor: new Date(firmware.timeSanity.floorMs).toISOString(),
    outbox: platform.outboxStore ? "persistent" : "memory",
    watchdog: firmware.watchdog ? "on" : "off",
  });
  observe(firmware, settings.logLevel === "debug", log);
  showStatus(firmware, settings.hardware, platform.clock, scoped(platform.logger, "leds"));
  firmware.start();
}

/**
 * Over-the-air updates: the partitions (ESP-IDF A/B with the rollback bootloader, or the simulator's files) and
 * the release key from config. Either missing: the firmware runs without updates (logged), never fails to start.
 */
function openUpdates(
  c: Record<string, unknown>,
  settings: DeviceConfig,
  store: KeyValueStore,
  restart: () => void,
  logger: Logger,
): { writer: PartitionUpdateWriter; runningVersion: string; releaseKey: Uint8Array } | undefined {
  const log = scoped(logger, "ota");
  const releaseKey = settings.releaseKey;
  if (!releaseKey) {
    log.warn("no config.releaseKey: over-the-air updates disabled");
    return undefined;
  }
  if (!(releaseKey instanceof Uint8Array)) {
    // A bad key must not keep the device offline: it runs, without updates.
    log.error("over-the-air updates disabled", { error: releaseKey.problem });
    return undefined;
  }
  try {
    const fileRoot = (c.file as { root?: unknown } | undefined)?.root;
    const partitions = openOtaPartitions({ store, builtVersion: settings.firmwareVersion, restart, logger, ...(typeof fileRoot === "string" ? { fileRoot } : {}) });
    if (!partitions) return undefined;
    const writer = new PartitionUpdateWriter({
      partitions,
      store,
      runningVersion: settings.firmwareVersion,
      onProblem: (message) => log.warn(message),
    });
    return { writer, runningVersion: writer.slots().runningVersion, releaseKey };
  } catch (error) {
    log.error("over-the-air updates disabled", { error: errorMessage(error) });
    return undefined;
  }
}

const OUTBOX_SEGMENTS = 8;

/**
 * The persistent outbox (queued telemetry survives a restart): an OutboxLog in `<config.file.root>outbox/` through
 * the SDK's `file` module (`/tmp/outbox/` on lin, `/mod/outbox/` on esp32). When the folder cannot be opened the
 * firmware keeps its in-memory outbox (logged).
 */
function openOutbox(c: Record<string, unknown>, log: ScopedLogger): OutboxStore | undefined {
  const root = (c.file as { root?: unknown } | undefined)?.root;
  if (typeof root !== "string" || root.length === 0) {
    log.error("no config.file.root; outbox kept in memory");
    return undefined;
  }
  const folder = `${root}${root.endsWith("/") ? "" : "/"}outbox/`;
  try {
    const store = new OutboxLog(FileRecordStorage.open(folder), {
      // 8 segments of 4 KB (one more while the oldest is copied forward): fits the 64 KB SPIFFS partition mcconfig
      // carves out of the esp32 app partition for the file module (SPIFFS needs free blocks of its own). Beyond
      // that the oldest queued events are dropped (reported below).
      maxSegments: OUTBOX_SEGMENTS,
      onEvent: (event) => {
        switch (event.type) {
          case "torn":
          case "corrupt":
            log.warn(`outbox ${event.type} bytes skipped`, { segment: event.segment, offset: event.offset, bytes: event.bytes });
            break;
          case "dropped":
            log.warn("outbox full: oldest event dropped", { seq: event.seq, id: event.id, totalDropped: event.totalDropped });
            break;
          case "error":
            log.error("outbox storage failed", { operation: event.operation, segment: event.segment, error: event.message });
            break;
          default:
            log.debug(`outbox ${event.type}`, { segment: event.segment });
        }
      },
    });
    const queued = store.load().length;
    const stats = store.stats;
    log.info("outbox opened", { folder, queued, segments: stats.segments, bytes: stats.bytes, torn: stats.torn, corrupt: stats.corrupt });
    return store;
  } catch (error) {
    log.error("outbox not opened; kept in memory", { folder, error: errorMessage(error) });
    return undefined;
  }
}

/**
 * KIS.BOX: button 1 held at power-up starts a factory reset (FactoryReset: held `factoryResetHoldMs`, then
 * released, erases the configuration keys; the device identity stays), before the firmware exists, so its
 * button gestures never see that hold (in the simulator: held in the window while the app starts). Not held:
 * `start` runs at once (from a promise job). Erased: the device restarts instead. `start` runs at most once; a throw from it is
 * logged (it may run outside main()'s try).
 */
function afterFactoryReset(platform: Platform, holdMs: number, setupHoldMs: number, log: ScopedLogger, start: (gesture: boolean) => void): void {
  const startOnce = (gesture = false) => {
    try {
      start(gesture);
    } catch (error) {
      log.error("start-up failed", { error: errorMessage(error) });
    }
  };
  const button = platform.buttons?.[0];
  if (!button) {
    startOnce();
    return;
  }
  let reset: FactoryReset;
  try {
    reset = new FactoryReset({
      input: button,
      clock: platform.clock,
      leds: platform.leds,
      ledIndices: [0],
      activeLow: button.activeLow ?? true,
      holdMs,
      // A setup time at or beyond the factory-reset time would make the gesture unreachable: factory reset only.
      ...(setupHoldMs < holdMs ? { setupHoldMs } : {}),
      logger: log,
      erase: () => {
        const failed = eraseKeys(platform.store);
        if (failed.length > 0) throw new Error(`not erased: ${failed.map((f) => `${f.key} (${f.error})`).join(", ")}`);
      },
    });
  } catch (error) {
    log.error("factory reset check not run", { error: errorMessage(error) });
    startOnce();
    return;
  }
  // The simulator's window tells the buttons' power-up levels a message later; GPIO has them at once.
  buttonsSettled().then(() => reset.run()).then(
    (outcome) => {
      if (outcome === "erased") {
        log.warn("factory reset done; restarting");
        platform.restart?.();
        return;
      }
      if (outcome !== "not-held") log.info("no factory reset; starting", { outcome });
      startOnce(outcome === "setup");
    },
    (error: unknown) => {
      log.error("factory reset check failed; starting", { error: errorMessage(error) });
      startOnce();
    },
  );
}

/**
 * Setup mode before the station adapter opens (README: Set up a device): when no Wi-Fi credentials are stored or
 * the setup gesture was made, the setup access point `KISME-<id>` (esp32; the simulator serves on loopback) comes up
 * with the device's own password from provisioning, the captive DNS responder and the setup page; the portable
 * SetupSession decides and saves. When it ends the device restarts (esp32: the legacy Wi-Fi driver state must not
 * meet the ECMA-419 station) or, in the simulator, boots on at once. No setup password provisioned: no access point
 * (never a shared default); the firmware starts as it is. The third entry, the stored network not joined for
 * `setupNotJoinedMs`, is the running firmware's request (NotJoinedWatch), taken here once.
 */
function setupFirst(platform: Platform, settings: DeviceConfig, deviceId: string, gesture: boolean, log: ScopedLogger, launchFirmware: () => void): void {
  const config = () => new ConfigStore({ store: platform.store, defaults: EMPTY_CONFIG, importLegacy: true });
  const stored = () => new WifiCredentialStore(config()).load().credentials;
  const hasCredentials = stored() !== undefined;
  // Taken (and deleted) on every boot, so a request is honoured once at most.
  let request: SetupRequest | undefined;
  try {
    request = takeSetupRequest(platform.store);
  } catch (error) {
    log.error("setup request not read", { error: errorMessage(error) });
  }
  if (hasCredentials && !gesture && !request) return launchFirmware();
  const password = loadSetupPassword();
  if (!password) {
    log.error("no setup password provisioned (npm run provision): no setup access point", { credentials: hasCredentials });
    return launchFirmware();
  }
  try {
    const ap = startSetupAccessPoint({ ssid: setupSsid(deviceId), password, logger: platform.logger, radio: platform.wifi });
    const port = SETUP_HTTP_PORT || settings.setupPort;
    const host = port === 80 ? ap.address : `${ap.address}:${port}`;
    const session = new SetupSession({
      clock: platform.clock,
      random: platform.random,
      logger: platform.logger,
      radio: ap.radio,
      info: () => ({ deviceId, profile: settings.profile.name, firmwareVersion: settings.firmwareVersion, cloudReached: platform.store.get(TIME_FLOOR_KEY) !== undefined }),
      storedSsid: () => stored()?.ssid,
      save: (credentials) => new WifiCredentialStore(config()).save(credentials),
      hosts: [host],
      portalUrl: `http://${host}/`,
      idleTimeoutMs: settings.setupIdleMs,
    });
    ap.onClient(() => session.mode.clientSeen());
    const listener = listenSetupHttp(session.handle, { port, logger: platform.logger });
    const dns = SETUP_DNS ? startSetupDns(ap.address, platform.logger) : undefined;
    platform.leds.set(settings.profile.statusLed ?? 0, SETUP_MODE_LED);
    session.ended().then(
      (end) => {
        listener.close();
        dns?.close();
        ap.close();
        if (SETUP_RESTART_AFTER) {
          log.warn("setup mode over; restarting", { end });
          platform.restart?.();
          return;
        }
        log.info("setup mode over; starting", { end });
        launchFirmware();
      },
      (error: unknown) => log.error("setup mode failed", { error: errorMessage(error) }),
    );
    session.mode.start({ hasCredentials, gesture, ...(request ? { request } : {}) });
    trace(`setup page: http://${host}/ (access point ${setupSsid(deviceId)})\n`);
  } catch (error) {
    log.error("setup mode not started; starting", { error: errorMessage(error) });
    launchFirmware();
  }
}

/** Development builds only: Wi-Fi credentials from config, stored when the device has none yet. */
function provisionWifi(platform: Platform, wifi: WifiCredentials | undefined, log: ScopedLogger): void {
  if (!wifi) return;
  try {
    // Through the configuration record, before the firmware opens it (its problems are logged here).
    const config = new ConfigStore({
      store: platform.store,
      defaults: EMPTY_CONFIG,
      importLegacy: true,
      onProblem: (p) => log.error("configuration problem", { kind: p.kind, message: p.message }),
    });
    const store = new WifiCredentialStore(config);
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

/**
 * The LEDs (KIS.BOX button LEDs or KIS.LIGHT segments, index 0 = button 1 / the top segment): the portable pattern
 * engine rendered by one LedDriver timer onto PWM RGB LEDs or an addressable strip (esp32; in mcsim the device
 * simulator's window draws them, and `echoPatterns` tells it and the trace which pattern was asked for), or trace
 * lines where `leds` is "trace". A driver that cannot be opened falls back to trace lines (logged): the firmware
 * keeps running without lights rather than not at all.
 */
function openLeds(hw: HardwareConfig, count: number, clock: Clock, log: ScopedLogger): PatternTarget {
  try {
    if (hw.leds === "pwm" && PWM_AVAILABLE) {
      if (hw.rgbPins.length < count) throw new RangeError(`config.rgbPins has ${hw.rgbPins.length} LEDs, the product needs ${count}`);
      const leds: RgbLed[] = openRgbLeds(hw.rgbPins.slice(0, count), {
        commonAnode: hw.rgbCommonAnode,
        hz: hw.pwmHz,
        onProblem: (message, pin, error) => log.warn(message, { pin, error: error === undefined ? undefined : errorMessage(error) }),
      });
      log.info("RGB LEDs", { output: LED_OUTPUT, count, pins: hw.rgbPins.slice(0, count).map((p) => `${p.r}/${p.g}/${p.b}`).join(","), commonAnode: hw.rgbCommonAnode });
      return echoPatterns(new LedDriver(new LedPatterns({ count }), clock, rgbLedSink(leds)));
    }
    if (hw.leds === "neopixel" && NEOPIXEL_AVAILABLE) {
      const strip = openPixelStrip({ pin: hw.pixelPin, elements: count, pixelsPerElement: hw.pixelsPerLed, order: hw.pixelOrder, reverse: hw.pixelReverse });
      log.info("addressable LED strip", { output: STRIP_OUTPUT, pin: hw.pixelPin, elements: count, pixelsPerLed: hw.pixelsPerLed, order: hw.pixelOrder, reverse: hw.pixelReverse });
      return echoPatterns(new LedDriver(new LedPatterns({ count }), clock, stripSink(strip)));
    }
    log.info("LEDs as trace lines", { count, configured: hw.leds, reason: hw.leds === "trace" ? "config" : "no driver on this platform" });
  } catch (error) {
    log.error("LED driver not opened; LEDs as trace lines", { configured: hw.leds, error: errorMessage(error) });
  }
  return new TraceLeds();
}

/**
 * The on-board LED (`onboardLedPin`) follows the boot phase (one LedDriver timer for its blinking). Independent of
 * the profile's `statusLed`, the product LED that the core uses for boot phases and errors until online.
 */
function showStatus(firmware: Firmware, hw: HardwareConfig, clock: Clock, log: ScopedLogger): void {
  if (hw.onboardLedPin < 0) return;
  try {
    const led = openStatusLed(hw.onboardLedPin, hw.onboardLedActiveLow);
    const driver = new LedDriver(new LedPatterns({ count: 1 }), clock, { write: (_index, c) => led.set(c.r + c.g + c.b > 0) });
    const specs: Record<BootPhase, PatternSpec> = {
      wifi: { pattern: "flash", color: "white", periodMs: 1000 },
      time: { pattern: "blink", color: "white", periodMs: 1000 },
      bootstrap: { pattern: "blink", color: "white", periodMs: 1000 },
      hub: { pattern: "blink", color: "white", periodMs: 1000 },
      online: { pattern: "on", color: "white" },
    };
    let shown: PatternSpec | undefined;
    const show = (phase: BootPhase) => {
      const spec = specs[phase];
      if (spec === shown) return;
      shown = spec;
      driver.set(0, spec);
      log.debug("on-board status LED", { phase, pattern: spec.pattern });
    };
    show(firmware.boot.status.phase);
    firmware.boot.onStatus((status) => show(status.phase));
    log.info("on-board status LED", { pin: hw.onboardLedPin, activeLow: hw.onboardLedActiveLow });
  } catch (error) {
    log.warn("on-board status LED not opened", { pin: hw.onboardLedPin, error: errorMessage(error) });
  }
}

/**
 * KIS.BOX buttons: `embedded:io/digital` inputs (esp32), the simulator window's buttons in mcsim. With `simulatePressEverySeconds`
 * (verification builds) button 1 is a Timer-driven SimulatedButton instead, so presses take the gesture path.
 */
function openButtonInputs(settings: DeviceConfig, count: number, clock: Clock, log: ScopedLogger): ButtonInput[] {
  const monotonic = () => clock.monotonic();
  const onError = (error: unknown, pin: number) => log.error("button input failed", { pin, error: errorMessage(error) });
  const inputs: ButtonInput[] = [];
  try {
    const pins: ButtonPin[] = settings.hardware.buttonPins.slice(0, count).map((pin) => ({ pin, pull: settings.hardware.buttonPull, activeLow: true }));
    if (GPIO_AVAILABLE) {
      if (pins.length < count) log.warn("fewer button pins than buttons", { pins: pins.length, buttons: count });
      inputs.push(...openButtons(pins, { monotonic, onError }));
      log.info("button inputs", { source: BUTTON_SOURCE, pins: pins.map((p) => p.pin).join(","), pull: settings.hardware.buttonPull, opened: inputs.length });
    } else {
      log.info("no button inputs on this platform (simulator)");
    }
  } catch (error) {
    log.error("button inputs not opened", { error: errorMessage(error) });
  }
  if (settings.simulatePressEverySeconds > 0) {
    const simulated = new SimulatedButton({ monotonic, onError: (error) => onError(error, -1), everyMs: settings.simulatePressEverySeconds * 1000 });
    if (inputs.length > 0) inputs[0]!.close();
    inputs[0] = simulated;
    log.info("simulating a press of button 1", { everySeconds: settings.simulatePressEverySeconds });
  }
  return inputs;
}

/** LEDs where no driver is available or configured: one trace line per pattern change. */
class TraceLeds implements PatternTarget {
  set(index: number, spec: PatternSpec): void {
    trace(`LED ${index} ${describePattern(spec)}\n`);
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
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = c[name];
    if (raw === undefined || raw === "") return fallback;
    if (raw === true || raw === "true" || raw === 1 || raw === "1") return true;
    if (raw === false || raw === "false" || raw === 0 || raw === "0") return false;
    throw new RangeError(`config.${name} must be true or false, got ${String(raw)}`);
  };
  const pinList = (name: string): number[] => {
    const raw = c[name];
    const items = typeof raw === "number" ? [String(raw)] : (list(name) ?? []);
    return items.map((item) => parsePin(item, name));
  };
  const ledKind = text("leds") ?? "trace";
  if (ledKind !== "pwm" && ledKind !== "neopixel" && ledKind !== "trace") throw new RangeError(`config.leds must be pwm, neopixel or trace, got ${ledKind}`);
  const pull = text("buttonPull") ?? "up";
  if (pull !== "up" && pull !== "down" && pull !== "none") throw new RangeError(`config.buttonPull must be up, down or none, got ${pull}`);
  const hardware: HardwareConfig = {
    buttonPins: pinList("buttonPins"),
    buttonPull: pull,
    leds: ledKind,
    rgbPins: (list("rgbPins") ?? []).map((entry) => {
      const parts = entry.split("/");
      if (parts.length !== 3) throw new RangeError(`config.rgbPins: ${JSON.stringify(entry)} is not r/g/b`);
      return { r: parsePin(parts[0]!, "rgbPins"), g: parsePin(parts[1]!, "rgbPins"), b: parsePin(parts[2]!, "rgbPins") };
    }),
    rgbCommonAnode: flag("rgbCommonAnode", false),
    pwmHz: integer("pwmHz", 1000, 100, 40_000),
    pixelPin: integer("pixelPin", 18, 0, 48),
    pixelsPerLed: integer("pixelsPerLed", 1, 1, 64),
    pixelOrder: text("pixelOrder") ?? "GRB",
    pixelReverse: flag("pixelReverse", false),
    onboardLedPin: integer("onboardLedPin", -1, -1, 48),
    onboardLedActiveLow: flag("onboardLedActiveLow", false),
  };
  return {
    hardware,
    firmwareVersion: text("firmwareVersion") ?? "0.0.0",
    deviceId: text("deviceId"),
    modelId: text("modelId"),
    keepAliveSeconds: integer("keepAliveSeconds", 180, 1, 1177),
    profile: withStatusLed(readProfile(text("profile") ?? "box", integer("buttonCount", KIS_BOX.buttons, 1, 16), list("segments")), c.statusLed === undefined || c.statusLed === "" ? undefined : integer("statusLed", 0, 0, 15)),
    logLevel,
    trustedRoots: list("trustedRoots") ?? AZURE_ROOTS,
    routes: (list("routes") ?? []).map(parseRoute),
    ntpServers: list("ntpServers"),
    timeFloor: timeFloor(text("timeFloor")),
    wifi: wifiSsid ? { ssid: wifiSsid, ...(wifiPassphrase ? { passphrase: wifiPassphrase } : {}) } : undefined,
    simulatePressEverySeconds: integer("simulatePressEverySeconds", 0, 0, 86_400),
    heapProbeSeconds: integer("heapProbeSeconds", 0, 0, 3600),
    factoryResetHoldMs: integer("factoryResetHoldMs", 10_000, 1_000, 60_000),
    setupHoldMs: integer("setupHoldMs", 3000, 500, 30_000),
    setupPort: integer("setupPort", 8080, 1, 65535),
    setupNotJoinedMs: integer("setupNotJoinedMs", 10 * 60_000, 0, 24 * 3_600_000),
    setupIdleMs: integer("setupIdleMs", 15 * 60_000, 10_000, 24 * 3_600_000),
    releaseKey: parseReleaseKey(text("releaseKey")),
  };
}

/** config.timeFloor: an ISO 8601 date-time (or date); empty: the firmware's own floor. */
function timeFloor(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`config.timeFloor must be an ISO 8601 time, got ${value}`);
  return ms;
}

/** config.releaseKey: base64 of the P-256 public key (DER SubjectPublicKeyInfo or the raw 65-byte point). */
function parseReleaseKey(value: string | undefined): Uint8Array | { readonly problem: string } | undefined {
  if (value === undefined) return undefined;
  const bytes = decodeBase64(value);
  if (!bytes || !p256Point(bytes)) return { problem: "config.releaseKey is not the base64 of a P-256 public key (DER SPKI or raw point)" };
  return bytes;
}

/** `statusLed`: the LED (0-based) that shows boot phases and errors until online (default: the profile's, the first). */
function withStatusLed(profile: DeviceProfile, statusLed: number | undefined): DeviceProfile {
  return statusLed === undefined ? profile : { ...profile, statusLed };
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

function parsePin(item: string, name: string): number {
  const pin = Number(item.trim());
  if (!Number.isInteger(pin) || pin < 0 || pin > 48 || item.trim() === "") throw new RangeError(`config.${name}: ${JSON.stringify(item)} is not a GPIO number`);
  return pin;
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
