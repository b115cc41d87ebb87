/**
 * A small assertion library that runs unchanged on Node (mocha) and inside XS,
 * which has neither node:assert nor a DOM. Unit tests import only this.
 */

export class AssertionError extends Error {
  override readonly name = "AssertionError";
  constructor(message: string) {
    super(message);
  }
}

const MAX_SHOWN = 2000;

/** A readable, bounded rendering of a value for failure messages (Map, Set, Date, bytes and classes included). */
function show(value: unknown): string {
  const text = render(value, new Set<object>(), 0);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

function className(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null) return "[null prototype]";
  const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor === "function" && typeof ctor.name === "string" && ctor.name !== "" ? ctor.name : "Object";
}

function render(value: unknown, seen: Set<object>, depth: number): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "symbol" || typeof value === "boolean" || value === undefined || value === null) return String(value);
  if (typeof value === "function") return `[Function ${value.name || "(anonymous)"}]`;
  const object = value as object;
  if (seen.has(object)) return "[Circular]";
  if (depth > 6) return `[${className(object)}]`;
  seen.add(object);
  try {
    const inner = (v: unknown): string => render(v, seen, depth + 1);
    const name = className(object);
    if (object instanceof Error) return `${name}(${JSON.stringify(object.name)}: ${JSON.stringify(object.message)})`;
    if (object instanceof Date) return `Date(${Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString()})`;
    if (object instanceof RegExp) return String(object);
    if (object instanceof Map) return `Map(${object.size}) {${Array.from(object, ([k, v]) => `${inner(k)} => ${inner(v)}`).join(", ")}}`;
    if (object instanceof Set) return `Set(${object.size}) {${Array.from(object, inner).join(", ")}}`;
    if (object instanceof ArrayBuffer) return `ArrayBuffer[${Array.from(new Uint8Array(object)).join(",")}]`;
    if (object instanceof DataView) return `DataView[${Array.from(new Uint8Array(object.buffer, object.byteOffset, object.byteLength)).join(",")}]`;
    if (ArrayBuffer.isView(object)) return `${name}[${Array.from(object as unknown as ArrayLike<unknown>, inner).join(",")}]`;
    if (Array.isArray(object)) return `${name === "Array" ? "" : name}[${object.map(inner).join(",")}]`;
    const keys = ownKeys(object);
    const body = `{${keys.map((k) => `${typeof k === "string" ? JSON.stringify(k) : String(k)}:${inner((object as Record<PropertyKey, unknown>)[k])}`).join(",")}}`;
    return name === "Object" ? body : `${name} ${body}`;
  } finally {
    seen.delete(object);
  }
}

function fail(message: string | undefined, fallback: string): never {
  throw new AssertionError(message ? `${message}: ${fallback}` : fallback);
}

export function ok(value: unknown, message?: string): asserts value {
  if (!value) fail(message, `expected truthy, got ${show(value)}`);
}

export function equal<T>(actual: T, expected: T, message?: string): void {
  if (!Object.is(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
}

export function notEqual<T>(actual: T, expected: T, message?: string): void {
  if (Object.is(actual, expected)) fail(message, `expected a value other than ${show(expected)}`);
}

/** Own enumerable keys, strings then symbols (what a deep comparison looks at besides the type's own contents). */
function ownKeys(object: object): PropertyKey[] {
  const keys: PropertyKey[] = Object.keys(object);
  for (const symbol of Object.getOwnPropertySymbols(object)) {
    if (Object.prototype.propertyIsEnumerable.call(object, symbol)) keys.push(symbol);
  }
  return keys;
}

const hasOwn = (object: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * Strict deep equality, the same on Node and XS (no Node util): primitives by SameValue (NaN equals NaN, +0 is not
 * -0); objects must have the same prototype (class) and the same own enumerable keys with deep-equal values, and
 * built-ins are compared by what they hold: Map entries (keys by SameValueZero, else a deep-equal object key),
 * Set members (the same, deep for objects), Date time values, RegExp source/flags/lastIndex, Error name, message
 * and cause, boxed primitives, ArrayBuffer/DataView bytes and typed-array elements. WeakMap, WeakSet, Promise and
 * functions cannot be inspected and equal only themselves. Cycles are compared structurally.
 */
function deepEq(a: unknown, b: unknown, pairs: Map<object, Set<object>> = new Map()): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  // A pair already being compared further up is assumed equal (cycles); the rest of the walk decides.
  let partners = pairs.get(a);
  if (partners?.has(b)) return true;
  if (!partners) pairs.set(a, (partners = new Set()));
  partners.add(b);
  try {
    return sameContents(a, b, pairs);
  } finally {
    partners.delete(b);
  }
}

function sameContents(a: object, b: object, pairs: Map<object, Set<object>>): boolean {
  const eq = (x: unknown, y: unknown): boolean => deepEq(x, y, pairs);
  if (typeof WeakMap === "function" && a instanceof WeakMap) return false;
  if (typeof WeakSet === "function" && a instanceof WeakSet) return false;
  if (a instanceof Promise) return false;
  if (a instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && a instanceof SharedArrayBuffer)) {
    return sameBytes(new Uint8Array(a as ArrayBuffer), new Uint8Array(b as ArrayBuffer));
  }
  if (ArrayBuffer.isView(a)) {
    const viewB = b as ArrayBufferView;
    if (a instanceof DataView) {
      return sameBytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(viewB.buffer, viewB.byteOffset, viewB.byteLength));
    }
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true; // the indices are the keys; typed arrays carry nothing else worth comparing
  }
  if (a instanceof Date) {
    if (!Object.is(a.getTime(), (b as Date).getTime())) return false;
  } else if (a instanceof RegExp) {
    const r = b as RegExp;
    if (a.source !== r.source || a.flags !== r.flags || a.lastIndex !== r.lastIndex) return false;
  } else if (a instanceof Error) {
    const e = b as Error;
    if (a.name !== e.name || a.message !== e.message) return false;
    if (hasOwn(a, "cause") !== hasOwn(e, "cause") || !eq(a.cause, e.cause)) return false;
    if ("errors" in a && !eq((a as { errors?: unknown }).errors, (e as { errors?: unknown }).errors)) return false;
  } else if (a instanceof Number || a instanceof String || a instanceof Boolean || a instanceof BigInt || a instanceof Symbol) {
    if (!Object.is(a.valueOf(), (b as typeof a).valueOf())) return false;
  } else if (a instanceof Map) {
    if (!sameMaps(a, b as Map<unknown, unknown>, eq)) return false;
  } else if (a instanceof Set) {
    if (!sameSets(a, b as Set<unknown>, eq)) return false;
  } else if (Array.isArray(a)) {
    if (a.length !== (b as unknown[]).length) return false;
  }
  const keysA = ownKeys(a);
  const keysB = ownKeys(b);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!hasOwn(b, key) || !Object.prototype.propertyIsEnumerable.call(b, key)) return false;
    if (!eq((a as Record<PropertyKey, unknown>)[key], (b as Record<PropertyKey, unknown>)[key])) return false;
  }
  return true;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const isObject = (value: unknown): value is object => (typeof value === "object" && value !== null) || typeof value === "function";

