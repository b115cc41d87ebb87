import type { Clock } from "../ports/clock";
import type { DatagramPort } from "../ports/udp";
import type { HttpsClient } from "../ports/https";
import type { KeyValueStore } from "../ports/storage";
import type { Logger } from "../ports/logger";
import type { MqttConnector, TlsCredentials } from "../ports/mqtt";
import type { Random } from "../ports/random";
import type { SystemTime } from "../ports/system-time";
import type { WifiRadio } from "../ports/wifi";
import { scoped } from "../ports/logger";
import { HubClient, type HubClientConfig } from "../azure/hub-client";
import type { OutboxStore } from "../azure/telemetry-outbox";
import { BootSequence, type BootOptions } from "../boot/boot-sequence";
import { BootstrapClient, hubAllowedBy } from "../bootstrap/bootstrap-client";
import { DEFAULT_HUB_HOST, HUB_MQTT_TLS_PORT } from "../bootstrap/bootstrap-contract";
import { EgressPolicy, INTEGRATION_GUIDE_EGRESS, type EgressRule } from "../net/egress-policy";
import { GuardedDatagramPort, GuardedHttpsClient, GuardedMqttConnector, type RouteMap } from "../net/guarded-network";
import { SntpClient, EUROPE_POOL } from "../time/sntp-client";
import { SyncedClock } from "../time/synced-clock";
import { SOURCE_TIME_FLOOR_MS, TimeSanity } from "../time/time-sanity";
import { WifiManager } from "../wifi/wifi-manager";
import { KisBox, type SetColorArgs } from "./kis-box";
import { KisLight } from "./kis-light";
import { Commands, boundedLog, identifyCommand, rebootCommand } from "./commands";
import { RebootLimiter } from "../boot/reboot-limit";
import { DeviceSettings, type SettingValues } from "./settings";
import { DiagnosticsReporter } from "./diagnostics";
import { LedFeedback, statusForBootPhase, statusPattern } from "./led-feedback";
import { ButtonGestures } from "./button-gestures";
import type { PatternSpec, PatternTarget } from "./led-patterns";
import { KIS_BOX, validateProfile, type DeviceProfile } from "./profile";
import { PRODUCT_MODELS, telemetryBody } from "./schema";
import { RingLog } from "../core/ring-log";
import { errorMessage } from "../core/listeners";
import type { SystemInfo } from "../ports/system-info";
import type { ButtonInput } from "../ports/gpio";
import type { HttpStreamClient } from "../ports/http-stream";
import type { CryptoPort } from "../ports/crypto";
import type { UpdateWriter } from "../ports/update-writer";
import { GuardedHttpStreamClient } from "../net/guarded-http-stream";
import { OtaManager, type OtaManagerOptions } from "../update/ota-manager";
import { attachOta } from "../update/ota-wiring";
import { SecurityFloor } from "../update/security-floor";
import type { WatchdogPort } from "../ports/watchdog";
import { LoopWatchdog } from "./watchdog";
import { NotJoinedWatch } from "../setup/setup-request";
import { SafeMode, type SafeModeOptions } from "../boot/safe-mode";
import { ConfigStore, EMPTY_CONFIG } from "../storage/config-store";

/** Everything platform-specific the firmware needs: the Moddable adapters on the device, Node ones on the host. */
export interface Platform {
  readonly clock: Clock;
  readonly systemTime: SystemTime;
  readonly random: Random;
  readonly logger: Logger;
  readonly mqtt: MqttConnector;
  readonly https: HttpsClient;
  readonly datagrams: DatagramPort;
  readonly wifi: WifiRadio;
  readonly store: KeyValueStore;
  /** Button LEDs (KIS.BOX) or segments (KIS.LIGHT), by 0-based index: patterns are rendered by the platform. */
  readonly leds: PatternTarget;
  /** The push-buttons (KIS.BOX), in order; absent where presses come from elsewhere (the host terminal). */
  readonly buttons?: readonly ButtonInput[];
  readonly systemInfo?: SystemInfo;
  /** Restarts the device (the reboot command, and after an update). */
  readonly restart?: () => void;
  /** Over-the-air updates: all three, and a release key in the config, or no updates. */
  readonly httpStream?: HttpStreamClient;
  readonly crypto?: CryptoPort;
  readonly updateWriter?: UpdateWriter;
  readonly outboxStore?: OutboxStore;
  /** The platform watchdog (esp32 task watchdog, NodeWatchdog on the host); absent: no watchdog. */
  readonly watchdog?: WatchdogPort;
}

