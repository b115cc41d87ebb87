import { readFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { BOOTSTRAP_HOST, DEFAULT_HUB_HOST } from "../../src/bootstrap/bootstrap-contract";
import { StaticRoutes } from "../../src/net/guarded-network";
import { EUROPE_POOL } from "../../src/time/sntp-client";
import { MemoryStore } from "../../src/ports/storage";
import { silentLogger } from "../../src/ports/logger";
import { startLocalCloud, type LocalCloud } from "../../host/cli/local-cloud";
import { createHostDevice, type HostDevice } from "../../host/device/host-device";
import type { BrokerPublishEvent } from "../../host/hub/embedded-broker";
import { Chrony } from "../integration/support/chrony";
import type { FaultProxy, FaultUdpProxy } from "../integration/support/fault-proxy";
import { tempDir, waitFor, sleep } from "../integration/support/processes";
import { DelayLink, nextAccept } from "./delay-link";

const DEVICE_ID = "box-bench-1";

/** Telemetry (QoS 1, so acknowledged) that the broker took in from `clientId`. */
export const isTelemetry = (clientId: string) => (e: BrokerPublishEvent) => e.clientId === clientId && e.qos === 1 && e.topic.startsWith(`devices/${clientId}/messages/events/`);

/** Collects the broker's PUBLISH events that match, from now on. */
export class PublishLog {
  readonly events: BrokerPublishEvent[] = [];
  private readonly off: () => void;

  constructor(cloud: LocalCloud, readonly match: (e: BrokerPublishEvent) => boolean) {
    this.off = cloud.broker.onPublish((e) => match(e) && this.events.push(e));
  }

  after(t: number): BrokerPublishEvent[] {
    return this.events.filter((e) => e.at >= t);
  }

  async waitAfter(t: number, count: number, what: string, timeoutMs = 60_000): Promise<BrokerPublishEvent> {
    await waitFor(() => this.after(t).length >= count, what, timeoutMs);
    return this.after(t)[count - 1]!;
  }

  close(): void {
    this.off();
  }
}

/**
 * The host device (the firmware over Node adapters, its own MQTT client over node:tls) against the local cloud and
 * chronyd, every peer behind the delay link. The store is kept across boots, so boots after the first find the
 * cached hub assignment, as a device in the field does.
 */
export class HostWorld {
  readonly store = new MemoryStore();
  device: HostDevice | undefined;

  private constructor(
    readonly link: DelayLink,
    readonly cloud: LocalCloud,
    readonly chrony: Chrony,
    readonly ntp: FaultUdpProxy,
    readonly hub: FaultProxy,
    readonly bootstrap: FaultProxy,
  ) {}

  static async start(rttMs: number): Promise<HostWorld> {
    const cloud = await startLocalCloud(join(tempDir("bench-cloud"), "pki"), DEVICE_ID);
    const chrony = await Chrony.start();
    const link = new DelayLink(rttMs);
    return new HostWorld(link, cloud, chrony, await link.udp(chrony.port), await link.tcp(cloud.broker.port), await link.tcp(cloud.bootstrap.port));
  }

  get deviceId(): string {
    return DEVICE_ID;
  }

  /** Powers the device on (a new firmware instance over the kept store). */
  powerOn(): HostDevice {
    const routes = new StaticRoutes()
      .set(DEFAULT_HUB_HOST, 8883, "tcp", { address: "127.0.0.1", port: this.hub.port })
      .set(BOOTSTRAP_HOST, 443, "tcp", { address: "127.0.0.1", port: this.bootstrap.port });
    for (const name of EUROPE_POOL) routes.set(name, 123, "udp", { address: "127.0.0.1", port: this.ntp.port });
    this.device = createHostDevice(
      {
        ca: [this.cloud.caPem],
        cert: readFileSync(this.cloud.device.cert),
        key: readFileSync(this.cloud.device.key),
        logger: silentLogger,
        store: this.store,
        routes,
        // Short backoff: the bench measures from the new TCP connection, and should not wait long for it.
        hub: { backoff: { initialMs: 100, maxMs: 500 } },
      },
      { set: () => undefined },
    );
    this.device.start();
    return this.device;
  }

  async powerOff(): Promise<void> {
    await this.device?.shutdown();
    this.device = undefined;
  }

  async close(): Promise<void> {
    this.device?.stop();
    await this.link.close();
    await this.cloud.close();
    await this.chrony.dispose();
  }
}

export interface ConnectSamples {
  /** First packet (the SNTP request) → the first PUBACK at the device, ms. */
  readonly bootMs: number[];
  /** New TCP connection after a drop → the PUBACK of the event queued meanwhile, ms. */
  readonly reconnectMs: number[];
}

/**
 * B1 for the host device: `runs` boots with a cached assignment and `runs` reconnects. A PUBACK reaches the device
 * one way after the broker took the PUBLISH in (the broker acknowledges at once), so its time is that + RTT / 2.
 */
export async function measureHostConnect(world: HostWorld, runs: number): Promise<ConnectSamples> {
  const id = world.deviceId;
  const telemetry = new PublishLog(world.cloud, isTelemetry(id));
  try {
    // The first boot ever asks the bootstrap service and fills the cache; not measured.
    const first = world.powerOn();
    await waitFor(() => first.boot.status.phase === "online", "the first boot online", 60_000);
    await telemetry.waitAfter(0, 1, "Device_started of the first boot");
    await world.powerOff();

    const bootMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      world.ntp.resetCounters();
      const start = Date.now();
      const device = world.powerOn();
      const acked = await telemetry.waitAfter(start, 1, "the first PUBLISH of a boot");
      const firstPacket = world.ntp.firstDatagramAt ?? start;
      bootMs.push(acked.at + world.link.oneWayMs - firstPacket);
      if (i < runs - 1) {
        await waitFor(() => device.boot.status.phase === "online", "online");
        await world.powerOff();
      }
    }

    const device = world.device!;
    await waitFor(() => device.boot.status.phase === "online", "online");
    const reconnectMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      await sleep(300); // settled: twin GET answered, nothing in flight
      world.hub.blackhole();
      device.box!.press(1); // its PUBLISH is lost with the link
      await sleep(20);
      const accepted = nextAccept(world.hub);
      world.hub.reset();
      world.hub.resume();
      const at = await accepted;
      const acked = await telemetry.waitAfter(at, 1, "the press delivered after the reconnect");
      reconnectMs.push(acked.at + world.link.oneWayMs - at);
    }
    return { bootMs, reconnectMs };
  } finally {
    telemetry.close();
  }
}

