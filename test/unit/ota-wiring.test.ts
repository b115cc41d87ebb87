import assert from "../support/assert";
import { HubClient } from "../../src/azure/hub-client";
import { OtaManager, type FirmwareReport } from "../../src/update/ota-manager";
import { attachOta } from "../../src/update/ota-wiring";
import { canonicalMessage } from "../../src/update/update-manifest";
import { scoped, silentLogger } from "../../src/ports/logger";
import { toHex, utf8 } from "../../src/core/bytes";
import { FakeConnector, type FakeSession } from "../support/fake-mqtt";
import { FakeCrypto, FakeHttpStream, MemoryUpdateWriter, encodeBase64, fakeSign, testImage } from "../support/fake-ota";
import { sha256 } from "../support/sha256";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";
import { MemoryStore } from "../../src/ports/storage";
import { SECURITY_FLOOR_KEY, SecurityFloor } from "../../src/update/security-floor";

const HUB = "iotrafi-prod-iot-hub.azure-devices.net";
const KEY = new Uint8Array(65).fill(3);
KEY[0] = 4;
const IMAGE = testImage(3000);

function manifest() {
  const base = { product: "box" as const, version: "2.0.0", url: "https://kismefw.blob.core.windows.net/fw/2.0.0.bin", size: IMAGE.length, sha256: toHex(sha256(IMAGE)), securityVersion: 2 };
  return { ...base, signature: encodeBase64(fakeSign(KEY, utf8(canonicalMessage(base)))) };
}

function device(running: string, writer: MemoryUpdateWriter, store = new MemoryStore()) {
  const clock = new ManualClock();
  const connector = new FakeConnector();
  const random = new SequenceRandom([0.5]);
  const hub = new HubClient(
    {
      endpoint: { host: HUB, port: 8883 },
      identity: { deviceId: "box-1", tls: { ca: [], certificate: utf8("c"), key: utf8("k") } },
      backoff: { initialMs: 1000, maxMs: 60_000 },
      twinTimeoutMs: 5000,
    },
    { connector, clock, random, logger: silentLogger },
  );
  const stream = new FakeHttpStream();
  let restarts = 0;
  const ota = new OtaManager({
    currentVersion: running,
    product: "box",
    securityFloor: new SecurityFloor(store),
    wallClock: () => Date.UTC(2026, 0, 15),
    clock,
    random,
    logger: scoped(silentLogger, "ota"),
    stream,
    crypto: new FakeCrypto(),
    writer,
    reporter: hub.twin,
    publicKey: KEY,
    ca: [],
    restart: () => restarts++,
    rebootDelayMs: 100,
    progressIntervalMs: 0,
  });
  ota.boot();
  attachOta(ota, hub);
  return { clock, connector, hub, stream, ota, restarts: () => restarts };
}

function rid(topic: string): string {
  return /\$rid=(\w+)/.exec(topic)![1]!;
}

function answerTwinGet(session: FakeSession, desired: object): void {
  const get = session.on("$iothub/twin/GET/").pop()!;
  session.deliver(`$iothub/twin/res/200/?$rid=${rid(get.topic)}`, JSON.stringify({ desired, reported: { $version: 1 } }));
}

/** Acknowledges every reported PATCH so far; returns their firmware values. */
function ackReports(session: FakeSession, acked: Set<string>): FirmwareReport[] {
  const out: FirmwareReport[] = [];
  for (const p of session.on("$iothub/twin/PATCH/properties/reported/")) {
    const body = JSON.parse(p.text) as { firmware?: FirmwareReport };
    if (body.firmware) out.push(body.firmware);
    const id = rid(p.topic);
    if (acked.has(id)) continue;
    acked.add(id);
    session.deliver(`$iothub/twin/res/204/?$rid=${id}&$version=${acked.size + 1}`);
  }
  return out;
}

describe("OTA wired to the hub (twin, methods, link status)", () => {
  it("a desired firmware in the twin starts the update; status goes out as reported properties", async () => {
    const writer = new MemoryUpdateWriter("1.0.0");
    const d = device("1.0.0", writer);
    d.hub.start();
    await flush();
    const session = d.connector.last;
    answerTwinGet(session, { $version: 4, firmware: manifest() });
    await flush();
    assert.equal(d.stream.exchanges.length, 1);
    d.stream.last.respond(200, { "content-length": String(IMAGE.length) }).stream(IMAGE).end();
    const acked = new Set<string>();
    for (let i = 0; i < 10; i++) {
      ackReports(session, acked);
      await flush();
    }
    await d.clock.advance(100);
    assert.equal(d.restarts(), 1);
    // The twin coalesces patches while one is in flight: the first says what runs, the last where the update is.
    const reports = ackReports(session, acked);
    assert.deepEqual(reports[0], { currentVersion: "1.0.0", targetVersion: null, status: "idle", progress: 0, lastError: null });
    assert.deepEqual(reports[reports.length - 1], { currentVersion: "1.0.0", targetVersion: "2.0.0", status: "rebooting", progress: 100, lastError: null });
    assert.equal(writer.boot, "b");
  });

  it("the new image is confirmed once connected and its report accepted; then the security floor rises to its security version", async () => {
    const writer = new MemoryUpdateWriter("1.0.0");
    const nvs = new MemoryStore();
    const first = device("1.0.0", writer, nvs);
    first.ota.apply(manifest(), false);
    first.stream.last.respond(200, {}).stream(IMAGE).end();
    writer.powerOn();
    const d = device("2.0.0", writer, nvs);
    assert.equal(d.ota.status.status, "applying");
    d.hub.start();
    await flush();
    const session = d.connector.last;
    const patch = session.on("$iothub/twin/PATCH/properties/reported/");
    assert.equal(patch.length, 1);
    assert.deepEqual(JSON.parse(patch[0]!.text), { firmware: { currentVersion: "2.0.0", targetVersion: "2.0.0", status: "succeeded", progress: 100, lastError: null } });
    assert.equal(writer.markedValid, 0, "not before the hub has answered");
    session.deliver(`$iothub/twin/res/204/?$rid=${rid(patch[0]!.topic)}&$version=9`);
    assert.equal(nvs.get(SECURITY_FLOOR_KEY), undefined, "not raised before the confirmation");
    await flush();
    assert.equal(writer.markedValid, 1);
    assert.equal(d.ota.status.status, "succeeded");
    assert.equal(nvs.get(SECURITY_FLOOR_KEY), "2");
  });

  it("registers startUpdate and cancelUpdate as direct methods", async () => {
    const writer = new MemoryUpdateWriter("1.0.0");
    const d = device("1.0.0", writer);
    d.hub.start();
    await flush();
    const session = d.connector.last;
    session.deliver("$iothub/methods/POST/startUpdate/?$rid=7", JSON.stringify(manifest()));
    await flush();
    const started = session.on("$iothub/methods/res/").pop()!;
    assert.match(started.topic, /^\$iothub\/methods\/res\/200\/\?\$rid=7$/);
    assert.equal((JSON.parse(started.text) as FirmwareReport).status, "downloading");
    session.deliver("$iothub/methods/POST/cancelUpdate/?$rid=8", "");
    await flush();
    const cancelled = session.on("$iothub/methods/res/").pop()!;
    assert.deepEqual(JSON.parse(cancelled.text), { cancelled: true, status: "failed" });
    assert.equal(writer.cancelled, 1);
    session.deliver("$iothub/methods/POST/startUpdate/?$rid=9", JSON.stringify({ version: "nope" }));
    await flush();
    assert.match(session.on("$iothub/methods/res/").pop()!.topic, /^\$iothub\/methods\/res\/400\//);
  });
});
