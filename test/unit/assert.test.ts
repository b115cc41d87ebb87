import assert, { AssertionError } from "../support/assert";

// The assertion library the unit tests use on Node and inside XS. A deepEqual that calls different things equal
// makes every test built on it pass without checking anything, so the must-fail cases matter most here.

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
class OtherPoint {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
class CustomError extends Error {}

/** Fails unless deepEqual and notDeepEqual both say "different". */
function different(a: unknown, b: unknown, what: string): void {
  assert.throws(() => assert.deepEqual(a, b), AssertionError, `deepEqual must fail: ${what}`);
  assert.throws(() => assert.deepEqual(b, a), AssertionError, `deepEqual must fail (swapped): ${what}`);
  assert.notDeepEqual(a, b, what);
}

/** Fails unless deepEqual and notDeepEqual both say "equal". */
function same(a: unknown, b: unknown, what: string): void {
  assert.deepEqual(a, b, what);
  assert.deepEqual(b, a, `${what} (swapped)`);
  assert.throws(() => assert.notDeepEqual(a, b), AssertionError, `notDeepEqual must fail: ${what}`);
}

describe("assert.deepEqual", () => {
  describe("must fail", () => {
    it("two Sets with different members", () => {
      different(new Set([1, 2]), new Set([1, 3]), "Set members");
      different(new Set([1, 2]), new Set([1, 2, 3]), "Set sizes");
      different(new Set([{ a: 1 }]), new Set([{ a: 2 }]), "Set object members");
      different(new Set([{ a: 1 }, { a: 1 }]), new Set([{ a: 1 }, { a: 2 }]), "each member needs its own partner");
      different(new Set(["1"]), new Set([1]), "Set member types");
    });

    it("two Maps with different keys or values", () => {
      different(new Map([["a", 1]]), new Map([["a", 2]]), "Map values");
      different(new Map([["a", 1]]), new Map([["b", 1]]), "Map keys");
      different(new Map([["a", 1]]), new Map([["a", 1], ["b", 2]]), "Map sizes");
      different(new Map([[1, "x"]]), new Map([["1", "x"]]), "Map key types");
      different(new Map([[{ k: 1 }, "x"]]), new Map([[{ k: 2 }, "x"]]), "Map object keys");
    });

    it("two Dates with different times", () => {
      different(new Date(0), new Date(1), "Date time values");
      different(new Date(0), new Date(Number.NaN), "a valid and an invalid Date");
    });

    it("two ArrayBuffers, typed arrays or DataViews with different bytes", () => {
      different(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 3]).buffer, "ArrayBuffer bytes");
      different(new ArrayBuffer(2), new ArrayBuffer(3), "ArrayBuffer lengths");
      different(new Uint8Array([1, 2]), new Uint8Array([1, 3]), "Uint8Array elements");
      different(new Uint8Array([1, 2]), new Uint16Array([1, 2]), "typed array types");
      different(new Uint8Array([1, 2]), [1, 2], "a typed array and an array");
      different(new Float64Array([0]), new Float64Array([-0]), "+0 and -0 in a Float64Array");
      different(new DataView(new Uint8Array([1]).buffer), new DataView(new Uint8Array([2]).buffer), "DataView bytes");
      different(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2]), "an ArrayBuffer and a view of the same bytes");
    });

    it("two Errors with different messages or classes", () => {
      different(new Error("a"), new Error("b"), "Error messages");
      different(new Error("a"), new TypeError("a"), "Error classes");
      different(new Error("a"), new CustomError("a"), "an Error and a subclass");
      different(new Error("a", { cause: 1 }), new Error("a", { cause: 2 }), "Error causes");
      different(new Error("a", { cause: 1 }), new Error("a"), "a cause and none");
      different(new Error("a"), { message: "a", name: "Error" }, "an Error and a look-alike object");
    });

    it("objects of different classes or prototypes", () => {
      different(new Point(1, 2), new OtherPoint(1, 2), "classes with the same fields");
      different(new Point(1, 2), { x: 1, y: 2 }, "an instance and a plain object");
      different(Object.create(null), {}, "a null-prototype object and {}");
      different([], {}, "an array and an object");
      different(["a"], { 0: "a", length: 1 }, "an array and an array-like");
    });

    it("other built-ins by what they hold", () => {
      different(/a/g, /a/i, "RegExp flags");
      different(/a/, /b/, "RegExp sources");
      different(Object(1), Object(2), "boxed numbers");
      different(Object("a"), "a", "a boxed and a primitive string");
      different(new WeakMap(), new WeakMap(), "two WeakMaps (contents cannot be compared)");
      different(Promise.resolve(1), Promise.resolve(1), "two promises (state cannot be compared)");
      different(() => 1, () => 1, "two functions");
    });

    it("primitives by SameValue and objects by their keys", () => {
      different(0, -0, "+0 and -0");
      different(1, "1", "a number and a string");
      different(null, undefined, "null and undefined");
      different({ a: undefined }, {}, "a key holding undefined and no key");
      different({ a: 1 }, { a: 1, b: 2 }, "an extra key");
      different({ a: { b: [1, 2] } }, { a: { b: [1, 3] } }, "a nested difference");
      different([1, 2], [1, 2, 3], "array lengths");
      different([1, , 3], [1, undefined, 3], "a hole and undefined"); // eslint-disable-line no-sparse-arrays
      const tag = Symbol("tag");
      different({ [tag]: 1 }, { [tag]: 2 }, "symbol-keyed values");
      different(10n, 11n, "bigints");
    });

