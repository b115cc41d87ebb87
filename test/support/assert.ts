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

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array[${Array.from(value).join(",")}]`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
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

function deepEq(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEq(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
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
