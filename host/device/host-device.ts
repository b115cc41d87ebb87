import { X509Certificate } from "node:crypto";
import type { Logger } from "../../src/ports/logger";
import type { KeyValueStore } from "../../src/ports/storage";
import { MemoryStore } from "../../src/ports/storage";
import type { PatternTarget } from "../../src/device/led-patterns";
import { createFirmware, type Firmware, type FirmwareConfig } from "../../src/device/firmware";
import { WifiCredentialStore } from "../../src/wifi/wifi-credentials";
import { ConfigStore, EMPTY_CONFIG } from "../../src/storage/config-store";
import { StreamMqttConnector } from "../../src/mqtt/mqtt-client";
import { NodeStreamSocketPort } from "../adapters/node-stream-socket";
import { NodeClock, NodeRandom } from "../adapters/node-platform";
import { NodeHttpsClient } from "../adapters/node-https";
import { NodeDatagramPort } from "../adapters/node-udp";
import { SimulatedWifiRadio, type SimulatedNetwork } from "../adapters/simulated-wifi";
import { NodeHttpStreamClient } from "../adapters/node-http-stream";
import { NodeCrypto } from "../adapters/node-crypto";
import { FileUpdateWriter } from "../adapters/file-update-writer";
import { FileRecordStorage } from "../adapters/file-record-storage";
import { NodeWatchdog } from "../adapters/node-watchdog";
import { OutboxLog } from "../../src/storage/outbox-log";
import { scoped } from "../../src/ports/logger";
import { TIME_FLOOR_KEY } from "../../src/time/time-sanity";
import { HostSetup, setupNetworks, type HostSetupReady } from "./host-setup";
import { DEFAULT_NOT_JOINED_MS, SETUP_MODE_LED } from "../../src/setup/setup-mode";
import { takeSetupRequest } from "../../src/setup/setup-request";
import { errorMessage } from "../../src/core/listeners";

/** Reads the CN of a PEM or DER certificate: IoT Hub's X.509 device id. */
export function certificateCommonName(cert: Buffer): string {
  const subject = new X509Certificate(cert).subject;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1];
  if (!cn) throw new Error(`the device certificate has no CN in its subject (${subject.replace(/\n/g, ", ")})`);
  return cn;
}

/** Any certificate (PEM or DER) as PEM, the form Node's TLS takes. */
export function toPem(cert: Buffer): Buffer {
  return Buffer.from(new X509Certificate(cert).toString());
}

/** The access point the host simulation's radio sees. */
export const SIMULATED_NETWORK = { ssid: "KISME-SIM", passphrase: "kisme-simulated-wlan" } as const;

export interface HostDeviceOptions extends Omit<FirmwareConfig, "deviceId" | "credentials" | "firmwareVersion"> {
  readonly ca: readonly Buffer[];
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Default: the CN of the certificate. */
  readonly deviceId?: string;
  readonly firmwareVersion?: string;
  readonly logger: Logger;
  readonly store?: KeyValueStore;
  /**
   * Over-the-air updates on the host: A/B slot files and the boot record live here, and `onRestart` is called
   * when the firmware restarts the device (after an update, or a rollback); the caller builds the device anew
   * from the same folders — the next boot.
   */
  readonly update?: { readonly dir: string; readonly slotSize: number; readonly onRestart: () => void };
  /** Keep the telemetry outbox in files here (survives restarts and power loss); in memory without it. */
  readonly outboxDir?: string;
  /** Kill the process when its event loop stalls, as the device's task watchdog would reset it. */
  readonly hostWatchdog?: boolean;
  /**
   * This boot follows a restart the firmware asked for (not a power-on): the reset reason is then `update` on the
   * first boot of a new image, else `software`.
   */
  readonly restarted?: boolean;
  /**
   * Field setup (README: Set up a device): the store is not provisioned with the simulated network, the radio
   * also offers an open, a WPA3-only and a WEP network, and a boot without stored credentials runs setup mode
   * (the page on 127.0.0.1) before the firmware starts; `onReady` gets the page's address and the password.
   */
  readonly setup?: {
    readonly port?: number;
    readonly onReady: (ready: HostSetupReady) => void;
    readonly lingerMs?: number;
    readonly idleTimeoutMs?: number;
  };
  /** What the simulated radio offers instead of the default networks (e.g. the stored network out of range). */
  readonly networks?: readonly SimulatedNetwork[];
}

