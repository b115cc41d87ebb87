import assert from "../support/assert";
import { createFirmware, type Firmware, type FirmwareConfig } from "../../src/device/firmware";
import type { ButtonInput, EdgeListener } from "../../src/ports/gpio";
import type { PatternSpec } from "../../src/device/led-patterns";
import { MemoryStore } from "../../src/ports/storage";
import { silentLogger, type Logger } from "../../src/ports/logger";
import { utf8 } from "../../src/core/bytes";
import { SimulatedWifiRadio } from "../../host/adapters/simulated-wifi";
import { FakeConnector } from "../support/fake-mqtt";
import { FakeHttps } from "../support/fake-https";
import { FakeDatagrams } from "../support/fake-datagrams";
import { ManualClock, SequenceRandom, flush } from "../support/manual-clock";
import { SETUP_REQUEST_KEY } from "../../src/setup/setup-request";

/** A push-button the test presses; `activeLow` as the board wires it. */
class FakeButton implements ButtonInput {
  private listeners: EdgeListener[] = [];
  level: boolean;
  constructor(
    private readonly clock: ManualClock,
    readonly activeLow: boolean,
  ) {
    this.level = activeLow; // released
  }
  onEdge(listener: EdgeListener): () => void {
    this.listeners.push(listener);
    return () => undefined;
  }
  read(): boolean {
    return this.level;
  }
  close(): void {}
  set(pressed: boolean): void {
    this.level = pressed !== this.activeLow;
    for (const l of this.listeners) l(this.level, this.clock.monotonic());
  }
}

/** The whole firmware assembly on fakes of the hardware and the network, under a manual clock (runs in XS too). */
function setup(activeLow: boolean, prepare?: (store: MemoryStore) => void, logger: Logger = silentLogger, restart?: () => void, extra: Partial<FirmwareConfig> = {}) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  // Stored the way older firmware did (its own "wifi" record): createFirmware imports it into "config".
  store.set("wifi", JSON.stringify({ v: 1, ssid: "Halle", passphrase: "geheim123" }));
  prepare?.(store);
  const connector = new FakeConnector();
  connector.autoAckQos1 = true;
  const buttons = [new FakeButton(clock, activeLow), new FakeButton(clock, activeLow)];
  const leds = new Map<number, PatternSpec>();
  const firmware: Firmware = createFirmware(
    {
      clock,
      systemTime: { set: () => undefined },
      random: new SequenceRandom([0.5]),
      logger,
      mqtt: connector,
      https: new FakeHttps(),
      datagrams: new FakeDatagrams(clock),
      wifi: new SimulatedWifiRadio(clock, [{ ssid: "Halle", authMode: "wpa2-psk", passphrase: "geheim123" }]),
      store,
      leds: { set: (i, spec) => leds.set(i, spec) },
      buttons,
      ...(restart ? { restart } : {}),
    },
    {
      firmwareVersion: "0.1.0",
      deviceId: "box-fw-1",
      credentials: { ca: [], certificate: utf8("c"), key: utf8("k") },
      profile: { name: "box", buttons: 2, segments: [] },
      trustPlatformClock: true,
      skipBootstrap: true,
      ...extra,
    },
  );
  return { clock, connector, buttons, leds, firmware, store };
}

async function press(t: ReturnType<typeof setup>, button: number, holdMs = 100): Promise<void> {
  t.buttons[button - 1]!.set(true);
  await t.clock.advance(holdMs);
  t.buttons[button - 1]!.set(false);
  await t.clock.advance(1000); // past debounce and the double-press window
}

