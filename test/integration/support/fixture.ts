import { readFileSync } from "node:fs";
import { createCa, issueClient, issueServer, type CertificateAuthority, type Credential, type PkiBackend } from "../../../host/pki/dev-pki";
import { createHostDevice, type HostDevice, type HostDeviceOptions } from "../../../host/device/host-device";
import { LocalHub } from "../../../host/hub/local-hub";
import type { LedColor } from "../../../src/device/kis-box";
import type { LogLevel, Logger } from "../../../src/ports/logger";
import { StaticRoutes } from "../../../src/net/guarded-network";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../../src/bootstrap/bootstrap-contract";
import { tempDir, waitFor } from "./processes";
import { Mosquitto } from "./mosquitto";

/** The hub name the firmware is built for; tests route it to their local broker. */
export const HUB_HOST = DEFAULT_HUB_HOST;

/** Collects log lines so a failing test can show them; quiet otherwise. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  log(level: LogLevel, scope: string, message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`${level} [${scope}] ${message} ${fields ? JSON.stringify(fields) : ""}`);
    if (this.lines.length > 2000) this.lines.shift();
  }
}

/** A PKI for one test run: CA, a server certificate for localhost/127.0.0.1, the device and the hub service. */
export class TestPki {
  readonly dir = tempDir("pki");
  readonly ca: CertificateAuthority;
  readonly server: Credential;
  readonly service: Credential;
  private readonly devices = new Map<string, Credential>();

  constructor(
    readonly serviceId = "local-hub",
    backend: PkiBackend = "openssl",
  ) {
    this.ca = createCa(this.dir, "KIS.ME Test Root CA", backend);
    this.server = issueServer(this.ca, ["localhost", "127.0.0.1", HUB_HOST, BOOTSTRAP_HOST]);
    this.service = issueClient(this.ca, serviceId);
  }

  device(id: string): Credential {
    let cred = this.devices.get(id);
    if (!cred) {
      cred = issueClient(this.ca, id);
      this.devices.set(id, cred);
    }
    return cred;
  }

  get caPem(): Buffer {
    return readFileSync(this.ca.cert);
  }

  /** mosquitto with this PKI (TLS, client certificates, per-device ACL) and the local hub's service side for one device. */
  async mosquittoHub(deviceId: string): Promise<{ broker: Mosquitto; hub: LocalHub }> {
    const broker = await Mosquitto.start({ dir: this.dir, caFile: this.ca.cert, certFile: this.server.cert, keyFile: this.server.key, services: [this.serviceId] });
    const hub = this.hub(broker.port, deviceId);
    await hub.start();
    return { broker, hub };
  }

  /** The local hub's service side for one device; `addressing: "device-scoped"` against the EmbeddedBroker. */
  hub(port: number, deviceId: string, addressing: "device-scoped" | "shared" = "shared"): LocalHub {
    return new LocalHub({
      host: "127.0.0.1",
      port,
      serverName: "localhost",
      ca: this.caPem,
      cert: readFileSync(this.service.cert),
      key: readFileSync(this.service.key),
      serviceId: this.serviceId,
      deviceId,
      addressing,
    });
  }
}

export interface TestDevice extends HostDevice {
  readonly box: NonNullable<HostDevice["box"]>;
  readonly leds: Map<number, LedColor>;
  readonly logger: MemoryLogger;
  waitConnected(timeoutMs?: number): Promise<void>;
}

/** A simulated KIS.BOX (real core, the firmware's own MQTT client over node:tls) pointed at 127.0.0.1:port. */
export function testDevice(pki: TestPki, deviceId: string, port: number, overrides: Partial<HostDeviceOptions> = {}): TestDevice {
  const cred = pki.device(deviceId);
  const leds = new Map<number, LedColor>();
  const logger = new MemoryLogger();
  const hub = overrides.defaultHub ?? HUB_HOST;
  const device = createHostDevice(
    {
      ca: [pki.caPem],
      cert: readFileSync(cred.cert),
      key: readFileSync(cred.key),
      logger,
      trustPlatformClock: true,
      skipBootstrap: true,
      defaultHub: hub,
      routes: new StaticRoutes().set(hub, 8883, "tcp", { address: "127.0.0.1", port }),
      hub: { backoff: { initialMs: 100, maxMs: 1000 }, twinTimeoutMs: 5000, window: 8, stableAfterMs: 1000 },
      ...overrides,
    },
    { set: (index, spec) => leds.set(index + 1, spec.pattern === "off" ? "off" : (spec.color as LedColor)) },
  );
  if (!device.box) throw new Error("testDevice makes a KIS.BOX");
  return Object.assign(device, {
    box: device.box,
    leds,
    logger,
    waitConnected: (timeoutMs = 10_000) => waitFor(() => device.hub.status.state === "connected", `device ${deviceId} to connect`, timeoutMs),
  });
}