function sameSets(a: Set<unknown>, b: Set<unknown>, eq: (x: unknown, y: unknown) => boolean): boolean {
  if (a.size !== b.size) return false;
  const unmatched: unknown[] = [];
  for (const value of a) if (!b.has(value)) unmatched.push(value);
  if (unmatched.length === 0) return true;
  // Members without an identical twin: each object needs its own deep-equal partner among b's leftovers.
  const candidates = Array.from(b).filter((value) => !a.has(value));
  for (const value of unmatched) {
    if (!isObject(value)) return false;
    const at = candidates.findIndex((other) => isObject(other) && eq(value, other));
    if (at < 0) return false;
    candidates.splice(at, 1);
  }
  return true;
}

function sameMaps(a: Map<unknown, unknown>, b: Map<unknown, unknown>, eq: (x: unknown, y: unknown) => boolean): boolean {
  if (a.size !== b.size) return false;
  const unmatched: Array<[unknown, unknown]> = [];
  for (const [key, value] of a) {
    if (b.has(key)) {
      if (!eq(value, b.get(key))) return false;
    } else unmatched.push([key, value]);
  }
  if (unmatched.length === 0) return true;
  const candidates = Array.from(b).filter(([key]) => !a.has(key));
  for (const [key, value] of unmatched) {
    if (!isObject(key)) return false;
    const at = candidates.findIndex(([otherKey, otherValue]) => isObject(otherKey) && eq(key, otherKey) && eq(value, otherValue));
    if (at < 0) return false;
    candidates.splice(at, 1);
  }
  return true;
}

export function deepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (!deepEq(actual, expected)) fail(message, `expected ${show(expected)}, got ${show(actual)}`);
}

export function notDeepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (deepEq(actual, expected)) fail(message, `expected a value other than ${show(expected)}`);
}

export function match(actual: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(actual)) fail(message, `expected ${show(actual)} to match ${String(pattern)}`);
}

/** What a thrown error must satisfy: a message pattern, an error class, or a predicate. */
export type ErrorExpectation = RegExp | (new (...args: never[]) => Error) | ((error: unknown) => boolean);

function check(error: unknown, expected: ErrorExpectation | undefined, message?: string): void {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    const text = error instanceof Error ? error.message : String(error);
    if (!expected.test(text)) fail(message, `error ${show(text)} does not match ${String(expected)}`);
  } else if (expected.prototype instanceof Error || expected === Error) {
    if (!(error instanceof (expected as new () => Error))) fail(message, `wrong error type: ${show(error)}`);
  } else if (!(expected as (e: unknown) => boolean)(error)) {
    fail(message, `error did not satisfy predicate: ${show(error)}`);
  }
}

export function throws(fn: () => unknown, expected?: ErrorExpectation, message?: string): void {
  try {
    fn();
  } catch (error) {
    check(error, expected, message);
    return;
  }
  fail(message, "expected an exception");
}

export async function rejects(promise: Promise<unknown> | (() => Promise<unknown>), expected?: ErrorExpectation, message?: string): Promise<void> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    check(error, expected, message);
    return;
  }
  fail(message, "expected a rejection");
}

export interface Assert {
  ok(value: unknown, message?: string): asserts value;
  equal<T>(actual: T, expected: T, message?: string): void;
  notEqual<T>(actual: T, expected: T, message?: string): void;
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  notDeepEqual(actual: unknown, expected: unknown, message?: string): void;
  match(actual: string, pattern: RegExp, message?: string): void;
  throws(fn: () => unknown, expected?: ErrorExpectation, message?: string): void;
  rejects(promise: Promise<unknown> | (() => Promise<unknown>), expected?: ErrorExpectation, message?: string): Promise<void>;
}

const assert: Assert = { ok, equal, notEqual, deepEqual, notDeepEqual, match, throws, rejects };
export default assert;
