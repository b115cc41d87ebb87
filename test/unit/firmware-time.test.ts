import assert from "../support/assert";
import { createFirmware, type Firmware } from "../../src/device/firmware";
import { MemoryStore } from "../../src/ports/storage";
import { silentLogger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { EUROPE_POOL } from "../../src/time/sntp-client";
import { TIME_FLOOR_KEY } from "../../src/time/time-sanity";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { FakeConnector } from "../support/fake-mqtt";
import { FakeHttps } from "../support/fake-https";
import { FakeDatagrams } from "../support/fake-datagrams";
import { ManualClock, SequenceRandom } from "../support/manual-clock";

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const HOUR = 3_600_000;

/** The firmware assembly with SNTP (no trusted platform clock), on fakes, sharing `store` across "boots". */
function boot(store: MemoryStore, timeFloor: number) {
  const clock = new ManualClock(NOW);
  const connector = new FakeConnector();
  connector.autoAckQos1 = true;
  const net = new FakeDatagrams(clock);
  const firmware: Firmware = createFirmware(
    {
      clock,
      systemTime: { set: () => undefined },
      random: new SequenceRandom([0.5]),
      logger: silentLogger,
      mqtt: connector,
      https: new FakeHttps(),
      datagrams: net,
      wifi: new SimulatedWifiRadio(clock, [{ ssid: "Halle", authMode: "wpa2-psk", passphrase: "geheim123" }]),
      store,
      leds: { set: () => undefined },
    },
    {
      firmwareVersion: "0.1.0",
      deviceId: "box-time-1",
      credentials: { ca: [], certificate: utf8("c"), key: utf8("k") },
      profile: { name: "box", buttons: 1, segments: [] },
      timeFloor,
      skipBootstrap: true,
      sntpRequestTimeoutMs: 500,
    },
  );
  return { clock, connector, net, firmware };
}

function freshStore(): MemoryStore {
  const store = new MemoryStore();
  store.set("wifi", JSON.stringify({ v: 1, ssid: "Halle", passphrase: "geheim123" }));
  return store;
}

describe("createFirmware: the clock floor and the refusals in diagnostics", () => {
  it("refuses an SNTP time below the build floor, boots on a good one, reports the refusal and stores the floor", async () => {
    const store = freshStore();
    const t = boot(store, NOW - HOUR);
    for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: -2 * HOUR });
    t.firmware.start();
    await t.clock.advance(100);
    assert.equal(t.firmware.clock.valid, false, "not set below the floor");
    assert.equal(t.firmware.timeSanity.refused, 1);
    assert.equal(t.firmware.boot.status.phase, "time");
    assert.equal(t.connector.attempts.length, 0, "no TLS without a valid clock");

    for (const s of EUROPE_POOL) t.net.script(s, { kind: "answer", offsetMs: 0 });
    await t.clock.advance(5000);
    assert.equal(t.firmware.clock.valid, true);
    assert.equal(t.firmware.boot.status.phase, "online");
    await t.clock.advance(2000); // diagnostics settle after the connect
    const reports = t.connector.last.on("$iothub/twin/PATCH/properties/reported/").map((p) => JSON.parse(p.text) as { diagnostics?: { time?: unknown } });
    const time = reports.map((r) => r.diagnostics?.time).filter((x) => x !== undefined).pop() as { floor: string; refused: number; lastRefusal: { reason: string; server: string } | null };
    assert.ok(time, "diagnostics carry time");
    assert.equal(time.refused, 1);
    assert.equal(time.lastRefusal?.reason, "below-floor");
    assert.ok(EUROPE_POOL.includes(time.lastRefusal!.server));
    const stored = store.get(TIME_FLOOR_KEY);
    assert.ok(stored !== undefined && Date.parse(stored) > NOW && Date.parse(stored) <= NOW + 5100, `the floor stored once the hub was reached: ${String(stored)}`);
    t.firmware.stop();

    // The next boot, same storage: the stored time is the floor now, above the build floor.
    const again = boot(store, NOW - HOUR);
    assert.equal(again.firmware.timeSanity.floorMs, Date.parse(stored));
    for (const s of EUROPE_POOL) again.net.script(s, { kind: "answer", offsetMs: -10 * 60_000 }); // above the build floor, below the stored
    again.firmware.start();
    await again.clock.advance(100);
    assert.equal(again.firmware.clock.valid, false);
    assert.equal(again.firmware.timeSanity.lastRefusal?.reason, "below-floor");
    again.firmware.stop();
  });
});
