import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { NodeWatchdog } from "../../host/adapters/node-watchdog";
import { NodeClock } from "../../host/adapters/node-platform";
import { LoopWatchdog } from "../../src/device/watchdog";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // a stalled event loop
  }
}

describe("NodeWatchdog (host watchdog port)", function () {
  this.timeout(20_000);

  it("stays quiet while the LoopWatchdog feeds it from a running event loop", async () => {
    const expiries: number[] = [];
    const port = new NodeWatchdog({ mode: "report", log: false, onExpire: (e) => expiries.push(e.silentMs) });
    const watchdog = new LoopWatchdog({ clock: new NodeClock(), port, timeoutMs: 300, tickMs: 50 });
    watchdog.start();
    await sleep(900);
    watchdog.stop();
    assert.deepEqual(expiries, []);
  });

  it("detects a deliberately blocked event loop", async () => {
    const expiries: number[] = [];
    const port = new NodeWatchdog({ mode: "report", log: false, onExpire: (e) => expiries.push(e.silentMs) });
    const watchdog = new LoopWatchdog({ clock: new NodeClock(), port, timeoutMs: 300, tickMs: 50 });
    watchdog.start();
    await sleep(200);
    block(1000);
    await sleep(100); // the worker's report arrives once the loop runs again
    watchdog.stop();
    assert.equal(expiries.length, 1);
    assert.ok(expiries[0]! >= 300, `silent for ${expiries[0]} ms`);
    assert.ok(watchdog.status.maxLagMs >= 900, `lag ${watchdog.status.maxLagMs}`);
  });

  it("kills a process whose event loop never comes back", async () => {
    const adapter = path.resolve(__dirname, "../../host/adapters/node-watchdog.js");
    const script = `const { NodeWatchdog } = require(${JSON.stringify(adapter)});
      const w = new NodeWatchdog(); w.start(300); w.feed(); setTimeout(() => { for (;;) {} }, 50);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const started = Date.now();
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
    assert.equal(exit.signal, "SIGKILL");
    assert.match(stderr, /main event loop not fed for \d+ ms; killing the process/);
    assert.ok(Date.now() - started < 10_000);
  });
});