    it("cyclic structures that differ", () => {
      const a: Record<string, unknown> = { v: 1 };
      a["self"] = a;
      const b: Record<string, unknown> = { v: 2 };
      b["self"] = b;
      different(a, b, "cycles with different values");
    });
  });

  describe("must pass", () => {
    it("equal primitives, including NaN", () => {
      same(Number.NaN, Number.NaN, "NaN");
      same("x", "x", "strings");
      same(10n, 10n, "bigints");
      same(undefined, undefined, "undefined");
    });

    it("structurally equal objects and arrays", () => {
      same({ a: 1, b: [1, { c: "d" }] }, { b: [1, { c: "d" }], a: 1 }, "key order does not matter");
      same([], [], "empty arrays");
      same(new Point(1, 2), new Point(1, 2), "instances of one class");
      same(Object.assign(Object.create(null) as object, { a: 1 }), Object.assign(Object.create(null) as object, { a: 1 }), "null-prototype objects");
      const f = (): number => 1;
      same({ f }, { f }, "the same function");
    });

    it("Maps and Sets with the same contents in any order", () => {
      same(new Map<string, unknown>([["a", 1], ["b", { c: 2 }]]), new Map<string, unknown>([["b", { c: 2 }], ["a", 1]]), "Maps");
      same(new Set([1, 2, 3]), new Set([3, 2, 1]), "Sets");
      same(new Set([{ a: 1 }, { a: 2 }]), new Set([{ a: 2 }, { a: 1 }]), "Sets of objects");
      same(new Map([[{ k: 1 }, "x"]]), new Map([[{ k: 1 }, "x"]]), "Maps with deep-equal object keys");
      same(new Set([Number.NaN]), new Set([Number.NaN]), "NaN in Sets");
    });

    it("Dates, RegExps, Errors and bytes with equal contents", () => {
      same(new Date(1234), new Date(1234), "Dates");
      same(new Date(Number.NaN), new Date(Number.NaN), "invalid Dates");
      same(/a+/g, /a+/g, "RegExps");
      same(new TypeError("x"), new TypeError("x"), "Errors");
      same(new Error("x", { cause: { code: 1 } }), new Error("x", { cause: { code: 1 } }), "Errors with causes");
      same(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]), "Uint8Arrays");
      same(new Uint8Array([9, 1, 2]).subarray(1), new Uint8Array([1, 2]), "a subarray and a copy");
      same(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2]).buffer, "ArrayBuffers");
      same(new DataView(new Uint8Array([0, 1, 2]).buffer, 1), new DataView(new Uint8Array([1, 2]).buffer), "DataViews");
      same(new Float32Array([Number.NaN]), new Float32Array([Number.NaN]), "NaN in a Float32Array");
    });

    it("cyclic structures that are alike", () => {
      const a: Record<string, unknown> = { v: 1 };
      a["self"] = a;
      const b: Record<string, unknown> = { v: 1 };
      b["self"] = b;
      same(a, b, "cycles");
    });
  });

  it("says what differed", () => {
    assert.throws(() => assert.deepEqual(new Map([["a", 1]]), new Map([["a", 2]])), /expected Map\(1\) \{"a" => 2\}, got Map\(1\) \{"a" => 1\}/);
    assert.throws(() => assert.deepEqual(new Set([1]), new Set([2]), "members"), /^members: expected Set\(1\) \{2\}, got Set\(1\) \{1\}$/);
    assert.throws(() => assert.deepEqual(new Point(1, 2), { x: 1, y: 2 }), /expected \{"x":1,"y":2\}, got Point \{"x":1,"y":2\}/);
    assert.throws(() => assert.deepEqual(new Date(0), new Date(1)), /Date\(1970-01-01T00:00:00\.001Z\)/);
  });
});

describe("assert (the other checks)", () => {
  it("equal uses SameValue", () => {
    assert.equal(Number.NaN, Number.NaN);
    assert.throws(() => assert.equal(0, -0), AssertionError);
    assert.throws(() => assert.equal<unknown>(1, "1"), AssertionError);
  });

  it("throws and rejects fail when nothing is thrown, or the wrong thing", async () => {
    assert.throws(() => assert.throws(() => undefined), /expected an exception/);
    assert.throws(() => assert.throws(() => { throw new Error("x"); }, TypeError), /wrong error type/);
    assert.throws(() => assert.throws(() => { throw new Error("x"); }, /y/), /does not match/);
    await assert.rejects(assert.rejects(Promise.resolve(1)), /expected a rejection/);
    await assert.rejects(assert.rejects(Promise.reject(new Error("x")), /y/), /does not match/);
  });

  it("ok and match fail on what they must", () => {
    assert.throws(() => assert.ok(0), AssertionError);
    assert.throws(() => assert.ok(""), AssertionError);
    assert.throws(() => assert.match("abc", /d/), AssertionError);
  });
});
