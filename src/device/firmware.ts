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
import { WifiManager } from "../wifi/wifi-manager";
import { KisBox, type LedSink } from "./kis-box";

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
  readonly leds: LedSink;
  readonly outboxStore?: OutboxStore;
}

export interface FirmwareConfig {
  readonly firmwareVersion: string;
  readonly deviceId: string;
  readonly modelId?: string;
  /** Device certificate and key, and the roots trusted for the hub and the bootstrap service. */
  readonly credentials: TlsCredentials;
  readonly buttonCount: number;
  /** NTP servers (default: the four European pool names the integration guide names). */
  readonly ntpServers?: readonly string[];
  /** The platform clock is already right (a host run without NTP): time counts as valid from the start. */
  readonly trustPlatformClock?: boolean;
  /** Local runs only: where the cloud's names are really reached. The egress check still sees the real names. */
  readonly routes?: RouteMap;
  /** Development runs only (e.g. your own Azure hub): extra allowed endpoints, logged at start. Never on a device. */
  readonly extraEgress?: readonly EgressRule[];
  readonly defaultHub?: string;
  /** Skip the bootstrap service and use `defaultHub` (a run against your own hub). */
  readonly skipBootstrap?: boolean;
  readonly hub?: Partial<Pick<HubClientConfig, "keepAliveSeconds" | "backoff" | "window" | "twinTimeoutMs" | "attemptTimeoutMs" | "stableAfterMs" | "outboxCapacity">>;
  readonly boot?: Partial<Pick<BootOptions, "timeouts" | "hubFailuresBeforeBootstrap">>;
  readonly wifiJoinTimeoutMs?: number;
  readonly sntpRequestTimeoutMs?: number;
}

export interface Firmware {
  readonly clock: SyncedClock;
  readonly policy: EgressPolicy;
  readonly wifi: WifiManager;
  readonly sntp: SntpClient;
  readonly bootstrap: BootstrapClient;
  readonly hub: HubClient;
  readonly box: KisBox;
  readonly boot: BootSequence;
  start(): void;
  stop(): void;
}

/**
 * Wires the portable firmware together over a platform: the same assembly runs on the ESP32, in the
 * Moddable simulator and in the Node host simulation.
 */
export function createFirmware(platform: Platform, config: FirmwareConfig): Firmware {
  const log = (scope: string) => scoped(platform.logger, scope);
  const clock = new SyncedClock(platform.clock, {
    systemTime: platform.systemTime,
    valid: config.trustPlatformClock === true,
    onError: (e) => log("time").error("clock listener failed", { error: String(e) }),
  });
  const policy = new EgressPolicy([...INTEGRATION_GUIDE_EGRESS, ...(config.extraEgress ?? [])], log("egress"));
  for (const rule of config.extraEgress ?? []) log("egress").warn("development egress rule added", { host: rule.host, port: rule.port, transport: rule.transport });
  const guard = { policy, clockValid: () => clock.valid, ...(config.routes ? { routes: config.routes } : {}) };
  const mqtt = new GuardedMqttConnector(platform.mqtt, guard);
  const https = new GuardedHttpsClient(platform.https, guard);
  const datagrams = new GuardedDatagramPort(platform.datagrams, guard);

  const wifi = new WifiManager({
    radio: platform.wifi,
    store: platform.store,
    clock,
    random: platform.random,
    logger: log("wifi"),
    backoff: { initialMs: 1000, maxMs: 60_000 },
    joinTimeoutMs: config.wifiJoinTimeoutMs ?? 30_000,
  });
  const sntp = new SntpClient({
    datagrams,
    clock,
    random: platform.random,
    logger: log("sntp"),
    syncedClock: clock,
    servers: config.ntpServers ?? EUROPE_POOL,
    ...(config.sntpRequestTimeoutMs ? { requestTimeoutMs: config.sntpRequestTimeoutMs } : {}),
  });
  const bootstrap = new BootstrapClient({
    https,
    store: platform.store,
    logger: log("bootstrap"),
    firmwareVersion: config.firmwareVersion,
    ca: config.credentials.ca,
    client: { certificate: config.credentials.certificate, key: config.credentials.key },
    allowsHub: hubAllowedBy(policy),
    clock,
    ...(config.defaultHub ? { defaultHub: config.defaultHub } : {}),
  });
  const hub = new HubClient(
    {
      endpoint: { host: config.defaultHub ?? DEFAULT_HUB_HOST, port: HUB_MQTT_TLS_PORT },
      identity: { deviceId: config.deviceId, tls: config.credentials, ...(config.modelId ? { modelId: config.modelId } : {}) },
      ready: () => clock.valid,
      ...config.hub,
    },
    { connector: mqtt, clock, random: platform.random, logger: platform.logger, ...(platform.outboxStore ? { outboxStore: platform.outboxStore } : {}) },
  );
  const box = new KisBox({ hub, leds: platform.leds, clock, buttonCount: config.buttonCount });
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
  const assignments = config.skipBootstrap
    ? { resolve: (deviceId: string) => Promise.resolve({ hubHostName: config.defaultHub ?? DEFAULT_HUB_HOST, deviceId, source: "configured" }) }
    : bootstrap;
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
    hubFailuresBeforeBootstrap: config.boot?.hubFailuresBeforeBootstrap ?? 5,
  });
  return {
    clock,
    policy,
    wifi,
    sntp,
    bootstrap,
    hub,
    box,
    boot,
    start: () => boot.start(),
    stop: () => {
      boot.stop();
      hub.stop();
      sntp.stop();
      wifi.stop();
    },
  };
}
