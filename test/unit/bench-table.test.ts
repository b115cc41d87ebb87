import assert from "../support/assert";
import { MODDABLE_NOT_SET, formatFigure, formatGoal, median, notAvailable, renderTable, roundTrips, skipped, toJson, value, verdict, type BenchRow } from "../bench/table";

describe("bench table (npm run bench)", () => {
  const rows: BenchRow[] = [
    { id: "B1", measure: "host boot", figure: value(roundTrips(742, 100), "RTT"), goal: { op: "<=", limit: 5.2, unit: "RTT" }, notes: "protocol minimum 5" },
    { id: "B2", measure: "drain", figure: value(1.149, "ratio"), goal: { op: "<=", limit: 1.2, unit: "ratio" } },
    { id: "B5", measure: "PUBLISH | bytes", figure: value(152, "bytes"), goal: { op: "<=", limit: 160, unit: "bytes" } },
    { id: "B6", measure: "peak heap", figure: notAvailable("no instrumentation lines"), goal: { op: "<", limit: 75, unit: "percent" } },
    { id: "B1", measure: "device boot", figure: skipped(MODDABLE_NOT_SET), goal: { op: "<=", limit: 6, unit: "RTT" } },
  ];

  it("prints figures in their unit: round trips as elapsed / RTT, ratios with ×, bytes", () => {
    assert.equal(formatFigure(rows[0]!.figure), "7.4 RTT");
    assert.equal(formatFigure(rows[1]!.figure), "1.15×");
    assert.equal(formatFigure(rows[2]!.figure), "152 B");
    assert.equal(formatFigure(value(61.25, "percent")), "61.3 %");
  });

  it("puts the goal beside each figure and says whether it is met", () => {
    assert.equal(formatGoal(rows[0]!.goal), "≤ 5.2 RTT");
    assert.equal(formatGoal(rows[1]!.goal), "≤ 1.20×");
    assert.equal(formatGoal(rows[2]!.goal), "≤ 160 B");
    assert.equal(formatGoal({ op: "<", limit: 75, unit: "percent" }), "< 75 %");
    assert.equal(formatGoal(undefined), "—");
    assert.deepEqual(rows.map(verdict), ["missed", "met", "met", "—", "—"]);
    assert.equal(verdict({ id: "B2", measure: "x", figure: value(1.2049, "ratio"), goal: { op: "<=", limit: 1.2, unit: "ratio" } }), "met", "compared as printed (1.20×)");
    assert.equal(verdict({ id: "B6", measure: "x", figure: value(75, "percent"), goal: { op: "<", limit: 75, unit: "percent" } }), "missed");
    assert.throws(() => verdict({ id: "B9", measure: "x", figure: value(1, "bytes"), goal: { op: "<=", limit: 1, unit: "RTT" } }), /figure in bytes, goal in RTT/);
  });

  it("prints rows without a figure as n/a with the reason, or skipped", () => {
    assert.equal(formatFigure(rows[3]!.figure), "n/a (no instrumentation lines)");
    assert.equal(formatFigure(rows[4]!.figure), "skipped: MODDABLE not set");
  });

  it("renders one aligned Markdown table, escaping pipes", () => {
    const lines = renderTable(rows).split("\n");
    assert.equal(lines.length, 2 + rows.length);
    assert.match(lines[0]!, /^\| +\| measure +\| figure +\| goal +\| +\| notes +\|$/);
    assert.match(lines[1]!, /^\|-+\|-+\|-+\|-+\|-+\|-+\|$/);
    assert.ok(lines.every((l) => l.length === lines[0]!.length), "columns aligned");
    assert.match(lines[2]!, /^\| B1 \| host boot +\| 7\.4 RTT +\| ≤ 5\.2 RTT \| missed \| protocol minimum 5 \|$/);
    assert.ok(lines[4]!.includes("PUBLISH \\| bytes"));
    assert.ok(lines[6]!.includes("skipped: MODDABLE not set"));
  });

  it("writes numbers as numbers to JSON, with goal and verdict", () => {
    const json = toJson(rows) as Array<Record<string, unknown>>;
    assert.deepEqual(json[1], { id: "B2", measure: "drain", value: 1.149, unit: "ratio", goal: { op: "<=", limit: 1.2, unit: "ratio" }, verdict: "met" });
    assert.equal(json[3]!["notAvailable"], "no instrumentation lines");
    assert.equal(json[4]!["skipped"], MODDABLE_NOT_SET);
  });

  it("takes the median of the samples, and refuses a zero RTT", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), /no samples/);
    assert.throws(() => roundTrips(100, 0), /positive/);
  });
});
