import assert from "../support/assert";
import { WifiConfigError, WifiCredentialStore, unsupportedReason, validateCredentials, validatePassphrase, validateSsid } from "../../src/wifi/wifi-credentials";
import { WifiManager, type WifiStatus } from "../../src/wifi/wifi-manager";
import { MemoryStore } from "../../src/ports/storage";
import { scoped, silentLogger } from "../../src/ports/logger";
import { SimulatedWifiRadio, type SimulatedNetwork } from "../../host/adapters/simulated-wifi";
import { ManualClock, SequenceRandom } from "../support/manual-clock";

describe("Wi-Fi credentials", () => {
  it("accepts SSIDs of 1-32 bytes, counting UTF-8 bytes", () => {
    validateSsid("a");
    validateSsid("x".repeat(32));
    validateSsid("Halle-Ä".padEnd(31, "x")); // Ä is 2 bytes: 32 bytes
    assert.throws(() => validateSsid(""), WifiConfigError);
    assert.throws(() => validateSsid("x".repeat(33)), /1-32 bytes/);
    assert.throws(() => validateSsid("Ä".repeat(17)), /got 34/);
  });

  it("accepts passphrases of 8-63 printable ASCII or 64 hex digits", () => {
    validatePassphrase("12345678");
    validatePassphrase(" ~".repeat(31) + "!");
    validatePassphrase("a".repeat(63));
    validatePassphrase("0123456789abcdef".repeat(4));
    assert.throws(() => validatePassphrase("1234567"), /8-63/);
    assert.throws(() => validatePassphrase("g".repeat(64)), /8-63/);
    assert.throws(() => validatePassphrase("a".repeat(65)), /8-63/);
    assert.throws(() => validatePassphrase("pässwort123"), /printable ASCII/);
    assert.throws(() => validatePassphrase("tab\there!"), /printable ASCII/);
  });

  it("requires an explicit opt-in for open networks", () => {
    assert.throws(() => validateCredentials({ ssid: "guest" }), /open networks must be allowed/);
    validateCredentials({ ssid: "guest", allowOpen: true });
  });

  it("joins WPA/WPA2-PSK and refuses open (unless allowed), WEP, WPA3-only and enterprise with a reason", () => {
    const psk = { ssid: "s", passphrase: "12345678" };
    for (const mode of ["wpa-psk", "wpa2-psk", "wpa-wpa2-psk", "wpa2-wpa3-psk"] as const) assert.equal(unsupportedReason(mode, psk), undefined, mode);
    assert.match(unsupportedReason("open", psk)!, /open network/);
    assert.equal(unsupportedReason("open", { ssid: "s", allowOpen: true }), undefined);
    assert.match(unsupportedReason("wep", psk)!, /WEP is not supported/);
    assert.match(unsupportedReason("wpa3-sae", psk)!, /WPA3-only/);
    assert.match(unsupportedReason("wpa2-enterprise", psk)!, /802\.1X/);
    assert.match(unsupportedReason("wpa3-enterprise", psk)!, /802\.1X/);
  });

  it("persists credentials as a versioned record and reports an unusable one", () => {
    const store = new MemoryStore();
    const creds = new WifiCredentialStore(store);
    assert.deepEqual(creds.load(), {});
    creds.save({ ssid: "Halle 3", passphrase: "geheim123" });
    assert.deepEqual(new WifiCredentialStore(store).load(), { credentials: { ssid: "Halle 3", passphrase: "geheim123" } });
    assert.throws(() => creds.save({ ssid: "", passphrase: "geheim123" }), WifiConfigError);
    store.set("wifi", "{broken");
    assert.match(creds.load().problem!, /unusable/);
    store.set("wifi", JSON.stringify({ v: 1, ssid: "x", passphrase: "short" }));
    assert.match(creds.load().problem!, /8-63/);
  });
});

