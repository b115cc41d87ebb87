// mcsim's instrumentation output (an instrumented build prints it once a second when no xsbug is attached):
//   instruments key: Pixels drawn,...,Chunk used,Chunk available,Slot used,Slot available,...
//   instruments: 0,0,...,20480,32768,40960,65536,...
// Chunk figures are bytes; slot figures are bytes too (slots × the host's slot size, 32 B on a 64-bit host).

/** The host's slot size on 64-bit Linux (the simulator); the ESP32's is 16 B. */
export const HOST_SLOT_BYTES = 32;
export const ESP32_SLOT_BYTES = 16;

export interface HeapSample {
  readonly at: number;
  readonly chunkUsed: number;
  readonly chunkAvailable: number;
  readonly slotsUsed: number;
  readonly slotsAvailable: number;
}

export function parseInstruments(lines: readonly string[], times: readonly number[]): { samples: HeapSample[]; error?: string } {
  const keyLine = lines.find((l) => l.includes("instruments key: "));
  if (!keyLine) return { samples: [], error: "mcsim printed no instrumentation (not an instrumented build?)" };
  const names = keyLine.slice(keyLine.indexOf("instruments key: ") + 17).split(",").map((n) => n.trim());
  const at = (name: string): number => names.indexOf(name);
  const idx = { cu: at("Chunk used"), ca: at("Chunk available"), su: at("Slot used"), sa: at("Slot available") };
  if (Object.values(idx).some((i) => i < 0)) return { samples: [], error: `unexpected instrumentation key: ${names.join(",")}` };
  const samples: HeapSample[] = [];
  lines.forEach((line, i) => {
    const m = /instruments: (-?\d+(?:,-?\d+)*)\s*$/.exec(line);
    if (!m) return;
    const v = m[1]!.split(",").map(Number);
    samples.push({ at: times[i]!, chunkUsed: v[idx.cu]!, chunkAvailable: v[idx.ca]!, slotsUsed: v[idx.su]! / HOST_SLOT_BYTES, slotsAvailable: v[idx.sa]! / HOST_SLOT_BYTES });
  });
  return samples.length ? { samples } : { samples, error: "mcsim printed an instrumentation key but no samples" };
}

/**
 * The firmware's own heap probe (`heapProbeSeconds`, modules/system-info): `heap live chunks=<bytes> slots=<count>`
 * right after a full collection, i.e. what is reachable; XS's instrumentation above also counts garbage not yet
 * collected. Slots are already counts.
 */
export function parseHeapProbe(lines: readonly string[], times: readonly number[]): { samples: HeapSample[]; error?: string } {
  const samples: HeapSample[] = [];
  lines.forEach((line, i) => {
    const m = /heap live chunks=(\d+) slots=(\d+)/.exec(line);
    if (m) samples.push({ at: times[i]!, chunkUsed: Number(m[1]), chunkAvailable: 0, slotsUsed: Number(m[2]), slotsAvailable: 0 });
  });
  return samples.length ? { samples } : { samples, error: "the firmware printed no heap probe line (heapProbeSeconds not set, or not an instrumented build)" };
}

export interface HeapPeak {
  readonly chunkBytes: number;
  readonly slots: number;
  /** Chunks as measured plus the slots at the ESP32's slot size. */
  readonly esp32Bytes: number;
}

/** The sample in [from, to] with the most heap in use (chunks + slots at 16 B), or undefined when there is none. */
export function heapPeak(samples: readonly HeapSample[], from: number, to: number): HeapPeak | undefined {
  let best: HeapPeak | undefined;
  for (const s of samples) {
    if (s.at < from || s.at > to) continue;
    const esp32Bytes = s.chunkUsed + s.slotsUsed * ESP32_SLOT_BYTES;
    if (!best || esp32Bytes > best.esp32Bytes) best = { chunkBytes: s.chunkUsed, slots: s.slotsUsed, esp32Bytes };
  }
  return best;
}
