import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { createServer, connect, type AddressInfo } from "node:net";
import { appendFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HubClient } from "../../src/azure/hub-client";
import type { OutboxEvent, OutboxRecord } from "../../src/azure/telemetry-outbox";
import { OutboxLog, type OutboxLogEvent } from "../../src/storage/outbox-log";
import { FileRecordStorage } from "../../host/adapters/file-record-storage";
import { NodeStreamSocketPort } from "../../host/adapters/node-stream-socket";
import { StreamMqttConnector } from "../../src/mqtt/mqtt-client";
import { scoped } from "../../src/ports/logger";
import { NodeClock, NodeRandom } from "../../host/adapters/node-platform";
import type { LocalHub } from "../../host/hub/local-hub";
import { FaultProxy, FaultUdpProxy } from "./support/fault-proxy";
import { MemoryLogger, TestPki } from "./support/fixture";
import { Mosquitto } from "./support/mosquitto";
import { sleep, tempDir, waitFor } from "./support/processes";
import { awaitDelivery } from "./support/delivery-figures";
import type { ChildConfig } from "./support/outbox-child";

/** SIGKILLs in `npm test`; KISME_OUTBOX_KILLS=200 (say) for the long variant. */
const KILLS = Math.max(1, Number(process.env["KISME_OUTBOX_KILLS"] ?? 50));
const CHILD = join(__dirname, "support", "outbox-child.js");

interface Device {
  readonly hub: HubClient;
  readonly log: OutboxLog;
  readonly logEvents: OutboxLogEvent[];
  readonly logger: MemoryLogger;
  stop(): void;
}