export interface FirmwareConfig {
  readonly firmwareVersion: string;
  readonly deviceId: string;
  readonly modelId?: string;
  /** Device certificate and key, and the roots trusted for the hub and the bootstrap service. */
  readonly credentials: TlsCredentials;
  /** KIS.BOX or KIS.LIGHT (default: a KIS.BOX with three buttons). */
  readonly profile?: DeviceProfile;
  /** NTP servers (default: the four European pool names the integration guide names). */
  readonly ntpServers?: readonly string[];
  /** The platform clock is already right (a host run without NTP): time counts as valid from the start. */
  readonly trustPlatformClock?: boolean;
  /** The clock floor compiled into the firmware (Unix ms, its build time): SNTP never sets the clock below it. Default SOURCE_TIME_FLOOR_MS. */
  readonly timeFloor?: number;
  /** Local runs only: where the cloud's names are really reached. The egress check still sees the real names. */
  readonly routes?: RouteMap;
  /** Development runs only (e.g. your own Azure hub): extra allowed endpoints, logged at start. Never on a device. */
  readonly extraEgress?: readonly EgressRule[];
  readonly defaultHub?: string;
  /** Skip the bootstrap service and use `defaultHub` (a run against your own hub). */
  readonly skipBootstrap?: boolean;
  readonly hub?: Partial<Pick<HubClientConfig, "keepAliveSeconds" | "backoff" | "window" | "inFlightBytes" | "twinTimeoutMs" | "attemptTimeoutMs" | "stableAfterMs" | "outboxCapacity">>;
  /**
   * Boot sequence: phase timeouts; consecutive failed hub attempts before the bootstrap service is asked (default 3);
   * the age after which a cached hub assignment is refreshed in the background (default 7 days).
   */
  readonly boot?: Partial<Pick<BootOptions, "timeouts" | "hubFailuresBeforeBootstrap" | "maxAssignmentAgeMs" | "assignmentRetryMs">>;
  readonly wifiJoinTimeoutMs?: number;
  /** The public key (P-256, raw or DER) that firmware manifests must be signed with. */
  readonly releaseKey?: Uint8Array;
  readonly ota?: Partial<Pick<OtaManagerOptions, "chunkSize" | "stallTimeoutMs" | "maxRetries" | "backoff" | "progressIntervalMs" | "rebootDelayMs" | "confirmTimeoutMs" | "maxPendingBoots">>;
  readonly sntpRequestTimeoutMs?: number;
  /** Safe mode after `threshold` boots in a row without the hub (default 5), left after `stableMs` connected (default 10 min). */
  readonly safeMode?: Partial<Pick<SafeModeOptions, "threshold" | "stableMs">>;
  /** The platform watchdog's timeout (default 30 s) and how long the boot sequence may go without progress (default 15 min). */
  readonly watchdog?: { readonly timeoutMs?: number; readonly bootProgressMs?: number };
  /**
   * The stored network not joined for this long (ms, from start or the last loss of the link) restarts the device
   * into setup mode (src/setup/setup-request.ts). Unset: never — a device that has no setup access point (no setup
   * password provisioned) only keeps retrying. Needs `platform.restart`.
   */
  readonly setupAfterNotJoinedMs?: number;
}

