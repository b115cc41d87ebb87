import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FirmwareManifest } from "../../src/update/update-manifest";
import { FileUpdateWriter, type BootRecord } from "../../host/adapters/file-update-writer";
import { BlobServer, serveBlob, type BlobHandler } from "./support/blob-server";
import { TestPki } from "./support/fixture";
import type { OtaChildConfig } from "./support/ota-child";
import { sleep, tempDir } from "./support/processes";

const CHILD = join(__dirname, "support", "ota-child.js");
const FACTORY = "1.2.3";
const NEW = "1.3.0";
const SLOT_SIZE = 512 * 1024;
/** The first download is throttled to this many bytes per tick, so the kill lands well before the end. */
const TRICKLE = { bytes: 4096, everyMs: 25 };
/** The kill comes once the child has reported this much of the image written to the slot. */
const KILL_AT_PERCENT = 10;

/** Serves the whole image (200) a piece at a time; stops when the connection goes. */
function throttled(bytes: number, everyMs: number): BlobHandler {
  return (_req, res, body) => {
    res.writeHead(200, { "content-length": String(body.length), "content-type": "application/octet-stream" });
    let sent = 0;
    const timer = setInterval(() => {
      const piece = body.subarray(sent, sent + bytes);
      sent += piece.length;
      if (sent < body.length) res.write(piece);
      else {
        clearInterval(timer);
        res.end(piece);
      }
    }, everyMs);
    res.on("close", () => clearInterval(timer));
  };
}

