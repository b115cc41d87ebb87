import assert from "../support/assert";
import { BOOTLOADER_ROLLBACK_REASON, OTA_RECORD_KEY, PartitionUpdateWriter } from "../../src/update/partition-update-writer";
import { SimulatedPartitions, SIMULATED_OTADATA_KEY, type PartitionMedia } from "../../src/update/simulated-partitions";
import type { PartitionImageWriter } from "../../src/ports/ota-partitions";
import { MemoryStore } from "../../src/ports/storage";
import { toHex } from "../../src/core/bytes";
import { sha256 } from "../support/sha256";
import { testImage } from "../support/fake-ota";

const SIZE = 64 * 1024;

class MemoryMedia implements PartitionMedia {
  readonly bytes = new Map<string, number[]>();
  erases = 0;
  erase(label: string): void {
    this.erases++;
    this.bytes.set(label, []);
  }
  append(label: string, chunk: Uint8Array): void {
    const into = this.bytes.get(label) ?? [];
    for (const b of chunk) into.push(b);
    this.bytes.set(label, into);
  }
  image(label: string): Uint8Array {
    return Uint8Array.from(this.bytes.get(label) ?? []);
  }
}

/** One simulated device: a store (NVS) and partitions (flash) that outlive "boots". */
class Device {
  readonly store = new MemoryStore();
  readonly media = new MemoryMedia();
  restarts = 0;
  problems: string[] = [];
  partitions!: SimulatedPartitions;
  writer!: PartitionUpdateWriter;

  constructor(private readonly builtVersion = "1.0.0") {
    this.powerOn();
  }

  /** The bootloader runs, then the firmware constructs its writer. */
  powerOn(partitions?: (p: SimulatedPartitions) => SimulatedPartitions): this {
    const p = new SimulatedPartitions({ store: this.store, media: this.media, size: SIZE, factoryVersion: this.builtVersion, restart: () => this.restarts++ });
    this.partitions = partitions ? partitions(p) : p;
    this.writer = new PartitionUpdateWriter({ partitions: this.partitions, store: this.store, runningVersion: this.builtVersion, onProblem: (m) => this.problems.push(m) });
    return this;
  }

  install(version: string, image: Uint8Array, chunk = 1000): void {
    const session = this.writer.begin({ size: image.length, version, sha256: toHex(sha256(image)) });
    for (let i = 0; i < image.length; i += chunk) session.write(image.subarray(i, i + chunk));
    session.complete();
  }
}

