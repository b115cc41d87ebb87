import assert from "../support/assert";
import { OtaManager, cancelUpdateHandler, startUpdateHandler, type FirmwareReport, type OtaManagerOptions } from "../../src/update/ota-manager";
import { canonicalMessage, type FirmwareManifest } from "../../src/update/update-manifest";
import { MethodError } from "../../src/azure/direct-methods";
import { formatFields, scoped, silentLogger, type LogFields, type LogLevel } from "../../src/ports/logger";
import { toHex, utf8 } from "../../src/core/bytes";
import { FakeCrypto, FakeHttpStream, MemoryUpdateWriter, encodeBase64, fakeSign, testImage, type FakeExchange } from "../support/fake-ota";
import { sha256 } from "../support/sha256";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";
import type { UpdateWriter } from "../../src/ports/update-writer";
import { BOOTLOADER_ROLLBACK_REASON, PartitionUpdateWriter } from "../../src/update/partition-update-writer";
import { SimulatedPartitions } from "../../src/update/simulated-partitions";
import { MemoryStore } from "../../src/ports/storage";
import { RingLog } from "../../src/core/ring-log";
import { SECURITY_FLOOR_KEY, SECURITY_PENDING_KEY, SecurityFloor } from "../../src/update/security-floor";
import { eraseKeys } from "../../src/device/factory-reset";

const KEY = new Uint8Array(65).fill(7);
KEY[0] = 4;
const OTHER_KEY = new Uint8Array(65).fill(9);
OTHER_KEY[0] = 4;
const HOST = "kismefw.blob.core.windows.net";
const CHUNK = 1024;
const IMAGE = testImage(10 * CHUNK + 300);

/** Wall-clock time of the tests' devices (their clock is valid unless a test says otherwise). */
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

function manifest(fields: Partial<FirmwareManifest> = {}, key = KEY, image = IMAGE): FirmwareManifest {
  const base = { product: "box" as const, version: "1.3.0", url: `https://${HOST}/fw/kisbox.bin?sig=x`, size: image.length, sha256: toHex(sha256(image)), securityVersion: 0, ...fields };
  return { ...base, signature: encodeBase64(fakeSign(key, utf8(canonicalMessage(base)))) };
}

interface Reported extends FirmwareReport {
  at: number;
}

function setup<W extends UpdateWriter = MemoryUpdateWriter>(
  options: { running?: string; writer?: W; clock?: ManualClock; store?: MemoryStore; wallClock?: () => number | undefined; overrides?: Partial<OtaManagerOptions> } = {},
) {
  const clock = options.clock ?? new ManualClock();
  /** The device's NVS: the security floor lives here (and, with PartitionUpdateWriter, the update record). */
  const store = options.store ?? new MemoryStore();
  const floor = new SecurityFloor(store);
  const running = options.running ?? "1.2.3";
  const writer = (options.writer ?? new MemoryUpdateWriter(running, 64 * 1024)) as W;
  const stream = new FakeHttpStream();
  const crypto = new FakeCrypto();
  const reports: Reported[] = [];
  let restarts = 0;
  const ack = { mode: "accept" as "accept" | "refuse" | "hang" };
  const ota = new OtaManager({
    currentVersion: running,
    product: "box",
    securityFloor: floor,
    wallClock: options.wallClock ?? (() => NOW + clock.monotonic()),
    clock,
    random: new SequenceRandom([0.5]),
    logger: scoped(silentLogger, "ota"),
    stream,
    crypto,
    writer,
    reporter: {
      report: (patch) => {
        reports.push({ ...(patch.firmware as FirmwareReport), at: clock.monotonic() });
        if (ack.mode === "refuse") return Promise.reject(new Error("reported-properties PATCH refused with status 400"));
        if (ack.mode === "hang") return new Promise<number>(() => undefined);
        return Promise.resolve(reports.length);
      },
    },
    publicKey: KEY,
    ca: [utf8("root")],
    restart: () => restarts++,
    chunkSize: CHUNK,
    stallTimeoutMs: 5000,
    maxRetries: 3,
    backoff: { initialMs: 1000, maxMs: 4000 },
    progressIntervalMs: 2000,
    rebootDelayMs: 1000,
    confirmTimeoutMs: 60_000,
    maxPendingBoots: 2,
    ...options.overrides,
  });
  ota.boot();
  const statuses = (): string[] => reports.map((r) => r.status).filter((s, i, all) => i === 0 || all[i - 1] !== s);
  const desire = (m: unknown, version = 2): void => ota.onDesired({ properties: { firmware: m }, version, full: false });
  return { clock, writer, stream, crypto, reports, ota, statuses, desire, ack, store, floor, restarts: () => restarts };
}

/** Serves the image (or the given bytes) whole with a 200 in 1000-byte pieces. */
function serve(exchange: FakeExchange, image: Uint8Array = IMAGE, headers: Record<string, string> = { "content-length": String(image.length) }): void {
  exchange.respond(200, headers).stream(image).end();
}