interface ChildRun {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** The highest download progress reported (per cent). */
  readonly progress: number;
  readonly statuses: string[];
  readonly exited: Promise<void>;
  output(): string;
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/**
 * Power loss in the middle of an update, as a real process death: a child Node process downloads a signed image
 * from the loopback blob server through OtaManager, NodeHttpStreamClient and FileUpdateWriter and is SIGKILLed
 * while the inactive slot is half written. The next power-on must start the old image with nothing pending, and
 * the update, tried again, must complete.
 */
describe("OTA: the device process SIGKILLed mid-write (child process, real HTTPS, file-backed A/B slots)", function () {
  this.timeout(20_000);
  let pki: TestPki;
  let blobs: BlobServer;
  let releaseKey: KeyObject;
  let publicKeyDer: Buffer;
  let dir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    pki = new TestPki();
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    releaseKey = pair.privateKey;
    publicKeyDer = pair.publicKey.export({ format: "der", type: "spki" });
    blobs = await BlobServer.start(pki.ca);
    dir = tempDir("ota-kill");
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }
    await blobs?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function startChild(config: OtaChildConfig): ChildRun {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let text = "";
    let partial = "";
    let progress = -1;
    const lines: string[] = [];
    const statuses: string[] = [];
    child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      const got = (partial + d.toString()).split("\n");
      partial = got.pop()!;
      for (const line of got) {
        text += `${line}\n`;
        lines.push(line);
        const [kind, status, percent] = line.split(" ");
        if (kind !== "STATUS") continue;
        statuses.push(status!);
        if (status === "downloading") progress = Math.max(progress, Number(percent));
      }
    });
    return {
      child,
      lines,
      statuses,
      get progress() {
        return progress;
      },
      exited: new Promise<void>((resolve) => child.once("exit", () => resolve())),
      output: () => text.slice(-6000),
    };
  }

  /** Polls until `predicate` holds; fails at once (with the child's output) if the child exits first. */
  async function until(run: ChildRun, predicate: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) assert.fail(`the device process exited (${run.child.exitCode ?? run.child.signalCode}) before ${what}\n${run.output()}`);
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${run.output()}`);
      await sleep(5);
    }
  }

  async function exitOf(run: ChildRun, timeoutMs = 8000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([run.exited, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the device process did not exit\n${run.output()}`)), timeoutMs)))]).finally(() =>
      clearTimeout(timer),
    );
  }

  it("leaves the old image booting with nothing pending, and the update tried again installs the image", async () => {
    const flash = join(dir, "flash");
    const slotB = join(flash, "slot-b.bin");
    const writerOptions = { slotSize: SLOT_SIZE, factoryVersion: FACTORY };
    const slotBytes = (): number => (existsSync(slotB) ? statSync(slotB).size : 0);
    const image = randomBytes(256 * 1024 + 321);
    const manifest: FirmwareManifest = blobs.publish(image, releaseKey, { version: NEW });
    assert.equal(manifest.sha256, sha256(image));
    const config: OtaChildConfig = { flash, slotSize: SLOT_SIZE, factoryVersion: FACTORY, blobPort: blobs.port, caFile: pki.ca.cert, publicKey: publicKeyDer.toString("base64"), manifest };

    // The factory layout, as the device left the factory: slot a runs FACTORY, slot b is empty.
    const factory: BootRecord = FileUpdateWriter.powerOn(flash, writerOptions).record();
    assert.equal(factory.boot, "a");
    assert.equal(factory.slots.a?.version, FACTORY);

    // 1. The download starts (slowly) and the process is killed once part of the image is in slot b.
    blobs.behave = throttled(TRICKLE.bytes, TRICKLE.everyMs);
    const started = Date.now();
    const first = startChild(config);
    await until(first, () => first.progress >= KILL_AT_PERCENT && slotBytes() > 0, `${KILL_AT_PERCENT} % of the image written to slot b`);
    process.kill(first.child.pid!, "SIGKILL");
    await exitOf(first);
    const killedAfter = Date.now() - started;
    assert.equal(first.child.signalCode, "SIGKILL", `the device process ended only by the kill\n${first.output()}`);
    assert.equal(first.lines[0], `BOOT a ${FACTORY}`);
    assert.deepEqual([...new Set(first.statuses)], ["downloading"], `killed while downloading\n${first.output()}`);
    const partial = slotBytes();
    assert.ok(partial > 0 && partial < image.length, `slot b was half written when the process died (${partial} of ${image.length} bytes)`);
    assert.equal(blobs.served.length, 1);
    assert.ok(blobs.served[0]!.bodyBytes < image.length, "the server had not sent the whole image");

    // 2. Power on after the kill: the bootloader starts the old image; the half-written slot is neither selected nor described.
    const afterKill = FileUpdateWriter.powerOn(flash, writerOptions);
    assert.deepEqual(afterKill.record(), factory, "the boot record is as before the update");
    assert.equal(afterKill.running, "a");
    assert.equal(afterKill.slots().runningVersion, FACTORY);
    assert.deepEqual(afterKill.bootState(), { pendingVerification: false, pendingBootCount: 0 });

    // 3. The update again, in a new device process at full speed: downloaded from the start, verified, selected, restart.
    blobs.behave = serveBlob;
    const retry = startChild(config);
    await exitOf(retry);
    assert.equal(retry.child.exitCode, 0, `the retry ended in a restart into the new image\n${retry.output()}`);
    assert.equal(retry.lines[0], `BOOT a ${FACTORY}`);
    assert.equal(retry.lines[retry.lines.length - 1], "RESTART");
    assert.deepEqual([...new Set(retry.statuses)], ["downloading", "verifying", "applying", "rebooting"]);
    assert.equal(blobs.served.length, 2);
    assert.equal(blobs.served[1]!.range, undefined, "a new session starts from byte 0");
    assert.equal(blobs.served[1]!.status, 200);
    const selected = JSON.parse(readFileSync(join(flash, "boot.json"), "utf8")) as BootRecord;
    assert.deepEqual(selected, {
      v: 1,
      boot: "b",
      slots: { a: factory.slots.a, b: { size: image.length, version: NEW, sha256: manifest.sha256 } },
      pending: { slot: "b", previous: "a", bootCount: 0 },
      rollback: null,
    });
    const written = readFileSync(slotB);
    assert.equal(written.length, image.length);
    assert.equal(sha256(written), manifest.sha256, "slot b holds exactly the signed image");

    // 4. The next power-on runs the new image, pending verification (first boot of it).
    const next = FileUpdateWriter.powerOn(flash, writerOptions);
    assert.equal(next.running, "b");
    assert.equal(next.slots().runningVersion, NEW);
    assert.deepEqual(next.bootState(), { pendingVerification: true, pendingBootCount: 1, previousVersion: FACTORY });
    process.stdout.write(`      killed at ${partial} of ${image.length} bytes after ${killedAfter} ms; retry done after ${Date.now() - started} ms\n`);
  });
});
