export type JsonReplacer = (key: string, value: unknown) => unknown;

/**
 * JSON.stringify for data that may hold module-level constants (defaults, schemas, page texts).
 *
 * Why: the device build preloads the portable core, so the XS linker puts module-level objects into flash, and XS's
 * JSON.stringify cannot walk a flash object: it marks every object it enters (cycle check) and throws "read only
 * value" on one it cannot mark. The replacer hands the walk a shallow RAM copy of each object instead; the copy's
 * members are copied in turn as the walk reaches them. `toJSON` still applies: it runs before the replacer.
 * Output is the same as JSON.stringify's on every engine; a replacer sees the same keys and values, but its `this` is
 * the walk's copy of the holder.
 */
export function toJson(value: unknown, replacer?: JsonReplacer): string {
  // Each copy's original and the holder it sits in, for the cycle check: a copy is never the object it copies, so
  // JSON.stringify's own check cannot see a cycle, and in XS an endless walk ends the VM (native stack overflow).
  const made = new Map<object, { original: object; holder: unknown }>();
  const text = JSON.stringify(value, function (this: unknown, key: string, v: unknown): unknown {
    const replaced = replacer ? replacer.call(this, key, v) : v;
    if (typeof replaced !== "object" || replaced === null) return replaced;
    // Boxed primitives serialize as their value (JSON.stringify unboxes them the same way).
    if (replaced instanceof Number || replaced instanceof String || replaced instanceof Boolean) return replaced.valueOf();
    for (let at = made.get(this as object); at; at = made.get(at.holder as object)) {
      if (at.original === replaced) throw new TypeError(`cyclic value at key ${JSON.stringify(key)}`);
    }
    const copy = copyForWalk(replaced);
    made.set(copy, { original: replaced, holder: this });
    return copy;
  });
  // JSON.stringify returns undefined for a root it cannot represent (undefined, a function, a symbol).
  if (typeof text !== "string") throw new TypeError(`not representable as JSON: ${typeof value}`);
  return text;
}

function copyForWalk(v: object): object {
  if (Array.isArray(v)) return v.slice();
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(v)) copy[key] = (v as Record<string, unknown>)[key];
  return copy;
}
