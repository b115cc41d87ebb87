import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileStore } from "../../host/adapters/file-store";
import { tempDir } from "./support/processes";

describe("FileStore (host KeyValueStore in one JSON file)", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir("store");
    file = join(dir, "nvs.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function opened(): { store: FileStore; reports: string[] } {
    const reports: string[] = [];
    return { store: new FileStore(file, { onCorrupt: (reason) => reports.push(reason) }), reports };
  }

  it("starts empty without a file, and creates none until something is set", () => {
    const { store, reports } = opened();
    assert.equal(store.get("boot.assign"), undefined);
    store.delete("boot.assign");
    assert.deepEqual(reports, []);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("keeps values across instances, including deletes and non-ASCII text", () => {
    const a = opened().store;
    a.set("boot.assign", '{"v":1,"hubHostName":"iotrafi-prod-iot-hub.azure-devices.net"}');
    a.set("name", "Tür 3 – Grün ✓");
    a.set("gone", "x");
    a.delete("gone");
    const { store: b, reports } = opened();
    assert.deepEqual(reports, []);
    assert.equal(b.get("boot.assign"), '{"v":1,"hubHostName":"iotrafi-prod-iot-hub.azure-devices.net"}');
    assert.equal(b.get("name"), "Tür 3 – Grün ✓");
    assert.equal(b.get("gone"), undefined);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { "boot.assign": '{"v":1,"hubHostName":"iotrafi-prod-iot-hub.azure-devices.net"}', name: "Tür 3 – Grün ✓" });
  });

  it("replaces the file by rename (a new inode each write) and leaves no temporary file", () => {
    const { store } = opened();
    store.set("k", "1");
    const before = statSync(file).ino;
    store.set("k", "2");
    assert.notEqual(statSync(file).ino, before, "written in place instead of replaced");
    assert.deepEqual(readdirSync(dir), ["nvs.json"]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it("does not touch the file when a value is set to what it already is", () => {
    const { store } = opened();
    store.set("k", "same");
    const before = statSync(file).ino;
    store.set("k", "same");
    assert.equal(statSync(file).ino, before);
  });

  it("keeps the old file and the old value when a write fails", () => {
    const { store } = opened();
    store.set("k", "old");
    mkdirSync(`${file}.${process.pid}.tmp`); // the temporary file cannot be created
    assert.throws(() => store.set("k", "new"), /EISDIR|EEXIST|illegal operation/i);
    assert.equal(store.get("k"), "old");
    assert.throws(() => store.set("other", "v"));
    assert.equal(store.get("other"), undefined);
    assert.throws(() => store.delete("k"));
    assert.equal(store.get("k"), "old");
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { k: "old" });
  });

  it("enforces the device's key and value limits", () => {
    const { store } = opened();
    assert.throws(() => store.set("sixteen-chars-xx", "v"), RangeError);
    assert.throws(() => store.set("", "v"), RangeError);
    assert.throws(() => store.set("big", "ä".repeat(2000)), RangeError, "4000 bytes: no room for NVS's terminating NUL");
    assert.throws(() => store.set("big", "x".repeat(4000)), RangeError);
    store.set("fifteen-chars-x", "x".repeat(3999));
    assert.equal(opened().store.get("fifteen-chars-x")?.length, 3999);
  });

  const CORRUPT: ReadonlyArray<[string, string, RegExp]> = [
    ["garbage", "\u0000\u0001not json at all", /is not JSON/],
    ["an empty file", "", /is not JSON/],
    ["a torn write", '{"boot.assign":"{\\"v\\":1', /is not JSON/],
    ["an array", '["a","b"]', /is not a JSON object/],
    ["null", "null", /is not a JSON object/],
    ["a number value", '{"k":"ok","n":42}', /value of "n" is not a string/],
    ["a key longer than NVS allows", '{"a-key-that-is-too-long":"v"}', /must be 1\.\.15 characters/],
  ];
  for (const [name, content, reason] of CORRUPT) {
    it(`starts empty and reports a file holding ${name}, then writes a good one`, () => {
      writeFileSync(file, content);
      const { store, reports } = opened();
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, reason);
      assert.equal(store.get("k"), undefined);
      store.set("k", "fresh");
      assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { k: "fresh" });
      assert.deepEqual(opened().reports, []);
    });
  }

  it("never throws on open, even when the path cannot be read as a file", () => {
    mkdirSync(file);
    const { store, reports } = opened();
    assert.equal(reports.length, 1);
    assert.match(reports[0]!, /cannot read/);
    assert.equal(store.get("k"), undefined);
  });

  it("opens without a callback too", () => {
    writeFileSync(file, "{");
    assert.equal(new FileStore(file).get("k"), undefined);
  });
});