describe("Persistent outbox (OutboxLog on files) against mosquitto", function () {
  this.timeout(60_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let hub: LocalHub | undefined;
  const dirs: string[] = [];
  const devices: Device[] = [];

  before(async () => {
    pki = new TestPki();
    broker = await Mosquitto.start({ dir: pki.dir, caFile: pki.ca.cert, certFile: pki.server.cert, keyFile: pki.server.key, services: ["local-hub"] });
  });

  afterEach(async function () {
    for (const d of devices.splice(0)) d.stop();
    await hub?.stop();
    hub = undefined;
    if (this.currentTest?.state === "failed") process.stdout.write(`--- mosquitto log ---\n${broker.log}\n`);
    await sleep(50);
  });

  after(async () => {
    await broker?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function startHub(deviceId: string): Promise<LocalHub> {
    hub = pki.hub(broker.port, deviceId);
    await hub.start();
    return hub;
  }

  function outboxDir(): string {
    const dir = tempDir("outbox");
    dirs.push(dir);
    return dir;
  }

  /** A HubClient built as the fixture does, with the persistent outbox over files in `dir`. */
  function device(deviceId: string, dir: string, port = broker.port, extra: { capacity?: number } = {}): Device {
    const cred = pki.device(deviceId);
    const logEvents: OutboxLogEvent[] = [];
    const log = new OutboxLog(new FileRecordStorage(dir), { ...(extra.capacity ? { maxRecords: extra.capacity } : {}), onEvent: (e) => logEvents.push(e) });
    const clock = new NodeClock();
    const logger = new MemoryLogger();
    const client = new HubClient(
      {
        endpoint: { host: "localhost", port, address: "127.0.0.1" },
        identity: { deviceId, tls: { ca: [pki.caPem], certificate: readFileSync(cred.cert), key: readFileSync(cred.key) } },
        backoff: { initialMs: 100, maxMs: 1000 },
        attemptTimeoutMs: 3000,
        stableAfterMs: 1000,
        twinTimeoutMs: 3000,
        window: 8,
        ...(extra.capacity ? { outboxCapacity: extra.capacity } : {}),
      },
      { connector: new StreamMqttConnector({ sockets: new NodeStreamSocketPort(), clock, logger: scoped(logger, "mqtt"), connectTimeoutMs: 3000 }), clock, random: new NodeRandom(), logger, outboxStore: log },
    );
    const d: Device = {
      hub: client,
      log,
      logEvents,
      logger,
      stop: () => {
        client.stop();
        clock.clearAll();
      },
    };
    devices.push(d);
    return d;
  }

  const idsAtHub = (h: LocalHub, deviceId: string): string[] => h.telemetry.filter((t) => t.deviceId === deviceId && t.messageId).map((t) => t.messageId!);

  it("delivers events recorded while the broker was down (and the device restarted) with their original ids and timestamps", async () => {
    const id = "outbox-offline";
    const h = await startHub(id);
    const dir = outboxDir();
    const first = device(id, dir);
    first.hub.start();
    await waitFor(() => first.hub.status.state === "connected", "the first connection");
    await broker.stop();
    await waitFor(() => first.hub.status.state !== "connected", "the device to notice the broker is gone");
    const recorded: OutboxRecord[] = [];
    for (let i = 0; i < 20; i++) {
      // As every event of the schema: the device time it happened travels in the body (`ts`).
      recorded.push(first.hub.sendTelemetry({ i, ts: new Date().toISOString() }, { test: "offline" }));
      await sleep(3);
    }
    assert.ok(recorded[19]!.createdAt > recorded[0]!.createdAt, "distinct device timestamps");
    first.stop(); // power off: nothing of the first run survives but the files

    const second = device(id, dir);
    assert.equal(second.hub.outbox.depth, 20, "all 20 reloaded from the log");
    const sent: OutboxEvent[] = [];
    second.hub.outbox.onEvent((e) => sent.push(e));
    second.hub.start();
    await broker.restart();
    const figures = await awaitDelivery({ label: "offline", sent: recorded.map((r) => r.id), recorded: () => idsAtHub(h, id), timeoutMs: 30_000 });
    assert.equal(figures.lost, 0);
    await waitFor(() => second.hub.outbox.depth === 0, "the reloaded events to be acknowledged", 10_000);
    const delivered = sent.filter((e) => e.type === "delivered").map((e) => e.record);
    assert.deepEqual(
      delivered.map((r) => [r.id, r.createdAt, r.body, r.properties["test"]]),
      recorded.map((r) => [r.id, r.createdAt, r.body, "offline"]),
      "the same ids, device timestamps, bodies and properties, oldest first",
    );
    const atHub = h.telemetry.filter((t) => t.deviceId === id && recorded.some((r) => r.id === t.messageId));
    assert.deepEqual(atHub.map((t) => JSON.parse(t.body).i).filter((i, k, all) => all.indexOf(i) === k), recorded.map((_, i) => i));
    for (const t of atHub) {
      const r = recorded.find((x) => x.id === t.messageId)!;
      const ts: string = JSON.parse(t.body).ts;
      assert.equal(ts, JSON.parse(r.body).ts, "the hub sees when the event happened, not when it was sent");
      assert.ok(Date.parse(ts) <= recorded[19]!.createdAt, "a time from before the power cycle");
      assert.equal(t.system["$.ctime"], undefined, "no creation time beside the body's ts");
    }
    assert.equal(second.log.stats.records, 0);
  });

  it(`loses no stored event when the device process is SIGKILLed at random points (${KILLS} kills)`, async function () {
    this.timeout(Math.max(60_000, KILLS * 3_000));
    const id = "outbox-kill";
    const h = await startHub(id);
    const dir = outboxDir();
    const cred = pki.device(id);
    const base = { dir, port: broker.port, deviceId: id, ca: pki.ca.cert, cert: cred.cert, key: cred.key };
    const recorded = new Map<string, number>();
    const opens: Array<{ records: number; torn: number; corrupt: number }> = [];
    let injected = 0;
    let offlineRuns = 0;
    const random = mulberry32(Number(process.env["KISME_OUTBOX_SEED"] ?? 0x5eed));

    let brokerUp = true;
    for (let k = 0; k < KILLS; k++) {
      // Every tenth run and the next, the broker is down, so events pile up in the log across kills.
      const offline = k % 10 === 4 || k % 10 === 5;
      if (offline && brokerUp) {
        await broker.stop();
        brokerUp = false;
      } else if (!offline && !brokerUp) {
        await broker.restart();
        brokerUp = true;
      }
      if (offline) offlineRuns++;
      const run = startChild({ ...base, mode: "record", intervalMs: 8 });
      await run.opened;
      await sleep(80 + Math.floor(random() * 400));
      run.child.kill("SIGKILL");
      await run.exited;
      assert.equal(run.child.signalCode, "SIGKILL", `the device process ended only by the kill\n${run.output()}`);
      for (const [rid, at] of run.recorded) recorded.set(rid, at);
      opens.push(run.open!);
      // Now and then, a power loss in the middle of a write: a partial frame after the last one.
      if (random() < 0.3 && tearNewestSegment(dir, random)) injected++;
    }
    if (!brokerUp) await broker.restart();
    const drain = startChild({ ...base, mode: "drain" });
    await drain.opened;
    opens.push(drain.open!);
    let timer: NodeJS.Timeout | undefined;
    // A drain run that does not finish still ends in figures: the failure is reported after them.
    const drainFailure = await Promise.race([
      drain.drained.then(() => undefined),
      new Promise<Error>((resolve) => (timer = setTimeout(() => resolve(new Error(`the drain run did not finish\n${drain.output()}`)), 30_000))),
    ]).finally(() => {
      clearTimeout(timer);
      if (drain.child.exitCode === null && drain.child.signalCode === null) drain.child.kill("SIGKILL");
    });
    await drain.exited;
    const ids = [...recorded.keys()];
    const result = await awaitDelivery({
      label: `${KILLS} kills (${offlineRuns} offline runs, ${injected} torn writes injected)`,
      sent: ids,
      recorded: () => idsAtHub(h, id),
      timeoutMs: drainFailure ? 1000 : 15_000,
    });
    assert.deepEqual(result.missing, [], "every event the child reported as stored reached the hub");
    assert.equal(result.lost, 0);
    if (drainFailure) throw drainFailure;
    assert.equal(opens.length, KILLS + 1, "the log opened every time");
    assert.ok(opens.reduce((n, o) => n + o.torn, 0) >= injected, "every injected torn write was detected");
    assert.ok(ids.length >= KILLS * 3, `events were recorded (${ids.length})`);
    const final = new OutboxLog(new FileRecordStorage(dir));
    assert.equal(final.load().length, 0, "after draining, nothing is live");
    assert.deepEqual(readdirSync(dir), [], "and opening the drained log erases every segment");
  });

  it("when the outbox is full, drops the oldest, counts them, and delivers the rest", async () => {
    const id = "outbox-full";
    const h = await startHub(id);
    const dir = outboxDir();
    const proxy = await FaultProxy.start(broker.port);
    try {
      proxy.refuse(true); // the link is down
      const first = device(id, dir, proxy.port, { capacity: 50 });
      const dropped: string[] = [];
      first.hub.outbox.onEvent((e) => e.type === "dropped" && dropped.push(e.record.id));
      first.hub.start();
      await waitFor(() => proxy.resets > 0, "a refused connection attempt");
      const all = Array.from({ length: 80 }, (_, i) => first.hub.sendTelemetry({ i }).id);
      assert.equal(first.hub.outbox.dropped, 30);
      assert.deepEqual(dropped, all.slice(0, 30), "the 30 oldest, in order");
      first.stop();

      const second = device(id, dir, proxy.port, { capacity: 50 });
      assert.equal(second.hub.outbox.depth, 50);
      second.hub.start();
      proxy.refuse(false);
      const r = await awaitDelivery({ label: "outbox full", sent: all.slice(30), recorded: () => idsAtHub(h, id), timeoutMs: 20_000 });
      assert.equal(r.lost, 0);
      await waitFor(() => second.hub.outbox.depth === 0, "the outbox to drain", 10_000);
      const got = idsAtHub(h, id);
      assert.ok(all.slice(0, 30).every((d) => !got.includes(d)), "the dropped ones never left");
    } finally {
      await proxy.close();
    }
  });

  it("delivers 200 events through a link that stalls, resets, trickles and blackholes; duplicates carry the same id", async function () {
    this.timeout(60_000);
    const id = "outbox-faults";
    const h = await startHub(id);
    const proxy = await FaultProxy.start(broker.port);
    try {
      const d = device(id, outboxDir(), proxy.port);
      d.hub.start();
      await waitFor(() => d.hub.status.state === "connected", "the connection through the proxy");
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        ids.push(d.hub.sendTelemetry({ i }, { test: "faults" }).id);
        if (i === 30) proxy.stall();
        if (i === 60) proxy.resume();
        if (i === 80) proxy.reset();
        if (i === 100) proxy.trickle(true);
        if (i === 120) proxy.trickle(false).setLatency(40);
        if (i === 140) proxy.setLatency(0).blackhole();
        if (i === 160) {
          proxy.resume();
          proxy.reset(); // a blackholed link is only noticed by keep-alive; cut it so the test stays short
        }
        if (i === 170) proxy.stall();
        if (i === 175) proxy.reset();
        if (i === 176) proxy.resume();
        await sleep(10);
      }
      const r = await awaitDelivery({
        label: "faulty link",
        sent: ids,
        recorded: () => idsAtHub(h, id),
        timeoutMs: 40_000,
        note: () => `; link: ${proxy.connections} connections, ${proxy.resets} resets`,
      });
      assert.equal(r.lost, 0);
      assert.equal(r.unique, 200);
      await waitFor(() => d.hub.outbox.depth === 0, "the outbox to drain", 10_000);
      assert.ok(proxy.connections >= 3, "the device reconnected after the resets");
      assert.equal(d.log.stats.records, 0, "every PUBACK reached the log");
    } finally {
      await proxy.close();
    }
  });
});

interface ChildRun {
  readonly child: ChildProcess;
  readonly recorded: Map<string, number>;
  open: { records: number; torn: number; corrupt: number } | undefined;
  readonly opened: Promise<void>;
  readonly drained: Promise<void>;
  readonly exited: Promise<void>;
  output(): string;
}

function startChild(config: ChildConfig): ChildRun {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  let partial = "";
  let resolveOpened!: () => void;
  let rejectOpened!: (e: Error) => void;
  let resolveDrained!: () => void;
  const run: ChildRun = {
    child,
    recorded: new Map(),
    open: undefined,
    opened: new Promise<void>((resolve, reject) => ((resolveOpened = resolve), (rejectOpened = reject))),
    drained: new Promise<void>((resolve) => (resolveDrained = resolve)),
    exited: new Promise<void>((resolve) => child.once("exit", () => resolve())),
    output: () => text.slice(-4000),
  };
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  child.stdout!.on("data", (d: Buffer) => {
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      text += `${line}\n`;
      const [kind, a, b, c] = line.split(" ");
      if (kind === "OPEN") {
        run.open = { records: Number(a), torn: Number(b), corrupt: Number(c) };
        resolveOpened();
      } else if (kind === "REC") run.recorded.set(a!, Number(b));
      else if (kind === "DRAINED") resolveDrained();
    }
  });
  child.once("exit", (code, signal) => {
    if (!run.open) rejectOpened(new Error(`the device process exited (${code ?? signal}) before opening its log\n${text.slice(-4000)}`));
  });
  return run;
}

/** Appends part of a plausible frame to the newest segment file, as a write cut by power loss leaves it. */
function tearNewestSegment(dir: string, random: () => number): boolean {
  const segments = readdirSync(dir)
    .filter((n) => /^ob\d+$/.test(n))
    .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
  const newest = segments[segments.length - 1];
  if (!newest) return false;
  const frame = Buffer.alloc(60);
  frame[0] = 0xb7;
  frame[1] = 1;
  frame.writeUInt16LE(48, 2);
  frame.writeUInt32LE(0x7fffffff, 4);
  for (let i = 8; i < frame.length; i++) frame[i] = Math.floor(random() * 256);
  appendFileSync(join(dir, newest), frame.subarray(0, 1 + Math.floor(random() * (frame.length - 1))));
  return true;
}

/** Deterministic PRNG, so a failing sequence of kill times can be replayed (KISME_OUTBOX_SEED). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("FaultProxy (test support: a degradable loopback link)", function () {
  this.timeout(10_000);

  /** An echo server, and a client through the proxy that collects what comes back. */
  async function echoThroughProxy() {
    const server = createServer((s) => {
      s.on("error", () => undefined); // reset by the proxy
      s.pipe(s);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const proxy = await FaultProxy.start((server.address() as AddressInfo).port);
    const client = connect(proxy.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    client.on("data", (d: Buffer) => chunks.push(d));
    client.on("error", () => undefined);
    await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    await waitFor(() => proxy.open === 1, "the proxied connection");
    const got = (): string => Buffer.concat(chunks).toString();
    const close = async (): Promise<void> => {
      client.destroy();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    return { proxy, client, chunks, got, close };
  }

  it("forwards, stalls (holding bytes on an open connection), resumes in order, and adds latency", async () => {
    const t = await echoThroughProxy();
    try {
      t.client.write("a");
      await waitFor(() => t.got() === "a", "the echo");
      t.proxy.stall();
      t.client.write("b");
      t.client.write("c");
      await sleep(150);
      assert.equal(t.got(), "a", "nothing passes a stalled link");
      assert.equal(t.proxy.open, 1, "the connection stays open");
      t.proxy.resume();
      await waitFor(() => t.got() === "abc", "held bytes delivered in order");
      t.proxy.setLatency(120);
      const sentAt = Date.now();
      t.client.write("d");
      await waitFor(() => t.got() === "abcd", "the delayed echo");
      assert.ok(Date.now() - sentAt >= 200, "latency applies in both directions");
    } finally {
      await t.close();
    }
  });

  it("blackholes bytes, trickles them one at a time, resets and refuses connections", async () => {
    const t = await echoThroughProxy();
    try {
      t.proxy.blackhole();
      t.client.write("lost");
      await sleep(100);
      assert.equal(t.got(), "");
      t.proxy.resume().trickle(true);
      const writes = t.proxy.writes;
      t.client.write("slow");
      await waitFor(() => t.got() === "slow", "the trickled echo");
      assert.equal(t.proxy.writes - writes, 8, "4 bytes up and 4 down, one write each");
      const closed = new Promise<void>((resolve) => t.client.once("close", () => resolve()));
      t.proxy.reset();
      await closed;
      assert.equal(t.proxy.resets, 1);
      t.proxy.refuse(true);
      const refused = connect(t.proxy.port, "127.0.0.1");
      const outcome = await new Promise<string>((resolve) => {
        refused.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        refused.once("close", () => resolve("closed"));
      });
      assert.match(outcome, /ECONNRESET|closed/);
      assert.equal(t.proxy.resets, 2);
    } finally {
      await t.close();
    }
  });

  it("proxies UDP: forwards both ways, drops while blackholed, holds while stalled", async () => {
    const server = dgram.createSocket("udp4");
    server.on("message", (m, from) => server.send(m, from.port, from.address));
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", () => resolve()));
    const proxy = await FaultUdpProxy.start(server.address().port);
    const client = dgram.createSocket("udp4");
    const got: string[] = [];
    client.on("message", (m) => got.push(m.toString()));
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", () => resolve()));
    try {
      client.send("one", proxy.port, "127.0.0.1");
      await waitFor(() => got.length === 1, "the UDP echo");
      proxy.blackhole();
      client.send("two", proxy.port, "127.0.0.1");
      await sleep(100);
      assert.deepEqual(got, ["one"]);
      proxy.resume().stall();
      client.send("three", proxy.port, "127.0.0.1");
      await sleep(100);
      assert.deepEqual(got, ["one"]);
      proxy.resume();
      await waitFor(() => got.length === 2, "the held datagram");
      assert.deepEqual(got, ["one", "three"]);
      assert.ok(proxy.dropped >= 1);
    } finally {
      client.close();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
