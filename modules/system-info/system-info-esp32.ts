/**
 * SystemInfo and restart on esp32.
 *
 * - restart: `System.restart()` — the SDK's ECMA-419 `system` module (modules/io/system, preloaded by the io
 *   manifest, installed as the global `System`) calls `esp_restart()`.
 * - reset reason and free heap: `esp_reset_reason()` (as a word: power-on, software, panic, task-watchdog,
 *   brownout, ...) and `esp_get_free_heap_size()` through this module's native part (esp32/system-info-native.c):
 *   the SDK (8.2.3) exposes neither to scripts (its Instrumentation has the heap in instrumented builds only).
 */
import * as Native from "native/system-info";
import type { SystemInfo } from "ports/system-info";
import type { Logger } from "ports/logger";

export class PlatformSystemInfo implements SystemInfo {
  private readonly reason = Native.resetReason(); // fixed for the whole boot

  resetReason(): string {
    return this.reason;
  }

  freeHeap(): number | undefined {
    return Native.freeHeap();
  }
}

/** A restart function for Platform.restart. */
export function platformRestart(logger: Logger): () => void {
  return () => {
    logger.log("warn", "device", "restarting");
    const system = (globalThis as { System?: { restart?: () => void } }).System;
    if (typeof system?.restart !== "function") {
      logger.log("error", "device", "restart not available (no System.restart)");
      return;
    }
    system.restart();
  };
}

/** The bench's heap probe exists in the simulator's instrumented builds only (modules/system-info/system-info.ts). */
export function startHeapProbe(_seconds: number, _logger: Logger): boolean {
  return false;
}