export interface Firmware {
  readonly clock: SyncedClock;
  readonly policy: EgressPolicy;
  readonly wifi: WifiManager;
  readonly sntp: SntpClient;
  /** The rules SNTP times must pass (floor, two servers for a big step), with the refusals counted. */
  readonly timeSanity: TimeSanity;
  readonly bootstrap: BootstrapClient;
  readonly hub: HubClient;
  readonly profile: DeviceProfile;
  /** The KIS.BOX behaviour (undefined for a KIS.LIGHT). */
  readonly box: KisBox | undefined;
  /** The KIS.LIGHT behaviour (undefined for a KIS.BOX). */
  readonly light: KisLight | undefined;
  /** Local press feedback on the button LEDs (KIS.BOX). */
  readonly feedback: LedFeedback | undefined;
  readonly settings: DeviceSettings;
  /** The persistent configuration (Wi-Fi credentials, hub assignment, settings): one record, key "config". */
  readonly config: ConfigStore;
  readonly log: RingLog;
  readonly boot: BootSequence;
  /** Over-the-air updates, when the platform and the config provide them. */
  readonly ota: OtaManager | undefined;
  /** Safe mode: when active, the product (box/light, gestures, product commands) is not assembled. */
  readonly safeMode: SafeMode;
  readonly watchdog: LoopWatchdog | undefined;
  start(): void;
  /** Stops everything at once (the link closes with DISCONNECT, nothing is awaited). */
  stop(): void;
  /**
   * The orderly stop, e.g. when the host simulation quits: the boot sequence stops reacting, the hub link says
   * goodbye (HubClient.goodbye: nothing new sent, the PUBACKs in flight awaited, DISCONNECT, the transport flushed,
   * each within a bound), then everything stops as with stop(). Never rejects.
   */
  shutdown(): Promise<void>;
}

/**
 * Wires the portable firmware together over a platform: the same assembly runs on the ESP32, in the
 * Moddable simulator and in the Node host simulation.
 */
