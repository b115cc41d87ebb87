/**
 * SystemInfo and restart in the simulator (lin/mac/win): restarting mcsim is not something the firmware can do,
 * so `restart` is a logged no-op; free heap comes from Instrumentation in instrumented builds (`-i`) only, the
 * reset reason is "unknown".
 */
import Instrumentation from "instrumentation";
import Debug from "debug";
import Timer from "timer";
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

/**
 * The heap probe of instrumented builds (`heapProbeSeconds`, for `npm run bench` B6): every `seconds` a full
 * collection, then the live XS heap as one line, `heap live chunks=<bytes> slots=<count>`. XS's own
 * instrumentation counts whatever was allocated since the last collection, garbage included, so its peaks say
 * more about when the collector ran than about what the firmware needs. False when the build has no
 * instrumentation (not built with -i).
 */
export function startHeapProbe(seconds: number, logger: Logger): boolean {
  const chunks = mapped("XS Chunk Heap Used");
  const slots = mapped("XS Slot Heap Used");
  if (chunks === undefined || slots === undefined || !(seconds > 0)) return false;
  const slotBytes = 32; // txSlot on a 64-bit host; the bench prices slots at the ESP32's 16 B
  Timer.repeat(() => {
    Debug.gc();
    const c = read(chunks);
    const s = read(slots);
    if (c !== undefined && s !== undefined) logger.log("info", "heap", "heap live", { chunks: c, slots: Math.round(s / slotBytes) });
  }, seconds * 1000);
  return true;
}

function mapped(name: "System Free Memory" | "XS Chunk Heap Used" | "XS Slot Heap Used"): number | undefined {
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
