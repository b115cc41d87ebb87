// `npm run sim` (host/cli/sim.ts) as a developer runs it, under Xvfb: it builds the lin firmware against the local
// cloud it starts, opens it in mcsim with the project's simulators, prints what it started and the console URL;
// the firmware comes online, and the console (its hub side, and the device side read from the trace) works.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { sleep, tempDir, waitFor } from "../integration/support/processes";
import { rmSync } from "node:fs";
import { restoreSimState, setAsideSimState } from "./support/sim-rig";

const ROOT = join(__dirname, "../../..");

describe("npm run sim (host/cli/sim.ts) under Xvfb", function () {
  this.timeout(900_000);
  let child: ChildProcess;
  const lines: string[] = [];
  const dev = tempDir("sim-dev");

  before(() => {
    setAsideSimState(join(dev, "sim-state-backup")); // a fresh device (no boot counter, outbox or image of other runs)
    // its own process group: xvfb-run, Xvfb, node, mcsim are stopped together if the test fails
    child = spawn("xvfb-run", ["-a", "-s", "-screen 0 920x560x24", process.execPath, join(ROOT, "build/host/cli/sim.js"), "--product", "box", "--dev-dir", dev], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let partial = "";
    const take = (d: Buffer): void => {
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts.map((l) => l.replace(/\x1b\[[0-9;]*m/g, "")));
    };
    child.stdout!.on("data", take);
    child.stderr!.on("data", take);
  });

  after(async () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await sleep(200);
    restoreSimState(join(dev, "sim-state-backup"));
    rmSync(dev, { recursive: true, force: true });
  });

  const line = (pattern: RegExp): string | undefined => lines.find((l) => pattern.test(l));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;

  it("prints what it started, brings the firmware online in mcsim, and serves the console for it", async () => {
    await waitFor(() => line(/^console: /) !== undefined || !running(), "the console line", 800_000);
    assert.ok(running(), lines.slice(-30).join("\n"));
    assert.ok(line(/^KIS\.BOX in mcsim: device kisbox-sim-1, app .*kisbox\/mc\.so, simulators .*simulators \(mcsim pid \d+\)$/), lines.join("\n"));
    assert.ok(line(/^local cloud: hub iotrafi-prod-iot-hub\.azure-devices\.net → 127\.0\.0\.1:\d+ \(MQTT\/TLS/));
    assert.ok(line(/^time: (chronyd on 127\.0\.0\.1:\d+|the host clock over SNTP)/));
    await waitFor(() => line(/boot phase phase=online/) !== undefined, "the firmware online", 90_000);
    await waitFor(() => line(/hub: kisbox-sim-1 connected/) !== undefined, "the broker saw the device", 10_000);
    assert.ok(line(/button inputs source="?simulator window/), "buttons from the window");

    const m = /^console: http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]+)$/.exec(line(/^console: /)!)!;
    const api = (path: string, body?: unknown): Promise<Response> =>
      fetch(`http://127.0.0.1:${m[1]}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${m[2]}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const state = (await (await api("/api/state")).json()) as { device: { phase: string; deviceId: string } };
    assert.equal(state.device.deviceId, "kisbox-sim-1");
    assert.equal(state.device.phase, "online");
    const call = (await (await api("/api/methods/setColor", { payload: { button: 2, color: "blue" } })).json()) as { status: number; payload: unknown };
    assert.equal(call.status, 200, JSON.stringify(call.payload));
    await waitFor(() => line(/^LED 1 on blue/) !== undefined, "the firmware's LED line", 10_000);
    const after = (await (await api("/api/state")).json()) as { device: { leds: Array<{ pattern: string; color: string } | null> } };
    assert.deepEqual(after.device.leds[1], { pattern: "on", color: "blue", brightness: 100 });
    const press = await api("/api/press", { button: 1, gesture: "short" });
    assert.equal(press.status, 400, "the console cannot press the mcsim window's buttons");
    assert.equal((await fetch(`http://127.0.0.1:${m[1]}/api/state`)).status, 401, "no token, no state");
  });

  it("stops the local cloud when mcsim goes away", async () => {
    const mcsim = /\(mcsim pid (\d+)\)/.exec(line(/mcsim pid/)!)![1]!;
    process.kill(Number(mcsim), "SIGTERM"); // as if the window were closed
    await waitFor(() => line(/^mcsim exited/) !== undefined, "the exit noticed", 10_000);
    await waitFor(() => !running(), "npm run sim ended", 15_000);
  });
});