export interface DrainSamples {
  /** New TCP connection → the PUBACK of the last of `events` queued events, the device's own client. */
  readonly deviceMs: number;
  /** The same for MQTT.js publishing the same messages at once (pipelined) on the same link. */
  readonly baselineMs: number;
  readonly events: number;
}

/** B2: 1000 events queued while the hub is unreachable, drained after the reconnect; then MQTT.js as the baseline. */
export async function measureDrain(world: HostWorld, events: number): Promise<DrainSamples> {
  const id = world.deviceId;
  const device = world.device ?? world.powerOn();
  await waitFor(() => device.boot.status.phase === "online", "online", 60_000);
  await sleep(300);
  const telemetry = new PublishLog(world.cloud, isTelemetry(id));
  try {
    world.hub.refuse(true);
    world.hub.reset();
    await waitFor(() => device.hub.status.state !== "connected", "the hub link down");
    for (let i = 0; i < events; i++) device.box!.press(1 + (i % 3));
    const accepted = nextAccept(world.hub);
    world.hub.refuse(false);
    const t0 = await accepted;
    const last = await telemetry.waitAfter(t0, events, `${events} events drained`, 300_000);
    const deviceMs = last.at + world.link.oneWayMs - t0;
    const sample = telemetry.after(t0)[0]!;
    await world.powerOff();

    // The baseline: the same identity, topic and body, published all at once by MQTT.js on a new connection.
    const before = Date.now();
    const accept = nextAccept(world.hub);
    const client = mqtt.connect({
      protocol: "mqtts",
      host: "127.0.0.1",
      port: world.hub.port,
      servername: "localhost",
      ca: world.cloud.caPem,
      cert: readFileSync(world.cloud.device.cert),
      key: readFileSync(world.cloud.device.key),
      clientId: id,
      username: `${DEFAULT_HUB_HOST}/${id}/?api-version=2021-04-12`,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    const b0 = await accept;
    for (let i = 0; i < events; i++) client.publish(sample.topic, sample.payload, { qos: 1 });
    const lastBaseline = await telemetry.waitAfter(before, events, `${events} baseline messages`, 300_000);
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    return { deviceMs, baselineMs: lastBaseline.at + world.link.oneWayMs - b0, events };
  } finally {
    telemetry.close();
  }
}
