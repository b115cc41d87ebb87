import assert from "../support/assert";
import { MemoryStore, type KeyValueStore } from "../../src/ports/storage";
import { WifiCredentialStore } from "../../src/wifi/wifi-credentials";
import { CONFIG_KEY, CONFIG_VERSION, ConfigStore, EMPTY_CONFIG, migrateV1toV2, type ConfigProblem, type DeviceConfig, type Migration } from "../../src/storage/config-store";

const DEFAULTS: DeviceConfig = { wifi: null, hub: null, settings: { brightness: 50, longPressMs: 800 } };

function open(store: KeyValueStore, extra: { version?: number; migrations?: Record<number, Migration> } = {}) {
  const problems: ConfigProblem[] = [];
  const config = new ConfigStore({ store, defaults: DEFAULTS, onProblem: (p) => problems.push(p), ...extra });
  return { config, problems };
}

/** Counts writes, to check that nothing is rewritten needlessly. */
class CountingStore extends MemoryStore {
  writes = 0;
  override set(key: string, value: string): void {
    this.writes++;
    super.set(key, value);
  }
}

describe("ConfigStore (versioned device configuration)", () => {
  it("starts from the defaults when nothing is stored, reporting nothing and writing nothing", () => {
    const store = new CountingStore();
    const { config, problems } = open(store);
    assert.deepEqual(config.config, DEFAULTS);
    assert.deepEqual(problems, []);
    assert.equal(config.storedVersion, undefined);
    assert.equal(store.writes, 0);
  });

  it("saves and loads every section as one record of the current version", () => {
    const store = new CountingStore();
    const a = open(store).config;
    a.update({ wifi: { ssid: "Werkstatt", passphrase: "geheim123" }, hub: { deviceId: "box-1", hubHostName: "iotrafi-prod-iot-hub.azure-devices.net" } });
    a.update({ settings: { brightness: 70 } });
    const stored = JSON.parse(store.get(CONFIG_KEY)!) as { v: number };
    assert.equal(stored.v, CONFIG_VERSION);
    const b = open(store);
    assert.deepEqual(b.problems, []);
    assert.deepEqual(b.config.config, {
      wifi: { ssid: "Werkstatt", passphrase: "geheim123" },
      hub: { deviceId: "box-1", hubHostName: "iotrafi-prod-iot-hub.azure-devices.net" },
      settings: { brightness: 70, longPressMs: 800 },
    });
    const writes = store.writes;
    b.config.update({ settings: { brightness: 70 } });
    assert.equal(store.writes, writes, "an unchanged record is not written again");
  });

  it("refuses invalid input without changing anything", () => {
    const store = new MemoryStore();
    const { config } = open(store);
    assert.throws(() => config.update({ wifi: { ssid: "x", passphrase: "short" } }), /passphrase/);
    assert.throws(() => config.update({ hub: { deviceId: "box 1", hubHostName: "h" } }), /device id/);
    assert.deepEqual(config.config, DEFAULTS);
    assert.equal(store.get(CONFIG_KEY), undefined);
  });

  it("migrates a version 1 record to version 2 and writes it back once", () => {
    const store = new CountingStore();
    store.set(CONFIG_KEY, JSON.stringify({ v: 1, ssid: "Halle 3", psk: "passwort1", hub: "hub-a.azure-devices.net", device: "box-7", brightness: 30 }));
    store.writes = 0;
    const { config, problems } = open(store);
    assert.deepEqual(problems, []);
    assert.equal(config.storedVersion, 1);
    assert.deepEqual(config.config, {
      wifi: { ssid: "Halle 3", passphrase: "passwort1" },
      hub: { deviceId: "box-7", hubHostName: "hub-a.azure-devices.net" },
      settings: { brightness: 30, longPressMs: 800 },
    });
    assert.equal(store.writes, 1);
    assert.equal((JSON.parse(store.get(CONFIG_KEY)!) as { v: number }).v, 2);
    const again = open(store);
    assert.equal(again.config.storedVersion, 2);
    assert.deepEqual(again.config.config, config.config);
    assert.equal(store.writes, 1, "nothing to migrate the second time");
  });

  it("migrates v1 records without Wi-Fi or hub to empty sections", () => {
    assert.deepEqual(migrateV1toV2({ v: 1, brightness: 10 }), { v: 2, wifi: null, hub: null, settings: { brightness: 10 } });
    assert.deepEqual(migrateV1toV2({ v: 1, ssid: "Gast", open: true }), { v: 2, wifi: { ssid: "Gast", allowOpen: true }, hub: null, settings: {} });
  });

  it("chains migrations (v1 -> v2 -> v3)", () => {
    const store = new MemoryStore();
    store.set(CONFIG_KEY, JSON.stringify({ v: 1, ssid: "Halle 3", psk: "passwort1", brightness: 30 }));
    const toV3: Migration = (r) => ({ ...r, v: 3, settings: { ...(r["settings"] as object), migratedToV3: true } });
    const { config, problems } = open(store, { version: 3, migrations: { 1: migrateV1toV2, 2: toV3 } });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.config.settings, { brightness: 30, longPressMs: 800, migratedToV3: true });
    assert.equal((JSON.parse(store.get(CONFIG_KEY)!) as { v: number }).v, 3);
  });

  it("falls back to the defaults and reports a corrupt record, without throwing", () => {
    for (const raw of ["{not json", "null", "[1,2]", '"text"', '{"wifi":null}', '{"v":"2"}', '{"v":0}', '{"v":1.5}']) {
      const store = new MemoryStore();
      store.set(CONFIG_KEY, raw);
      const { config, problems } = open(store);
      assert.deepEqual(config.config, DEFAULTS, raw);
      assert.equal(problems.length, 1, raw);
      assert.equal(problems[0]!.kind, "corrupt", raw);
      assert.equal(config.problems.length, 1);
    }
  });

  it("falls back to a section's default when only that section is bad", () => {
    const store = new MemoryStore();
    store.set(CONFIG_KEY, JSON.stringify({ v: 2, wifi: { ssid: "x", passphrase: "kurz" }, hub: { deviceId: "box-1", hubHostName: "h.example" }, settings: { brightness: 20 } }));
    const { config, problems } = open(store);
    assert.deepEqual(config.config, { wifi: null, hub: { deviceId: "box-1", hubHostName: "h.example" }, settings: { brightness: 20, longPressMs: 800 } });
    assert.deepEqual(problems.map((p) => p.kind), ["invalid-section"]);
    assert.match(problems[0]!.message, /^wifi:/);
  });

  it("falls back to the defaults for a failing migration, and reports it", () => {
    const store = new MemoryStore();
    store.set(CONFIG_KEY, JSON.stringify({ v: 1, ssid: 42 }));
    const { config, problems } = open(store);
    assert.deepEqual(config.config, DEFAULTS);
    assert.deepEqual(problems.map((p) => p.kind), ["migration-failed"]);
  });

  it("uses the defaults for a record from a newer firmware, reports it and leaves it stored", () => {
    const store = new CountingStore();
    const future = JSON.stringify({ v: CONFIG_VERSION + 1, wifi: { ssid: "Neu", passphrase: "passwort1" }, somethingNew: true });
    store.set(CONFIG_KEY, future);
    store.writes = 0;
    const { config, problems } = open(store);
    assert.deepEqual(config.config, DEFAULTS);
    assert.deepEqual(problems.map((p) => p.kind), ["future-version"]);
    assert.equal(config.storedVersion, CONFIG_VERSION + 1);
    assert.equal(store.get(CONFIG_KEY), future);
    assert.equal(store.writes, 0);
  });

  it("survives a store that throws on read, and reports a failed write", () => {
    const broken: KeyValueStore = {
      get: () => {
        throw new Error("flash read error");
      },
      set: () => {
        throw new Error("flash full");
      },
      delete: () => undefined,
    };
    const { config, problems } = open(broken);
    assert.deepEqual(config.config, DEFAULTS);
    assert.equal(problems[0]!.kind, "corrupt");
    assert.throws(() => config.update({ settings: { brightness: 1 } }), /flash/);
    assert.deepEqual(config.config, DEFAULTS, "unchanged after a failed write");
    assert.equal(problems[problems.length - 1]!.kind, "write-failed");
  });

  it("reset goes back to the defaults and removes the record", () => {
    const store = new MemoryStore();
    const { config } = open(store);
    config.update({ settings: { brightness: 99 } });
    config.reset();
    assert.deepEqual(config.config, DEFAULTS);
    assert.equal(store.get(CONFIG_KEY), undefined);
  });
});