describe("PartitionUpdateWriter over ESP-IDF style A/B partitions (simulated bootloader)", () => {
  const IMAGE = testImage(5000);

  it("starts on ota_0 with the built version and updates into ota_1", () => {
    const d = new Device();
    assert.deepEqual(d.writer.slots(), { runningVersion: "1.0.0", runningSlot: "ota_0", nextSlot: "ota_1", nextSlotSize: SIZE });
    assert.deepEqual(d.writer.bootState(), { pendingVerification: false, pendingBootCount: 0 });
    d.install("1.1.0", IMAGE);
    assert.equal(d.partitions.boot().label, "ota_1", "selected for the next boot");
    assert.equal(d.partitions.running().label, "ota_0", "still running the old image");
    assert.equal(toHex(sha256(d.media.image("ota_1"))), toHex(sha256(IMAGE)));
    assert.equal(d.writer.bootState().pendingVerification, false, "pending only once booted");
  });

  it("boots the new image pending verification; markValid keeps it and clears the record", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.powerOn();
    assert.equal(d.writer.slots().runningVersion, "1.1.0");
    assert.equal(d.writer.slots().runningSlot, "ota_1");
    assert.deepEqual(d.writer.bootState(), { pendingVerification: true, pendingBootCount: 1, previousVersion: "1.0.0" });
    d.writer.markValid();
    assert.equal(d.partitions.running().state, "valid");
    assert.equal(d.store.get(OTA_RECORD_KEY), undefined, "nothing left to track");
    d.powerOn();
    assert.deepEqual(d.writer.bootState(), { pendingVerification: false, pendingBootCount: 0 });
    assert.equal(d.writer.slots().runningSlot, "ota_1");
  });

  it("a pending image restarted before markValid is aborted by the bootloader; the old image reports the rollback", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.powerOn(); // pending
    d.powerOn(); // restarted unconfirmed: the bootloader goes back
    assert.equal(d.writer.slots().runningSlot, "ota_0");
    assert.equal(d.writer.slots().runningVersion, "1.0.0");
    assert.deepEqual(d.writer.bootState(), {
      pendingVerification: false,
      pendingBootCount: 0,
      rollback: { version: "1.1.0", reason: BOOTLOADER_ROLLBACK_REASON, sha256: toHex(sha256(IMAGE)) },
    });
    d.powerOn();
    assert.equal(d.writer.bootState().rollback?.version, "1.1.0", "kept until reported");
    d.writer.clearRollback();
    assert.equal(d.writer.bootState().rollback, undefined);
    assert.equal(d.store.get(OTA_RECORD_KEY), undefined);
  });

  it("markInvalidAndRollback records the reason, restarts, and the old image reports it", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.powerOn();
    d.writer.markInvalidAndRollback("not-confirmed: did not reach the hub within 10 min");
    assert.equal(d.restarts, 1);
    d.powerOn();
    assert.equal(d.writer.slots().runningSlot, "ota_0");
    assert.deepEqual(d.writer.bootState().rollback, { version: "1.1.0", reason: "not-confirmed: did not reach the hub within 10 min", sha256: toHex(sha256(IMAGE)) });
  });

  it("refuses an image larger than the partition before anything is erased", () => {
    const d = new Device();
    assert.throws(() => d.writer.begin({ size: SIZE + 1, version: "1.1.0", sha256: "00" }), RangeError);
    assert.equal(d.media.erases, 0);
    assert.throws(() => d.writer.begin({ size: 0, version: "1.1.0", sha256: "00" }), RangeError);
  });

  it("a cancelled or interrupted write leaves the old image booting and no record behind", () => {
    const d = new Device();
    const session = d.writer.begin({ size: IMAGE.length, version: "1.1.0", sha256: "aa" });
    session.write(IMAGE.subarray(0, 1000));
    assert.throws(() => session.complete(), /incomplete/);
    session.cancel();
    session.cancel();
    d.powerOn();
    assert.equal(d.writer.slots().runningSlot, "ota_0");
    assert.deepEqual(d.writer.bootState(), { pendingVerification: false, pendingBootCount: 0 });
    // Power lost mid-write (no cancel at all):
    const again = d.writer.begin({ size: IMAGE.length, version: "1.1.0", sha256: "aa" });
    again.write(IMAGE.subarray(0, 1000));
    d.powerOn();
    assert.equal(d.writer.slots().runningSlot, "ota_0");
    assert.equal(d.store.get(OTA_RECORD_KEY), undefined);
    d.install("1.1.0", IMAGE);
    d.powerOn();
    assert.equal(d.writer.slots().runningVersion, "1.1.0", "a retry succeeds");
  });

  it("writes past the announced size are refused", () => {
    const d = new Device();
    const session = d.writer.begin({ size: 10, version: "1.1.0", sha256: "aa" });
    session.write(new Uint8Array(8));
    assert.throws(() => session.write(new Uint8Array(3)), RangeError);
    session.cancel();
    assert.throws(() => session.write(new Uint8Array(1)), /closed/);
  });

  it("a failed esp_ota_end leaves the boot partition unchanged; an old abort of that partition is not mistaken for a rollback", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.powerOn();
    d.powerOn(); // 1.1.0 aborted by the bootloader, ota_1 is the last invalid partition
    d.writer.clearRollback();
    d.powerOn((p) => {
      const open = p.open.bind(p);
      p.open = (image) => {
        const w = open(image);
        return { ...w, complete: () => { throw new Error("end failed: image invalid"); } } satisfies PartitionImageWriter;
      };
      return p;
    });
    const session = d.writer.begin({ size: IMAGE.length, version: "1.2.0", sha256: "bb" });
    session.write(IMAGE);
    assert.throws(() => session.complete(), /end failed/);
    assert.equal(d.partitions.boot().label, "ota_0");
    d.powerOn();
    assert.deepEqual(d.writer.bootState(), { pendingVerification: false, pendingBootCount: 0 });
    // Power lost inside complete(), before the partition was selected: the record says "selecting".
    d.store.set(OTA_RECORD_KEY, JSON.stringify({ v: 1, target: { slot: "ota_1", version: "1.2.0", sha256: "bb", previous: "1.0.0", phase: "selecting" } }));
    d.powerOn();
    assert.deepEqual(d.writer.bootState(), { pendingVerification: false, pendingBootCount: 0 }, "not a rollback of 1.2.0");
    assert.equal(d.store.get(OTA_RECORD_KEY), undefined, "the stale record is dropped");
  });

  it("a second update before the restart first selects the running image again", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    assert.equal(d.partitions.boot().label, "ota_1");
    const session = d.writer.begin({ size: IMAGE.length, version: "1.2.0", sha256: "cc" });
    assert.equal(d.partitions.boot().label, "ota_0", "the half-rewritten partition is not selected");
    session.write(IMAGE.subarray(0, 100));
    d.powerOn();
    assert.equal(d.writer.slots().runningSlot, "ota_0");
    assert.deepEqual(d.writer.bootState(), { pendingVerification: false, pendingBootCount: 0 });
  });

  it("a lost record (power cut right after selection) still boots the image pending verification", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.store.delete(OTA_RECORD_KEY);
    d.powerOn();
    assert.deepEqual(d.writer.bootState(), { pendingVerification: true, pendingBootCount: 1 });
    d.powerOn();
    assert.equal(d.writer.slots().runningSlot, "ota_0", "the bootloader still rolls back");
  });

  it("an unreadable record is reported and ignored; the partitions still decide", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.store.set(OTA_RECORD_KEY, "{not json");
    d.powerOn();
    assert.equal(d.problems.length, 1);
    assert.match(d.problems[0]!, /update record unusable/);
    assert.equal(d.writer.bootState().pendingVerification, true);
    d.store.set(SIMULATED_OTADATA_KEY, "garbage");
    d.powerOn();
    assert.equal(d.writer.slots().runningSlot, "ota_0", "erased otadata boots the first partition");
  });

  it("no update while the running image is unconfirmed (as esp_ota_begin refuses)", () => {
    const d = new Device();
    d.install("1.1.0", IMAGE);
    d.powerOn();
    assert.throws(() => d.writer.begin({ size: 10, version: "1.2.0", sha256: "aa" }), /not confirmed/);
    d.writer.markValid();
    d.writer.begin({ size: 10, version: "1.2.0", sha256: "aa" }).cancel();
  });

  it("one session at a time", () => {
    const d = new Device();
    const session = d.writer.begin({ size: 10, version: "1.1.0", sha256: "aa" });
    assert.throws(() => d.writer.begin({ size: 10, version: "1.1.0", sha256: "aa" }), /already open/);
    session.cancel();
    d.writer.begin({ size: 10, version: "1.1.0", sha256: "aa" }).cancel();
  });
});
