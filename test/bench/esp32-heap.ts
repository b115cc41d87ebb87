import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ESP32_SLOT_BYTES } from "./instruments";

const ROOT = join(__dirname, "../../..");

interface Creation {
  static?: number;
  chunk?: { initial?: number; incremental?: number };
  heap?: { initial?: number; incremental?: number };
  stack?: number;
}

export interface Esp32Heap {
  readonly bytes: number;
  readonly creation: Creation;
  readonly explanation: string;
}

type Manifest = { include?: string | string[]; creation?: Creation; platforms?: Record<string, { include?: string | string[]; creation?: Creation }> };

function merge(into: Creation, from: Creation | undefined): void {
  if (!from) return;
  for (const [k, v] of Object.entries(from) as Array<[keyof Creation, unknown]>) {
    if (v && typeof v === "object") (into as Record<string, unknown>)[k] = { ...((into as Record<string, object>)[k] ?? {}), ...v };
    else (into as Record<string, unknown>)[k] = v;
  }
}

/**
 * The XS heap of the esp32 build, from the manifests mcconfig merges for it (the product's, the root's, the SDK's
 * manifest_base and esp32 device manifest; included first, the including one wins) and mcconfig's defaults.
 * With `creation.static` set that is the whole XS heap; with 0 XS starts with `chunk.initial` bytes of chunks and
 * `heap.initial` slots (16 B each on the ESP32); with both increments 0 (what the build sets, as the SDK's ESP32
 * targets do) that is all it ever has, otherwise it takes more from the ESP-IDF heap on demand.
 */
export function esp32Heap(product = "kisbox"): Esp32Heap {
  const moddable = process.env.MODDABLE;
  if (!moddable) throw new Error("MODDABLE not set");
  const vars: Record<string, string> = { MODDABLE: moddable, BUILD: join(moddable, "build"), MODULES: join(moddable, "modules") };
  const creation: Creation = {};
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const m = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    const includes = (list: string | string[] | undefined): string[] => (list === undefined ? [] : Array.isArray(list) ? list : [list]);
    const path = (p: string): string | undefined => {
      const expanded = p.replace(/\$\((\w+)\)/g, (all, name: string) => vars[name] ?? all);
      return expanded.includes("$(") ? undefined : resolve(dirname(file), expanded);
    };
    for (const inc of [...includes(m.include), ...includes(m.platforms?.["esp32"]?.include)]) {
      const p = path(inc);
      if (p) visit(p);
    }
    merge(creation, m.creation);
    merge(creation, m.platforms?.["esp32"]?.creation);
  };
  visit(join(ROOT, "products", product, "manifest.json"));
  // mcconfig's defaults for what no manifest sets (tools/mcconfig.js, filterCreation).
  const chunk = creation.chunk?.initial || 32768;
  const slots = creation.heap?.initial || 2048;
  const fixed = creation.static ?? 0;
  if (fixed > 0) return { bytes: fixed, creation, explanation: `creation.static ${fixed}` };
  // mcconfig's defaults for the increments (filterCreation): 1024 B of chunks, 64 slots.
  const fixedSize = (creation.chunk?.incremental ?? 1024) === 0 && (creation.heap?.incremental ?? 64) === 0;
  return {
    bytes: chunk + slots * ESP32_SLOT_BYTES,
    creation,
    explanation: fixedSize
      ? `chunk.initial ${chunk} B + heap.initial ${slots} slots × ${ESP32_SLOT_BYTES} B, increments 0: a fixed budget`
      : `creation.static 0: chunk.initial ${chunk} B + heap.initial ${slots} slots × ${ESP32_SLOT_BYTES} B; more only on demand from the ESP-IDF heap`,
  };
}
