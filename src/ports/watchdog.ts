/**
 * A hardware or platform watchdog: once started it must be fed at least every `timeoutMs`, or the platform
 * restarts (the device) or reports and exits (the host). On the ESP32 this is the task watchdog (esp_task_wdt)
 * subscribed for the XS task; on the host a worker thread that watches the event loop
 * (host/adapters/node-watchdog.ts). The portable LoopWatchdog (src/device/watchdog.ts) decides when to feed.
 */
export interface WatchdogPort {
  /** Arms the watchdog; calling it again re-arms with the new timeout. */
  start(timeoutMs: number): void;
  /** Resets the countdown. */
  feed(): void;
  /** Disarms it (an orderly shutdown, or before a deliberate long blocking operation). */
  stop(): void;
}

/** A watchdog that does nothing (platforms without one, and tests). */
export const noWatchdog: WatchdogPort = { start() {}, feed() {}, stop() {} };
