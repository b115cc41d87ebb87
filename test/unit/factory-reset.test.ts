import assert from "../support/assert";
import { FACTORY_RESET_KEYS, FactoryReset, eraseKeys, isIdentityKey, isSecurityFloorKey, type FactoryResetOutcome } from "../../src/device/factory-reset";
import { SECURITY_FLOOR_KEY, SECURITY_PENDING_KEY, SecurityFloor } from "../../src/update/security-floor";
import type { PatternSpec } from "../../src/device/led-patterns";
import type { ButtonInput, EdgeListener } from "../../src/ports/gpio";
import { MemoryStore, type KeyValueStore } from "../../src/ports/storage";
import { WifiCredentialStore } from "../../src/wifi/wifi-credentials";
import { ConfigStore, EMPTY_CONFIG } from "../../src/storage/config-store";
import { ManualClock } from "../support/manual-clock";

/** A push-button with a pull-up: low (false) while pressed. */
class FakeButton implements ButtonInput {
  level = true;
  private readonly listeners = new Set<EdgeListener>();
  constructor(private readonly clock: ManualClock) {}
  onEdge(listener: EdgeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  read(): boolean {
    return this.level;
  }
  close(): void {}
  set(level: boolean): void {
    this.level = level;
    for (const l of this.listeners) l(level, this.clock.monotonic());
  }
  get listening(): number {
    return this.listeners.size;
  }
}

function setup(pressedAtPowerUp: boolean) {
  const clock = new ManualClock();
  const button = new FakeButton(clock);
  button.level = !pressedAtPowerUp;
  const shown: string[] = [];
  const store = new MemoryStore();
  for (const key of ["wifi", "config", "settings", "boot.assign", "boot.count", "safe.mode", "deviceId", "cert.len", "cert.0", "key.len", "key.0"]) store.set(key, "x");
  let erased = 0;
  const reset = new FactoryReset({
    input: button,
    clock,
    leds: { set: (index: number, spec: PatternSpec) => shown.push(`${index}:${spec.pattern}/${String(spec.color)}`) },
    ledIndices: [0, 1],
    holdMs: 10_000,
    debounceMs: 50,
    erase: () => {
      erased++;
      const failed = eraseKeys(store);
      if (failed.length) throw new Error(`not erased: ${failed.map((f) => f.key).join(",")}`);
    },
  });
  let outcome: FactoryResetOutcome | undefined;
  void reset.run().then((o) => (outcome = o));
  return { clock, button, shown, store, reset, erasedCount: () => erased, outcome: () => outcome };
}

describe("FactoryReset", () => {
  it("does nothing when the button is not held at power-up", async () => {
    const t = setup(false);
    await t.clock.advance(0);
    assert.equal(t.outcome(), "not-held");
    assert.deepEqual(t.shown, []);
    assert.equal(t.clock.timerCount, 0);
    assert.equal(t.button.listening, 0);
  });

  it("held 10 s: blinks white, then solid red; releasing erases credentials and settings but not the identity", async () => {
    const t = setup(true);
    await t.clock.advance(0);
    assert.deepEqual(t.shown, ["0:blink/white", "1:blink/white"]);
    await t.clock.advance(9999);
    assert.equal(t.reset.phase, "holding");
    await t.clock.advance(1);
    assert.equal(t.reset.phase, "armed");
    assert.deepEqual(t.shown.slice(2), ["0:on/red", "1:on/red"]);
    assert.equal(t.erasedCount(), 0, "nothing erased while still held");
    t.button.set(true);
    await t.clock.advance(50);
    assert.equal(t.outcome(), "erased");
    for (const key of FACTORY_RESET_KEYS) assert.equal(t.store.get(key), undefined, key);
    for (const key of ["deviceId", "cert.len", "cert.0", "key.len", "key.0"]) assert.equal(t.store.get(key), "x", key);
    assert.equal(t.clock.timerCount, 0);
    assert.equal(t.button.listening, 0);
  });

  it("releasing early aborts: LEDs off, nothing erased", async () => {
    const t = setup(true);
    await t.clock.advance(4000);
    t.button.set(true);
    await t.clock.advance(50);
    assert.equal(t.outcome(), "aborted");
    assert.deepEqual(t.shown.slice(-2), ["0:off/off", "1:off/off"]);
    assert.equal(t.erasedCount(), 0);
    assert.equal(t.store.get("wifi"), "x");
  });

  it("ignores bounces shorter than the debounce time", async () => {
    const t = setup(true);
    await t.clock.advance(3000);
    t.button.set(true);
    await t.clock.advance(20);
    t.button.set(false);
    await t.clock.advance(7000);
    assert.equal(t.reset.phase, "armed");
    t.button.set(true);
    await t.clock.advance(60);
    assert.equal(t.outcome(), "erased");
  });

  it("a button stuck down never erases", async () => {
    const t = setup(true);
    await t.clock.advance(10_000 + 60_000);
    assert.equal(t.outcome(), "aborted");
    assert.equal(t.erasedCount(), 0);
  });

  it("reports a failing erase", async () => {
    const clock = new ManualClock();
    const button = new FakeButton(clock);
    button.level = false;
    const reset = new FactoryReset({ input: button, clock, leds: { set() {} }, erase: () => { throw new Error("flash"); } });
    const result = reset.run();
    await clock.advance(10_000);
    button.set(true);
    await clock.advance(50);
    assert.equal(await result, "failed");
  });

  it("eraseKeys refuses identity keys and goes on past a failing key", () => {
    assert.ok(isIdentityKey("cert.12") && isIdentityKey("key.len") && isIdentityKey("deviceId"));
    assert.ok(!isIdentityKey("config") && !isIdentityKey("keyboard"));
    assert.throws(() => eraseKeys(new MemoryStore(), ["wifi", "cert.0"]), RangeError);
    const store = new MemoryStore();
    new WifiCredentialStore(store).save({ ssid: "home", passphrase: "secret-pass" });
    const flaky: KeyValueStore = {
      get: (k) => store.get(k),
      set: (k, v) => store.set(k, v),
      delete: (k) => {
        if (k === "config") throw new Error("flash");
        store.delete(k);
      },
    };
    assert.deepEqual(eraseKeys(flaky), [{ key: "config", error: "flash" }]);
    assert.deepEqual(new WifiCredentialStore(store).load(), {});
  });

  it("erasing the config record erases Wi-Fi, the hub assignment and the settings; identity keys stay", () => {
    const store = new MemoryStore();
    store.set("deviceId", "box-1");
    store.set("cert.0", "pem");
    const config = new ConfigStore({ store, defaults: EMPTY_CONFIG });
    config.update({
      wifi: { ssid: "home", passphrase: "secret-pass" },
      hub: { deviceId: "box-1", hubHostName: "iotrafi-prod-iot-hub.azure-devices.net" },
      settings: { brightness: 40 },
    });
    assert.ok(store.get("config") !== undefined);
    assert.deepEqual(eraseKeys(store), []);
    assert.equal(store.get("config"), undefined);
    assert.deepEqual(new ConfigStore({ store, defaults: EMPTY_CONFIG, importLegacy: true }).config, EMPTY_CONFIG);
    assert.equal(store.get("deviceId"), "box-1");
    assert.equal(store.get("cert.0"), "pem");
  });

  it("keeps the update security floor: not among the erased keys, and eraseKeys refuses it", () => {
    assert.ok(isSecurityFloorKey(SECURITY_FLOOR_KEY) && isSecurityFloorKey(SECURITY_PENDING_KEY));
    for (const key of FACTORY_RESET_KEYS) assert.ok(!isSecurityFloorKey(key), key);
    assert.throws(() => eraseKeys(new MemoryStore(), ["config", SECURITY_FLOOR_KEY]), (e) => e instanceof RangeError && /security floor \(fw\.secfloor\)/.test(e.message));
    assert.throws(() => eraseKeys(new MemoryStore(), [SECURITY_PENDING_KEY]), RangeError);
    const store = new MemoryStore();
    new SecurityFloor(store).raise(7);
    new SecurityFloor(store).setPending({ version: "2.0.0", securityVersion: 8 });
    store.set("config", "{}");
    assert.deepEqual(eraseKeys(store), []);
    assert.equal(store.get("config"), undefined);
    assert.equal(new SecurityFloor(store).floor(), 7);
    assert.deepEqual(new SecurityFloor(store).pending(), { version: "2.0.0", securityVersion: 8 });
  });
});

describe("power-up gesture: setup (3 s) or factory reset (10 s)", () => {
  function gesture() {
    const clock = new ManualClock();
    const button = new FakeButton(clock);
    button.level = false;
    const shown: string[] = [];
    let erased = 0;
    const reset = new FactoryReset({
      input: button,
      clock,
      leds: { set: (index: number, spec: PatternSpec) => shown.push(`${index}:${spec.pattern}/${String(spec.color)}`) },
      holdMs: 10_000,
      setupHoldMs: 3000,
      erase: () => void erased++,
    });
    let outcome: FactoryResetOutcome | undefined;
    void reset.run().then((o) => (outcome = o));
    return { clock, button, shown, reset, erased: () => erased, outcome: () => outcome };
  }

  it("released after 3 s (solid blue): setup, nothing erased", async () => {
    const t = gesture();
    await t.clock.advance(2999);
    assert.equal(t.reset.phase, "holding");
    await t.clock.advance(1);
    assert.equal(t.reset.phase, "setup");
    assert.deepEqual(t.shown, ["0:blink/white", "0:on/blue"]);
    await t.clock.advance(4000);
    t.button.set(true);
    await t.clock.advance(50);
    assert.equal(t.outcome(), "setup");
    assert.equal(t.erased(), 0);
    assert.equal(t.clock.timerCount, 0);
    assert.equal(t.button.listening, 0);
  });

  it("released before 3 s: aborted; held on to 10 s: blue turns red and releasing erases", async () => {
    const early = gesture();
    await early.clock.advance(2000);
    early.button.set(true);
    await early.clock.advance(50);
    assert.equal(early.outcome(), "aborted");

    const t = gesture();
    await t.clock.advance(10_000);
    assert.equal(t.reset.phase, "armed");
    assert.deepEqual(t.shown, ["0:blink/white", "0:on/blue", "0:on/red"]);
    t.button.set(true);
    await t.clock.advance(50);
    assert.equal(t.outcome(), "erased");
    assert.equal(t.erased(), 1);
  });

  it("a bounce while blue does not end the setup gesture early", async () => {
    const t = gesture();
    await t.clock.advance(3500);
    t.button.set(true);
    await t.clock.advance(20);
    t.button.set(false);
    await t.clock.advance(1000);
    assert.equal(t.reset.phase, "setup");
    assert.equal(t.outcome(), undefined);
  });

  it("setupHoldMs must lie between the debounce time and holdMs; the setup password is never erased", () => {
    const clock = new ManualClock();
    const input = new FakeButton(clock);
    for (const setupHoldMs of [0, 50, 10_000, 12_000, 2.5]) {
      assert.throws(() => new FactoryReset({ input, clock, leds: { set() {} }, erase() {}, holdMs: 10_000, setupHoldMs }), RangeError, String(setupHoldMs));
    }
    assert.ok(isIdentityKey("setup.pw"));
    assert.throws(() => eraseKeys(new MemoryStore(), ["setup.pw"]), RangeError);
  });
});
