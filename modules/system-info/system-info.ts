/**
 * SystemInfo and restart in the simulator (lin/mac/win): restarting mcsim is not something the firmware can do,
 * so `restart` is a logged no-op; free heap comes from Instrumentation in instrumented builds (`-i`) only, the
 * reset reason is "unknown".
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

export function platformRestart(logger: Logger): () => void {
  return () => logger.log("warn", "device", "restart requested; the simulator does not restart (no-op)");
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
