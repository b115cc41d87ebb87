import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OtaError, checkManifest, parseManifest, type FirmwareManifest, type ManifestChecks } from "../../src/update/update-manifest";
import { NodeCrypto } from "../../host/adapters/node-crypto";
import { BLOB, BlobServer, serveBlob, type BlobHandler } from "./support/blob-server";
import { MemoryLogger, TestPki } from "./support/fixture";
import { powerOnOtaDevice, OTA_CHUNK as CHUNK, type OtaDevice as Device } from "./support/ota-device";
import { sleep, tempDir, waitFor } from "./support/processes";

const FACTORY = "1.2.3";
const SLOT_SIZE = 512 * 1024;

describe("OTA over real HTTPS (loopback blob server, egress policy, file-backed A/B slots)", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let blobs: BlobServer;
  let releaseKey: KeyObject;
  let publicKeyDer: Uint8Array;
  let strangerKey: KeyObject;
  const image = randomBytes(200 * 1024 + 123);
  let dir: string;
  let logger: MemoryLogger;
  const devices: Device[] = [];

  before(async () => {
    pki = new TestPki();
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    releaseKey = pair.privateKey;
    publicKeyDer = new Uint8Array(pair.publicKey.export({ format: "der", type: "spki" }));
    strangerKey = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    blobs = await BlobServer.start(pki.ca);
  });

  after(async () => {
    await blobs?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    dir = tempDir("ota");
    blobs.reset();
    logger = new MemoryLogger();
  });

  afterEach(function () {
    for (const d of devices.splice(0)) d.shutdown();
    if (this.currentTest?.state === "failed") process.stdout.write(`--- log ---\n${logger.lines.join("\n")}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  function signed(fields: Partial<FirmwareManifest> & { body?: Buffer }, key: KeyObject = releaseKey): FirmwareManifest {
    const { body, ...manifest } = fields;
    return blobs.publish(body ?? image, key, { version: "1.3.0", ...manifest });
  }

  /** Powers the device on from its slot directory: the "bootloader" picks the slot, the firmware of that slot runs. */
  function powerOn(overrides: { confirmTimeoutMs?: number; stallTimeoutMs?: number; publicKey?: Uint8Array } = {}): Device {
    const device = powerOnOtaDevice({
      flash: join(dir, "flash"),
      slotSize: SLOT_SIZE,
      factoryVersion: FACTORY,
      blobPort: blobs.port,
      ca: pki.caPem,
      publicKey: overrides.publicKey ?? publicKeyDer,
      logger,
      ...(overrides.stallTimeoutMs !== undefined ? { stallTimeoutMs: overrides.stallTimeoutMs } : {}),
      ...(overrides.confirmTimeoutMs !== undefined ? { confirmTimeoutMs: overrides.confirmTimeoutMs } : {}),
    });
    devices.push(device);
    return device;
  }

  const settled = (d: Device) => () => ["failed", "rebooting", "rolledBack", "succeeded"].includes(d.ota.status.status) && (d.ota.status.status !== "rebooting" || d.restarted);

  /** The boot record and slot b as they are before any update. */
  function assertUntouched(d: Device): void {
    const record = d.writer.record();
    assert.equal(record.boot, "a");
    assert.equal(record.pending, null);
    assert.equal(record.slots.b, null);
    assert.equal(d.restarted, false);
    const b = d.writer.slotFile("b");
    assert.ok(!existsSync(b) || statSync(b).size === 0, "slot b holds no partial image");
  }

  it("downloads, verifies, switches the slot, restarts, and marks the new image valid once it has reported to the hub", async () => {
    const d = powerOn();
    assert.equal(d.ota.status.currentVersion, FACTORY);
    d.ota.onDesired({ properties: { firmware: signed({}) }, version: 2, full: true });
    await waitFor(settled(d), "the update to finish", 10_000);
    assert.equal(d.ota.status.status, "rebooting", d.ota.status.lastError ?? "");
    const statuses = d.reports.map((r) => r.status).filter((s, i, all) => i === 0 || all[i - 1] !== s);
    assert.deepEqual(statuses, ["downloading", "verifying", "applying", "rebooting"]);
    const progress = d.reports.filter((r) => r.status === "downloading").map((r) => r.progress);
    assert.ok(progress.length >= 5 && progress.length <= 11, `progress reported in 10 % steps: ${progress.join(",")}`);
    assert.deepEqual(readFileSync(d.writer.slotFile("b")), image);
    assert.deepEqual(d.writer.record().pending, { slot: "b", previous: "a", bootCount: 0 });
    assert.equal(blobs.served.length, 1);
    assert.equal(blobs.served[0]!.range, undefined);
    assert.deepEqual(d.attempts.map((a) => [a.host, a.port, a.allowed]), [[BLOB, 443, true]]);

    // The restart: the bootloader starts slot b, pending verification.
    const next = powerOn();
    assert.equal(next.ota.status.currentVersion, "1.3.0");
    assert.equal(next.ota.status.status, "applying");
    assert.equal(next.writer.bootState().pendingBootCount, 1);
    next.ota.hubConnected();
    await waitFor(() => next.ota.status.status === "succeeded", "the image to be confirmed");
    assert.equal(next.writer.record().pending, null);
    assert.deepEqual(next.reports[0], { currentVersion: "1.3.0", targetVersion: "1.3.0", status: "succeeded", progress: 100, lastError: null });
    // And it stays: the next power-on runs 1.3.0, confirmed.
    next.shutdown();
    const again = powerOn();
    assert.equal(again.ota.status.currentVersion, "1.3.0");
    assert.equal(again.ota.status.status, "idle");
  });

  const FAILURES: ReadonlyArray<{ name: string; manifest: () => FirmwareManifest; behave?: BlobHandler; error: RegExp; requests: number; stallTimeoutMs?: number }> = [
    { name: "a bad hash", manifest: () => ({ ...signed({ sha256: createHash("sha256").update("other").digest("hex") }) }), error: /^hash-mismatch: /, requests: 1 },
    { name: "a bad signature", manifest: () => ({ ...signed({}), signature: signed({ version: "1.3.1" }).signature }), error: /^bad-signature: /, requests: 0 },
    { name: "a manifest signed with another key", manifest: () => signed({}, strangerKey), error: /^bad-signature: /, requests: 0 },
    {
      name: "a truncated image (the blob holds fewer bytes than signed)",
      manifest: () => {
        const m = signed({});
        blobs.images.set(m.url.replace(/^https:\/\/[^/]+/, "").replace(/\?.*$/, ""), image.subarray(0, 150_000));
        return m;
      },
      error: /^size-mismatch: the server has 150000 bytes, the manifest says 204923$/,
      requests: 1,
    },
    {
      name: "a body cut short (no length up front) and a shorter blob on the resume",
      manifest: () => signed({}),
      behave: (req, res, body) => {
        if (req.headers.range) return serveBlob(req, res, body.subarray(0, 100_000));
        res.writeHead(200, { "content-type": "application/octet-stream" }); // chunked: no length to check up front
        res.end(body.subarray(0, 100_000));
      },
      error: /^size-mismatch: the server has 100000 bytes, the manifest says 204923$/,
      requests: 2,
    },
    { name: "an image larger than the slot", manifest: () => signed({ body: randomBytes(SLOT_SIZE + 1) }), error: /^too-large: image of 524289 bytes does not fit the 524288-byte slot$/, requests: 0 },
    {
      name: "a server sending more than the signed size",
      manifest: () => signed({}),
      behave: (_req, res, body) => {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.concat([body, Buffer.alloc(10)]));
      },
      error: /^size-mismatch: the server sent more than the manifest's 204923 bytes$/,
      requests: 1,
    },
    { name: "a 404", manifest: () => ({ ...signed({}), url: `https://${BLOB}/firmware/missing.bin` }), error: /^http-status: GET kismefw\.blob\.core\.windows\.net answered 404$/, requests: 1 },
    {
      name: "a 500 (retried, then given up)",
      manifest: () => signed({}),
      behave: (_req, res) => {
        res.writeHead(500);
        res.end("InternalError");
      },
      error: /^http-status: .* answered 500 \(gave up after 3 attempts\)$/,
      requests: 3,
    },
    {
      name: "a stalled server (headers and a little data, then nothing)",
      manifest: () => signed({}),
      stallTimeoutMs: 300,
      behave: (_req, res, body) => {
        res.writeHead(200, { "content-length": String(body.length) });
        res.write(body.subarray(0, 1000));
      },
      error: /^stalled: no data for \d{3} ms at byte 1000 \(gave up after 3 attempts\)$/,
      requests: 3,
    },
    { name: "a downgrade", manifest: () => signed({ version: "1.2.0" }), error: /^downgrade: 1\.2\.0 is older than the running 1\.2\.3$/, requests: 0 },
    { name: "a KIS.LIGHT image on a KIS.BOX", manifest: () => signed({ product: "light" }), error: /^wrong-product: the image is for the product "light", this device is "box"$/, requests: 0 },
    {
      name: "an expired downgrade",
      manifest: () => signed({ version: "1.2.0", downgradeFrom: FACTORY, expires: Math.floor(Date.now() / 1000) - 1, downgradeReason: "too late" }),
      error: /^expired: the manifest expired at /,
      requests: 0,
    },
  ];

  for (const c of FAILURES) {
    it(`fails on ${c.name}: the right lastError, the boot slot unchanged`, async () => {
      const d = powerOn(c.stallTimeoutMs ? { stallTimeoutMs: c.stallTimeoutMs } : {});
      const m = c.manifest();
      if (c.behave) blobs.behave = c.behave;
      d.ota.onDesired({ properties: { firmware: m }, version: 2, full: true });
      await waitFor(settled(d), "the update to end", 15_000);
      assert.equal(d.ota.status.status, "failed");
      assert.match(d.ota.status.lastError ?? "", c.error);
      assert.equal(d.reports[d.reports.length - 1]!.status, "failed");
      assert.equal(blobs.served.length, c.requests);
      assertUntouched(d);
      // A restart now boots the old image, which knows nothing pending.
      d.shutdown();
      const again = powerOn();
      assert.equal(again.ota.status.currentVersion, FACTORY);
      assert.equal(again.ota.status.status, "idle");
    });
  }

  it("resumes with Range after the server drops the connection, re-fetching less than one chunk", async () => {
    const CUT = 100_000 + 777;
    let first = true;
    blobs.behave = (req, res, body) => {
      if (!first) return serveBlob(req, res, body);
      first = false;
      res.writeHead(200, { "content-length": String(body.length) });
      // Send CUT bytes, then drop the connection once they have left.
      res.write(body.subarray(0, CUT), () => setTimeout(() => res.socket?.destroy(), 50));
    };
    const d = powerOn();
    d.ota.onDesired({ properties: { firmware: signed({}) }, version: 2, full: true });
    await waitFor(settled(d), "the update to finish", 10_000);
    assert.equal(d.ota.status.status, "rebooting", d.ota.status.lastError ?? "");
    assert.equal(blobs.served.length, 2);
    const start = Number(/^bytes=(\d+)-$/.exec(blobs.served[1]!.range ?? "")?.[1]);
    assert.equal(start % CHUNK, 0, "resumes at a chunk boundary");
    assert.ok(start > CUT - CHUNK && start <= CUT, `resumed at ${start}, the cut was at ${CUT}`);
    assert.equal(blobs.served[1]!.status, 206);
    assert.ok(d.ota.bytesReceived - image.length < CHUNK, `received ${d.ota.bytesReceived} for ${image.length}`);
    assert.deepEqual(readFileSync(d.writer.slotFile("b")), image);
  });

  it("rolls back a new image that never reaches the hub (timeout); the old image reports rolledBack", async () => {
    const d = powerOn();
    d.ota.onDesired({ properties: { firmware: signed({}) }, version: 2, full: true });
    await waitFor(settled(d), "the update to finish", 10_000);
    assert.equal(d.restarted, true);
    const pending = powerOn({ confirmTimeoutMs: 300 });
    assert.equal(pending.ota.status.status, "applying");
    await waitFor(() => pending.restarted, "the rollback restart", 5000);
    const record = pending.writer.record();
    assert.equal(record.boot, "a");
    assert.equal(record.pending, null);
    assert.deepEqual(record.rollback, {
      version: "1.3.0",
      reason: "not-confirmed: did not reach the hub and report its version within 300 ms",
      sha256: createHash("sha256").update(image).digest("hex"),
    });
    const old = powerOn();
    assert.equal(old.ota.status.currentVersion, FACTORY);
    old.ota.hubConnected();
    assert.deepEqual(old.reports[old.reports.length - 1], {
      currentVersion: FACTORY,
      targetVersion: "1.3.0",
      status: "rolledBack",
      progress: 0,
      lastError: "not-confirmed: did not reach the hub and report its version within 300 ms",
    });
    // The twin still names 1.3.0 (a full sync after the reconnect): not downloaded again.
    blobs.served.length = 0;
    old.ota.onDesired({ properties: { firmware: signed({}) }, version: 2, full: true });
    await sleep(100);
    assert.equal(blobs.served.length, 0);
  });

  it("scripts/release-image.mjs signs what the device accepts (openssl key, made as its --help says)", async () => {
    const keyFile = join(dir, "release.key.pem");
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile], { stdio: "ignore" });
    const imageFile = join(dir, "image.bin");
    writeFileSync(imageFile, image);
    const script = join(process.cwd(), "scripts", "release-image.mjs");
    const url = `https://${BLOB}/firmware/kisbox-1.3.0.bin?sig=x`;
    const run = (...args: string[]): string => execFileSync(process.execPath, [script, "--key", keyFile, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const publicKey = new Uint8Array(Buffer.from(run("--print-public-key").trim(), "base64"));
    const patch = JSON.parse(run("--image", imageFile, "--product", "box", "--security-version", "3", "--version", "1.3.0", "--url", url)) as { firmware: unknown };
    const m = parseManifest(patch.firmware);
    assert.equal(m.product, "box");
    assert.equal(m.securityVersion, 3);
    assert.equal(m.size, image.length);
    assert.equal(m.sha256, createHash("sha256").update(image).digest("hex"));
    const checks: ManifestChecks = { currentVersion: FACTORY, slotSize: SLOT_SIZE, product: "box", securityFloor: 3, now: Date.now() };
    assert.equal(checkManifest(m, checks, new NodeCrypto(), publicKey).host, BLOB);
    assert.throws(() => checkManifest(m, checks, new NodeCrypto(), publicKeyDer), /bad-signature|signature/);
    const report = (re: RegExp) => (e: unknown) => e instanceof OtaError && re.test(e.report);
    assert.throws(() => checkManifest(m, { ...checks, product: "light" }, new NodeCrypto(), publicKey), report(/^wrong-product: /));
    assert.throws(() => checkManifest(m, { ...checks, securityFloor: 4 }, new NodeCrypto(), publicKey), report(/^security-version: .* below this device's floor 4$/));
    // A downgrade from exactly 1.2.3, valid for an hour.
    const down = parseManifest(
      JSON.parse(run("--image", imageFile, "--product", "box", "--security-version", "3", "--version", "1.0.0", "--url", url, "--downgrade-from", FACTORY, "--expires", "1h", "--reason", "1.2.3 breaks the LEDs")).firmware,
    );
    assert.equal(down.downgradeReason, "1.2.3 breaks the LEDs");
    assert.equal(down.downgradeFrom, FACTORY);
    assert.ok(down.expires !== undefined && Math.abs(down.expires - (Date.now() / 1000 + 3600)) < 60, String(down.expires));
    assert.equal(checkManifest(down, checks, new NodeCrypto(), publicKey).host, BLOB);
    assert.throws(() => checkManifest(down, { ...checks, currentVersion: "1.2.4" }, new NodeCrypto(), publicKey), report(/^downgrade: the manifest replaces 1\.2\.3, this device runs 1\.2\.4$/));
    assert.throws(() => checkManifest(down, { ...checks, now: Date.now() + 3601_000 }, new NodeCrypto(), publicKey), report(/^expired: /));
    assert.throws(() => checkManifest(down, { ...checks, now: undefined }, new NodeCrypto(), publicKey), report(/^clock-not-set: /));
    // And a device with that key built in installs it (and, once confirmed, keeps floor 3).
    const d = powerOn({ publicKey });
    blobs.images.set("/firmware/kisbox-1.3.0.bin", image);
    d.ota.onDesired({ properties: patch, version: 2, full: true });
    await waitFor(settled(d), "the update to finish", 10_000);
    assert.equal(d.ota.status.status, "rebooting", d.ota.status.lastError ?? "");
    assert.deepEqual(d.floor.pending(), { version: "1.3.0", securityVersion: 3 });
    const booted = powerOn({ publicKey });
    booted.ota.hubConnected();
    await waitFor(() => booted.ota.status.status === "succeeded", "the confirmation", 5000);
    assert.equal(booted.floor.floor(), 3);
    assert.equal(powerOn({ publicKey }).floor.floor(), 3, "the floor after another power-on");
  });

  it("rolls back a new image that keeps restarting before it reaches the hub (boot count)", async () => {
    const d = powerOn();
    d.ota.onDesired({ properties: { firmware: signed({}) }, version: 2, full: true });
    await waitFor(settled(d), "the update to finish", 10_000);
    for (let boot = 1; boot <= 2; boot++) {
      const crashing = powerOn();
      assert.equal(crashing.ota.status.currentVersion, "1.3.0");
      assert.equal(crashing.writer.bootState().pendingBootCount, boot);
      crashing.shutdown(); // a crash before the hub
    }
    const third = powerOn();
    assert.equal(third.restarted, true, "the third boot rolls back at once");
    assert.equal(third.writer.record().boot, "a");
    const old = powerOn();
    assert.equal(old.ota.status.status, "rolledBack");
    assert.equal(old.ota.status.lastError, "not-confirmed: booted 3 times without reaching the hub (limit 2)");
  });
});
