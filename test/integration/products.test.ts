import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { LocalHub } from "../../host/hub/local-hub";
import { createHostDevice, type HostDevice } from "../../host/device/host-device";
import { StaticRoutes } from "../../src/net/guarded-network";
import { PRODUCT_MODELS, checkTelemetry } from "../../src/device/schema";
import type { PatternSpec } from "../../src/device/led-patterns";
import { MemoryStore } from "../../src/ports/storage";
import type { DeviceProfile } from "../../src/device/profile";
import { Mosquitto } from "./support/mosquitto";
import { sleep, waitFor } from "./support/processes";
import { HUB_HOST, MemoryLogger, TestPki } from "./support/fixture";

/** Both products end to end against mosquitto and the local hub: events, commands, settings, diagnostics. */
for (const profile of [
  { name: "box", buttons: 3, segments: [] },
  { name: "light", buttons: 0, segments: ["red", "yellow", "green"] },
] as DeviceProfile[]) {
  describe(`${profile.name === "box" ? "KIS.BOX" : "KIS.LIGHT"} end to end`, function () {
    this.timeout(30_000);
    const deviceId = `kis${profile.name}-e2e`;
    let pki: TestPki;
    let broker: Mosquitto;
    let hub: LocalHub;
    let device: HostDevice;
    const leds = new Map<number, PatternSpec>();
    const history: Array<[number, PatternSpec]> = [];
    const store = new MemoryStore();
    /** The reported document after every PATCH the hub accepted. */
    const patches: Array<Record<string, unknown>> = [];

    function start(): HostDevice {
      const cred = pki.device(deviceId);
      const d = createHostDevice(
        {
          ca: [pki.caPem],
          cert: readFileSync(cred.cert),
          key: readFileSync(cred.key),
          profile,
          logger: new MemoryLogger(),
          store,
          trustPlatformClock: true,
          skipBootstrap: true,
          routes: new StaticRoutes().set(HUB_HOST, 8883, "tcp", { address: "127.0.0.1", port: broker.port }),
          hub: { backoff: { initialMs: 100, maxMs: 1000 } },
        },
        {
          set: (i, spec) => {
            leds.set(i + 1, spec);
            history.push([i + 1, spec]);
          },
        },
      );
      d.start();
      return d;
    }

    before(async () => {
      pki = new TestPki();
      ({ broker, hub } = await pki.mosquittoHub(deviceId));
      hub.onReported(() => patches.push({ ...hub.reported }));
      device = start();
      await waitFor(() => device.hub.status.state === "connected", "connected");
    });

    after(async () => {
      device?.stop();
      await hub?.stop();
      await broker?.stop();
    });

    it("shows the boot status on its first LED until online, then gives the LED back", () => {
      const first = history.filter(([i]) => i === 1).map(([, s]) => `${s.pattern} ${String(s.color)}`);
      assert.equal(first[0], "breathe white", "booting");
      assert.ok(first.includes("blink yellow"), `waiting for the hub was shown: ${first.join(", ")}`);
      assert.equal(first[first.length - 1], "off off", "back to its own (off) state when online");
    });

    it("announces itself and reports diagnostics after connecting", async () => {
      await waitFor(() => hub.telemetry.some((t) => t.properties["event"] === "Device_started"), "Device_started");
      await waitFor(() => hub.reported["diagnostics"] !== undefined, "diagnostics");
      const d = hub.reported["diagnostics"] as Record<string, unknown>;
      assert.equal(d["profile"], profile.name);
      assert.equal(d["firmware"], "0.1.0");
      assert.deepEqual(Object.keys(d).sort(), ["bootPhase", "eventsDropped", "firmware", "freeHeap", "lastError", "outboxDepth", "profile", "resetReason", "safeMode", "time", "uptimeS", "wifi"]);
    });

    if (profile.name === "box") {
      it("turns a press into Button_pressed with the right properties", async () => {
        const rec = device.box!.press(2, "long");
        await waitFor(() => hub.telemetry.some((t) => t.messageId === rec.id), "the press");
        const t = hub.telemetry.find((x) => x.messageId === rec.id)!;
        assert.deepEqual(t.properties, { event: "Button_pressed" });
        assert.deepEqual(Object.keys(JSON.parse(t.body).Button_pressed).sort(), ["button", "gesture", "ts"]);
        assert.equal(JSON.parse(t.body).Button_pressed.gesture, "long");
      });
    }

    it("setColor changes the LED and emits the state-change event", async () => {
      const args = profile.name === "box" ? { button: 1, color: "cyan", pattern: "blink", periodMs: 600 } : { segment: 2, color: "yellow", pattern: "flash" };
      const answer = await hub.invokeMethod("setColor", args);
      assert.equal(answer.status, 200, JSON.stringify(answer.payload));
      const led = leds.get(profile.name === "box" ? 1 : 2)!;
      assert.equal(led.color, args.color);
      assert.equal(led.pattern, args.pattern);
      await waitFor(() => hub.telemetry.some((t) => t.properties["event"] === `Set_Color_${args.color}`), "the Set_Color event");
    });

    it("refuses invalid commands with 400 and changes nothing", async () => {
      const fb = device.feedback;
      if (fb) await waitFor(() => [1, 2, 3].every((b) => fb.state(b) === "base"), "press feedback to finish");
      const before = JSON.stringify([...leds]);
      const sent = hub.telemetry.length;
      for (const args of [
        { color: "pink" },
        { color: "red", brightness: 500 },
        { color: "red", volume: 3 },
        profile.name === "box" ? { segment: 1, color: "red" } : { button: 1, color: "red" },
        profile.name === "box" ? { button: 9, color: "red" } : { segment: 9, color: "red" },
      ]) {
        const r = await hub.invokeMethod("setColor", args);
        assert.equal(r.status, 400, JSON.stringify(args));
        assert.ok(typeof (r.payload as { error?: unknown }).error === "string");
      }
      assert.equal((await hub.invokeMethod("identify", { seconds: 0 })).status, 400);
      await sleep(200);
      assert.equal(JSON.stringify([...leds]), before);
      assert.equal(hub.telemetry.length, sent);
    });

    it("applies desired settings at once, persists them and acknowledges them", async () => {
      const version = await hub.updateDesired({ brightness: 40 });
      await waitFor(() => (hub.reported["brightness"] as { av?: number } | undefined)?.av === version, "the acknowledgement");
      assert.deepEqual(hub.reported["brightness"], { value: 40, ac: 200, av: version, ad: "applied" });
      assert.equal(device.settings.current.brightness, 40);
      assert.match(store.get("config")!, /"settings":{[^}]*"brightness":40/); // persisted in the one configuration record
      const bad = await hub.updateDesired({ brightness: 400 });
      await waitFor(() => (hub.reported["brightness"] as { av?: number }).av === bad, "the refusal");
      assert.equal((hub.reported["brightness"] as { ac: number }).ac, 400);
      assert.equal(device.settings.current.brightness, 40);
    });

    it("returns the tail of the local log on request, and only that", async () => {
      const r = await hub.invokeMethod("getLog", { lines: 5 });
      assert.equal(r.status, 200);
      const lines = (r.payload as { lines: string[] }).lines;
      assert.ok(lines.length > 0 && lines.length <= 5);
      for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z (info|warn|error) \[/);
    });

    it("keeps diagnostics PATCHes bounded during a burst of changes: none before the throttle allows", async () => {
      // A fresh session: the reporter sends diagnostics 1 s after connecting, whatever its throttle says. After that
      // report, a burst of 20 events (each queued and delivered: 40 changes of outboxDepth) must not be reported
      // change by change: the throttle allows the next report only 30 s after the last one, carrying the latest values.
      device.stop();
      await sleep(100);
      delete hub.reported["diagnostics"]; // the hub forgets the old report, so the new one shows even with equal values
      const from = patches.length;
      device = start();
      await waitFor(() => device.hub.status.state === "connected", "reconnected");
      await waitFor(() => hub.reported["diagnostics"] !== undefined, "the diagnostics report after connecting");
      const sentBefore = hub.telemetry.length;
      const burst: string[] = [];
      if (device.box) for (let i = 0; i < 20; i++) burst.push(device.box.press(1 + (i % 3)).id);
      else {
        for (let i = 0; i < 20; i++) {
          const answer = await hub.invokeMethod("setColor", { color: i % 2 ? "red" : "off" });
          assert.equal(answer.status, 200, JSON.stringify(answer.payload));
        }
      }
      // The burst really happened: all 20 events reached the hub.
      await waitFor(
        () => (device.box ? burst.every((id) => hub.telemetry.some((t) => t.messageId === id)) : hub.telemetry.slice(sentBefore).filter((t) => /^Set_Color_(red|off)$/.test(String(t.properties["event"]))).length >= 20),
        "the 20 events of the burst at the hub",
      );
      await sleep(1500); // room for any report the burst would wrongly cause
      // A diagnostics PATCH shows as a change of the hub's copy (the reporter never sends the same values twice).
      const reports = patches.slice(from).filter((p, i) => JSON.stringify(p["diagnostics"]) !== JSON.stringify(i === 0 ? undefined : patches[from + i - 1]!["diagnostics"]));
      assert.equal(reports.length, 1, `${reports.length} diagnostics reports for a reconnect and then a burst of 20 events: ${reports.map((r) => JSON.stringify(r["diagnostics"])).join(" ")}`);
      assert.equal((reports[0]!["diagnostics"] as Record<string, unknown>)["bootPhase"], "online");
      // In all at most one more PATCH: the acknowledgement of the refused brightness, sent again after the twin GET.
      assert.ok(patches.length - from <= 2, `${patches.length - from} PATCHes for a reconnect and a burst of 20 events`);
    });

    it("sent nothing but the events its product declares, at least the ones these tests caused", () => {
      const declared = PRODUCT_MODELS[profile.name].telemetry;
      const names = hub.telemetry.map((t) => String(t.properties["event"]));
      // Device_started twice (two boots), the setColor event, the burst; the KIS.BOX also its long press.
      const minimum = 2 + 1 + 20 + (profile.name === "box" ? 1 : 0);
      assert.ok(hub.telemetry.length >= minimum, `${hub.telemetry.length} events at the hub, expected at least ${minimum}`);
      const caused = profile.name === "box" ? ["Device_started", "Button_pressed", "Set_Color_cyan"] : ["Device_started", "Set_Color_yellow", "Set_Color_red", "Set_Color_off"];
      for (const name of caused) assert.ok(names.includes(name), `${name} among ${[...new Set(names)].join(", ")}`);
      assert.equal(names.filter((n) => n === "Device_started").length, 2, "one Device_started per boot");
      for (const t of hub.telemetry) {
        const body = JSON.parse(t.body) as Record<string, unknown>;
        checkTelemetry(body);
        assert.ok(declared.includes(String(t.properties["event"])), `${String(t.properties["event"])} is declared for the ${profile.name}`);
        assert.deepEqual(Object.keys(body), [t.properties["event"]], "the body's one member is the event's name");
      }
    });

    it("keeps its settings across a restart", async () => {
      device.stop();
      await sleep(100);
      device = start();
      await waitFor(() => device.hub.status.state === "connected", "reconnected");
      assert.equal(device.settings.current.brightness, 40);
    });
  });
}
