import assert from "node:assert/strict";
import { NodeClock } from "../../host/adapters/node-platform";
import { NodeDatagramPort } from "../../host/adapters/node-udp";
import { EgressDeniedError, EgressPolicy, INTEGRATION_GUIDE_EGRESS, type EgressAttempt } from "../../src/net/egress-policy";
import { ClockNotValidError, GuardedDatagramPort, GuardedMqttConnector, StaticRoutes, type NetworkGuard } from "../../src/net/guarded-network";
import { scoped } from "../../src/ports/logger";
import type { MqttConnectOptions, MqttConnector, MqttSession } from "../../src/ports/mqtt";
import type { DatagramHandlers, DatagramPort, DatagramSocket } from "../../src/ports/udp";
import { EUROPE_POOL, SntpClient, SntpSyncError, type SntpClientOptions, type SntpSample } from "../../src/time/sntp-client";
import { SyncedClock } from "../../src/time/synced-clock";
import { SequenceRandom } from "../support/manual-clock";
import { Chrony } from "./support/chrony";
import { MemoryLogger } from "./support/fixture";
import { waitFor } from "./support/processes";

/**
 * The client's request timeout. A live chronyd on loopback answers within a few ms, but on a busy machine its answer
 * can take hundreds: a tight timeout would fail over from a live server. Dead servers cost this much each.
 */
const TIMEOUT_MS = 1000;
/**
 * Where a late answer from the live server only costs another round (the retry test: the client keeps trying until
 * it syncs, and only one server is alive), the short timeout keeps the rounds of four dead servers quick.
 */
const SHORT_TIMEOUT_MS = 300;
const HUB = "iotrafi-prod-iot-hub.azure-devices.net";

/** Counts the datagrams that really leave (after the guard). */
class CountingDatagrams implements DatagramPort {
  readonly sent: Array<{ host: string; port: number }> = [];
  constructor(private readonly inner: DatagramPort) {}
  open(handlers: DatagramHandlers): DatagramSocket {
    const socket = this.inner.open(handlers);
    return {
      send: (host, port, data) => {
        this.sent.push({ host, port });
        return socket.send(host, port, data);
      },
      close: () => socket.close(),
    };
  }
}

/** The hub connector behind the guard: records what reaches it. */
class RecordingConnector implements MqttConnector {
  readonly calls: MqttConnectOptions[] = [];
  connect(options: MqttConnectOptions): Promise<MqttSession> {
    this.calls.push(options);
    return Promise.resolve({ publish: () => Promise.resolve(), subscribe: () => Promise.resolve([]), close: () => undefined });
  }
}

interface Rig {
  readonly logger: MemoryLogger;
  readonly attempts: EgressAttempt[];
  readonly base: NodeClock;
  readonly synced: SyncedClock;
  /** What really left, after the guard and routing. */
  readonly wire: CountingDatagrams;
  readonly client: SntpClient;
  /** The hub connector behind the guard, and the guarded connector the device would use. */
  readonly hub: RecordingConnector;
  readonly mqtt: GuardedMqttConnector;
}

const HUB_OPTIONS: MqttConnectOptions = {
  host: HUB,
  port: 8883,
  clientId: "box-1",
  username: `${HUB}/box-1/?api-version=2021-04-12`,
  cleanSession: false,
  keepAliveSeconds: 60,
  tls: { ca: [], certificate: new Uint8Array(0), key: new Uint8Array(0) },
};

