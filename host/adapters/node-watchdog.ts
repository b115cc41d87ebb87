import { Worker } from "node:worker_threads";
import type { WatchdogPort } from "../../src/ports/watchdog";

/*
 * The host's stand-in for the ESP32 task watchdog. A worker thread (its own event loop) watches a counter in
 * shared memory that feed() bumps from the main thread. While armed, a counter that has not moved for
 * `timeoutMs` means the main event loop is stalled (a busy loop, a synchronous call that never returns) or the
 * LoopWatchdog stopped feeding on purpose. The worker then writes a report to stderr synchronously (the main
 * thread may never run again) and, in "kill" mode (the default), ends the process with SIGKILL, as the device
 * would reset; in "report" mode it only posts the expiry, which `onExpire` receives once the main loop runs.
 */

export interface NodeWatchdogOptions {
  /** "kill" (default): SIGKILL the process on expiry. "report": only report it. */
  readonly mode?: "kill" | "report";
  /** Called on the main thread after an expiry (once the main loop runs again). */
  readonly onExpire?: (info: { silentMs: number }) => void;
  /** Write the expiry report to stderr from the worker (default true). */
  readonly log?: boolean;
}

// Shared Int32 slots.
const FEEDS = 0;
const ARMED = 1;
const TIMEOUT = 2;
const STOPPED = 3;

const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const shared = new Int32Array(workerData.shared);
let seen = Atomics.load(shared, ${FEEDS});
let seenAt = performance.now();
let fired = false;
function check() {
  if (Atomics.load(shared, ${STOPPED}) === 1) return process.exit(0);
  const feeds = Atomics.load(shared, ${FEEDS});
  const now = performance.now();
  if (feeds !== seen || Atomics.load(shared, ${ARMED}) === 0) {
    seen = feeds;
    seenAt = now;
    fired = false;
  } else if (!fired && now - seenAt > Atomics.load(shared, ${TIMEOUT})) {
    fired = true;
    const silentMs = Math.round(now - seenAt);
    if (workerData.log) {
      try { writeSync(2, "watchdog: main event loop not fed for " + silentMs + " ms" + (workerData.mode === "kill" ? "; killing the process\\n" : "\\n")); } catch {}
    }
    if (workerData.mode === "kill") process.kill(process.pid, "SIGKILL");
    parentPort.postMessage({ type: "expired", silentMs });
  }
  setTimeout(check, Math.max(5, Math.floor(Atomics.load(shared, ${TIMEOUT}) / 8)));
}
check();
`;

export class NodeWatchdog implements WatchdogPort {
  private shared = new Int32Array(new SharedArrayBuffer(4 * 4));
  private worker: Worker | undefined;

  constructor(private readonly options: NodeWatchdogOptions = {}) {}

  start(timeoutMs: number): void {
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeoutMs must be a whole number > 0, got ${timeoutMs}`);
    if (!this.worker) this.shared = new Int32Array(new SharedArrayBuffer(4 * 4)); // a stopped worker keeps its own
    Atomics.store(this.shared, TIMEOUT, timeoutMs);
    Atomics.add(this.shared, FEEDS, 1);
    Atomics.store(this.shared, ARMED, 1);
    if (this.worker) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { shared: this.shared.buffer, mode: this.options.mode ?? "kill", log: this.options.log ?? true },
    });
    worker.on("message", (message: { type?: string; silentMs?: number }) => {
      if (message.type === "expired") this.options.onExpire?.({ silentMs: message.silentMs ?? 0 });
    });
    worker.on("error", (error) => process.stderr.write(`watchdog worker failed: ${error.message}\n`));
    worker.unref(); // never keeps the process alive by itself
    this.worker = worker;
  }

  feed(): void {
    Atomics.add(this.shared, FEEDS, 1);
  }

  /** Disarms; the worker thread ends. */
  stop(): void {
    Atomics.store(this.shared, ARMED, 0);
    Atomics.store(this.shared, STOPPED, 1);
    this.worker = undefined;
  }
}