describe("createFirmware (the whole assembly on fakes)", () => {
  for (const activeLow of [true, false]) {
    it(`turns a press on an active-${activeLow ? "low" : "high"} button into Button_pressed`, async () => {
      const t = setup(activeLow);
      t.firmware.start();
      await t.clock.advance(200);
      assert.equal(t.firmware.boot.status.phase, "online");
      await press(t, 2);
      const events = t.connector.last.on("devices/box-fw-1/messages/events/").map((p) => JSON.parse(p.text) as Record<string, { button?: number; gesture?: string }>);
      const presses = events.filter((e) => e["Button_pressed"]);
      assert.equal(presses.length, 1);
      assert.deepEqual([presses[0]!["Button_pressed"]!.button, presses[0]!["Button_pressed"]!.gesture], [2, "short"]);
      t.firmware.stop();
    });
  }

  it("reports a long press as long, and shows the boot status on the first LED until online", async () => {
    const t = setup(true);
    assert.equal(t.leds.get(0)?.pattern, "breathe", "booting");
    t.firmware.start();
    await t.clock.advance(200);
    assert.equal(t.leds.get(0)?.pattern, "off", "given back when online");
    await press(t, 1, 1500);
    const last = t.connector.last.on("devices/").map((p) => JSON.parse(p.text) as Record<string, { gesture?: string }>).filter((e) => e["Button_pressed"]);
    assert.equal(last[0]!["Button_pressed"]!.gesture, "long");
    t.firmware.stop();
    await flush();
  });

  it("stored network gone for setupAfterNotJoinedMs: leaves the setup request and restarts; without the option it only retries", async () => {
    for (const notJoinedMs of [5 * 60_000, undefined]) {
      let restarts = 0;
      // The stored network ("Halle") is not in range: the station scans and waits, again and again.
      const t = setup(true, (store) => store.set("wifi", JSON.stringify({ v: 1, ssid: "Anderswo", passphrase: "geheim123" })), silentLogger, () => restarts++, notJoinedMs === undefined ? {} : { setupAfterNotJoinedMs: notJoinedMs });
      t.firmware.start();
      await t.clock.advance(5 * 60_000 - 1000);
      assert.equal(restarts, 0);
      assert.equal(t.store.get(SETUP_REQUEST_KEY), undefined);
      await t.clock.advance(2000);
      await flush();
      assert.equal(restarts, notJoinedMs === undefined ? 0 : 1, String(notJoinedMs));
      assert.equal(t.store.get(SETUP_REQUEST_KEY), notJoinedMs === undefined ? undefined : "not-joined");
      t.firmware.stop();
    }
  });

  it("a joined network never leaves a setup request", async () => {
    let restarts = 0;
    const t = setup(true, undefined, silentLogger, () => restarts++, { setupAfterNotJoinedMs: 60_000 });
    t.firmware.start();
    await t.clock.advance(30 * 60_000);
    assert.equal(t.firmware.boot.status.phase, "online");
    assert.equal(restarts, 0);
    assert.equal(t.store.get(SETUP_REQUEST_KEY), undefined);
    t.firmware.stop();
  });

  it("reboot command: answers first, then says goodbye to the hub (DISCONNECT) before it restarts", async () => {
    const restarts: { disconnected: boolean; sessionClosed: boolean }[] = [];
    let t: ReturnType<typeof setup> | undefined;
    t = setup(true, undefined, silentLogger, () => restarts.push({ disconnected: t!.connector.last.disconnected, sessionClosed: t!.connector.last.closed }));
    t.firmware.start();
    await t.clock.advance(200);
    assert.equal(t.firmware.boot.status.phase, "online");
    const session = t.connector.last;
    session.deliver("$iothub/methods/POST/reboot/?$rid=7", JSON.stringify({ delayMs: 1500 }));
    await flush();
    const answers = session.on("$iothub/methods/res/");
    assert.equal(answers.length, 1);
    assert.match(answers[0]!.topic, /^\$iothub\/methods\/res\/200\/\?\$rid=7$/);
    assert.deepEqual(JSON.parse(answers[0]!.text), { rebootInMs: 1500 });
    await t.clock.advance(1499);
    assert.deepEqual(restarts, [], "not before delayMs");
    assert.equal(session.disconnected, false);
    await t.clock.advance(1);
    assert.deepEqual(restarts, [{ disconnected: true, sessionClosed: true }], "DISCONNECT sent before the restart");
    assert.equal(t.firmware.hub.status.state, "stopped");
    await t.clock.advance(60_000);
    assert.equal(t.connector.sessions.length, 1, "no reconnect while restarting");
    assert.equal(restarts.length, 1);
    t.firmware.stop();
  });

  it("reboot command: at most 3 per hour across the reboots (stored), the 4th answered 429 with the reason", async () => {
    let stored: string | undefined;
    const statuses: string[] = [];
    for (let i = 1; i <= 4; i++) {
      let restarted = false;
      const t = setup(true, (store) => stored !== undefined && store.set("reboot.times", stored), silentLogger, () => (restarted = true));
      t.firmware.start();
      await t.clock.advance(200);
      const session = t.connector.last;
      session.deliver(`$iothub/methods/POST/reboot/?$rid=${i}`, "{}");
      await flush();
      const answer = session.on("$iothub/methods/res/")[0]!;
      statuses.push(answer.topic.split("/")[3]!);
      await t.clock.advance(1000);
      if (i < 4) {
        assert.equal(restarted, true, `reboot ${i}`);
      } else {
        const body = JSON.parse(answer.text) as { error: string; reason: string; nextAllowedAt: string; retryAfterS: number };
        assert.equal(body.reason, "rate-limited");
        assert.match(body.error, /^reboot refused: at most 3 reboots per hour; the next is allowed at \d{4}-/);
        assert.ok(body.retryAfterS > 3500 && body.retryAfterS <= 3600, String(body.retryAfterS));
        assert.equal(restarted, false, "no restart after a 429");
        assert.equal(t.firmware.hub.status.state, "connected", "the link stays up");
      }
      stored = t.store.get("reboot.times");
      t.firmware.stop();
      await flush();
    }
    assert.deepEqual(statuses, ["200", "200", "200", "429"]);
  });

  it("shutdown(): the boot sequence stops reacting, the hub gets DISCONNECT, then everything stops", async () => {
    const t = setup(true);
    t.firmware.start();
    await t.clock.advance(200);
    const session = t.connector.last;
    await t.firmware.shutdown();
    assert.equal(session.disconnected, true);
    assert.equal(t.firmware.hub.status.state, "stopped");
    assert.equal(t.firmware.boot.status.phase, "online", "the boot sequence did not react to the goodbye");
    await t.clock.advance(60_000);
    assert.equal(t.connector.sessions.length, 1, "no reconnect");
  });

  it("imports the legacy Wi-Fi record into the one configuration record and deletes it", async () => {
    const t = setup(true);
    assert.equal(t.store.get("wifi"), undefined, "legacy key deleted");
    const stored = JSON.parse(t.store.get("config")!) as { v: number; wifi: { ssid: string } };
    assert.equal(stored.v, 2);
    assert.equal(stored.wifi.ssid, "Halle");
    assert.deepEqual(t.firmware.config.config.wifi, { ssid: "Halle", passphrase: "geheim123" });
    t.firmware.start();
    await t.clock.advance(200);
    assert.equal(t.firmware.boot.status.phase, "online");
    t.firmware.stop();
  });

  it("a corrupt configuration record falls back to the defaults and is logged, never stops the device", async () => {
    const lines: string[] = [];
    const logger: Logger = { log: (level, scope, message, fields) => lines.push(`${level} ${scope} ${message} ${String(fields?.["kind"])}`) };
    const t = setup(true, (store) => store.set("config", "{torn"), logger);
    assert.ok(lines.some((l) => l.startsWith("error config configuration problem corrupt")), lines.join("\n"));
    assert.deepEqual(t.firmware.config.problems.map((p) => p.kind), ["corrupt"]);
    assert.equal(t.firmware.config.config.wifi, null);
    assert.equal(t.firmware.settings.current["brightness"], 100, "the settings' defaults");
    t.firmware.stop();
  });

  for (const host of ["localhost", "127.0.0.1", "::1", "broker"]) {
    it(`a development hub ${host} (its own explicit egress rule, no bootstrap): time → hub, never the bootstrap phase`, async () => {
      const t = setup(true, undefined, silentLogger, undefined, { defaultHub: host, extraEgress: [{ host, port: 8883, transport: "tcp", purpose: "development" }] });
      const phases: string[] = [];
      t.firmware.boot.onStatus((s) => phases[phases.length - 1] !== s.phase && phases.push(s.phase));
      t.firmware.start();
      await t.clock.advance(200);
      assert.deepEqual(phases, ["wifi", "time", "hub", "online"]);
      assert.deepEqual([t.firmware.boot.status.hub, t.firmware.boot.status.assignmentSource], [host, "configured"]);
      assert.deepEqual([t.connector.attempts[0]!.serverName ?? t.connector.attempts[0]!.host, t.connector.attempts[0]!.port], [host, 8883]);
      // The production table itself is unchanged: only the explicit rule allows it.
      assert.equal(t.firmware.policy.rule(host, 8883, "tcp")!.purpose, "development");
      t.firmware.stop();
    });
  }

  it("without its explicit rule a development hub is refused by the egress table before any connection", async () => {
    const t = setup(true, undefined, silentLogger, undefined, { defaultHub: "localhost" });
    t.firmware.start();
    await t.clock.advance(200);
    assert.equal(t.connector.attempts.length, 0);
    assert.match(t.firmware.hub.status.lastError ?? "", /egress refused: tcp localhost:8883/);
    t.firmware.stop();
  });
});