export interface HostDevice extends Firmware {
  readonly deviceId: string;
  readonly radio: SimulatedWifiRadio;
  /** While setup mode runs (before the firmware starts), its host side. */
  readonly setup: () => HostSetup | undefined;
}

/**
 * The firmware on the host: the same portable assembly as on the device, over Node adapters and a
 * simulated Wi-Fi radio. A fresh store is provisioned with the simulated network's credentials.
 */
export function createHostDevice(options: HostDeviceOptions, leds: PatternTarget): HostDevice {
  const clock = new NodeClock();
  const deviceId = options.deviceId ?? certificateCommonName(options.cert);
  const store = options.store ?? new MemoryStore();
  // Provisioned through the configuration record (before the firmware opens it, so the firmware sees it).
  if (!options.setup) {
    const credentials = new WifiCredentialStore(new ConfigStore({ store, defaults: EMPTY_CONFIG, importLegacy: true }));
    if (!credentials.load().credentials) credentials.save(SIMULATED_NETWORK);
  }
  const radio = new SimulatedWifiRadio(
    clock,
    options.networks ? [...options.networks] : options.setup ? setupNetworks(SIMULATED_NETWORK) : [{ ...SIMULATED_NETWORK, authMode: "wpa2-psk", rssi: -52, channel: 6 }],
  );
  const random = new NodeRandom();
  const writer = options.update
    ? FileUpdateWriter.powerOn(options.update.dir, { slotSize: options.update.slotSize, factoryVersion: options.firmwareVersion ?? "0.1.0", restart: options.update.onRestart })
    : undefined;
  const boot = writer?.bootState();
  const resetReason = !options.restarted ? "power-on" : boot?.pendingVerification && boot.pendingBootCount <= 1 ? "update" : "software";
  const outboxLog = options.outboxDir
    ? new OutboxLog(new FileRecordStorage(options.outboxDir), {
        onEvent: (e) => {
          if (e.type !== "compacted") scoped(options.logger, "outbox").warn(`outbox log: ${e.type}`, { ...e });
        },
      })
    : undefined;
  const firmware = createFirmware(
    {
      clock,
      systemTime: { set: () => undefined }, // the host's TLS uses the OS clock, which is not ours to set
      random,
      logger: options.logger,
      // The device's own MQTT client, over node:tls here as over the SDK's TLS socket on the device.
      mqtt: new StreamMqttConnector({ sockets: new NodeStreamSocketPort(), clock, logger: scoped(options.logger, "mqtt") }),
      https: new NodeHttpsClient(),
      datagrams: new NodeDatagramPort(),
      wifi: radio,
      store,
      leds,
      systemInfo: { resetReason: () => resetReason, freeHeap: () => undefined },
      ...(outboxLog ? { outboxStore: outboxLog } : {}),
      ...(options.hostWatchdog ? { watchdog: new NodeWatchdog({ mode: "kill" }) } : {}),
      ...(writer && options.update
        ? { httpStream: new NodeHttpStreamClient(), crypto: new NodeCrypto(), updateWriter: writer, restart: options.update.onRestart }
        : {}),
    },
    {
      ...options,
      // Telemetry in flight follows the transport's send buffer (see DEFAULT_IN_FLIGHT_BYTES): the device's lwIP holds
      // 8 KiB, the host kernel's TCP buffers grow to megabytes, so here the budget is one bandwidth-delay product of an
      // ordinary uplink (256 KiB: 100 ms at 20 Mbit/s; a full outbox of 1000 presses is ~200 KB) and memory no concern.
      // 64 KiB kept a 100 ms link idle for two round trips of a 1000-event drain (B2 1.5× MQTT.js).
      hub: { inFlightBytes: HOST_IN_FLIGHT_BYTES, window: Math.min(HOST_IN_FLIGHT_MESSAGES, options.hub?.outboxCapacity ?? HOST_IN_FLIGHT_MESSAGES), ...options.hub },
      // With setup mode available, a stored network gone for 10 min restarts into it (as on a provisioned device).
      ...(options.setup && options.update && options.setupAfterNotJoinedMs === undefined ? { setupAfterNotJoinedMs: DEFAULT_NOT_JOINED_MS } : {}),
      // On the host the binary never changes: the version is the one in the booted slot.
      firmwareVersion: writer?.slots().runningVersion ?? options.firmwareVersion ?? "0.1.0",
      // The host firmware is built when it starts (tsc in npm start): its build floor is the start of today (UTC),
      // as scripts/build-device.mjs compiles into a device build, so one NTP server is enough for a fresh state.
      timeFloor: options.timeFloor ?? startOfUtcDay(Date.now()),
      deviceId,
      credentials: { ca: options.ca.map((c) => toPem(c)), certificate: options.cert, key: options.key },
    },
  );
  let setup: HostSetup | undefined;
  let stopped = false;
  const setupOptions = options.setup;
  const start = (): void => {
    const stored = new WifiCredentialStore(firmware.config).load().credentials;
    // The previous run's request (its stored network not joined), taken once as on the device.
    const request = setupOptions ? takeSetupRequest(store) : undefined;
    if (!setupOptions || (stored && !request)) return firmware.start();
    // No Wi-Fi credentials, or the request: setup mode before the station starts, as on the device; the status LED shows it.
    leds.set(firmware.profile.statusLed ?? 0, SETUP_MODE_LED);
    setup = new HostSetup({
      clock,
      random,
      logger: options.logger,
      store,
      radio,
      deviceId,
      hasCredentials: stored !== undefined,
      ...(request ? { request } : {}),
      info: () => ({
        deviceId,
        profile: firmware.profile.name,
        firmwareVersion: writer?.slots().runningVersion ?? options.firmwareVersion ?? "0.1.0",
        cloudReached: store.get(TIME_FLOOR_KEY) !== undefined, // written only while the hub link is up
      }),
      storedSsid: () => new WifiCredentialStore(firmware.config).load().credentials?.ssid,
      // Through the firmware's own configuration (its WifiManager is still stopped: this only stores).
      save: (credentials) => firmware.wifi.setCredentials(credentials),
      ...(setupOptions.port !== undefined ? { port: setupOptions.port } : {}),
      ...(setupOptions.lingerMs !== undefined ? { lingerMs: setupOptions.lingerMs } : {}),
      ...(setupOptions.idleTimeoutMs !== undefined ? { idleTimeoutMs: setupOptions.idleTimeoutMs } : {}),
    });
    setup.run(setupOptions.onReady).then(
      () => {
        setup = undefined;
        if (!stopped) firmware.start();
      },
      (error: unknown) => scoped(options.logger, "setup").error("setup mode failed", { error: errorMessage(error) }),
    );
  };
  return {
    ...firmware,
    deviceId,
    radio,
    setup: () => setup,
    start,
    stop: () => {
      stopped = true;
      setup?.close();
      firmware.stop();
      clock.clearAll();
    },
    shutdown: async () => {
      stopped = true;
      setup?.close();
      await firmware.shutdown();
      clock.clearAll();
    },
  };
}

export const HOST_IN_FLIGHT_BYTES = 256 * 1024;
/** The default outbox capacity: a full outbox may be in flight at once. */
export const HOST_IN_FLIGHT_MESSAGES = 1000;

function startOfUtcDay(ms: number): number {
  return ms - (ms % 86_400_000);
}