export function createFirmware(platform: Platform, config: FirmwareConfig): Firmware {
  const profile = config.profile ?? KIS_BOX;
  validateProfile(profile);
  const model = PRODUCT_MODELS[profile.name];
  // The log and the clock need each other: the log stamps entries with the synced time.
  let ringLog: RingLog | undefined;
  const clock = new SyncedClock(platform.clock, {
    systemTime: platform.systemTime,
    valid: config.trustPlatformClock === true,
    onError: (e) => ringLog?.log("error", "time", "clock listener failed", { error: errorMessage(e) }),
  });
  ringLog = new RingLog(platform.logger, clock, 100, "info");
  const logger = ringLog;
  const log = (scope: string) => scoped(logger, scope);
  const policy = new EgressPolicy([...INTEGRATION_GUIDE_EGRESS, ...(config.extraEgress ?? [])], log("egress"));
  for (const rule of config.extraEgress ?? []) log("egress").warn("development egress rule added: outside the integration guide's table, for this run only", { host: rule.host, port: rule.port, transport: rule.transport });
  const guard = { policy, clockValid: () => clock.valid, ...(config.routes ? { routes: config.routes } : {}) };
  const mqtt = new GuardedMqttConnector(platform.mqtt, guard);
  const https = new GuardedHttpsClient(platform.https, guard);
  const datagrams = new GuardedDatagramPort(platform.datagrams, guard);
  // One versioned configuration record for Wi-Fi, the hub assignment and the settings; older firmware's records
  // are imported on the first open. An unusable record falls back to the defaults and is logged, never fatal.
  const deviceConfig = new ConfigStore({
    store: platform.store,
    defaults: EMPTY_CONFIG,
    importLegacy: true,
    onProblem: (p) => log("config").error("configuration problem", { kind: p.kind, message: p.message }),
  });
  // Counts this boot; after too many boots without the hub only connectivity, the twin and updates run.
  const safeMode = new SafeMode({ store: platform.store, clock, logger: log("safe-mode"), ...config.safeMode });
  const safe = safeMode.begin();

  const wifi = new WifiManager({
    radio: platform.wifi,
    store: platform.store,
    config: deviceConfig,
    clock,
    random: platform.random,
    logger: log("wifi"),
    backoff: { initialMs: 1000, maxMs: 60_000 },
    joinTimeoutMs: config.wifiJoinTimeoutMs ?? 30_000,
  });
  const timeSanity = new TimeSanity({ buildFloorMs: config.timeFloor ?? SOURCE_TIME_FLOOR_MS, store: platform.store, logger: log("time") });
  const sntp = new SntpClient({
    datagrams,
    clock,
    random: platform.random,
    logger: log("sntp"),
    syncedClock: clock,
    sanity: timeSanity,
    servers: config.ntpServers ?? EUROPE_POOL,
    ...(config.sntpRequestTimeoutMs ? { requestTimeoutMs: config.sntpRequestTimeoutMs } : {}),
  });
  const bootstrap = new BootstrapClient({
    https,
    store: platform.store,
    config: deviceConfig,
    logger: log("bootstrap"),
    firmwareVersion: config.firmwareVersion,
    ca: config.credentials.ca,
    client: { certificate: config.credentials.certificate, key: config.credentials.key },
    allowsHub: hubAllowedBy(policy),
    clock,
    // Its fallback must be a hub the service could name (a DNS name of the table); a hub configured for a run
    // without the service (--hub-host localhost) is only ever used as the configured assignment below.
    ...(config.defaultHub && !config.skipBootstrap ? { defaultHub: config.defaultHub } : {}),
  });
  const hub = new HubClient(
    {
      endpoint: { host: config.defaultHub ?? DEFAULT_HUB_HOST, port: HUB_MQTT_TLS_PORT },
      identity: { deviceId: config.deviceId, tls: config.credentials, modelId: config.modelId ?? model.modelId },
      ready: () => clock.valid,
      ...config.hub,
    },
    { connector: mqtt, clock, random: platform.random, logger, ...(platform.outboxStore ? { outboxStore: platform.outboxStore } : {}) },
  );

  // The product: LEDs through a brightness stage (a twin setting), then its behaviour and commands.
  let brightness = 100;
  const specs = new Map<number, PatternSpec>();
  const scale = (spec: PatternSpec): PatternSpec => ({ ...spec, brightness: Math.round(((spec.brightness ?? 100) * brightness) / 100) });
  // Until the device is online, one LED shows what it is waiting for (no Wi-Fi, no time, no hub).
  const statusLed = profile.statusLed ?? 0;
  let showingStatus = true;
  const leds: PatternTarget = {
    set: (index, spec) => {
      specs.set(index, spec);
      if (showingStatus && index === statusLed) return;
      platform.leds.set(index, scale(spec));
    },
  };
  platform.leds.set(statusLed, statusPattern("booting"));
  const commands = new Commands(hub, log("commands"));
  let box: KisBox | undefined;
  let light: KisLight | undefined;
  let feedback: LedFeedback | undefined;
  let gestures: ButtonGestures[] = [];
  let deliveryFeedback = true;
  if (safe) {
    log("device").warn("safe mode: product behaviour off", { reason: safeMode.status.reason, failedBoots: safeMode.status.failedBoots });
  } else if (profile.name === "box") {
    feedback = new LedFeedback({ clock, target: leds, buttonCount: profile.buttons });
    box = new KisBox({ hub, leds: feedback, clock, buttonCount: profile.buttons });
    const fb = feedback;
    box.onFeedback((event) => deliveryFeedback && fb.feedback(event));
    const product = box;
    gestures = (platform.buttons ?? []).slice(0, profile.buttons).map((input, i) => {
      const g = new ButtonGestures({ button: i + 1, clock, activeLow: input.activeLow ?? true, onError: (e) => log("buttons").error("gesture listener failed", { error: errorMessage(e) }) });
      g.onGesture((event) => product.gesture(event));
      g.attach(input);
      return g;
    });
    commands.register("setColor", (args) => product.setColor(args as unknown as SetColorArgs));
  } else {
    light = new KisLight({ hub, target: leds, clock, segments: profile.segments });
    const product = light;
    commands.register("setColor", (args) => product.setColor(args as unknown as SetColorArgs));
  }
  const product = box ?? light;
  if (product) {
    commands.register("allOff", () => {
      product.allOff();
      return { off: true };
    });
  }
  const identifyCount = profile.name === "box" ? profile.buttons : profile.segments.length;
  commands.register(
    "identify",
    identifyCommand(
      clock,
      () => {
        for (let i = 0; i < identifyCount; i++) platform.leds.set(i, { pattern: "blink", color: "white", periodMs: 500 });
      },
      () => {
        for (let i = 0; i < identifyCount; i++) platform.leds.set(i, scale(specs.get(i) ?? { pattern: "off", color: "off" }));
      },
    ),
  );
  // Every restart the firmware itself decides on says goodbye to the hub first (DISCONNECT, in-flight PUBACKs
  // awaited within a bound): the broker sees a clean end, not a dropped connection.
  let restarting = false;
  const restartOrderly = (reason: string): void => {
    const restart = platform.restart;
    if (!restart || restarting) return;
    restarting = true;
    log("device").info("restarting: saying goodbye to the hub first", { reason });
    void hub.goodbye().then(
      () => restart(),
      () => restart(),
    );
  };
  // At least 1 s ahead and at most 3 per hour, counted across the reboots (stored); beyond that 429.
  const rebootLimiter = new RebootLimiter({ store: platform.store, clock, onProblem: (m) => log("device").warn(m) });
  commands.register("reboot", rebootCommand({ clock, limiter: rebootLimiter, logger: log("device"), restart: platform.restart ? restartOrderly : undefined }));
  commands.register("getLog", (args) => boundedLog(ringLog!.tailText(typeof args.lines === "number" ? args.lines : 20)));

  const settings = new DeviceSettings({
    twin: hub.twin,
    store: platform.store,
    config: deviceConfig,
    logger: log("settings"),
    names: model.settings,
    defaults: { brightness: 100, debounceMs: 30, longPressMs: 1000, doublePress: true, doublePressMs: 400, deliveryFeedback: true },
    apply: (values: SettingValues) => {
      for (const g of gestures) {
        g.configure({
          ...(typeof values.debounceMs === "number" ? { debounceMs: values.debounceMs } : {}),
          ...(typeof values.longPressMs === "number" ? { longMs: values.longPressMs } : {}),
          ...(typeof values.doublePress === "boolean" ? { doublePress: values.doublePress } : {}),
          ...(typeof values.doublePressMs === "number" ? { doubleMs: values.doublePressMs } : {}),
        });
      }
      if (typeof values.deliveryFeedback === "boolean") deliveryFeedback = values.deliveryFeedback;
      if (typeof values.brightness === "number" && values.brightness !== brightness) {
        brightness = values.brightness;
        for (const [index, spec] of specs) if (!(showingStatus && index === statusLed)) platform.leds.set(index, scale(spec));
      }
    },
  });

  const timeStage = {
    get valid() {
      return clock.valid;
    },
    get lastError() {
      return sntp.status.lastError;
    },
    start: () => {
      if (sntp.status.state === "stopped") sntp.start();
    },
    onValid: (listener: () => void) => clock.onValid(() => listener()),
  };
  // Cache-first: with a usable cached assignment (bootstrap.cached) the hub is connected at once and the service
  // is asked only when the hub refuses the device, after repeated failures, or (in the background) when it is stale.
  // Skipped bootstrap: the configured hub is the assignment, and the boot sequence never enters the bootstrap phase.
  const configured = { hubHostName: config.defaultHub ?? DEFAULT_HUB_HOST, deviceId: config.deviceId, source: "configured" };
  const assignments = config.skipBootstrap
    ? { resolve: () => Promise.resolve(configured), configured }
    : { resolve: (deviceId: string) => bootstrap.resolve(deviceId), cached: (deviceId: string) => bootstrap.cached(deviceId) };
  const boot = new BootSequence({
    wifi,
    time: timeStage,
    bootstrap: assignments,
    hub,
    clock,
    logger: log("boot"),
    deviceId: config.deviceId,
    hubPort: HUB_MQTT_TLS_PORT,
    timeouts: { wifi: 60_000, time: 60_000, bootstrap: 30_000, hub: 10 * 60_000, ...config.boot?.timeouts },
    hubFailuresBeforeBootstrap: config.boot?.hubFailuresBeforeBootstrap ?? 3,
    ...(config.boot?.maxAssignmentAgeMs !== undefined ? { maxAssignmentAgeMs: config.boot.maxAssignmentAgeMs } : {}),
    ...(config.boot?.assignmentRetryMs !== undefined ? { assignmentRetryMs: config.boot.assignmentRetryMs } : {}),
  });

  boot.onStatus((s) => {
    if (s.phase === "online") {
      if (!showingStatus) return;
      showingStatus = false;
      platform.leds.set(statusLed, scale(specs.get(statusLed) ?? { pattern: "off", color: "off" }));
    } else {
      showingStatus = true;
      platform.leds.set(statusLed, statusPattern(statusForBootPhase(s.phase)));
    }
  });

  const startedAt = clock.monotonic();
  const resetReason = platform.systemInfo?.resetReason() ?? "unknown";
  const diagnostics = new DiagnosticsReporter({
    twin: hub.twin,
    clock,
    logger: log("diagnostics"),
    minIntervalMs: 30_000,
    online: () => hub.status.state === "connected",
    collect: () => {
      const w = wifi.status;
      const b = boot.status;
      return {
        firmware: config.firmwareVersion,
        profile: profile.name,
        wifi: { rssi: w.rssi ?? null, channel: w.channel ?? null, ip: w.ip ?? null },
        uptimeS: Math.floor((clock.monotonic() - startedAt) / 1000),
        resetReason,
        freeHeap: platform.systemInfo?.freeHeap() ?? null,
        outboxDepth: hub.outbox.depth,
        eventsDropped: hub.outbox.dropped,
        bootPhase: b.phase,
        safeMode: { active: safeMode.active, failedBoots: safeMode.status.failedBoots, reason: safeMode.status.reason ?? null },
        time: timeSanity.report(),
        lastError: b.lastError ? { phase: b.lastError.phase, message: b.lastError.message.slice(0, 200), at: new Date(b.lastError.at).toISOString() } : null,
      };
    },
  });
  hub.onStatus((s) => (s.state === "connected" ? diagnostics.connected() : diagnostics.changed()));
  timeSanity.onRefusal(() => diagnostics.changed());
  // Connected to the hub, its certificate accepted at this clock: a time worth keeping as the floor (at most daily).
  const trustTime = (): void => {
    if (hub.status.state === "connected" && clock.valid) timeSanity.trusted(clock.now());
  };
  hub.onStatus(trustTime);
  sntp.onSync(trustTime);
  boot.onStatus(() => diagnostics.changed());
  hub.outbox.onEvent((e) => (e.type === "queued" || e.type === "delivered" || e.type === "dropped") && diagnostics.changed());

  // Dropped events are never silent: counted in diagnostics, and announced with an Events_dropped event once the
  // link is back and the outbox has room (sending it into a full outbox would only push out another event).
  let droppedUnreported = 0;
  const announceDrops = (): void => {
    if (droppedUnreported === 0 || hub.status.state !== "connected" || hub.outbox.depth >= hub.outbox.capacity) return;
    const count = droppedUnreported;
    droppedUnreported = 0;
    hub.sendTelemetry(telemetryBody("Events_dropped", { count, ts: new Date(clock.now()).toISOString() }), { event: "Events_dropped" });
  };
  hub.outbox.onEvent((e) => {
    if (e.type === "dropped") droppedUnreported++;
    else if (e.type === "delivered") announceDrops();
  });
  hub.onStatus(() => announceDrops());

  let ota: OtaManager | undefined;
  if (platform.httpStream && platform.crypto && platform.updateWriter && config.releaseKey && platform.restart) {
    ota = new OtaManager({
      currentVersion: config.firmwareVersion,
      product: profile.name,
      securityFloor: new SecurityFloor(platform.store, (message) => log("ota").error("security floor problem", { message })),
      wallClock: () => (clock.valid ? clock.now() : undefined),
      clock,
      random: platform.random,
      logger: log("ota"),
      stream: new GuardedHttpStreamClient(platform.httpStream, guard),
      crypto: platform.crypto,
      writer: platform.updateWriter,
      reporter: hub.twin,
      publicKey: config.releaseKey,
      ca: config.credentials.ca,
      restart: () => restartOrderly("firmware update"),
      ...config.ota,
    });
    ota.boot();
    attachOta(ota, hub);
  } else {
    log("ota").info("over-the-air updates not available on this platform/build");
  }

  safeMode.follow(hub);
  safeMode.onChange((s) => {
    diagnostics.changed();
    if (!s.active && safe && platform.restart) {
      log("safe-mode").info("left safe mode: restarting into normal operation");
      clock.setTimeout(() => restartOrderly("left safe mode"), 1000);
    }
  });

  let notJoined: NotJoinedWatch | undefined;
  if (config.setupAfterNotJoinedMs !== undefined && platform.restart) {
    notJoined = new NotJoinedWatch({
      clock,
      station: wifi,
      store: platform.store,
      notJoinedMs: config.setupAfterNotJoinedMs,
      restart: restartOrderly,
      logger: log("setup"),
    });
  }

  let watchdog: LoopWatchdog | undefined;
  if (platform.watchdog) {
    watchdog = new LoopWatchdog({ clock, port: platform.watchdog, logger: log("watchdog"), timeoutMs: config.watchdog?.timeoutMs ?? 30_000 });
    // The boot sequence emits a status at every phase change and every phase timeout; online, it is quiet by design.
    const bootBeat = watchdog.register("boot", config.watchdog?.bootProgressMs ?? 15 * 60_000, () => boot.status.phase === "online");
    boot.onStatus(() => bootBeat.beat());
  }

  const stop = (): void => {
    notJoined?.stop();
    watchdog?.stop();
    safeMode.dispose();
    boot.stop();
    hub.stop();
    sntp.stop();
    wifi.stop();
    for (const g of gestures) g.dispose();
    ota?.dispose();
    feedback?.dispose();
  };
  let shuttingDown: Promise<void> | undefined;

  let announced = false;
  const announce = (): void => {
    if (announced) return;
    announced = true;
    const body = telemetryBody("Device_started", { firmware: config.firmwareVersion, profile: profile.name, resetReason: resetReason.slice(0, 32), ts: new Date(clock.now()).toISOString() });
    hub.sendTelemetry(body, { event: "Device_started" });
  };
  // Announce once the time is right (the event carries a time stamp).
  clock.onValid(() => announce());

  return {
    clock,
    policy,
    wifi,
    sntp,
    timeSanity,
    bootstrap,
    hub,
    profile,
    box,
    light,
    feedback,
    settings,
    config: deviceConfig,
    log: ringLog,
    boot,
    ota,
    safeMode,
    watchdog,
    start: () => {
      if (clock.valid) announce();
      watchdog?.start();
      notJoined?.start();
      boot.start();
    },
    stop,
    shutdown: () => {
      shuttingDown ??= (async () => {
        boot.stop(); // the hub going away is no reason to reconnect now
        await hub.goodbye();
        stop();
      })();
      return shuttingDown;
    },
  };
}
