import assert from "../support/assert";
import { toJson } from "../../src/core/json";

class Reading {
  readonly kind = "reading";
  constructor(readonly value: number) {}
  get doubled(): number {
    return this.value * 2; // on the prototype: not serialised
  }
}

describe("toJson (JSON.stringify that survives preloaded constants)", () => {
  const SHAPES: unknown[] = [
    { v: 2, wifi: { ssid: "Halle 3", passphrase: "ä\"\\\n<" }, hub: null, settings: { a: [1, 2, { b: true }] } },
    [1, "two", null, undefined, () => 3, { nested: [[], {}] }],
    { skipped: undefined, fn() {}, kept: 0, neg: -0, nan: NaN, inf: Infinity },
    new Reading(21),
    { when: new Date(Date.UTC(2026, 11, 6, 8, 0, 0)) },
    { bytes: new Uint8Array([1, 2, 3]) },
    { boxed: [new Number(4), new String("s"), new Boolean(false)] },
    { map: new Map([["a", 1]]), set: new Set([1]) },
    "plain string",
    42,
    null,
    true,
  ];

  it("gives exactly what JSON.stringify gives", () => {
    for (const shape of SHAPES) assert.equal(toJson(shape), JSON.stringify(shape));
  });

  it("applies a replacer as JSON.stringify does: same keys, same values, same order", () => {
    const value = { keep: 1, drop: 2, inner: { drop: 3, keep: 4 }, list: ["x", { drop: 5 }] };
    const calls = (run: (replacer: (key: string, v: unknown) => unknown) => string): { out: string; seen: string[] } => {
      const seen: string[] = [];
      const out = run((key, v) => {
        seen.push(`${key}=${typeof v === "object" && v !== null ? "object" : String(v)}`);
        return key === "drop" ? undefined : v;
      });
      return { out, seen };
    };
    const ours = calls((r) => toJson(value, r));
    const theirs = calls((r) => JSON.stringify(value, r));
    assert.equal(ours.out, '{"keep":1,"inner":{"keep":4},"list":["x",{}]}');
    assert.deepEqual(ours, theirs);
  });

  it("leaves the value it serialises untouched", () => {
    const value = Object.freeze({ list: Object.freeze([1, 2]), deep: Object.freeze({ x: "y" }) });
    assert.equal(toJson(value), '{"list":[1,2],"deep":{"x":"y"}}');
    assert.deepEqual(value, { list: [1, 2], deep: { x: "y" } });
  });

  it("refuses what JSON cannot represent, with an error instead of undefined", () => {
    assert.throws(() => toJson(undefined), /not representable as JSON: undefined/);
    assert.throws(() => toJson(() => 1), /not representable as JSON: function/);
    assert.throws(() => toJson({ n: 1n }), TypeError);
  });

  it("still rejects a cyclic value instead of looping", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    // The walk sees copies, so JSON.stringify's own check cannot see the cycle: toJson's must (in XS an endless walk
    // is a native stack overflow that ends the VM).
    assert.throws(() => toJson(a), /cyclic value at key "self"/);
    const b: unknown[] = [1, { up: null }];
    (b[1] as { up: unknown }).up = b;
    assert.throws(() => toJson({ b }), /cyclic value at key "up"/);
    // The same object twice, side by side, is not a cycle.
    const shared = { x: 1 };
    assert.equal(toJson({ a: shared, b: [shared, shared] }), '{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
  });
});
