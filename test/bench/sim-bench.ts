import { skipped, MODDABLE_NOT_SET, type BenchRow } from "./table";
import type { BenchOptions } from "./suite";

export async function simRows(_o: BenchOptions): Promise<BenchRow[]> {
  return [{ id: "B1", measure: "device build boot", figure: skipped(MODDABLE_NOT_SET) }];
}