describe("SNTP against chrony (four local NTP servers behind the pool names, through the egress guard)", function () {
  this.timeout(60_000);
  const servers: Chrony[] = [];
  let rigs: Rig[] = [];

  before(async () => {
    servers.push(...(await Promise.all([0, 1, 2, 3].map(() => Chrony.start()))));
  });

  afterEach(async function () {
    for (const r of rigs) {
      r.client.stop();
      r.base.clearAll();
      if (this.currentTest?.state === "failed") process.stdout.write(`--- log ---\n${r.logger.lines.join("\n")}\n`);
    }
    rigs = [];
    await Promise.all(servers.filter((s) => !s.running).map((s) => s.restart()));
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.dispose()));
  });

  function rig(random: number[], options: Partial<SntpClientOptions> = {}): Rig {
    const logger = new MemoryLogger();
    const policy = new EgressPolicy(INTEGRATION_GUIDE_EGRESS, scoped(logger, "egress"));
    const attempts: EgressAttempt[] = [];
    policy.onAttempt((a) => attempts.push(a));
    const routes = new StaticRoutes();
    EUROPE_POOL.forEach((name, i) => routes.set(name, 123, "udp", { address: "127.0.0.1", port: servers[i]!.port }));
    routes.set(HUB, 8883, "tcp", { address: "127.0.0.1", port: 1 });
    const base = new NodeClock();
    const synced = new SyncedClock(base);
    const guard: NetworkGuard = { policy, routes, clockValid: () => synced.valid };
    const wire = new CountingDatagrams(new NodeDatagramPort());
    const client = new SntpClient({
      datagrams: new GuardedDatagramPort(wire, guard),
      clock: synced,
      syncedClock: synced,
      random: new SequenceRandom(random),
      logger: scoped(logger, "sntp"),
      requestTimeoutMs: TIMEOUT_MS,
      retryBackoff: { initialMs: 200, maxMs: 400 },
      ...options,
    });
    const hub = new RecordingConnector();
    const mqtt = new GuardedMqttConnector(hub, guard);
    const r: Rig = { logger, attempts, base, synced, wire, client, hub, mqtt };
    rigs.push(r);
    return r;
  }

  function assertFrom(sample: SntpSample, index: number, timeoutMs = TIMEOUT_MS): void {
    assert.equal(sample.server, EUROPE_POOL[index]);
    assert.equal(sample.from.address, "127.0.0.1");
    assert.equal(sample.from.port, servers[index]!.port, `answered by chrony instance ${index}`);
    assert.equal(sample.stratum, 10);
    assert.equal(sample.referenceId, "127.127.1.1", "chrony's local reference");
    assert.ok(Math.abs(sample.offsetMs) < 1000, `chrony serves the host clock: offset ${sample.offsetMs} ms`);
    assert.ok(sample.delayMs > -1 && sample.delayMs < timeoutMs, `loopback delay ${sample.delayMs} ms, within the request timeout`);
  }

  it("asks the randomly chosen server first", async () => {
    for (const [random, index] of [
      [0, 0],
      [0.3, 1],
      [0.6, 2],
      [0.9, 3],
    ] as const) {
      const r = rig([random]);
      const sample = await r.client.syncOnce();
      assertFrom(sample, index);
      assert.deepEqual(
        r.attempts.map((a) => [a.host, a.port, a.transport, a.allowed]),
        [[EUROPE_POOL[index], 123, "udp", true]],
        "the egress check saw the pool name",
      );
      assert.deepEqual(r.wire.sent, [{ host: "127.0.0.1", port: servers[index]!.port }], "routed to the instance");
    }
  });

  for (const dead of [1, 2, 3]) {
    it(`fails over when ${dead} of 4 servers are dead`, async () => {
      await Promise.all(servers.slice(0, dead).map((s) => s.stop()));
      const r = rig([0]);
      const started = Date.now();
      const sample = await r.client.syncOnce();
      const took = Date.now() - started;
      assertFrom(sample, dead);
      assert.ok(took >= dead * TIMEOUT_MS - 20, `waited ${took} ms for ${dead} timeouts`);
      assert.deepEqual(
        r.attempts.map((a) => a.host),
        EUROPE_POOL.slice(0, dead + 1),
      );
      r.synced.set(sample.t4 + sample.offsetMs + (r.base.monotonic() - sample.arrivalMonotonic));
      assert.ok(Math.abs(r.synced.now() - Date.now()) < 1000, "within a second of the host clock");
    });
  }

  it("retries with backoff while all four are dead, and syncs once one is back; no hub connection before", async () => {
    await Promise.all(servers.map((s) => s.stop()));
    const r = rig([0.5], { requestTimeoutMs: SHORT_TIMEOUT_MS });
    assert.equal(r.synced.valid, false);
    await assert.rejects(r.mqtt.connect(HUB_OPTIONS, { onMessage: () => undefined, onClose: () => undefined }), ClockNotValidError);
    assert.equal(r.hub.calls.length, 0, "the inner connector is never called before the clock is valid");

    const synced = new Promise<SntpSample>((resolve) => r.client.onSync(resolve));
    r.client.start();
    await waitFor(() => r.client.status.failures >= 2, "two failed rounds", 20_000);
    const status = r.client.status;
    assert.equal(status.synced, false);
    assert.equal(r.synced.valid, false, "invalid until the first success");
    for (const name of EUROPE_POOL) assert.match(status.lastError!, new RegExp(`${name.replace(/\./g, "\\.")}: no reply within ${SHORT_TIMEOUT_MS} ms`));
    assert.ok(r.wire.sent.length >= 8, "every server asked in each round");
    await assert.rejects(r.mqtt.connect(HUB_OPTIONS, { onMessage: () => undefined, onClose: () => undefined }), ClockNotValidError);

    await servers[1]!.restart();
    const sample = await synced;
    assertFrom(sample, 1, SHORT_TIMEOUT_MS);
    assert.equal(r.synced.valid, true);
    assert.ok(Math.abs(r.synced.now() - Date.now()) < 1000, "within a second of the host clock");
    assert.equal(r.client.status.synced, true);
    assert.equal(r.client.status.failures, 0);
    assert.equal(r.client.status.lastServer, EUROPE_POOL[1]);

    await r.mqtt.connect(HUB_OPTIONS, { onMessage: () => undefined, onClose: () => undefined });
    assert.equal(r.hub.calls.length, 1, "with a valid clock the hub connection goes ahead");
    assert.equal(r.hub.calls[0]!.serverName, HUB);
  });

  it("refuses a server that is not in the integration guide's egress table", async () => {
    const r = rig([0], { servers: ["time.google.com"] });
    const error = await r.client.syncOnce().then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SntpSyncError);
    assert.equal(error.failures[0]!.kind, "send");
    assert.ok(error.failures[0]!.cause instanceof EgressDeniedError, "refused by the guard");
    assert.match(error.message, /egress refused: udp time\.google\.com:123/);
    assert.deepEqual(r.wire.sent, [], "no datagram left");
    assert.deepEqual(
      r.attempts.map((a) => [a.host, a.allowed]),
      [["time.google.com", false]],
    );
    assert.ok(r.logger.lines.some((l) => l.includes("egress refused")));

    const mixed = rig([0], { servers: ["time.google.com", EUROPE_POOL[2]!] });
    const sample = await mixed.client.syncOnce();
    assertFrom(sample, 2);
  });
});

