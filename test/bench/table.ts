// The bench's one table: every figure with its goal beside it, rows that could not be measured say why.
// Portable (no Node imports) so its unit test runs in both lanes.

/** A measured figure, or why there is none. */
export type Figure =
  | { readonly kind: "value"; readonly value: number; readonly unit: Unit; readonly digits?: number }
  | { readonly kind: "na"; readonly reason: string }
  | { readonly kind: "skipped"; readonly reason: string };

/** RTT: round trips (elapsed / RTT); ratio: × a baseline of the same run; percent: of a budget. */
export type Unit = "RTT" | "ratio" | "bytes" | "percent" | "computrons" | "slots" | "ms" | "KiB";

export interface Goal {
  readonly op: "<=" | "<";
  readonly limit: number;
  readonly unit: Unit;
}

export interface BenchRow {
  /** B1 … B6. */
  readonly id: string;
  readonly measure: string;
  readonly figure: Figure;
  readonly goal?: Goal;
  /** What the figure is compared with or made of: the protocol minimum, the baseline, the parts. */
  readonly notes?: string;
}

export const value = (v: number, unit: Unit, digits?: number): Figure => ({ kind: "value", value: v, unit, ...(digits !== undefined ? { digits } : {}) });
export const notAvailable = (reason: string): Figure => ({ kind: "na", reason });
export const skipped = (reason: string): Figure => ({ kind: "skipped", reason });
export const MODDABLE_NOT_SET = "MODDABLE not set";

const DEFAULT_DIGITS: Record<Unit, number> = { RTT: 1, ratio: 2, bytes: 0, percent: 1, computrons: 0, slots: 0, ms: 0, KiB: 1 };

/** A number in a unit: "7.4 RTT", "1.15×", "152 B", "61.3 %". */
export function formatQuantity(v: number, unit: Unit, digits = DEFAULT_DIGITS[unit]): string {
  const n = v.toFixed(digits);
  switch (unit) {
    case "RTT":
      return `${n} RTT`;
    case "ratio":
      return `${n}×`;
    case "bytes":
      return `${n} B`;
    case "percent":
      return `${n} %`;
    case "ms":
      return `${n} ms`;
    case "KiB":
      return `${n} KiB`;
    default:
      return `${n} ${unit}`;
  }
}

export function formatFigure(f: Figure): string {
  if (f.kind === "na") return `n/a (${f.reason})`;
  if (f.kind === "skipped") return `skipped: ${f.reason}`;
  return formatQuantity(f.value, f.unit, f.digits);
}

export function formatGoal(g: Goal | undefined): string {
  if (!g) return "—";
  return `${g.op === "<=" ? "≤" : "<"} ${formatQuantity(g.limit, g.unit, Number.isInteger(g.limit) && g.unit !== "RTT" ? 0 : undefined)}`;
}

/** met / missed, or "—" when there is no goal or no figure (a figure in another unit than its goal is an error). */
export function verdict(row: BenchRow): "met" | "missed" | "—" {
  const { figure, goal } = row;
  if (!goal || figure.kind !== "value") return "—";
  if (figure.unit !== goal.unit) throw new Error(`${row.id}: figure in ${figure.unit}, goal in ${goal.unit}`);
  // Compared as printed, so a row never reads "1.2× … ≤ 1.2× … missed".
  const shown = Number(figure.value.toFixed(figure.digits ?? DEFAULT_DIGITS[figure.unit]));
  const ok = goal.op === "<=" ? shown <= goal.limit : shown < goal.limit;
  return ok ? "met" : "missed";
}

/** Pipes would end a Markdown cell. */
const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The table as Markdown (it reads as well in a terminal as in the README). */
export function renderTable(rows: readonly BenchRow[]): string {
  const header = ["", "measure", "figure", "goal", "", "notes"];
  const lines = rows.map((r) => [r.id, r.measure, formatFigure(r.figure), formatGoal(r.goal), verdict(r), r.notes ?? ""].map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [row(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(row)].join("\n");
}

/** The rows as JSON-ready records: numbers stay numbers, with the verdict. */
export function toJson(rows: readonly BenchRow[]): object[] {
  return rows.map((r) => ({
    id: r.id,
    measure: r.measure,
    ...(r.figure.kind === "value" ? { value: r.figure.value, unit: r.figure.unit } : { [r.figure.kind === "na" ? "notAvailable" : "skipped"]: r.figure.reason }),
    ...(r.goal ? { goal: { op: r.goal.op, limit: r.goal.limit, unit: r.goal.unit }, verdict: verdict(r) } : {}),
    ...(r.notes ? { notes: r.notes } : {}),
  }));
}

/** Round trips in a span: elapsed / RTT. */
export function roundTrips(elapsedMs: number, rttMs: number): number {
  if (!(rttMs > 0)) throw new Error("the RTT must be positive");
  return elapsedMs / rttMs;
}

/** The median of the samples (the mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