describe("ConfigStore legacy import (the records older firmware kept under their own keys)", () => {
  const HUB = "iotrafi-prod-iot-hub.azure-devices.net";
  function openLegacy(store: KeyValueStore) {
    const problems: ConfigProblem[] = [];
    const config = new ConfigStore({ store, defaults: EMPTY_CONFIG, importLegacy: true, onProblem: (p) => problems.push(p) });
    return { config, problems };
  }

  it("imports the Wi-Fi record (key wifi), stores it in config and deletes the legacy key", () => {
    const store = new MemoryStore();
    store.set("wifi", JSON.stringify({ v: 1, ssid: "Halle 3", passphrase: "geheim123", hidden: true }));
    const { config, problems } = openLegacy(store);
    assert.deepEqual(problems, []);
    assert.deepEqual(config.config.wifi, { ssid: "Halle 3", passphrase: "geheim123", hidden: true });
    assert.equal(store.get("wifi"), undefined);
    assert.deepEqual(JSON.parse(store.get(CONFIG_KEY)!), { v: CONFIG_VERSION, wifi: { ssid: "Halle 3", passphrase: "geheim123", hidden: true }, hub: null, settings: {} });
    assert.deepEqual(new WifiCredentialStore(openLegacy(store).config).load(), { credentials: { ssid: "Halle 3", passphrase: "geheim123", hidden: true } });
  });

  it("imports the cached hub assignment (key boot.assign) and deletes the legacy key", () => {
    const store = new MemoryStore();
    store.set("boot.assign", JSON.stringify({ v: 1, deviceId: "box-1", hubHostName: HUB }));
    const { config, problems } = openLegacy(store);
    assert.deepEqual(problems, []);
    assert.deepEqual(config.config.hub, { deviceId: "box-1", hubHostName: HUB });
    assert.equal(store.get("boot.assign"), undefined);
    assert.deepEqual(openLegacy(store).config.config.hub, { deviceId: "box-1", hubHostName: HUB });
  });

  it("imports the settings (key settings) and deletes the legacy key", () => {
    const store = new MemoryStore();
    store.set("settings", JSON.stringify({ v: 1, values: { brightness: 40, doublePress: false } }));
    const { config, problems } = openLegacy(store);
    assert.deepEqual(problems, []);
    assert.deepEqual(config.config.settings, { brightness: 40, doublePress: false });
    assert.equal(store.get("settings"), undefined);
    assert.deepEqual(openLegacy(store).config.config.settings, { brightness: 40, doublePress: false });
  });

  it("imports all three at once; an unusable legacy record is reported and skipped", () => {
    const store = new MemoryStore();
    store.set("wifi", "{torn");
    store.set("boot.assign", JSON.stringify({ v: 1, deviceId: "box-1", hubHostName: HUB }));
    store.set("settings", JSON.stringify({ v: 1, values: { brightness: 40 } }));
    const { config, problems } = openLegacy(store);
    assert.deepEqual(problems.map((p) => p.kind), ["invalid-section"]);
    assert.match(problems[0]!.message, /legacy wifi record not imported/);
    assert.deepEqual(config.config, { wifi: null, hub: { deviceId: "box-1", hubHostName: HUB }, settings: { brightness: 40 } });
    for (const key of ["wifi", "boot.assign", "settings"]) assert.equal(store.get(key), undefined, key);
  });

  it("an existing config record wins; legacy keys left over are deleted, not imported", () => {
    const store = new MemoryStore();
    openLegacy(store).config.update({ settings: { brightness: 70 } });
    store.set("settings", JSON.stringify({ v: 1, values: { brightness: 40 } }));
    const { config } = openLegacy(store);
    assert.deepEqual(config.config.settings, { brightness: 70 });
    assert.equal(store.get("settings"), undefined);
  });

  it("a failed write keeps the legacy keys, to be imported on the next open", () => {
    const inner = new MemoryStore();
    inner.set("boot.assign", JSON.stringify({ v: 1, deviceId: "box-1", hubHostName: HUB }));
    const readOnly: KeyValueStore = { get: (k) => inner.get(k), set: () => { throw new Error("flash full"); }, delete: (k) => inner.delete(k) };
    const { config, problems } = openLegacy(readOnly);
    assert.deepEqual(problems.map((p) => p.kind), ["write-failed"]);
    assert.deepEqual(config.config.hub, { deviceId: "box-1", hubHostName: HUB }, "used for this run");
    assert.ok(inner.get("boot.assign") !== undefined);
  });

  it("a corrupt config record falls back to the defaults and is reported through onProblem", () => {
    const store = new MemoryStore();
    store.set(CONFIG_KEY, "\u0000garbage");
    const { config, problems } = openLegacy(store);
    assert.deepEqual(config.config, EMPTY_CONFIG);
    assert.deepEqual(problems.map((p) => p.kind), ["corrupt"]);
  });
});