describe("WifiManager", () => {
  const HALLE: SimulatedNetwork = { ssid: "Halle", authMode: "wpa2-psk", passphrase: "geheim123", rssi: -60, channel: 11 };

  function setup(networks: SimulatedNetwork[], stored?: object) {
    const clock = new ManualClock();
    const store = new MemoryStore();
    if (stored) store.set("wifi", JSON.stringify({ v: 1, ...stored }));
    const radio = new SimulatedWifiRadio(clock, networks);
    const wifi = new WifiManager({
      radio,
      store,
      clock,
      random: new SequenceRandom([0.5]),
      logger: scoped(silentLogger, "wifi"),
      backoff: { initialMs: 1000, maxMs: 16_000 },
      joinTimeoutMs: 5000,
    });
    const states: WifiStatus[] = [];
    wifi.onStatus((s) => states.push(s));
    return { clock, store, radio, wifi, states };
  }

  it("joins the stored WPA2 network and reports IP, RSSI and channel", async () => {
    const t = setup([HALLE], { ssid: "Halle", passphrase: "geheim123" });
    t.wifi.start();
    await t.clock.advance(100);
    assert.equal(t.wifi.connected, true);
    const s = t.wifi.status;
    assert.deepEqual([s.state, s.ssid, s.ip, s.rssi, s.channel], ["connected", "Halle", "192.0.2.10", -60, 11]);
  });

  it("waits, unconfigured, until credentials are set; then joins", async () => {
    const t = setup([HALLE]);
    t.wifi.start();
    assert.equal(t.wifi.status.state, "unconfigured");
    assert.throws(() => t.wifi.setCredentials({ ssid: "Halle", passphrase: "kurz" }), WifiConfigError);
    t.wifi.setCredentials({ ssid: "Halle", passphrase: "geheim123" });
    await t.clock.advance(100);
    assert.equal(t.wifi.connected, true);
    assert.match(t.store.get("wifi")!, /Halle/);
  });

  for (const [mode, reason] of [
    ["wep", /WEP/],
    ["wpa3-sae", /WPA3-only/],
    ["wpa2-enterprise", /802\.1X/],
    ["open", /open network/],
  ] as const) {
    it(`refuses a ${mode} network without trying to join it`, async () => {
      const t = setup([{ ssid: "Halle", authMode: mode }], { ssid: "Halle", passphrase: "geheim123" });
      t.wifi.start();
      await t.clock.advance(10);
      assert.equal(t.wifi.status.state, "waiting");
      assert.match(t.wifi.status.lastError!, reason);
      assert.deepEqual(t.radio.joins, []);
    });
  }

  it("joins an open network only when allowed", async () => {
    const t = setup([{ ssid: "Gast", authMode: "open" }], { ssid: "Gast", allowOpen: true });
    t.wifi.start();
    await t.clock.advance(100);
    assert.equal(t.wifi.connected, true);
  });

  it("backs off with growing jittered delays on repeated failures (wrong passphrase)", async () => {
    const t = setup([HALLE], { ssid: "Halle", passphrase: "falsch123" });
    t.wifi.start();
    const joinsAt: number[] = [];
    for (let i = 0; i < 5; i++) {
      await t.clock.advance(10);
      assert.match(t.wifi.status.lastError!, /authentication failed/);
      joinsAt.push(t.clock.nextDelay()!);
      await t.clock.runNext();
    }
    assert.deepEqual(joinsAt, [500, 1000, 2000, 4000, 8000]);
    assert.equal(t.wifi.status.failures, 5);
  });

  it("reports a network that is not there, and joins when it appears", async () => {
    const t = setup([], { ssid: "Halle", passphrase: "geheim123" });
    t.wifi.start();
    await t.clock.advance(1);
    assert.match(t.wifi.status.lastError!, /not found/);
    t.radio.setNetworks([HALLE]);
    await t.clock.advance(600);
    assert.equal(t.wifi.connected, true);
    assert.equal(t.wifi.status.failures, 0, "backoff reset after success");
  });

  it("gives up on an attempt that gets no address within the join timeout", async () => {
    const t = setup([HALLE], { ssid: "Halle", passphrase: "geheim123" });
    t.radio.dhcpAnswers = false;
    t.wifi.start();
    await t.clock.advance(5000);
    assert.match(t.wifi.status.lastError!, /no IP address within 5000 ms/);
    t.radio.dhcpAnswers = true;
    await t.clock.advance(600);
    assert.equal(t.wifi.connected, true);
  });

  it("recovers from a dropped link and from a lost IP address", async () => {
    const t = setup([HALLE], { ssid: "Halle", passphrase: "geheim123" });
    t.wifi.start();
    await t.clock.advance(100);
    t.radio.dropLink("beacon timeout");
    assert.equal(t.wifi.status.state, "waiting");
    assert.match(t.wifi.status.lastError!, /beacon timeout/);
    await t.clock.advance(600);
    assert.equal(t.wifi.connected, true);
    t.radio.loseIp();
    assert.match(t.wifi.status.lastError!, /lost the IP address/);
    await t.clock.advance(600);
    assert.equal(t.wifi.connected, true);
    assert.equal(t.radio.joins.length, 3);
  });

  it("joins a hidden network without finding it in a scan", async () => {
    const t = setup([{ ...HALLE, hidden: true }], { ssid: "Halle", passphrase: "geheim123", hidden: true });
    t.wifi.start();
    await t.clock.advance(100);
    assert.equal(t.wifi.connected, true);
    assert.equal(t.radio.scans, 0);
  });

  it("reports corrupt stored credentials and stays unconfigured instead of failing", () => {
    const t = setup([HALLE]);
    t.store.set("wifi", "not json");
    t.wifi.start();
    assert.equal(t.wifi.status.state, "unconfigured");
    assert.match(t.wifi.status.lastError!, /unusable/);
  });
});
