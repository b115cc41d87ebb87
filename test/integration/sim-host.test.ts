// The host side of `npm run sim`: the NTP server it starts for the device in mcsim (chronyd, or the host clock over
// SNTP from the process), checked with the firmware's own SNTP client; and the console backend that reads the
// firmware's trace lines.
import assert from "node:assert/strict";
import { NodeClock } from "../../host/adapters/node-platform";
import { NodeDatagramPort } from "../../host/adapters/node-udp";
import { startHostClockServer, startLocalTime, type LocalTime } from "../../host/sim/local-time";
import { TraceConsoleBackend, parseLedLine } from "../../host/sim/trace-console-backend";
import { KIS_BOX, KIS_LIGHT } from "../../src/device/profile";
import { scoped } from "../../src/ports/logger";
import { SntpClient, sampleTimeAt } from "../../src/time/sntp-client";
import { SyncedClock } from "../../src/time/synced-clock";
import { SequenceRandom } from "../support/manual-clock";
import { MemoryLogger } from "./support/fixture";

async function offsetFromHost(server: LocalTime): Promise<{ offsetMs: number; stratum: number }> {
  const clock = new NodeClock();
  const client = new SntpClient({
    datagrams: new NodeDatagramPort(),
    clock,
    syncedClock: new SyncedClock(clock),
    random: new SequenceRandom([0]),
    logger: scoped(new MemoryLogger(), "sntp"),
    servers: ["127.0.0.1"],
    port: server.port,
    requestTimeoutMs: 2000,
  });
  try {
    const sample = await client.syncOnce();
    return { offsetMs: sampleTimeAt(sample, clock.monotonic()) - Date.now(), stratum: sample.stratum };
  } finally {
    client.stop();
    clock.clearAll();
  }
}

describe("npm run sim: the NTP server for the device in mcsim", function () {
  this.timeout(30_000);

  it("the host clock over SNTP (no chronyd): the firmware's SNTP client takes it, within 100 ms of the host clock", async () => {
    const server = await startHostClockServer();
    try {
      const { offsetMs, stratum } = await offsetFromHost(server);
      assert.ok(Math.abs(offsetMs) < 100, `offset ${offsetMs} ms`);
      assert.equal(stratum, 10);
    } finally {
      await server.close();
    }
  });

  it("startLocalTime: chronyd when installed (else the host clock), answering the firmware's client", async () => {
    const server = await startLocalTime();
    try {
      assert.match(server.description, /chronyd on 127\.0\.0\.1:\d+|the host clock over SNTP/);
      const { offsetMs } = await offsetFromHost(server);
      assert.ok(Math.abs(offsetMs) < 100, `offset ${offsetMs} ms (${server.description})`);
    } finally {
      await server.close();
    }
  });
});

describe("npm run sim: the console's view of the firmware in mcsim, from its trace lines", () => {
  it("parses the LED lines the firmware traces (names, rgb, period, brightness) and nothing else", () => {
    assert.deepEqual(parseLedLine("LED 2 blink cyan period=600"), { index: 2, spec: { pattern: "blink", color: "cyan", periodMs: 600 } });
    assert.deepEqual(parseLedLine("LED 0 on rgb(1,2,3) brightness=40"), { index: 0, spec: { pattern: "on", color: { r: 1, g: 2, b: 3 }, brightness: 40 } });
    assert.deepEqual(parseLedLine("LED 4 breathe blue period=2000 brightness=100"), { index: 4, spec: { pattern: "breathe", color: "blue", periodMs: 2000, brightness: 100 } });
    assert.equal(parseLedLine("LED 1 glow red"), undefined);
    assert.equal(parseLedLine("LED 1 on purple"), undefined);
    assert.equal(parseLedLine("info  [leds] RGB LEDs output=simulator window count=3"), undefined);
  });

  it("follows the boot phase, the link and the LEDs, passes them on as console events, and refuses presses", () => {
    const backend = new TraceConsoleBackend("kisbox-sim-1", KIS_BOX, undefined, undefined);
    const events: Array<{ name: string; data: unknown }> = [];
    backend.onEvent((name, data) => events.push({ name, data }));
    backend.feed("info  [boot] boot phase phase=hub");
    backend.feed("info  [main] link state=connected failures=0");
    backend.feed("LED 1 on magenta");
    const view = backend.view();
    assert.equal(view.phase, "hub");
    assert.equal(view.link, "connected");
    assert.deepEqual(view.leds[1], { pattern: "on", color: "magenta" });
    assert.deepEqual(
      events.map((e) => e.name),
      ["device", "device", "led"],
    );
    assert.throws(() => backend.press(), /mcsim window/);
    assert.equal(new TraceConsoleBackend("kislight-sim-1", KIS_LIGHT, undefined, undefined).view().profile.name, "light");
  });
});
