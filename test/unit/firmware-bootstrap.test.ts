import assert from "../support/assert";
import { createFirmware } from "../../src/device/firmware";
import { MemoryStore } from "../../src/ports/storage";
import type { Logger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { CONFIG_KEY } from "../../src/storage/config-store";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { FakeConnector } from "../support/fake-mqtt";
import { FakeHttps, jsonResponse, textResponse } from "../support/fake-https";
import { FakeDatagrams } from "../support/fake-datagrams";
import { ManualClock, SequenceRandom } from "../support/manual-clock";

const HUB = "iotrafi-prod-iot-hub.azure-devices.net";
const DEVICE = "box-fw-2";
const DAY = 24 * 3600_000;

/** The firmware assembly with the bootstrap client on (FakeHttps), and a configuration record as a test prepares it. */
function setup(hub: Record<string, unknown> | null, https = new FakeHttps(jsonResponse(200, { deviceId: DEVICE, hubHostName: HUB }))) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  store.set(CONFIG_KEY, JSON.stringify({ v: 2, wifi: { ssid: "Halle", passphrase: "geheim123" }, hub, settings: {} }));
  const connector = new FakeConnector();
  const lines: string[] = [];
  const logger: Logger = { log: (_level, scope, message, fields) => lines.push(`${scope}: ${message} ${JSON.stringify(fields ?? {})}`) };
  const firmware = createFirmware(
    {
      clock,
      systemTime: { set: () => undefined },
      random: new SequenceRandom([0.5]),
      logger,
      mqtt: connector,
      https,
      datagrams: new FakeDatagrams(clock),
      wifi: new SimulatedWifiRadio(clock, [{ ssid: "Halle", authMode: "wpa2-psk", passphrase: "geheim123" }]),
      store,
      leds: { set: () => undefined },
    },
    {
      firmwareVersion: "0.1.0",
      deviceId: DEVICE,
      credentials: { ca: [], certificate: utf8("c"), key: utf8("k") },
      profile: { name: "box", buttons: 2, segments: [] },
      trustPlatformClock: true,
    },
  );
  const phases: string[] = [];
  firmware.boot.onStatus((s) => phases[phases.length - 1] !== s.phase && phases.push(s.phase));
  return { clock, store, connector, https, firmware, lines, phases };
}

async function online(t: ReturnType<typeof setup>): Promise<void> {
  t.firmware.start();
  for (let i = 0; i < 50 && t.firmware.boot.status.phase !== "online"; i++) await t.clock.advance(500);
  assert.equal(t.firmware.boot.status.phase, "online");
}

describe("firmware: cache-first hub assignment", () => {
  it("first boot (nothing cached): asks the bootstrap service before the hub and caches the answer with its time", async () => {
    const t = setup(null);
    await online(t);
    assert.equal(t.https.requests.length, 1);
    assert.equal(t.https.requests[0]!.path, `/api/v1/devices/${DEVICE}/assignment`);
    assert.deepEqual(t.phases, ["wifi", "time", "bootstrap", "hub", "online"]);
    const hub = t.firmware.config.config.hub!;
    assert.deepEqual([hub.deviceId, hub.hubHostName], [DEVICE, HUB]);
    assert.ok(typeof hub.obtainedAt === "number" && Math.abs(hub.obtainedAt - t.clock.now()) < 60_000, "stamped with the time it was obtained");
    assert.ok(t.lines.some((l) => l.includes("asking the bootstrap service") && l.includes("no cached hub assignment")));
    t.firmware.stop();
  });

  it("a valid cached assignment: straight to the cached hub, no HTTPS request, and a log line says why", async () => {
    const t = setup({ deviceId: DEVICE, hubHostName: HUB, obtainedAt: Date.UTC(2026, 10, 26, 12) - DAY });
    await online(t);
    assert.equal(t.https.requests.length, 0);
    assert.deepEqual(t.phases, ["wifi", "time", "hub", "online"]);
    assert.equal(t.connector.attempts[0]!.serverName, HUB);
    assert.equal(t.firmware.boot.status.assignmentSource, "cache");
    assert.ok(t.lines.some((l) => l.startsWith("boot: bootstrap skipped: connecting to the cached hub") && l.includes("1 d old")));
    t.firmware.stop();
  });

  it("a cached assignment from older firmware (no time stamp): the hub at once, then bootstrap in the background, which stamps it", async () => {
    const t = setup({ deviceId: DEVICE, hubHostName: HUB });
    t.firmware.start();
    for (let i = 0; i < 50 && t.firmware.boot.status.phase !== "online"; i++) await t.clock.advance(500);
    assert.equal(t.firmware.boot.status.phase, "online");
    await t.clock.advance(500);
    assert.equal(t.https.requests.length, 1, "asked once, in the background");
    assert.deepEqual(t.phases, ["wifi", "time", "hub", "online"]);
    assert.equal(typeof t.firmware.config.config.hub!.obtainedAt, "number");
    assert.ok(t.lines.some((l) => l.includes("asking the bootstrap service in the background") && l.includes("unknown age")));
    t.firmware.stop();
  });

  it("the cached hub refuses the device (CONNACK 5): bootstrap is asked at once; a failing service keeps the cached hub", async () => {
    const t = setup({ deviceId: DEVICE, hubHostName: HUB, obtainedAt: Date.UTC(2026, 10, 26, 12) - DAY }, new FakeHttps(textResponse(503, "busy")));
    const attemptsAtRequest: number[] = [];
    t.https.always(() => {
      attemptsAtRequest.push(t.connector.attempts.length);
      return textResponse(503, "busy");
    });
    t.connector.refuse = "connection refused by the broker: not authorized (CONNACK return code 5)";
    t.firmware.start();
    for (let i = 0; i < 20 && t.https.requests.length === 0; i++) await t.clock.advance(500);
    assert.deepEqual(attemptsAtRequest, [1], "asked right after the first refusal");
    t.connector.refuse = undefined;
    for (let i = 0; i < 100 && t.firmware.boot.status.phase !== "online"; i++) await t.clock.advance(500);
    assert.equal(t.firmware.boot.status.phase, "online");
    assert.equal(t.firmware.boot.status.hub, HUB);
    assert.equal(t.https.requests.length, 1, "a refusal right after asking waits for the failure count");
    assert.ok(t.lines.some((l) => l.includes("asking the bootstrap service") && l.includes("refused the device")));
    t.firmware.stop();
  });
});