describe("OtaManager", () => {
  it("downloads, verifies, selects the new slot and restarts: downloading, verifying, applying, rebooting", async () => {
    const t = setup();
    assert.equal(t.ota.status.status, "idle");
    t.desire(manifest());
    assert.equal(t.stream.exchanges.length, 1);
    const request = t.stream.last.request;
    assert.equal(request.host, HOST);
    assert.equal(request.port, 443);
    assert.equal(request.path, "/fw/kisbox.bin?sig=x");
    assert.equal(request.rangeStart, undefined);
    assert.equal(request.headers?.["user-agent"], "kisme-firmware/1.2.3");
    serve(t.stream.last);
    assert.deepEqual(t.statuses(), ["downloading", "verifying", "applying", "rebooting"]);
    assert.equal(t.writer.completed, 1);
    assert.equal(t.writer.cancelled, 0);
    assert.equal(t.writer.boot, "b");
    assert.deepEqual(t.writer.slot.b.image, IMAGE);
    assert.equal(t.writer.bootState().pendingVerification, true);
    assert.equal(t.restarts(), 0, "the restart waits so the status can leave");
    await t.clock.advance(1000);
    assert.equal(t.restarts(), 1);
    const last = t.reports[t.reports.length - 1]!;
    assert.deepEqual({ ...last, at: 0 }, { currentVersion: "1.2.3", targetVersion: "1.3.0", status: "rebooting", progress: 100, lastError: null, at: 0 });
    // Written in whole chunks (the last one short): never the whole image in one buffer.
    assert.deepEqual(t.writer.written.map((c) => c.length), [...Array.from({ length: 10 }, () => CHUNK), 300]);
  });

  it("reports progress at 10 % steps, never more often than the interval", async () => {
    const t = setup();
    t.desire(manifest());
    t.stream.last.respond(200, { "content-length": String(IMAGE.length) });
    for (let i = 0; i < IMAGE.length; i += 512) {
      await t.clock.advance(300);
      t.stream.last.data(IMAGE.subarray(i, Math.min(IMAGE.length, i + 512)));
    }
    const downloading = t.reports.filter((r) => r.status === "downloading");
    assert.ok(downloading.length >= 3 && downloading.length <= 6, `${downloading.length} progress reports`);
    for (let i = 1; i < downloading.length; i++) {
      assert.ok(downloading[i]!.at - downloading[i - 1]!.at >= 2000, "at most one report per interval");
      assert.ok(Math.floor(downloading[i]!.progress / 10) > Math.floor(downloading[i - 1]!.progress / 10), "each in a new 10 % step");
    }
    assert.equal(downloading[0]!.progress, 0);
    t.stream.last.end();
    assert.equal(t.ota.status.status, "rebooting");
    assert.equal(t.reports.find((r) => r.status === "verifying")!.progress, 100);
  });

  describe("failures leave the boot slot as it was", () => {
    interface Case {
      name: string;
      manifest?: FirmwareManifest;
      play?: (t: ReturnType<typeof setup>) => Promise<void> | void;
      error: RegExp;
      requests: number;
      begun: number;
      running?: string;
      writer?: () => MemoryUpdateWriter;
    }
    const cases: Case[] = [
      { name: "a bad signature (no request made)", manifest: { ...manifest(), signature: manifest({ version: "9.9.9" }).signature }, error: /^bad-signature: /, requests: 0, begun: 0 },
      { name: "a manifest signed with another key", manifest: manifest({}, OTHER_KEY), error: /^bad-signature: /, requests: 0, begun: 0 },
      { name: "a downgrade", manifest: manifest({ version: "1.2.0" }), error: /^downgrade: 1\.2\.0 is older than the running 1\.2\.3$/, requests: 0, begun: 0 },
      { name: "an image larger than the slot", manifest: manifest({}, KEY, testImage(70_000)), error: /^too-large: /, requests: 0, begun: 0 },
      { name: "a host outside the egress table", manifest: manifest({ url: "https://firmware.example.com/x.bin" }), error: /^egress-denied: firmware\.example\.com:443/, requests: 0, begun: 0 },
      { name: "an invalid manifest", manifest: { ...manifest(), size: -1 } as FirmwareManifest, error: /^invalid-manifest: size/, requests: 0, begun: 0 },
      {
        name: "a hash mismatch",
        manifest: manifest({ sha256: toHex(sha256(testImage(IMAGE.length, 2))) }),
        play: (t) => serve(t.stream.last),
        error: /^hash-mismatch: /,
        requests: 1,
        begun: 1,
      },
      { name: "a 404", play: (t) => t.stream.last.respond(404, { "content-length": "9" }), error: /^http-status: GET kismefw\.blob\.core\.windows\.net answered 404$/, requests: 1, begun: 1 },
      {
        name: "a 500 that persists (retried, then given up)",
        play: async (t) => {
          for (let i = 0; i < 4; i++) {
            t.stream.last.respond(500);
            await t.clock.advance(5000);
          }
        },
        error: /^http-status: .*answered 500 \(gave up after 4 attempts\)$/,
        requests: 4,
        begun: 1,
      },
      {
        name: "a server with a different Content-Length (checked before a byte is written)",
        play: (t) => {
          t.stream.last.respond(200, { "content-length": String(IMAGE.length - 1) }).data(IMAGE.subarray(0, 2048));
        },
        error: /^size-mismatch: the server has 10539 bytes, the manifest says 10540$/,
        requests: 1,
        begun: 1,
      },
      {
        name: "a server sending more than the manifest's size",
        play: (t) => {
          t.stream.last.respond(200, {}).stream(testImage(IMAGE.length + 10));
        },
        error: /^size-mismatch: the server sent more/,
        requests: 1,
        begun: 1,
      },
      {
        name: "a truncated image (the server has fewer bytes: 416 on the resume)",
        play: async (t) => {
          t.stream.last.respond(200, {}).stream(IMAGE.subarray(0, 5000)).end();
          await t.clock.advance(5000);
          assert.equal(t.stream.last.request.rangeStart, 4096);
          t.stream.last.respond(416);
        },
        error: /^size-mismatch: the server has fewer than 4097 bytes \(416\)/,
        requests: 2,
        begun: 1,
      },
      {
        name: "a flash write error",
        writer: () => Object.assign(new MemoryUpdateWriter("1.2.3", 64 * 1024), { failWriteAt: 3000 }),
        play: (t) => serve(t.stream.last),
        error: /^write-failed: flash write error/,
        requests: 1,
        begun: 1,
      },
      { name: "cancelUpdate", play: (t) => void t.ota.cancel(), error: /^cancelled: cancelled by the cloud$/, requests: 1, begun: 1 },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const t = setup(c.writer ? { writer: c.writer() } : {});
        t.desire(c.manifest ?? manifest());
        await c.play?.(t);
        await t.clock.advance(10_000);
        assert.equal(t.ota.status.status, "failed");
        assert.match(t.ota.status.lastError ?? "", c.error);
        assert.equal(t.reports[t.reports.length - 1]!.status, "failed");
        assert.equal(t.reports[t.reports.length - 1]!.lastError, t.ota.status.lastError);
        assert.equal(t.stream.exchanges.length, c.requests, "requests");
        assert.ok(t.stream.exchanges.every((e) => e.aborted || e === t.stream.last), "no connection left open");
        assert.equal(t.writer.begun, c.begun, "sessions begun");
        assert.equal(t.writer.cancelled, c.begun, "every session cancelled");
        assert.equal(t.writer.completed, 0);
        assert.equal(t.writer.boot, "a");
        assert.equal(t.writer.bootState().pendingVerification, false);
        assert.equal(t.restarts(), 0);
      });
    }
  });

  it("resumes with Range after an interruption, re-fetching less than one chunk", async () => {
    const t = setup();
    t.desire(manifest());
    t.stream.last.respond(200, { "content-length": String(IMAGE.length) }).stream(IMAGE.subarray(0, 2500)).error();
    assert.equal(t.ota.status.status, "downloading");
    assert.equal(t.writer.cancelled, 0);
    await t.clock.advance(499);
    assert.equal(t.stream.exchanges.length, 1, "waits out the backoff (0.5 x 1 s)");
    await t.clock.advance(1);
    assert.equal(t.stream.exchanges.length, 2);
    assert.equal(t.stream.last.request.rangeStart, 2048);
    t.stream.last.respond(206, { "content-range": `bytes 2048-${IMAGE.length - 1}/${IMAGE.length}` }).stream(IMAGE.subarray(2048)).end();
    assert.equal(t.ota.status.status, "rebooting");
    assert.deepEqual(t.writer.slot.b.image, IMAGE);
    assert.equal(t.ota.bytesReceived - IMAGE.length, 2500 - 2048);
    assert.ok(t.ota.bytesReceived - IMAGE.length < CHUNK);
  });

  it("copes with a server that ignores Range (200 again): the written prefix is skipped", async () => {
    const t = setup();
    t.desire(manifest());
    t.stream.last.respond(200, {}).stream(IMAGE.subarray(0, 3100)).error();
    await t.clock.advance(1000);
    assert.equal(t.stream.last.request.rangeStart, 3072);
    serve(t.stream.last);
    assert.equal(t.ota.status.status, "rebooting");
    assert.deepEqual(t.writer.slot.b.image, IMAGE);
  });

  it("refuses a 206 for another offset", async () => {
    const t = setup();
    t.desire(manifest());
    t.stream.last.respond(200, {}).stream(IMAGE.subarray(0, 1500)).error();
    await t.clock.advance(1000);
    t.stream.last.respond(206, { "content-range": `bytes 0-${IMAGE.length - 1}/${IMAGE.length}` });
    assert.match(t.ota.status.lastError ?? "", /^http-status: 206 with an unusable Content-Range/);
    assert.equal(t.writer.cancelled, 1);
  });

  it("aborts a stalled download and resumes; bounded retries without progress end in failure", async () => {
    const t = setup();
    t.desire(manifest());
    t.stream.last.respond(200, {}).stream(IMAGE.subarray(0, 1100));
    await t.clock.advance(4999);
    assert.equal(t.stream.last.aborted, false);
    await t.clock.advance(1);
    assert.equal(t.stream.exchanges[0]!.aborted, true, "stalled connection closed");
    await t.clock.advance(500);
    assert.equal(t.stream.exchanges.length, 2);
    assert.equal(t.stream.last.request.rangeStart, 1024);
    // From here on the server never answers: at most 3 retries since the last progress, then failure.
    for (let i = 0; i < 6; i++) await t.clock.advance(10_000);
    assert.equal(t.stream.exchanges.length, 4);
    assert.equal(t.ota.status.status, "failed");
    assert.match(t.ota.status.lastError ?? "", /^stalled: no data for 5000 ms at byte 1024 \(gave up after 4 attempts\)$/);
    assert.equal(t.writer.cancelled, 1);
    assert.equal(t.writer.boot, "a");
  });

  it("progress on an attempt renews the retry budget", async () => {
    const t = setup();
    t.desire(manifest());
    let offset = 0;
    for (let i = 0; i < 8; i++) {
      const next = offset + 1500;
      t.stream.last.respond(offset === 0 ? 200 : 206, offset === 0 ? {} : { "content-range": `bytes ${offset}-${IMAGE.length - 1}/${IMAGE.length}` });
      t.stream.last.stream(IMAGE.subarray(offset, next)).error();
      offset = Math.floor(next / CHUNK) * CHUNK;
      await t.clock.advance(5000);
      if (offset >= IMAGE.length - CHUNK) break;
    }
    assert.equal(t.ota.status.status, "downloading", "more than maxRetries interruptions, each with progress");
  });

  it("ignores a desired version equal to the running one; refuses a failed image again unless startUpdate forces it", async () => {
    const t = setup();
    t.desire(manifest({ version: "1.2.3" }));
    assert.equal(t.stream.exchanges.length, 0);
    const m = manifest();
    t.desire(m);
    t.stream.last.respond(404);
    assert.equal(t.ota.status.status, "failed");
    t.desire(m, 3); // e.g. a full twin sync after a reconnect
    assert.equal(t.stream.exchanges.length, 1);
    const result = (await startUpdateHandler(t.ota)(null)) as FirmwareReport;
    assert.equal(result.status, "downloading");
    assert.equal(t.stream.exchanges.length, 2);
    const cancelled = await cancelUpdateHandler(t.ota)({ reason: "operator" });
    assert.deepEqual(cancelled, { cancelled: true, status: "failed" });
    assert.equal(t.ota.status.lastError, "cancelled: operator");
    assert.deepEqual(await cancelUpdateHandler(t.ota)(null), { cancelled: false, status: "failed" });
    await assert.rejects(async () => startUpdateHandler(t.ota)({ version: "x" }), (e) => e instanceof MethodError && e.status === 400);
  });

  it("a new desired image replaces a running download", async () => {
    const t = setup();
    t.desire(manifest());
    t.stream.last.respond(200, {}).stream(IMAGE.subarray(0, 3000));
    const image2 = testImage(4000, 5);
    t.desire(manifest({ version: "1.4.0" }, KEY, image2), 3);
    assert.equal(t.stream.exchanges[0]!.aborted, true);
    assert.equal(t.writer.cancelled, 1);
    serve(t.stream.last, image2);
    assert.equal(t.ota.status.status, "rebooting");
    assert.equal(t.ota.status.targetVersion, "1.4.0");
  });

  describe("what a manifest may do: product, security version, downgrade, expiry", () => {
    it("refuses another product's image before a byte is fetched", () => {
      const t = setup();
      t.desire(manifest({ product: "light" }));
      assert.equal(t.ota.status.status, "failed");
      assert.equal(t.ota.status.lastError, 'wrong-product: the image is for the product "light", this device is "box"');
      assert.equal(t.stream.exchanges.length, 0);
      assert.equal(t.writer.begun, 0);
      const light = setup({ overrides: { product: "light" } });
      light.desire(manifest({ product: "light" }));
      assert.equal(light.stream.exchanges.length, 1, "a KIS.LIGHT takes it");
    });

    it("an unusable floor record refuses every image (fails closed) and is never overwritten", () => {
      const store = new MemoryStore();
      store.set(SECURITY_FLOOR_KEY, "seven");
      const t = setup({ store });
      t.desire(manifest({ securityVersion: 1_000_000 }));
      assert.equal(t.ota.status.lastError, "security-version: the stored security floor is unusable; every image is refused");
      assert.equal(t.stream.exchanges.length, 0);
      assert.equal(t.floor.raise(9), undefined);
      assert.equal(store.get(SECURITY_FLOOR_KEY), "seven");
    });

    it("a downgrade installs only on the version it names, before its expiry", async () => {
      const expires = NOW / 1000 + 3600;
      const down = manifest({ version: "1.2.0", downgradeFrom: "1.2.3", expires, downgradeReason: "1.2.3 breaks the LEDs" });
      const wrong = setup({ running: "1.2.4" });
      wrong.desire(down);
      assert.equal(wrong.ota.status.lastError, "downgrade: the manifest replaces 1.2.3, this device runs 1.2.4");
      assert.equal(wrong.stream.exchanges.length, 0);
      const late = setup({ wallClock: () => expires * 1000 });
      late.desire(down);
      assert.equal(late.ota.status.lastError, "expired: the manifest expired at 2026-01-15T13:00:00.000Z");
      late.desire(down, 3);
      assert.equal(late.stream.exchanges.length, 0, "an expired manifest is not tried again");
      late.desire({ ...down, expires: expires + 3600, signature: manifest({ ...down, expires: expires + 3600 }).signature }, 4);
      assert.equal(late.stream.exchanges.length, 1, "the same image signed again with a later expiry is checked afresh");
      const t = setup();
      t.desire(down);
      assert.equal(t.stream.exchanges.length, 1);
      serve(t.stream.last);
      assert.deepEqual(t.statuses(), ["downloading", "verifying", "applying", "rebooting"]);
    });

    it("refuses an expiring manifest while the clock is not set, and takes it once the clock is valid", () => {
      let now: number | undefined;
      const t = setup({ wallClock: () => now });
      const down = manifest({ version: "1.2.0", downgradeFrom: "1.2.3", expires: NOW / 1000 + 3600, downgradeReason: "1.2.3 breaks the LEDs" });
      t.desire(down);
      assert.equal(t.ota.status.lastError, "clock-not-set: the manifest expires and the clock is not set yet (SNTP)");
      assert.equal(t.stream.exchanges.length, 0);
      now = NOW;
      t.desire(down, 3); // the next twin sync
      assert.equal(t.stream.exchanges.length, 1, "not refused for good");
      // A manifest without an expiry does not wait for the clock.
      const u = setup({ wallClock: () => undefined });
      u.desire(manifest());
      assert.equal(u.stream.exchanges.length, 1);
    });
  });

  describe("after the restart", () => {
    /** Installs 1.3.0 in a writer and "reboots" it (the bootloader counts the boot). */
    async function installed(): Promise<{ writer: MemoryUpdateWriter; clock: ManualClock }> {
      const t = setup();
      t.desire(manifest());
      serve(t.stream.last);
      await t.clock.advance(1000);
      assert.equal(t.restarts(), 1);
      t.ota.dispose();
      t.writer.powerOn();
      return { writer: t.writer, clock: new ManualClock() };
    }

    it("the new image is pending until the hub accepts its version report, then marked valid", async () => {
      const { writer, clock } = await installed();
      const t = setup({ running: "1.3.0", writer, clock });
      assert.equal(t.ota.status.status, "applying");
      assert.equal(t.reports.length, 0, "nothing is reported before the hub is reached");
      t.ack.mode = "hang";
      t.ota.hubConnected();
      await flush();
      assert.equal(writer.markedValid, 0, "not before the hub has accepted the report");
      t.ack.mode = "accept";
      t.ota.hubConnected(); // a second connect while the first report is outstanding does not send another
      assert.equal(t.reports.length, 1);
      assert.deepEqual({ ...t.reports[0]!, at: 0 }, { currentVersion: "1.3.0", targetVersion: "1.3.0", status: "succeeded", progress: 100, lastError: null, at: 0 });
    });

    it("marks the image valid once the report is accepted; no rollback later", async () => {
      const { writer, clock } = await installed();
      const t = setup({ running: "1.3.0", writer, clock });
      t.ota.hubConnected();
      await flush();
      assert.equal(writer.markedValid, 1);
      assert.equal(t.ota.status.status, "succeeded");
      await clock.advance(120_000);
      assert.deepEqual(writer.rollbacks, []);
      assert.equal(writer.bootState().pendingVerification, false);
    });

    it("a newer manifest that arrives before the confirmation is started once the image is confirmed", async () => {
      const { writer, clock } = await installed();
      const t = setup({ running: "1.3.0", writer, clock });
      t.ack.mode = "hang";
      t.ota.hubConnected();
      t.desire(manifest({ version: "1.4.0" }), 5); // the first twin sync, before the report is accepted
      assert.equal(t.stream.exchanges.length, 0, "not while 1.3.0 is unconfirmed");
      t.ack.mode = "accept";
      t.ota.dispose();
      const u = setup({ running: "1.3.0", writer, clock });
      u.desire(manifest({ version: "1.4.0" }), 5);
      assert.equal(u.stream.exchanges.length, 0);
      u.ota.hubConnected();
      await flush();
      assert.equal(writer.markedValid, 1);
      assert.equal(u.stream.exchanges.length, 1);
      assert.equal(u.ota.status.targetVersion, "1.4.0");
    });

    it("a refused report leaves the image pending (and rolled back at the deadline)", async () => {
      const { writer, clock } = await installed();
      const t = setup({ running: "1.3.0", writer, clock });
      t.ack.mode = "refuse";
      t.ota.hubConnected();
      await flush();
      assert.equal(writer.markedValid, 0);
      await clock.advance(60_000);
      assert.equal(writer.rollbacks.length, 1);
    });

    it("rolls back when the hub is not reached in time; the old image reports rolledBack and does not retry", async () => {
      const { writer, clock } = await installed();
      const t = setup({ running: "1.3.0", writer, clock });
      await clock.advance(59_999);
      assert.deepEqual(writer.rollbacks, []);
      await clock.advance(1);
      assert.deepEqual(writer.rollbacks, ["not-confirmed: did not reach the hub and report its version within 60 s"]);
      assert.equal(writer.boot, "a");
      t.ota.dispose();
      // The previous image boots again.
      writer.powerOn();
      const old = setup({ running: "1.2.3", writer });
      assert.equal(old.ota.status.status, "rolledBack");
      old.ota.hubConnected();
      assert.deepEqual({ ...old.reports[0]!, at: 0 }, {
        currentVersion: "1.2.3",
        targetVersion: "1.3.0",
        status: "rolledBack",
        progress: 0,
        lastError: "not-confirmed: did not reach the hub and report its version within 60 s",
        at: 0,
      });
      old.desire(manifest(), 7); // the desired property still names the image
      assert.equal(old.stream.exchanges.length, 0, "a rolled-back image is not tried again by itself");
      old.desire(manifest({ version: "1.3.1" }, KEY, testImage(2000, 3)), 8);
      assert.equal(old.stream.exchanges.length, 1, "a new image is");
      assert.equal(writer.bootState().rollback, undefined, "the record is cleared when another image starts");
    });

    it("rolls back at once when the pending image has been booted more often than allowed", async () => {
      const { writer } = await installed();
      writer.powerOn();
      const t = setup({ running: "1.3.0", writer });
      assert.equal(writer.rollbacks.length, 0, "boot 2 of 2 is allowed");
      t.ota.dispose();
      writer.powerOn();
      setup({ running: "1.3.0", writer });
      assert.deepEqual(writer.rollbacks, ["not-confirmed: booted 3 times without reaching the hub (limit 2)"]);
      assert.equal(writer.boot, "a");
    });
  });

  describe("over ESP-IDF style partitions (PartitionUpdateWriter, the bootloader's one-boot rule)", () => {
    function device(store = new MemoryStore()) {
      const bytes = new Map<string, number>();
      const media = { erase: (label: string) => bytes.set(label, 0), append: (label: string, chunk: Uint8Array) => bytes.set(label, (bytes.get(label) ?? 0) + chunk.length) };
      let restarts = 0;
      const powerOn = () => {
        const partitions = new SimulatedPartitions({ store, media, size: 64 * 1024, factoryVersion: "1.2.3", restart: () => restarts++ });
        return { partitions, writer: new PartitionUpdateWriter({ partitions, store, runningVersion: "1.2.3" }) };
      };
      return { powerOn, bytes, store, restarts: () => restarts };
    }

    /** Installs `m` on the device and restarts into it: the new image's OtaManager, pending verification. */
    async function install(d: ReturnType<typeof device>, m: FirmwareManifest, running = "1.2.3", image = IMAGE) {
      const t = setup({ running, writer: d.powerOn().writer, store: d.store });
      t.desire(m);
      serve(t.stream.last, image);
      await t.clock.advance(1000);
      assert.equal(t.restarts(), 1, t.ota.status.lastError ?? "restarted");
      t.ota.dispose();
      const boot = d.powerOn();
      const n = setup({ running: boot.writer.slots().runningVersion, writer: boot.writer, store: d.store });
      assert.equal(n.ota.status.currentVersion, m.version);
      assert.equal(boot.partitions.running().state, "pendingVerify");
      return { ...n, partitions: boot.partitions };
    }

    it("the security floor rises only when the update is confirmed; it survives restarts and a factory reset, and refuses older security versions", async () => {
      const d = device();
      const v140 = testImage(3000, 5);
      const n = await install(d, manifest({ version: "1.4.0", securityVersion: 5 }, KEY, v140), "1.2.3", v140);
      assert.equal(n.floor.floor(), 0, "not raised while the image is pending");
      assert.deepEqual(n.floor.pending(), { version: "1.4.0", securityVersion: 5 });
      n.ota.hubConnected();
      await flush();
      assert.equal(n.partitions.running().state, "valid");
      assert.equal(d.store.get(SECURITY_FLOOR_KEY), "5");
      assert.equal(d.store.get(SECURITY_PENDING_KEY), undefined, "the pending record is gone once it raised the floor");
      n.ota.dispose();

      // A restart: the same NVS, the same floor.
      const again = setup({ running: "1.4.0", writer: d.powerOn().writer, store: d.store });
      assert.equal(again.floor.floor(), 5);
      again.desire(manifest({ version: "1.5.0", securityVersion: 4 }), 3);
      assert.equal(again.ota.status.status, "failed");
      assert.equal(again.ota.status.lastError, "security-version: security version 4 is below this device's floor 5");
      assert.equal(again.stream.exchanges.length, 0, "refused before a byte is fetched");
      again.ota.dispose();

      // A factory reset erases the configuration, not the floor.
      d.store.set("config", "{}");
      assert.deepEqual(eraseKeys(d.store), []);
      assert.equal(d.store.get("config"), undefined);
      const reset = setup({ running: "1.4.0", writer: d.powerOn().writer, store: d.store });
      assert.equal(reset.floor.floor(), 5);
      reset.desire(manifest({ version: "1.5.0", securityVersion: 4 }), 2);
      assert.match(reset.ota.status.lastError ?? "", /^security-version: /);
      reset.desire(manifest({ version: "1.5.1", securityVersion: 5 }), 3);
      assert.equal(reset.stream.exchanges.length, 1, "at the floor is fine");
      reset.ota.dispose();
    });

    it("a rolled-back image never raises the floor", async () => {
      const d = device();
      d.store.set(SECURITY_FLOOR_KEY, "2");
      const n = await install(d, manifest({ securityVersion: 7 }));
      n.ota.dispose();
      // Restarted before it reached the hub: the bootloader goes back to 1.2.3.
      const old = d.powerOn();
      assert.equal(old.writer.slots().runningVersion, "1.2.3");
      const t = setup({ running: "1.2.3", writer: old.writer, store: d.store });
      assert.equal(t.ota.status.status, "rolledBack");
      assert.equal(d.store.get(SECURITY_FLOOR_KEY), "2");
      assert.equal(d.store.get(SECURITY_PENDING_KEY), undefined, "the record of the image that was not confirmed is gone");
      t.ota.dispose();
    });

    it("a power cut between the confirmation and the raise: the next boot raises the floor", async () => {
      const d = device();
      const n = await install(d, manifest({ securityVersion: 3 }));
      n.partitions.markValid(); // confirmed (esp_ota_mark_app_valid_cancel_rollback), then the power went
      n.ota.dispose();
      const t = setup({ running: "1.3.0", writer: d.powerOn().writer, store: d.store });
      assert.equal(t.floor.floor(), 3);
      assert.equal(d.store.get(SECURITY_PENDING_KEY), undefined);
      t.ota.dispose();
    });

    it("installs, restarts into the new partition, and confirms it once the hub has accepted the report", async () => {
      const d = device();
      let boot = d.powerOn();
      const t = setup({ writer: boot.writer });
      t.desire(manifest());
      serve(t.stream.last);
      assert.deepEqual(t.statuses(), ["downloading", "verifying", "applying", "rebooting"]);
      assert.equal(d.bytes.get("ota_1"), IMAGE.length);
      await t.clock.advance(1000);
      assert.equal(t.restarts(), 1);
      t.ota.dispose();
      boot = d.powerOn();
      const n = setup({ running: boot.writer.slots().runningVersion, writer: boot.writer });
      assert.equal(n.ota.status.currentVersion, "1.3.0");
      assert.equal(boot.partitions.running().state, "pendingVerify");
      n.ota.hubConnected();
      await flush();
      assert.equal(boot.partitions.running().state, "valid");
      assert.equal(n.ota.status.status, "succeeded");
    });

    it("a restart before the confirmation goes back to the old image, which reports rolledBack and does not retry it", async () => {
      const d = device();
      const t = setup({ writer: d.powerOn().writer });
      t.desire(manifest());
      serve(t.stream.last);
      await t.clock.advance(1000);
      t.ota.dispose();
      const pending = d.powerOn();
      const p = setup({ running: pending.writer.slots().runningVersion, writer: pending.writer });
      assert.equal(p.ota.status.status, "applying");
      p.ota.dispose(); // e.g. a crash or power cut before the hub was reached
      const old = d.powerOn();
      assert.equal(old.writer.slots().runningVersion, "1.2.3");
      const o = setup({ running: "1.2.3", writer: old.writer });
      o.ota.hubConnected();
      assert.deepEqual({ ...o.reports[0]!, at: 0 }, { currentVersion: "1.2.3", targetVersion: "1.3.0", status: "rolledBack", progress: 0, lastError: BOOTLOADER_ROLLBACK_REASON, at: 0 });
      o.desire(manifest(), 9);
      assert.equal(o.stream.exchanges.length, 0, "the rolled-back image is not tried again by itself");
    });
  });

  describe("a firmware URL's SAS token (the query) never leaves the manager", () => {
    const SECRET_URL = `https://${HOST}/fw/kisbox.bin?sv=2024&sig=SECRET`;

    /** The manager logging through the ring log that getLog reads, and every line the platform logger printed. */
    function observed() {
      const clock = new ManualClock();
      const printed: string[] = [];
      const platformLogger = { log: (level: LogLevel, scope: string, message: string, fields?: LogFields) => printed.push(`${level} [${scope}] ${message}${formatFields(fields)}`) };
      const ring = new RingLog(platformLogger, clock, 100, "debug");
      const t = setup({ clock, overrides: { logger: scoped(ring, "ota") } });
      const leaks = (): string[] => {
        const places: Array<[string, string]> = [
          ...printed.map((line): [string, string] => ["log line", line]),
          ...ring.tailText(100).map((line): [string, string] => ["getLog", line]),
          ...t.reports.map((r): [string, string] => ["reported firmware", JSON.stringify(r)]),
          ["status", JSON.stringify(t.ota.status)],
        ];
        return places.filter(([, text]) => text.includes("SECRET") || text.includes("sig=")).map(([where, text]) => `${where}: ${text}`);
      };
      return { t, printed, ring, leaks };
    }

    it("a download failing with errors that quote the whole URL: not in log lines, firmware.lastError or getLog", async () => {
      const { t, printed, ring, leaks } = observed();
      t.desire(manifest({ url: SECRET_URL }));
      assert.equal(t.stream.last.request.path, "/fw/kisbox.bin?sv=2024&sig=SECRET", "the request itself carries the token");
      // An HTTP layer that (wrongly) quotes the request in its errors, as the device's did before.
      for (let i = 0; i < 4; i++) {
        t.stream.last.respond(200, { "content-length": String(IMAGE.length) }).stream(IMAGE.subarray(0, 500)).error(`GET ${SECRET_URL}: connection reset (ECONNRESET)`);
        await t.clock.advance(5000);
      }
      assert.equal(t.ota.status.status, "failed");
      assert.match(t.ota.status.lastError ?? "", /^network: GET https:\/\/kismefw\.blob\.core\.windows\.net\/fw\/kisbox\.bin\?…: connection reset \(ECONNRESET\) \(gave up after 4 attempts\)$/);
      assert.ok(printed.some((l) => l.includes("firmware download interrupted")), "the retries were logged");
      assert.ok(ring.tailText(100).some((l) => l.includes("firmware update failed")), "the failure is in the ring log");
      assert.deepEqual(leaks(), []);
    });

    it("a refused status, a stall, a refused host and startUpdate: nothing quotes the token either", async () => {
      const { t, leaks } = observed();
      t.desire(manifest({ url: SECRET_URL }));
      t.stream.last.respond(403);
      assert.match(t.ota.status.lastError ?? "", /^http-status: GET kismefw\.blob\.core\.windows\.net answered 403$/);
      t.ota.startFromMethod(manifest({ url: SECRET_URL, version: "1.4.0" }));
      t.stream.last.respond(200, {});
      await t.clock.advance(60_000); // stalls, retried, given up
      assert.match(t.ota.status.lastError ?? "", /^stalled: /);
      t.desire(manifest({ url: "https://evil.example:53/fw.bin?sv=2024&sig=SECRET", version: "1.5.0" }), 3);
      assert.equal(t.ota.status.lastError, "egress-denied: evil.example:53 is not firmware blob storage (https, *.blob.core.windows.net, port 443)");
      assert.throws(
        () => t.ota.startFromMethod({ ...manifest({ url: SECRET_URL }), size: "x" }),
        (e) => e instanceof MethodError && !e.message.includes("SECRET"),
      );
      assert.deepEqual(leaks(), []);
    });

    it("a rollback reason read back from the boot record is reported without the token", () => {
      const writer = new MemoryUpdateWriter("1.2.3", 64 * 1024);
      writer.rollbackRecord = { version: "1.3.0", reason: `not-confirmed: GET ${SECRET_URL} failed`, sha256: "00".repeat(32) };
      const t = setup({ writer });
      assert.equal(t.ota.status.status, "rolledBack");
      assert.equal(t.ota.status.lastError, `not-confirmed: GET https://${HOST}/fw/kisbox.bin?… failed`);
    });
  });
});