describe("NodeDatagramPort", function () {
  this.timeout(10_000);
  let server: Chrony;

  before(async () => {
    server = await Chrony.start();
  });

  after(async () => {
    await server?.dispose();
  });

  it("sends to a name it resolves itself, delivers the reply with its source, and closes idempotently", async () => {
    const port = new NodeDatagramPort();
    const request = new Uint8Array(48);
    request[0] = 0x23;
    request[47] = 0x2a;
    const got: Array<{ data: Uint8Array; address: string; port: number }> = [];
    const socket = port.open({ onMessage: (data, from) => got.push({ data, ...from }) });
    await socket.send("localhost", server.port, request);
    await waitFor(() => got.length === 1, "chrony's reply");
    assert.ok(got[0]!.data instanceof Uint8Array);
    assert.equal(got[0]!.data.length, 48);
    assert.equal(got[0]!.data[0]! & 7, 4, "mode 4");
    assert.equal(got[0]!.data[31], 0x2a, "our transmit timestamp echoed as originate");
    assert.equal(got[0]!.address, "127.0.0.1");
    assert.equal(got[0]!.port, server.port);
    socket.close();
    socket.close();
    await assert.rejects(socket.send("127.0.0.1", server.port, request), /closed/);
    port.open({ onMessage: () => undefined }).close(); // never used: closing must not throw
  });
});
