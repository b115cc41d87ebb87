import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileUpdateWriter, type FileUpdateWriterOptions } from "../../host/adapters/file-update-writer";
import { tempDir } from "./support/processes";

describe("FileUpdateWriter (host A/B slots and boot record)", () => {
  let dir: string;
  let restarts: number;
  const options = (): FileUpdateWriterOptions => ({ slotSize: 64 * 1024, factoryVersion: "1.0.0", restart: () => restarts++ });
  const image = randomBytes(10_000);
  const info = { size: image.length, version: "1.1.0", sha256: createHash("sha256").update(image).digest("hex") };

  beforeEach(() => {
    dir = tempDir("slots");
    restarts = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("starts from a factory layout and installs into the other slot, selected only by complete()", () => {
    const w = FileUpdateWriter.powerOn(dir, options());
    assert.deepEqual(w.slots(), { runningVersion: "1.0.0", runningSlot: "a", nextSlot: "b", nextSlotSize: 64 * 1024 });
    const s = w.begin(info);
    s.write(image.subarray(0, 4096));
    s.write(image.subarray(4096));
    assert.equal(w.record().boot, "a", "nothing selected before complete()");
    s.complete();
    assert.equal(w.record().boot, "b");
    assert.deepEqual(w.record().pending, { slot: "b", previous: "a", bootCount: 0 });
    assert.deepEqual(readFileSync(w.slotFile("b")), image);
    assert.equal(w.bootState().pendingVerification, false, "this boot still runs a");
    const next = FileUpdateWriter.powerOn(dir, options());
    assert.equal(next.slots().runningVersion, "1.1.0");
    assert.deepEqual(next.bootState(), { pendingVerification: true, pendingBootCount: 1, previousVersion: "1.0.0" });
    next.markValid();
    assert.equal(FileUpdateWriter.powerOn(dir, options()).bootState().pendingVerification, false);
  });

  it("refuses images that do not fit, writes past the size, and incomplete images", () => {
    const w = FileUpdateWriter.powerOn(dir, options());
    assert.throws(() => w.begin({ ...info, size: 64 * 1024 + 1 }), RangeError);
    const s = w.begin(info);
    assert.throws(() => s.write(Buffer.alloc(info.size + 1)), RangeError);
    s.write(image.subarray(0, 100));
    assert.throws(() => s.complete(), /incomplete/);
    s.cancel();
    assert.equal(w.record().boot, "a");
    assert.equal(statSync(w.slotFile("b")).size, 0);
  });

  it("a power cut mid-download (no cancel) leaves the old image booting and the half slot disowned", () => {
    const w = FileUpdateWriter.powerOn(dir, options());
    w.begin(info).write(image.subarray(0, 5000));
    const after = FileUpdateWriter.powerOn(dir, options());
    assert.equal(after.running, "a");
    assert.equal(after.record().slots.b, null);
    assert.equal(after.bootState().pendingVerification, false);
  });

  it("a torn record write (a crash before the rename) leaves the previous record in force", () => {
    const w = FileUpdateWriter.powerOn(dir, options());
    const before = readFileSync(join(dir, "boot.json"), "utf8");
    writeFileSync(join(dir, "boot.json.tmp"), '{"v":1,"boot":"b","slo'); // what a crash mid-write leaves
    assert.equal(FileUpdateWriter.powerOn(dir, options()).running, "a");
    assert.equal(readFileSync(join(dir, "boot.json"), "utf8"), before);
    w.begin(info).cancel(); // the next write replaces the stale temp file
    assert.ok(!existsSync(join(dir, "boot.json.tmp")));
  });

  it("a second update before the restart first deselects the completed, unbooted image", () => {
    const w = FileUpdateWriter.powerOn(dir, options());
    const s = w.begin(info);
    s.write(image);
    s.complete();
    assert.equal(w.record().boot, "b");
    const s2 = w.begin({ ...info, version: "1.2.0" });
    assert.equal(w.record().boot, "a", "slot b is being rewritten: never selected meanwhile");
    assert.equal(w.record().pending, null);
    s2.cancel();
    assert.equal(FileUpdateWriter.powerOn(dir, options()).running, "a");
  });

  it("rollback selects the previous slot, records why, and restarts", () => {
    const w = FileUpdateWriter.powerOn(dir, options());
    const s = w.begin(info);
    s.write(image);
    s.complete();
    const pending = FileUpdateWriter.powerOn(dir, options());
    assert.throws(() => w.markInvalidAndRollback("x"), /not pending/, "only the pending image can roll itself back");
    pending.markInvalidAndRollback("not-confirmed: test");
    assert.equal(restarts, 1);
    const old = FileUpdateWriter.powerOn(dir, options());
    assert.equal(old.running, "a");
    assert.deepEqual(old.bootState(), { pendingVerification: false, pendingBootCount: 0, rollback: { version: "1.1.0", reason: "not-confirmed: test", sha256: info.sha256 } });
    old.clearRollback();
    assert.equal(old.bootState().rollback, undefined);
  });
});
