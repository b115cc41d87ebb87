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
    // Three whole timeouts of feeding: had the feeds not reached the worker, it would have fired.
    const timeoutMs = 1000;
    const tickMs = 50;
    const expiries: number[] = [];
    const port = new NodeWatchdog({ mode: "report", log: false, onExpire: (e) => expiries.push(e.silentMs) });
    const watchdog = new LoopWatchdog({ clock: new NodeClock(), port, timeoutMs, tickMs });
    watchdog.start();
    await sleep(3 * timeoutMs);
    watchdog.stop();
    const { feeds, maxLagMs } = watchdog.status;
    assert.ok(feeds >= 3 * (timeoutMs / tickMs) * 0.25, `it really fed the port: ${feeds} feeds in ${3 * timeoutMs} ms`);
    // On a busy machine the event loop itself can stall, and then the watchdog is right to fire. So: no expiry
    // unless the loop's own measure shows feeds about a timeout apart (the worker looks every timeout/8).
    const longestGapMs = tickMs + maxLagMs;
    if (longestGapMs < timeoutMs - timeoutMs / 8) assert.deepEqual(expiries, [], `fired although feeds were at most ${longestGapMs} ms apart`);
  });

  it("detects a deliberately blocked event loop", async () => {
    const expiries: number[] = [];
    const port = new NodeWatchdog({ mode: "report", log: false, onExpire: (e) => expiries.push(e.silentMs) });
    const watchdog = new LoopWatchdog({ clock: new NodeClock(), port, timeoutMs: 300, tickMs: 50 });
    watchdog.start();
    await sleep(200);
    const lagBefore = watchdog.status.maxLagMs;
    block(1000);
    // The worker's report arrives once the loop runs again (later on a busy machine).
    const deadline = Date.now() + 5000;
    while (expiries.length === 0 && Date.now() < deadline) await sleep(20);
    watchdog.stop();
    assert.ok(expiries.length >= 1, "the blocked loop was reported");
    assert.ok(expiries.length === 1 || lagBefore >= 250, `one expiry for one block, got ${expiries.length} (lag before the block ${lagBefore} ms)`);
    assert.ok(expiries[expiries.length - 1]! >= 300, `silent for ${expiries.join(", ")} ms`);
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
