/**
 * SystemInfo and restart on esp32.
 *
 * - restart: `System.restart()` — the SDK's ECMA-419 `system` module (modules/io/system, preloaded by the io
 *   manifest, installed as the global `System`) calls `esp_restart()`.
 * - free heap: `Instrumentation.get(map("System Free Memory"))` = heap_caps_get_free_size(MALLOC_CAP_8BIT), but only
 *   in instrumented builds (`mcconfig -i`); a release build's Instrumentation.get returns undefined, so freeHeap
 *   is then undefined (diagnostics send null).
 * - reset reason: the SDK (8.2.3) exposes no `esp_reset_reason()` to scripts; it is "unknown" until a small native
 *   module adds it.
 */
import Instrumentation from "instrumentation";
import type { SystemInfo } from "ports/system-info";
import type { Logger } from "ports/logger";

export class PlatformSystemInfo implements SystemInfo {
  private readonly freeMemory = mapped("System Free Memory");

  resetReason(): string {
    return "unknown";
  }

  freeHeap(): number | undefined {
    return read(this.freeMemory);
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

function mapped(name: "System Free Memory"): number | undefined {
  try {
    return Instrumentation.map(name);
  } catch {
    return undefined;
  }
}

function read(index: number | undefined): number | undefined {
  if (index === undefined) return undefined;
  try {
    const value = Instrumentation.get(index);
    return typeof value === "number" && value >= 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
